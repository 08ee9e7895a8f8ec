"""Spec strings to chat models."""

from __future__ import annotations

import pytest
from langchain_openai import ChatOpenAI

from taskwarden.models import init_chat_model, model_name_of
from taskwarden.models.local import LocalChatModel
from taskwarden.models.spec import parse_spec


def test_local_is_the_default_and_is_lazy():
    model = init_chat_model()
    assert isinstance(model, LocalChatModel) and model.managed
    assert model.model_name == "qwen2.5-coder-1.5b-instruct-q4_k_m"


def test_local_name_follows_the_override(monkeypatch):
    monkeypatch.setenv("TASKWARDEN_LOCAL_MODEL_PATH", "/models/qwen2.5-0.5b.gguf")
    assert init_chat_model("local").model_name == "qwen2.5-0.5b"


def test_openai_spec(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    model = init_chat_model("openai:gpt-4o-mini", temperature=0, http_socket_options=())
    assert type(model) is ChatOpenAI and model.model_name == "gpt-4o-mini" and model.temperature == 0


def test_openai_compatible_spec_uses_plain_chat_openai():
    model = init_chat_model("openai-compatible:qwen2.5:7b@http://localhost:11434/v1/", http_socket_options=())
    assert type(model) is ChatOpenAI
    assert model.model_name == "qwen2.5:7b" and model.openai_api_base == "http://localhost:11434/v1"


def test_llamacpp_spec_uses_constrained_decoding():
    model = init_chat_model("llamacpp:qwen@http://10.0.0.5:8080/v1", timeout=30, http_socket_options=())
    assert isinstance(model, LocalChatModel) and not model.managed
    assert model.openai_api_base == "http://10.0.0.5:8080/v1" and model.request_timeout == 30


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "gpt-4",
        "openai:",
        "openai:gpt@http://x",
        "anthropic:claude",
        "llamacpp:qwen",
        "llamacpp:@http://x",
        "openai-compatible:m@ftp://x",
        "LOCAL",
    ],
)
def test_malformed_specs_list_the_valid_forms(spec):
    with pytest.raises(ValueError) as info:
        parse_spec(spec)
    for form in ("local", "openai:<model>", "openai-compatible:<model>@<base_url>", "llamacpp:<model>@<base_url>"):
        assert form in str(info.value)


def test_model_name_of_unwraps_bindings_and_chains():
    from pydantic import BaseModel

    class Out(BaseModel):
        x: int

    model = init_chat_model("llamacpp:qwen-7b@http://127.0.0.1:8080/v1")
    assert model_name_of(model) == "qwen-7b"
    assert model_name_of(model.bind_tools([Out])) == "qwen-7b"
    assert model_name_of(model.with_structured_output(Out)) == "qwen-7b"
    assert model_name_of(model.with_structured_output(Out, include_raw=True)) == "qwen-7b"
