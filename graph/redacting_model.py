"""What a model sees: every model call of the engine goes through a `RedactingChatModel`.

`ModelProvider.get(role, context)` wraps the role's model at the run's redaction level (the run's
`Context.redact`, else the workflow's `redact`; see `taskwarden.tools.redact.ModelRedaction`):

- ``secrets`` (default): card numbers and secrets are masked in every message sent to the model;
- ``pii``: e-mail addresses and phone numbers become derived placeholders as well (``<EMAIL_3f2a9c>``)
  and are put back into the reply (text, tool-call arguments, structured output) before the engine
  uses it, so tools, state and checkpoints hold the real values and the model never sees them;
- ``off``: the model itself, unwrapped.

Every message is redacted: its content (text or content blocks), the tool-call arguments of earlier
replies and tool results. Tool schemas are the workflow's own text and pass as they are. An output
schema built from run data (the evaluator's criteria, which can quote the plan) is pseudonymised
under ``pii`` and the restored output validated against the original. The reply keeps its
``usage_metadata`` and ``response_metadata`` (the audit reads tokens and the model name there).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, convert_to_messages
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableConfig
from pydantic import BaseModel, ValidationError

from taskwarden.paths import data_home
from taskwarden.tools.redact import ModelRedaction, check_level

KEY_FILE = "redaction.key"
"""The file under the data directory that holds the key ``pii`` placeholders are derived under."""
_BLOCK_TEXT_KEYS = ("text", "content", "input", "args", "arguments", "reasoning", "thinking")
"""The keys of a content block that carry what the model reads (not its type, id or media)."""


def pseudonym_key() -> bytes:
    """The key of ``pii`` placeholders: ``<data dir>/redaction.key``, 32 random bytes made on first use
    (mode 0600). It keeps placeholders the same across processes and restarts, and keeps a model from
    testing a guessed e-mail address against one. Whoever can read the data directory can read the
    checkpoints, which hold the real values anyway."""
    path = data_home() / KEY_FILE
    if not path.exists():
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".redaction-key-")  # mode 0600
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(os.urandom(32))
            os.link(temporary, path)  # atomic, and never replaces a key another process made first
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    key = path.read_bytes()
    if len(key) < 16:
        raise ValueError(f"{path} holds {len(key)} bytes; a redaction key needs at least 16 (delete it to make one)")
    return key


class RedactingRunnable(Runnable[LanguageModelInput, Any]):
    """Runs `bound` (a chat model, or one with tools or an output schema bound) on redacted messages
    and restores its output. Each call gets its own `ModelRedaction`."""

    def __init__(self, bound: Runnable, level: str, key: bytes = b"", *,
                 schema_json: dict[str, Any] | None = None, validate_as: type[BaseModel] | None = None,
                 include_raw: bool = False) -> None:
        self.bound = bound
        self.level = check_level(level)
        self.key = key
        self._schema_json = schema_json
        """The output schema the model was given pseudonymised (its placeholders restore too)."""
        self._validate_as = validate_as
        """The schema class the restored output is validated against (when the model got a copy)."""
        self._include_raw = include_raw

    def redaction(self) -> ModelRedaction:
        call = ModelRedaction(self.level, self.key)
        if self._schema_json is not None:
            call.hide(self._schema_json)  # the same placeholders the schema was given
        return call

    def invoke(self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        call = self.redaction()
        output = self.bound.invoke(hide_messages(as_messages(input), call), config, **kwargs)
        return self._validated(restore_output(output, call))

    def _validated(self, output: Any) -> Any:
        if self._validate_as is None:
            return output
        if not self._include_raw:
            return self._validate_as.model_validate(output)
        parsed, error = output.get("parsed"), output.get("parsing_error")
        if error is None and parsed is not None:
            try:
                parsed = self._validate_as.model_validate(parsed)
            except ValidationError as exc:
                parsed, error = None, exc
        return {**output, "parsed": parsed, "parsing_error": error}


class RedactingChatModel(RedactingRunnable):
    """A chat model whose every call sees redacted messages and whose replies come back restored.

    `bind_tools` and `with_structured_output` give redacting runnables too (made once per set of
    arguments: the engine asks for the same ones on every step); everything else is the wrapped
    model's (``wrapped.model_name``)."""

    def __init__(self, bound: Runnable, level: str, key: bytes = b"") -> None:
        super().__init__(bound, level, key)
        self._derived = _Derived()

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> RedactingRunnable:
        tools = list(tools)
        return self._derived.get(("tools", *map(id, tools)), tools, kwargs, lambda: RedactingRunnable(
            self.bound.bind_tools(tools, **kwargs), self.level, self.key),  # type: ignore[attr-defined]
            cacheable=not any(isinstance(tool, dict) for tool in tools))

    def with_structured_output(self, schema: Any, **kwargs: Any) -> RedactingRunnable:
        return self._derived.get(("schema", id(schema)), schema, kwargs,
                                 lambda: self._with_structured_output(schema, **kwargs),
                                 cacheable=not isinstance(schema, dict))

    def _with_structured_output(self, schema: Any, **kwargs: Any) -> RedactingRunnable:
        shown, schema_json = schema, None
        original = _json_schema(schema) if self.level == "pii" else None
        if original is not None:
            hidden = ModelRedaction(self.level, self.key).hide(original)
            if hidden != original:  # run data in the schema (e.g. criteria quoting an e-mail): send a copy
                shown, schema_json = hidden, original
        bound = self.bound.with_structured_output(shown, **kwargs)  # type: ignore[attr-defined]
        validate_as = schema if schema_json is not None and isinstance(schema, type) else None
        return RedactingRunnable(bound, self.level, self.key, schema_json=schema_json, validate_as=validate_as,
                                 include_raw=bool(kwargs.get("include_raw")))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or "bound" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["bound"], name)


class _Derived:
    """Runnables derived from one model (tools or a schema bound), by what they were derived from.

    Keyed by the identity of the tools or schema (kept alive here, so an id is never reused while
    its entry exists) and the keyword arguments. Not cached: tools or a schema given as dicts (the
    caller may change them) and arguments that cannot be hashed."""

    def __init__(self, size: int = 64) -> None:
        self._entries: dict[Any, tuple[Any, RedactingRunnable]] = {}
        self._size = size

    def get(self, key: tuple, pinned: Any, kwargs: dict[str, Any], make: Any, *, cacheable: bool) -> RedactingRunnable:
        if not cacheable:
            return make()
        try:
            full = (*key, *sorted(kwargs.items()))
            entry = self._entries.get(full)
        except TypeError:  # an unhashable argument
            return make()
        if entry is None:
            if len(self._entries) >= self._size:
                self._entries.clear()
            entry = self._entries[full] = (pinned, make())
        return entry[1]


def redacting(model: Any, level: str, key: bytes = b"") -> Any:
    """`model` as the engine calls it at `level`: wrapped, or itself for ``off``."""
    return model if check_level(level) == "off" else RedactingChatModel(model, level, key)


def as_messages(input: LanguageModelInput) -> list[BaseMessage]:
    if isinstance(input, PromptValue):
        return input.to_messages()
    if isinstance(input, str):
        return [HumanMessage(content=input)]
    return convert_to_messages(input)


def hide_messages(messages: list[BaseMessage], call: ModelRedaction) -> list[BaseMessage]:
    """The messages as the model may see them: content, tool-call arguments and extra fields redacted."""
    if call.level == "off":
        return messages
    return [_hide_message(message, call) for message in messages]


def _hide_message(message: BaseMessage, call: ModelRedaction) -> BaseMessage:
    """The message as the model may see it; the message itself when redaction changed nothing (most do)."""
    update: dict[str, Any] = {"content": _content(message.content, call.hide)}
    if message.additional_kwargs:
        update["additional_kwargs"] = call.hide(message.additional_kwargs)
    if isinstance(message, AIMessage):
        update["tool_calls"] = [{**c, "args": call.hide(c["args"])} for c in message.tool_calls]
        update["invalid_tool_calls"] = [{**c, "args": call.hide(c.get("args"))} for c in message.invalid_tool_calls]
    if all(value == getattr(message, key) for key, value in update.items()):
        return message
    return message.model_copy(update=update)


def _content(content: Any, on_text: Any) -> Any:
    if isinstance(content, str):
        return on_text(content)
    if isinstance(content, list):
        return [on_text(block) if isinstance(block, str)
                else {key: on_text(value) if key in _BLOCK_TEXT_KEYS else value for key, value in block.items()}
                if isinstance(block, dict) else block
                for block in content]
    return content


def restore_output(output: Any, call: ModelRedaction) -> Any:
    """The model's output with the call's placeholders put back: a reply (text, tool-call arguments),
    a structured result (a Pydantic object, a dict, ``{"raw", "parsed", ...}``), recursively."""
    if not len(call.names):
        return output
    return _restore(output, call)


def _restore(value: Any, call: ModelRedaction) -> Any:
    if isinstance(value, str):
        return call.restore(value)
    if isinstance(value, BaseMessage):
        update: dict[str, Any] = {"content": _content(value.content, call.restore)}
        if value.additional_kwargs:
            update["additional_kwargs"] = call.restore(value.additional_kwargs)
        if isinstance(value, AIMessage):
            update["tool_calls"] = [{**c, "args": call.restore(c["args"])} for c in value.tool_calls]
            update["invalid_tool_calls"] = [{**c, "args": call.restore(c.get("args"))}
                                            for c in value.invalid_tool_calls]
        return value.model_copy(update=update)
    if isinstance(value, BaseModel):
        fields = {name: getattr(value, name) for name in type(value).model_fields}
        changed = {name: restored for name, inner in fields.items() if (restored := _restore(inner, call)) != inner}
        return value.model_copy(update=changed) if changed else value
    if isinstance(value, dict):
        return {key: _restore(inner, call) for key, inner in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_restore(inner, call) for inner in value)
    return value


def _json_schema(schema: Any) -> dict[str, Any] | None:
    if isinstance(schema, dict):
        return schema
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema.model_json_schema()
    return None
