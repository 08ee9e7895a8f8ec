"""Fixtures for model-layer unit tests: an isolated data home and a scripted llama.cpp endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_openai.chat_models.base import BaseChatOpenAI

from taskwarden.models.local import LocalChatModel


@pytest.fixture(autouse=True)
def tw_home(tmp_path, monkeypatch) -> Iterator[Any]:
    """Every test gets its own ``TASKWARDEN_HOME`` and no model-path override."""
    monkeypatch.setenv("TASKWARDEN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TASKWARDEN_LOCAL_MODEL_PATH", raising=False)
    yield tmp_path / "home"


class ScriptedEndpoint:
    """Stands in for the HTTP call under ChatOpenAI: replays replies, records what it was asked."""

    def __init__(self, replies: list[str | Exception], usage: tuple[int, int] = (10, 5)) -> None:
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []
        self.usage = usage

    def __call__(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        self.requests.append({"messages": messages, **kwargs})
        if not self.replies:
            raise AssertionError("the model was called more often than scripted")
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        prompt, completion = self.usage
        message = AIMessage(
            content=reply,
            usage_metadata={"input_tokens": prompt, "output_tokens": completion, "total_tokens": prompt + completion},
        )
        return ChatResult(
            generations=[ChatGeneration(message=message, generation_info={"finish_reason": "stop"})],
            llm_output={"model_name": "/models/served.gguf", "token_usage": {}},
        )

    def assert_complete(self) -> None:
        assert not self.replies, f"{len(self.replies)} scripted replies were never requested"


@pytest.fixture
def endpoint(monkeypatch):
    """``endpoint(replies)`` installs a ScriptedEndpoint in place of ChatOpenAI's HTTP call."""

    def install(replies: list[str | Exception], **kw: Any) -> ScriptedEndpoint:
        fake = ScriptedEndpoint(replies, **kw)
        monkeypatch.setattr(BaseChatOpenAI, "_generate", fake)
        return fake

    return install


@pytest.fixture
def model() -> LocalChatModel:
    """An unmanaged constrained-decoding model pointing at a (never contacted) llama.cpp URL."""
    return LocalChatModel(model="test-model", base_url="http://127.0.0.1:1/v1", backoff_s=0.0)
