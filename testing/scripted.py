"""`ScriptedChatModel`: a fake chat model that replays a script and records what it was asked.

It implements `bind_tools` and `with_structured_output`, so the whole engine runs on it without a
network. Each script step answers one call; a step with `when` answers only a call whose prompt
contains that text (or satisfies that predicate), which keeps parallel workers deterministic.
`assert_complete()` fails if any step was never used.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError


@dataclass
class Step:
    """One scripted reply: an `AIMessage`, a final text, tool calls, or structured data (dict/str)."""

    reply: AIMessage | str | dict[str, Any] | BaseModel | BaseException
    """An exception is raised instead of replying (a failing endpoint)."""
    when: str | Callable[[list[BaseMessage]], bool] | None = None
    kind: str = "any"
    """`chat` (a plain or tool-bound call), `structured`, or `any`."""

    def matches(self, messages: list[BaseMessage], kind: str) -> bool:
        if self.kind not in ("any", kind):
            return False
        if self.when is None:
            return True
        if callable(self.when):
            return bool(self.when(messages))
        return self.when in render(messages)


def say(text: str, when: Any = None) -> Step:
    """A final answer (no tool calls)."""
    return Step(AIMessage(content=text), when, kind="chat")


def call(tool: str, when: Any = None, **args: Any) -> Step:
    """A single tool call."""
    return Step(AIMessage(content="", tool_calls=[{"name": tool, "args": args, "id": f"call_{uuid.uuid4().hex[:8]}",
                                                   "type": "tool_call"}]), when, kind="chat")


def fail(error: BaseException, when: Any = None, kind: str = "any") -> Step:
    """The call raises `error` (e.g. a model endpoint that times out)."""
    return Step(error, when, kind=kind)


def structured(data: dict[str, Any] | str | BaseModel, when: Any = None) -> Step:
    """A structured-output reply: a dict / model (valid or not for the schema) or raw text."""
    return Step(data, when, kind="structured")


@dataclass
class Call:
    """What the model was asked: the messages, the bound tool names, the structured schema."""

    kind: str
    messages: list[BaseMessage]
    tools: list[str] = field(default_factory=list)
    schema: str | None = None
    tool_choice: Any = None

    @property
    def prompt(self) -> str:
        return render(self.messages)


def render(messages: Sequence[BaseMessage]) -> str:
    return "\n".join(f"{m.type}: {m.content}" for m in messages)


class ScriptExhausted(AssertionError):
    """The model was called but no remaining step matches the call."""


class ScriptedChatModel(BaseChatModel):
    """Replays `script`; bound copies share the script and the record of calls."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    script: list[Step]
    name_: str = "scripted"
    tokens_per_call: tuple[int, int] = (10, 5)
    _shared: dict[str, Any] = PrivateAttr(default_factory=dict)

    def model_post_init(self, __context: Any) -> None:
        self._shared = {"used": [False] * len(self.script), "calls": [], "lock": threading.Lock()}

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def calls(self) -> list[Call]:
        return self._shared["calls"]

    def assert_complete(self) -> None:
        unused = [i for i, used in enumerate(self._shared["used"]) if not used]
        if unused:
            raise AssertionError(f"script steps never used: {[self._describe(i) for i in unused]}")

    def _describe(self, index: int) -> str:
        step = self.script[index]
        return f"#{index} ({step.kind}, when={step.when!r})"

    def _take(self, messages: list[BaseMessage], kind: str, tools: list[str], schema: str | None,
              tool_choice: Any = None) -> Step:
        with self._shared["lock"]:
            self._shared["calls"].append(Call(kind=kind, messages=list(messages), tools=tools, schema=schema,
                                              tool_choice=tool_choice))
            for index, step in enumerate(self.script):
                if not self._shared["used"][index] and step.matches(messages, kind):
                    self._shared["used"][index] = True
                    if isinstance(step.reply, BaseException):
                        raise step.reply
                    return step
        raise ScriptExhausted(f"no script step left for this {kind} call; prompt was:\n{render(messages)[-1500:]}")

    def _usage(self) -> dict[str, int]:
        i, o = self.tokens_per_call
        return {"input_tokens": i, "output_tokens": o, "total_tokens": i + o}

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        tools = [t.get("function", {}).get("name", t.get("name", "")) if isinstance(t, dict) else getattr(t, "name", "")
                 for t in kwargs.get("tools", [])]
        step = self._take(messages, "chat", tools, None, kwargs.get("tool_choice"))
        reply = step.reply if isinstance(step.reply, AIMessage) else AIMessage(content=str(step.reply))
        reply = reply.model_copy(update={"usage_metadata": self._usage(), "response_metadata": {"model_name": self.name_},
                                         "tool_calls": [{**c, "id": f"call_{uuid.uuid4().hex[:8]}"} for c in reply.tool_calls]})
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any) -> Runnable:
        return self.bind(tools=list(tools), **({"tool_choice": tool_choice} if tool_choice else {}), **kwargs)

    def with_structured_output(self, schema: Any, *, include_raw: bool = False, **kwargs: Any) -> Runnable:
        def respond(value: Any) -> Any:
            messages = value.to_messages() if hasattr(value, "to_messages") else list(value)
            step = self._take(messages, "structured", [], getattr(schema, "__name__", str(schema)))
            data = step.reply.model_dump() if isinstance(step.reply, BaseModel) else step.reply
            text = data if isinstance(data, str) else json.dumps(data)
            raw = AIMessage(content=text, usage_metadata=self._usage(), response_metadata={"model_name": self.name_})
            parsed, error = None, None
            try:
                parsed = schema.model_validate_json(text) if isinstance(schema, type) else json.loads(text)
            except (ValidationError, ValueError) as exc:
                error = exc
            if include_raw:
                return {"raw": raw, "parsed": parsed, "parsing_error": error}
            if error is not None:
                raise error
            return parsed

        return RunnableLambda(respond)
