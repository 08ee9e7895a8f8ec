"""What one call to a llama.cpp endpoint asks for: plain text, a tool reply, or a structured object.

``make_plan`` reads the OpenAI-style call kwargs (``tools``, ``tool_choice``,
``response_format``) that ``bind_tools`` / ``with_structured_output`` recorded and
returns the protocol prompt, the grammar ``response_format`` and the decoder.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.utils.function_calling import convert_to_json_schema
from pydantic import BaseModel

from taskwarden.models.decode import Decoded, decode_structured_reply, decode_tool_reply
from taskwarden.models.prompts import STRUCTURED_OUTPUT_PROMPT
from taskwarden.models.toolspec import (
    ToolChoice,
    ToolSpec,
    compact_schema,
    reply_schema,
    resolve_choice,
    specs_from_openai,
    tools_prompt,
)
from taskwarden.models.validation import grammar_schema


@dataclass
class RequestPlan:
    """The protocol block, grammar and decoder for one call."""

    kind: Literal["plain", "tools", "structured"]
    protocol: str | None = None
    """System text placed first (tool list or output schema); None for plain calls."""
    response_format: dict[str, Any] | None = None
    """``{"type": "json_object", "schema": ...}`` sent to llama.cpp; None for plain calls."""
    specs: Sequence[ToolSpec] = ()
    choice: ToolChoice | None = None
    output_schema: dict[str, Any] | None = None
    """Schema of the structured output, or of the final answer in tool mode."""
    output_model: type[BaseModel] | None = field(default=None)

    def decode(self, text: str) -> Decoded:
        """Decode a reply according to this plan."""
        if self.kind == "tools":
            assert self.choice is not None
            return decode_tool_reply(text, self.specs, self.choice, self.output_schema)
        if self.kind == "structured":
            return decode_structured_reply(text, self.output_schema, self.output_model)
        return Decoded(content=text)


def make_plan(
    tools: Sequence[dict[str, Any]] | None,
    tool_choice: Any,
    response_format: Any,
    arg_models: dict[str, type[BaseModel]] | None = None,
    output_model: type[BaseModel] | None = None,
) -> RequestPlan:
    """Build the plan for a call from its (already popped) OpenAI-style kwargs."""
    schema, model = normalize_response_format(response_format)
    model = model or output_model
    if tools:
        specs = specs_from_openai(tools, arg_models)
        choice = resolve_choice(specs, tool_choice)
        grammar = {"type": "json_object", "schema": reply_schema(specs, choice, schema)}
        return RequestPlan("tools", tools_prompt(specs, choice, schema), grammar, specs, choice, schema, model)
    if response_format is not None and schema is not None:
        prompt = STRUCTURED_OUTPUT_PROMPT.format(schema=compact_schema(schema))
        grammar = {"type": "json_object", "schema": grammar_schema(schema)}
        return RequestPlan("structured", prompt, grammar, output_schema=schema, output_model=model)
    if isinstance(response_format, dict) and response_format.get("type") == "json_object":
        return RequestPlan("structured", None, {"type": "json_object"})
    return RequestPlan("plain")


def normalize_response_format(response_format: Any) -> tuple[dict[str, Any] | None, type[BaseModel] | None]:
    """The JSON schema (and Pydantic model) behind any accepted ``response_format`` form."""
    if response_format is None:
        return None, None
    if isinstance(response_format, type) and issubclass(response_format, BaseModel):
        return response_format.model_json_schema(), response_format
    if not isinstance(response_format, dict):
        raise ValueError(f"unsupported response_format: {response_format!r}")
    kind = response_format.get("type")
    if kind == "json_object":
        return response_format.get("schema"), None
    if kind == "json_schema":
        return response_format.get("json_schema", {}).get("schema"), None
    if kind == "text":
        return None, None
    if "properties" in response_format or "anyOf" in response_format or kind == "object":
        return response_format, None
    raise ValueError(f"unsupported response_format: {json.dumps(response_format)[:200]}")


def pydantic_class(schema: Any) -> type[BaseModel] | None:
    """``schema`` if it is a Pydantic model class, else None."""
    return schema if isinstance(schema, type) and issubclass(schema, BaseModel) else None


def json_schema_of(schema: Any) -> dict[str, Any]:
    """A JSON schema for a Pydantic class, a plain JSON schema, or anything LangChain can convert."""
    if (model := pydantic_class(schema)) is not None:
        return model.model_json_schema()
    if isinstance(schema, dict) and ("properties" in schema or "type" in schema or "anyOf" in schema):
        return schema
    return convert_to_json_schema(schema)


def as_response_format(response_format: Any) -> dict[str, Any]:
    """A serializable ``response_format`` dict for any accepted form (so bindings stay traceable)."""
    if isinstance(response_format, dict) and response_format.get("type") in ("json_object", "json_schema", "text"):
        return response_format
    return {"type": "json_object", "schema": json_schema_of(response_format)}
