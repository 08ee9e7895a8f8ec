"""Turn a grammar-constrained JSON reply into AIMessage fields, or say precisely why it is invalid.

Two reply kinds: tool replies (``{"tool": name, "args": {...}}`` or the final
answer) and structured-output replies (one object matching a schema).  Arguments
are checked against the tool's schema before a tool call is ever emitted.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import InvalidToolCall, ToolCall
from pydantic import BaseModel

from taskwarden.models.toolspec import FINAL_ANSWER, ToolChoice, ToolSpec
from taskwarden.models.validation import pydantic_errors, schema_errors


@dataclass
class Decoded:
    """The outcome of decoding one reply."""

    content: str = ""
    """Final answer text (or the raw JSON for structured output)."""
    tool_calls: list[ToolCall] = field(default_factory=list)
    """Valid tool calls (at most one per reply)."""
    error: str | None = None
    """Why the reply was rejected; None when valid."""
    rejected: InvalidToolCall | None = None
    """The rejected call, reported as an invalid tool call if repair fails."""


def new_call_id() -> str:
    """A fresh, unique tool-call id."""
    return f"call_{uuid.uuid4().hex[:24]}"


def decode_tool_reply(
    text: str, specs: Sequence[ToolSpec], choice: ToolChoice, answer_schema: dict[str, Any] | None = None
) -> Decoded:
    """A tool call, a final answer, or an error naming what to fix."""
    try:
        reply = json.loads(text)
    except json.JSONDecodeError as exc:
        return _rejected("unknown", text, f"the reply is not valid JSON ({exc.msg} at char {exc.pos})")
    if not isinstance(reply, dict) or not isinstance(reply.get("tool"), str):
        return _rejected("unknown", text, 'the reply must be an object with a string "tool" field')
    name = reply["tool"]
    if name == FINAL_ANSWER:
        return _final_answer(reply, choice, answer_schema, text)
    spec = next((s for s in specs if s.name == name), None)
    if spec is None or name not in choice.allowed:
        allowed = [*choice.allowed, *([FINAL_ANSWER] if choice.may_finish else [])]
        return _rejected(name, text, f"{name!r} is not an allowed tool; choose one of {allowed}")
    args = reply.get("args", {})
    errors = spec.errors(args)
    if errors:
        raw = json.dumps(args, ensure_ascii=False)
        return _rejected(name, raw, f"invalid arguments for {name}: " + "; ".join(errors[:5]))
    return Decoded(tool_calls=[ToolCall(name=name, args=args, id=new_call_id(), type="tool_call")])


def decode_structured_reply(text: str, schema: dict[str, Any] | None, model: type[BaseModel] | None = None) -> Decoded:
    """Check a structured-output reply; the content stays the raw JSON text for the parser."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return Decoded(content=text, error=f"the reply is not valid JSON ({exc.msg} at char {exc.pos})")
    errors = schema_errors(value, schema) if schema else []
    if not errors and model is not None:
        errors = pydantic_errors(value, model)
    if errors:
        return Decoded(content=text, error="the object does not match the schema: " + "; ".join(errors[:5]))
    return Decoded(content=text)


def _final_answer(
    reply: dict[str, Any], choice: ToolChoice, answer_schema: dict[str, Any] | None, text: str
) -> Decoded:
    if not choice.may_finish:
        return _rejected(FINAL_ANSWER, text, f"you must call one of the tools {list(choice.allowed)} now")
    answer = reply.get("answer", "")
    if answer_schema is None:
        return Decoded(content=answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False))
    errors = schema_errors(answer, answer_schema, path="answer")
    if errors:
        return Decoded(content=text, error="the final answer does not match its schema: " + "; ".join(errors[:5]))
    return Decoded(content=json.dumps(answer, ensure_ascii=False))


def _rejected(name: str, raw_args: str, error: str) -> Decoded:
    invalid = InvalidToolCall(name=name, args=raw_args, id=new_call_id(), error=error, type="invalid_tool_call")
    return Decoded(error=error, rejected=invalid)
