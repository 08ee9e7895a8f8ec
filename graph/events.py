"""Progress events on LangGraph's ``custom`` stream: plan, task, tool, evaluation, review, finish."""

from __future__ import annotations

from typing import Any

from langgraph.config import get_stream_writer


def emit(event: str, **data: Any) -> None:
    """Send ``{"event": event, **data}`` to stream consumers; a no-op outside a streamed run."""
    try:
        writer = get_stream_writer()
    except RuntimeError:
        return
    writer({"event": event, **data})
