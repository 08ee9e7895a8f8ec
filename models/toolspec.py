"""Bound tools as the constrained decoder sees them: the reply JSON schema and the tool prompt.

A reply is one JSON object.  Its schema is an ``anyOf`` with one branch per
allowed tool, ``{"tool": {"const": name}, "args": <args schema>}``, plus (when the
model may finish) ``{"tool": {"const": "final_answer"}, "answer": ...}``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_core.utils.json_schema import dereference_refs
from pydantic import BaseModel

from taskwarden.models.prompts import (
    ANSWER_OBJECT,
    ANSWER_TEXT,
    FINISH_AUTO,
    FINISH_NAMED,
    FINISH_REQUIRED,
    TOOL_LINE,
    TOOLS_SYSTEM_PROMPT,
)
from taskwarden.models.validation import grammar_schema, pydantic_errors, schema_errors

FINAL_ANSWER = "final_answer"
_EMPTY_ARGS: dict[str, Any] = {"type": "object", "properties": {}}


@dataclass(frozen=True)
class ToolSpec:
    """One callable tool: its name, description, args JSON schema (refs inlined) and optional Pydantic validator."""

    name: str
    description: str
    parameters: dict[str, Any]
    args_model: type[BaseModel] | None = field(default=None, compare=False)

    def errors(self, args: Any) -> list[str]:
        """Why ``args`` would be rejected (JSON schema first, then the Pydantic model), or ``[]``."""
        if not isinstance(args, dict):
            return [f"args: expected an object, got {type(args).__name__}"]
        found = schema_errors(args, self.parameters, path="args")
        if not found and self.args_model is not None:
            found = [f"args.{e}" for e in pydantic_errors(args, self.args_model)]
        return found


@dataclass(frozen=True)
class ToolChoice:
    """Which branches a reply may take."""

    allowed: tuple[str, ...]
    """Tool names the model may call."""
    may_finish: bool
    """Whether the ``final_answer`` branch is offered."""
    forced: str | None = None
    """The one tool the caller named, if any."""


def to_openai_tools(tools: Sequence[Any]) -> list[dict[str, Any]]:
    """LangChain's OpenAI tool format (what ``bind_tools`` records under ``tools``)."""
    return [convert_to_openai_tool(tool) for tool in tools]


def args_model_of(tool: Any) -> type[BaseModel] | None:
    """The Pydantic model that validates a tool's model-supplied args (injected args excluded)."""
    schema = tool.tool_call_schema if isinstance(tool, BaseTool) else tool
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema
    return None


def specs_from_openai(
    tools: Sequence[dict[str, Any]], models: dict[str, type[BaseModel]] | None = None
) -> list[ToolSpec]:
    """``ToolSpec``s from OpenAI-format tool dicts; ``models`` adds Pydantic validators by name."""
    specs = []
    for tool in tools:
        fn = tool.get("function", tool)
        name = fn["name"]
        if name == FINAL_ANSWER:
            raise ValueError(f"a tool may not be named {FINAL_ANSWER!r}: it is reserved for the final answer")
        params = fn.get("parameters") or _EMPTY_ARGS
        if "$defs" in params or "definitions" in params:  # refs must not dangle once nested in the reply schema
            params = dereference_refs(params)
            params = {k: v for k, v in params.items() if k not in ("$defs", "definitions")}
        specs.append(ToolSpec(name, fn.get("description", ""), params, (models or {}).get(name)))
    return specs


def resolve_choice(specs: Sequence[ToolSpec], tool_choice: Any) -> ToolChoice:
    """Map OpenAI/LangChain ``tool_choice`` values (None, auto, none, any, required, True, a name, a dict)."""
    names = tuple(s.name for s in specs)
    if tool_choice in (None, "auto", False):
        return ToolChoice(names, may_finish=True)
    if tool_choice == "none":
        return ToolChoice((), may_finish=True)
    if tool_choice in ("any", "required", True):
        return ToolChoice(names, may_finish=False)
    name = tool_choice
    if isinstance(tool_choice, dict):
        name = tool_choice.get("function", {}).get("name") or tool_choice.get("name")
    if name not in names:
        raise ValueError(f"tool_choice {tool_choice!r} names no bound tool; bound: {', '.join(names)}")
    return ToolChoice((name,), may_finish=False, forced=name)


def reply_schema(
    specs: Sequence[ToolSpec], choice: ToolChoice, answer_schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The ``anyOf`` reply schema for the grammar: one branch per allowed tool, then the final answer."""
    branches = [_branch(s.name, "args", grammar_schema(s.parameters)) for s in specs if s.name in choice.allowed]
    if choice.may_finish:
        answer = grammar_schema(answer_schema) if answer_schema else {"type": "string"}
        branches.append(_branch(FINAL_ANSWER, "answer", answer))
    return {"anyOf": branches}


def tools_prompt(specs: Sequence[ToolSpec], choice: ToolChoice, answer_schema: dict[str, Any] | None = None) -> str:
    """The system block describing the tools; byte-identical for the same tools, choice and answer schema."""
    lines = "\n".join(
        TOOL_LINE.format(name=s.name, description=_one_line(s.description), schema=compact_schema(s.parameters))
        for s in specs
    )
    if choice.forced:
        finish = FINISH_NAMED.format(name=choice.forced)
    elif not choice.may_finish:
        finish = FINISH_REQUIRED
    else:
        answer = ANSWER_OBJECT.format(schema=compact_schema(answer_schema)) if answer_schema else ANSWER_TEXT
        finish = FINISH_AUTO.format(answer=answer)
    return TOOLS_SYSTEM_PROMPT.format(tool_list=lines, finish_instruction=finish)


def _branch(name: str, key: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"tool": {"const": name}, key: schema},
        "required": ["tool", key],
        "additionalProperties": False,
    }


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "(no description)"


def compact_schema(schema: dict[str, Any]) -> str:
    """One-line JSON of a schema without noise the model does not need (titles, closed-object flags)."""
    return json.dumps(_strip(schema), ensure_ascii=False, separators=(", ", ": "))


def _strip(node: Any, *, names: bool = False) -> Any:
    """Drop ``title``/``additionalProperties`` keywords; keys of a ``properties`` map are names, kept."""
    if isinstance(node, dict):
        return {
            k: _strip(v, names=(k in ("properties", "$defs", "definitions") and not names))
            for k, v in node.items()
            if names or k not in ("title", "additionalProperties")
        }
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node
