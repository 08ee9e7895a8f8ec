"""Structured output at an LLM boundary: Pydantic-validated, with a bounded repair retry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel

from taskwarden.agents.prompts import REPAIR_PROMPT

T = TypeVar("T", bound=BaseModel)


class StructuredOutputError(RuntimeError):
    """The model's output did not validate after the allowed repairs."""

    def __init__(self, message: str, raw_messages: list[AIMessage]) -> None:
        super().__init__(message)
        self.raw_messages = raw_messages


def invoke_structured(model: BaseChatModel, schema: type[T], messages: list[BaseMessage], *,
                      max_repairs: int = 1, check: Callable[[T], list[str]] | None = None) -> tuple[T, list[AIMessage]]:
    """Ask `model` for a `schema` object; on a parse or `check` failure, show it the error and retry.

    Returns the parsed object and every raw reply (for token accounting). Raises
    `StructuredOutputError` (carrying the raw replies) once `max_repairs` retries are spent.
    """
    runnable = model.with_structured_output(schema, include_raw=True)
    history = list(messages)
    raws: list[AIMessage] = []
    error = ""
    for _ in range(max_repairs + 1):
        out: dict[str, Any] = runnable.invoke(history)
        raw = out.get("raw")
        if isinstance(raw, AIMessage):
            raws.append(raw)
        parsed, parse_error = out.get("parsed"), out.get("parsing_error")
        if parse_error is None and isinstance(parsed, schema):
            problems = check(parsed) if check else []
            if not problems:
                return parsed, raws
            error = "; ".join(problems)
        else:
            error = _short(str(parse_error) if parse_error else "the reply was empty")
        history = history + [AIMessage(content=_raw_text(raw)), HumanMessage(content=REPAIR_PROMPT.format(error=error))]
    raise StructuredOutputError(f"{schema.__name__} still invalid after {max_repairs} repair(s): {error}", raws)


def _raw_text(raw: Any) -> str:
    if isinstance(raw, AIMessage):
        if raw.content:
            return raw.content if isinstance(raw.content, str) else str(raw.content)
        if raw.tool_calls:
            return str(raw.tool_calls[0].get("args"))
    return ""


def _short(text: str, limit: int = 600) -> str:
    return text if len(text) <= limit else text[:limit] + " ..."
