"""Memory fixtures: one MiniLM model per session, and the stores the conformance suite runs against."""

from __future__ import annotations

import pytest
from langgraph.store.memory import InMemoryStore
from memory_helpers import CORPUS

from taskwarden.memory import ChromaStore, MiniLMEmbeddings

STORE_KINDS = ["chroma", "inmemory"]


@pytest.fixture(scope="session")
def minilm():
    return MiniLMEmbeddings()


@pytest.fixture
def index(minilm):
    return {"dims": 384, "embed": minilm, "fields": ["text"]}


@pytest.fixture
def make_store(tmp_path, index):
    """make_store(kind) -> an empty store of that kind with the shared MiniLM index."""
    opened = []

    def make(kind: str, **kwargs):
        if kind == "inmemory":
            return InMemoryStore(index=kwargs.get("index", index))
        store = ChromaStore.from_path(tmp_path / "chroma", index=kwargs.pop("index", index), **kwargs)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture(params=STORE_KINDS)
def store(request, make_store):
    """An empty store, once per kind."""
    return make_store(request.param)


@pytest.fixture(scope="module", params=STORE_KINDS)
def loaded(request, minilm, tmp_path_factory):
    """A store of each kind holding `CORPUS`, written one put at a time; shared by a module's tests: read only."""
    index = {"dims": 384, "embed": minilm, "fields": ["text"]}
    if request.param == "inmemory":
        store = InMemoryStore(index=index)
    else:
        store = ChromaStore.from_path(tmp_path_factory.mktemp("corpus"), index=index)
    for namespace, key, value, idx in CORPUS:
        store.put(namespace, key, value, index=idx)
    return store
