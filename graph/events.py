"""Run events: to LangGraph's ``custom`` stream (progress) and to the thread's audit trail.

Events: run_started, invalid_request, plan, plan_failed, model_call, tool_call, policy_decision,
tool_result, review_requested, review_decided, task_finished, evaluation, intervention (a reliability
mechanism blocked, corrected, re-planned, verified or asked to confirm something), run_finished; the memory
nodes add memory_recalled, memory_recorded and memory_error.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langgraph.config import get_config, get_stream_writer

from taskwarden.graph.audit import record_event
from taskwarden.graph.usage import usage_of_call


def emit(event: str, **data: Any) -> None:
    """Record ``event`` in the run's audit trail, then send ``{"event": event, **data}`` to stream
    consumers. A no-op outside a run.

    Audit failures fail closed: `AuditWriteError` (logged) propagates and stops the run at its last
    checkpoint, so a run never goes on acting without a record of what it did. Stopping is safe:
    the run resumes from that checkpoint once the audit log is writable again, and side effects
    already made are replayed from the idempotency ledger, not repeated. The event is recorded
    before it is streamed, so nothing is shown as done that the trail does not hold.
    """
    try:
        config = get_config()
    except RuntimeError:
        return
    record_event(event, data, config)
    try:
        writer = get_stream_writer()
    except RuntimeError:
        return
    writer({"event": event, **data})


def emit_model_call(role: str, message: AIMessage, seconds: float, **data: Any) -> None:
    """A ``model_call`` event: role, model, tokens, cost (from the price table) and latency."""
    usage = usage_of_call(message, seconds)
    emit("model_call", role=role, model=str((message.response_metadata or {}).get("model_name", "")),
         input_tokens=usage["input_tokens"], output_tokens=usage["output_tokens"], cost_usd=usage["cost_usd"],
         latency_ms=round(seconds * 1000, 1), **data)


def emit_model_calls(role: str, messages: list[AIMessage], seconds: float, **data: Any) -> None:
    """One ``model_call`` per raw reply of a structured call (a repair makes two); they share `seconds`."""
    for message in messages:
        emit_model_call(role, message, seconds / len(messages), **data)
