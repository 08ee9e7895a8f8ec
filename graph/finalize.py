"""finalize: the run's outcome and answer, from the results of its final tasks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.messages import AIMessage

from taskwarden.graph.engine import Engine
from taskwarden.graph.events import emit
from taskwarden.graph.state import RunState


def final_tasks(tasks: dict[str, Any]) -> list[dict[str, Any]]:
    """Tasks no other task depends on: their results answer the request."""
    needed = {dep for task in tasks.values() for dep in task["depends_on"]}
    return [task for tid, task in tasks.items() if tid not in needed]


def answer_from_tool(tasks: dict[str, Any], tool: str, argument: str) -> str:
    """The argument of the last successful call of `tool` in the run (e.g. the reply that was saved)."""
    values = [str(a["args"].get(argument, "")).strip() for t in tasks.values() if t["status"] == "passed"
              for a in t["actions"] if a["tool"] == tool and a["outcome"] in ("executed", "replayed")]
    return next((v for v in reversed(values) if v), "")


def make_finalize(engine: Engine) -> Callable[[RunState], dict[str, Any]]:
    def finalize(state: RunState) -> dict[str, Any]:
        tasks = state.get("tasks") or {}
        if state.get("status") == "rejected":
            status, answer = "rejected", state.get("final_answer") or "Stopped by a human reviewer."
        else:
            status = "completed" if tasks and all(t["status"] == "passed" for t in tasks.values()) else "incomplete"
            answers = [t["result"].strip() for t in final_tasks(tasks) if t["status"] == "passed" and t["result"].strip()]
            chosen = answer_from_tool(tasks, *engine.workflow.answer_from) if engine.workflow.answer_from else ""
            answer = chosen or "\n\n".join(answers) or "The run ended without a result."
            if status == "incomplete":
                open_tasks = [f"{t['id']} ({t['status']})" for t in tasks.values() if t["status"] != "passed"]
                answer += f"\n\n(Not completed: {', '.join(open_tasks)}.)"
        emit("run_finished", status=status, answer=answer, usage=state.get("usage") or {})
        return {"status": status, "final_answer": answer, "messages": [AIMessage(content=answer)]}

    return finalize
