"""``LocalChatModel``: ChatOpenAI for llama.cpp servers, with tools and structured output by grammar.

llama.cpp's OpenAI-compatible server ignores ``tool_choice="auto"`` and rejects
``json_schema`` response formats, but it can constrain decoding to any JSON schema
(``response_format={"type": "json_object", "schema": ...}``).  This model turns
``bind_tools`` / ``with_structured_output`` into such schemas (see ``plan.py``),
renders the history as plain text (``transcript.py``), decodes and validates the
reply (``decode.py``), re-asks once with the error when it is invalid, and:

* serializes requests per endpoint through a fair FIFO lock (``queue.py``): one
  request at a time, parallel LangGraph branches wait in arrival order; async
  calls run the same code in an executor thread so they queue fairly too;
* retries connection errors, timeouts and 5xx with exponential backoff, restarting
  the embedded server when ``managed`` (the ``local`` spec), then raises
  ``ModelCallError``;
* always fills ``usage_metadata`` and ``response_metadata["model_name"]``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

import openai
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.runnables.config import run_in_executor
from langchain_core.tools import BaseTool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, PrivateAttr, model_validator

from taskwarden.models.decode import Decoded
from taskwarden.models.errors import ModelCallError
from taskwarden.models.plan import RequestPlan, as_response_format, json_schema_of, make_plan, pydantic_class
from taskwarden.models.prompts import REPAIR_PROMPT, TRUNCATED_REPLY
from taskwarden.models.queue import endpoint_lock
from taskwarden.models.toolspec import args_model_of, specs_from_openai, to_openai_tools
from taskwarden.models.transcript import render_messages

DEFAULT_TIMEOUT_S = 180.0
DEFAULT_MAX_TOKENS = 1024
_UNRESOLVED_URL = "http://127.0.0.1:9/v1"  # placeholder until the managed server is resolved
_RETRYABLE = (openai.APIConnectionError, openai.InternalServerError)  # APITimeoutError is a connection error


class LocalChatModel(ChatOpenAI):  # type: ignore[override]
    """A ChatOpenAI whose tool calls and structured output are grammar-constrained JSON replies."""

    managed: bool = False
    """Resolve ``base_url`` via ``ensure_server()`` on first use, and restart that server if it dies."""
    max_repairs: int = 1
    """How many times an invalid reply is sent back with its validation error before giving up."""
    call_attempts: int = 3
    """Tries per request on connection errors, timeouts and 5xx."""
    backoff_s: float = 1.0
    """First retry delay; doubles on each further retry."""

    _arg_models: dict[str, type[BaseModel]] = PrivateAttr(default_factory=dict)
    _output_model: type[BaseModel] | None = PrivateAttr(default=None)
    _resolved: bool = PrivateAttr(default=False)

    @model_validator(mode="before")
    @classmethod
    def _local_defaults(cls, values: Any) -> Any:
        """Offline-friendly defaults: dummy key, bounded timeout and output, no client retries, no streaming."""
        if not isinstance(values, dict):
            return values
        values = dict(values)
        if values.get("managed") and not (values.get("base_url") or values.get("openai_api_base")):
            values["base_url"] = _UNRESOLVED_URL
        if not (values.get("api_key") or values.get("openai_api_key")):
            values["api_key"] = "sk-local-no-key"
        if "timeout" not in values and "request_timeout" not in values:
            values["timeout"] = DEFAULT_TIMEOUT_S
        if "max_tokens" not in values and "max_completion_tokens" not in values:
            values["max_tokens"] = DEFAULT_MAX_TOKENS
        base_url = str(values.get("base_url") or values.get("openai_api_base") or "")
        if base_url.startswith(("http://127.0.0.1", "http://localhost")):
            values.setdefault("http_socket_options", ())  # loopback: no TCP keepalive tuning (and no probe)
        values.setdefault("temperature", 0.0)
        values.setdefault("max_retries", 0)
        values.setdefault("disable_streaming", True)
        values.setdefault("use_responses_api", False)
        return values

    @property
    def _llm_type(self) -> str:
        return "taskwarden-llamacpp"

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return False

    # ----- binding -------------------------------------------------------------------------

    def bind_tools(  # type: ignore[override]
        self,
        tools: Sequence[dict[str, Any] | type | Callable | BaseTool],
        *,
        tool_choice: dict | str | bool | None = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        response_format: Any = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools; calls then answer with one grammar-constrained tool call or a final answer.

        ``tool_choice``: None/"auto" (tool or final answer), "none", "any"/"required"/True
        (some tool), or a tool name / OpenAI dict (that tool).  ``response_format`` (a
        schema) constrains the final answer.  ``strict`` and ``parallel_tool_calls`` are
        accepted for compatibility; replies always hold exactly one call.
        """
        formatted = to_openai_tools(tools)
        make_plan(formatted, tool_choice, response_format)  # validate names and choice eagerly
        clone = self._clone(
            arg_models={
                spec.name: model
                for spec, tool in zip(specs_from_openai(formatted), tools, strict=True)
                if (model := args_model_of(tool)) is not None
            }
        )
        extra: dict[str, Any] = {}
        if tool_choice is not None:
            extra["tool_choice"] = tool_choice
        if response_format is not None:
            extra["response_format"] = as_response_format(response_format)
            clone._output_model = pydantic_class(response_format)
        return clone.bind(tools=formatted, **extra, **kwargs)

    def with_structured_output(  # type: ignore[override]
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: str = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        tools: list | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Return a runnable that answers with ``schema`` (a Pydantic class or JSON-schema dict).

        Every ``method`` maps to grammar-constrained JSON.  With ``include_raw=True`` the
        result is ``{"raw": AIMessage, "parsed": obj | None, "parsing_error": exc | None}``
        and validation errors never raise.
        """
        if schema is None:
            raise ValueError("with_structured_output needs a schema")
        if kwargs or tools:
            raise ValueError(f"unsupported arguments: {sorted(kwargs) + (['tools'] if tools else [])}")
        json_schema = json_schema_of(schema)
        model_cls = pydantic_class(schema)
        clone = self._clone(output_model=model_cls)
        llm = clone.bind(
            response_format={"type": "json_object", "schema": json_schema},
            ls_structured_output_format={"kwargs": {"method": method}, "schema": json_schema},
        )
        parser = PydanticOutputParser(pydantic_object=model_cls) if model_cls else JsonOutputParser()
        if not include_raw:
            return llm | parser
        parse = RunnablePassthrough.assign(parsed=itemgetter("raw") | parser, parsing_error=lambda _: None)
        keep_raw = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=llm) | parse.with_fallbacks([keep_raw], exception_key="parsing_error")

    def _clone(
        self, *, arg_models: dict[str, type[BaseModel]] | None = None, output_model: type[BaseModel] | None = None
    ) -> LocalChatModel:
        clone = self.model_copy()
        clone._arg_models = dict(arg_models or {})
        clone._output_model = output_model
        return clone

    # ----- generation ----------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        plan = make_plan(
            kwargs.pop("tools", None),
            kwargs.pop("tool_choice", None),
            kwargs.pop("response_format", None),
            self._arg_models,
            self._output_model,
        )
        kwargs.pop("parallel_tool_calls", None)
        kwargs.pop("strict", None)
        if plan.response_format is not None:
            kwargs["response_format"] = plan.response_format
        convo = render_messages(messages, plan.protocol, json_replies=plan.kind == "tools")
        results: list[ChatResult] = []
        for attempt in range(self.max_repairs + 1):
            results.append(self._request(convo, stop, run_manager, **kwargs))
            text = results[-1].generations[0].message.text
            decoded = plan.decode(text)
            if decoded.error is None or attempt == self.max_repairs:
                break
            error = decoded.error
            if (results[-1].generations[0].generation_info or {}).get("finish_reason") == "length":
                error = TRUNCATED_REPLY.format(limit=self.max_tokens or DEFAULT_MAX_TOKENS, error=error)
            convo = [*convo, AIMessage(content=text), HumanMessage(content=REPAIR_PROMPT.format(error=error))]
        return self._result(decoded, results, plan)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """Run the sync path in an executor thread, so async callers share the same fair queue."""
        sync_manager = run_manager.get_sync() if run_manager else None
        return await run_in_executor(None, self._generate, messages, stop, sync_manager, **kwargs)

    def _get_request_payload(self, input_: LanguageModelInput, *, stop: list[str] | None = None, **kwargs: Any) -> dict:
        """llama.cpp reads ``max_tokens``; ChatOpenAI renames it to ``max_completion_tokens``."""
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        if "max_completion_tokens" in payload:
            payload["max_tokens"] = payload.pop("max_completion_tokens")
        return payload

    def _request(self, convo: list[BaseMessage], stop: list[str] | None, run_manager: Any, **kwargs: Any) -> ChatResult:
        """One HTTP round trip, holding the endpoint's FIFO lock, with bounded retries."""
        with endpoint_lock("local" if self.managed else str(self.openai_api_base)).hold():
            failures: list[str] = []
            for attempt in range(self.call_attempts):
                self._resolve_endpoint(restart=attempt > 0)
                try:
                    return super()._generate(convo, stop=stop, run_manager=run_manager, **kwargs)
                except openai.LengthFinishReasonError as exc:  # cut at max_tokens: decoded, then repaired
                    return self._create_chat_result(exc.completion)
                except _RETRYABLE as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")
                    if attempt + 1 < self.call_attempts:
                        time.sleep(self.backoff_s * 2**attempt)
            raise ModelCallError(
                f"model endpoint {self.openai_api_base} failed {self.call_attempts} times "
                f"(timeout {self.request_timeout}s): " + " | ".join(failures)
            )

    def _resolve_endpoint(self, *, restart: bool) -> None:
        """For managed models: find (or restart) the embedded server and point the clients at it."""
        if not self.managed or (self._resolved and not restart):
            return
        from taskwarden.models.server import ensure_server

        base_url = ensure_server()
        if base_url != self.openai_api_base:
            self.openai_api_base = base_url
            self.client = self.root_client = self.async_client = self.root_async_client = None
            self.validate_environment()
        self._resolved = True

    def _result(self, decoded: Decoded, results: list[ChatResult], plan: RequestPlan) -> ChatResult:
        last = results[-1]
        raw = last.generations[0].message
        model_name = self.model_name
        metadata = {**raw.response_metadata, "model_name": model_name, "repairs": len(results) - 1}
        fields: dict[str, Any] = {"content": decoded.content}
        if decoded.error is None:
            fields["tool_calls"] = decoded.tool_calls
        elif decoded.rejected is not None:
            fields = {"content": "", "invalid_tool_calls": [decoded.rejected]}
        message = AIMessage(**fields, usage_metadata=_total_usage(results), response_metadata=metadata, id=raw.id)
        llm_output = {**(last.llm_output or {}), "model_name": model_name}
        info = dict(last.generations[0].generation_info or {})
        return ChatResult(generations=[ChatGeneration(message=message, generation_info=info)], llm_output=llm_output)


def _total_usage(results: list[ChatResult]) -> UsageMetadata:
    """Token usage summed over the first try and any repairs (zeros where the server reported none)."""
    total = UsageMetadata(input_tokens=0, output_tokens=0, total_tokens=0)
    for result in results:
        usage = getattr(result.generations[0].message, "usage_metadata", None) or {}
        for key in ("input_tokens", "output_tokens", "total_tokens"):
            total[key] += int(usage.get(key, 0) or 0)
    return total
