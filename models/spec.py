"""``init_chat_model``: the one seam that turns a model spec string into a LangChain chat model.

Specs (all served through ``langchain_openai.ChatOpenAI``):

* ``local`` - the embedded Qwen2.5-Coder-1.5B via our llama.cpp server (started on first call);
* ``openai:<model>`` - OpenAI (``OPENAI_API_KEY`` / ``OPENAI_BASE_URL`` as usual);
* ``openai-compatible:<model>@<base_url>`` - vLLM, Ollama, LM Studio... with native tool calling;
* ``llamacpp:<model>@<base_url>`` - an external llama.cpp server, via constrained decoding.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableBinding, RunnableParallel, RunnableSequence
from langchain_openai import ChatOpenAI

from taskwarden.models.local import LocalChatModel
from taskwarden.models.weights import EMBEDDED_WEIGHTS, MODEL_PATH_ENV

SPEC_FORMS = (
    "local",
    "openai:<model>",
    "openai-compatible:<model>@<base_url>",
    "llamacpp:<model>@<base_url>",
)


def init_chat_model(spec: str = "local", **kwargs: Any) -> BaseChatModel:
    """Build the chat model named by ``spec``; ``kwargs`` go to the ChatOpenAI constructor.

    Raises ``ValueError`` (listing the valid forms) for an unknown or malformed spec.
    """
    provider, model, base_url = parse_spec(spec)
    if provider == "local":
        return LocalChatModel(model=model, managed=True, **kwargs)
    if provider == "openai":
        return ChatOpenAI(model=model, **kwargs)
    if provider == "openai-compatible":
        kwargs.setdefault("api_key", "not-needed")
        return ChatOpenAI(model=model, base_url=base_url, **kwargs)
    return LocalChatModel(model=model, base_url=base_url, **kwargs)


def parse_spec(spec: str) -> tuple[str, str, str | None]:
    """``(provider, model, base_url)`` for a spec string; ``ValueError`` if it is not one of ``SPEC_FORMS``."""
    text = (spec or "").strip()
    if text == "local":
        return "local", local_model_name(), None
    provider, sep, rest = text.partition(":")
    if sep and provider == "openai" and rest and "@" not in rest:
        return "openai", rest, None
    if sep and provider in ("openai-compatible", "llamacpp"):
        model, at, base_url = rest.partition("@")
        if model and at and base_url.startswith(("http://", "https://")):
            return provider, model, base_url.rstrip("/")
    raise ValueError(f"invalid model spec {spec!r}; expected one of: {', '.join(SPEC_FORMS)}")


def local_model_name() -> str:
    """The name the embedded model reports (the GGUF stem, or the override file's stem)."""
    override = os.environ.get(MODEL_PATH_ENV)
    return Path(override).stem if override else Path(EMBEDDED_WEIGHTS.filename).stem


def model_name_of(model: Runnable | BaseChatModel) -> str:
    """The model name behind a chat model, a ``bind_tools`` binding or a structured-output chain."""
    for _ in range(10):
        if isinstance(model, RunnableBinding):
            model = model.bound
        elif isinstance(model, RunnableSequence):
            model = model.first
        elif isinstance(model, RunnableParallel) and model.steps__:
            model = next(iter(model.steps__.values()))
        else:
            break
    for attr in ("model_name", "model", "model_id"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__
