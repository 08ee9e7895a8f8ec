"""`PromptedChatModel`: the base of stateless fake models that answer from the prompt alone (benchmarks).

A subclass implements `_generate`; this base gives it `bind_tools` and `with_structured_output` the
way the engine uses them: a structured call is marked ``structured="plan"`` (a schema with `tasks`)
or ``"verdict"`` in the call's kwargs, and its JSON reply is validated with the schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import ValidationError


class PromptedChatModel(BaseChatModel):
    """Tool binding and structured output for fake models whose `_generate` reads ``structured``."""

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any) -> Runnable:
        return self.bind(tools=list(tools), **({"tool_choice": tool_choice} if tool_choice else {}), **kwargs)

    def with_structured_output(self, schema: Any, *, include_raw: bool = False, **kwargs: Any) -> Runnable:
        kind = "plan" if "tasks" in schema.model_fields else "verdict"

        def parse(raw: AIMessage) -> Any:
            parsed, error = None, None
            try:
                parsed = schema.model_validate_json(raw.content)
            except ValidationError as exc:
                error = exc
            if include_raw:
                return {"raw": raw, "parsed": parsed, "parsing_error": error}
            if error is not None:
                raise error
            return parsed

        return self.bind(structured=kind) | RunnableLambda(parse)
