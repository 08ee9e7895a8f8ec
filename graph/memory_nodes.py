"""recall and remember: the run's long-term memory (lessons of similar past runs in, this run's episode out).

Both read the store LangGraph hands the graph (`runtime.store`): the `ChromaStore` that
`build_workflow` opens by default, or the one `langgraph.json` gives the server. Without a store
they do nothing. Memory never decides a run's fate: a store that fails is reported as a
``memory_error`` event (and logged) and the run goes on without it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from taskwarden.graph.context import Context
from taskwarden.graph.engine import Engine
from taskwarden.graph.events import emit
from taskwarden.graph.state import RunState
from taskwarden.memory.episodes import recall as recall_lessons
from taskwarden.memory.episodes import record_episode

log = logging.getLogger(__name__)

MAX_LESSONS = 5
"""Lessons given to the planner; more would crowd a small model's prompt."""


def make_recall(engine: Engine) -> Callable[..., dict[str, Any]]:
    workflow = engine.workflow.name

    def recall(state: RunState, runtime: Runtime[Context]) -> dict[str, Any]:
        store = runtime.store
        if store is None:
            return {"lessons": []}
        try:
            lessons = recall_lessons(store, workflow, state["request"], limit=MAX_LESSONS)
        except Exception as exc:  # any store failure degrades to "no memory", visibly
            _report("recall", exc)
            return {"lessons": []}
        emit("memory_recalled", lessons=lessons)
        return {"lessons": lessons}

    return recall


def make_remember(engine: Engine) -> Callable[..., dict[str, Any]]:
    workflow = engine.workflow.name

    def remember(state: RunState, config: RunnableConfig, runtime: Runtime[Context]) -> dict[str, Any]:
        store = runtime.store
        if store is None or not state.get("request"):
            return {}
        thread_id = str(config.get("configurable", {}).get("thread_id", ""))
        try:
            key = record_episode(store, workflow, episode_of(state, thread_id))
        except Exception as exc:
            _report("remember", exc)
            return {}
        emit("memory_recorded", episode_id=key)
        return {}

    return remember


def episode_of(state: RunState, thread_id: str = "") -> dict[str, Any]:
    """What a later run should know of this one: goal, plan, outcome, human decisions, evaluator feedback.

    The key is the run's id, so writing the episode again (a retried node) replaces it.
    """
    tasks = (state.get("tasks") or {}).values()
    return {
        "id": state.get("run_id") or None,
        "goal": state["request"],
        "thread_id": thread_id,
        "plan": [{k: t[k] for k in ("id", "role", "description")} for t in tasks],
        "status": state.get("status", ""),
        "outcome": state.get("final_answer", ""),
        "decisions": list(state.get("reviews") or []),
        "feedback": [f for t in tasks for f in t["feedback"] if not f.startswith("Reviewer:")],
        "recalled": list(state.get("lessons") or []),
    }


def _report(stage: str, exc: Exception) -> None:
    error = f"{type(exc).__name__}: {exc}"
    log.warning("long-term memory unavailable during %s: %s", stage, error)
    emit("memory_error", stage=stage, error=error)
