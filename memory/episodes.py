"""Episodes: what a run did and what a human taught it, stored so later runs can recall the lessons.

An episode lives under ``("episodes", <workflow>)`` with these fields (all optional but ``goal``):

- ``goal`` (str), ``plan`` (any JSON), ``outcome`` (str), ``status`` (str);
- ``decisions``: human decisions, each ``{"action", "args", "decision", "message", "edited_args"}``
  (``decision`` is approve / edit / reject / response; the engine's ``reviews`` records fit as they are);
- ``feedback``: evaluator feedback (list of str);
- ``lessons``: list of str; `lessons_from` derives more, deterministically, and they are merged.

Episodes are indexed on the goal and on each lesson, so `recall` finds the lessons of past runs whose
goal resembles a new one, and nothing when no past goal is close (``min_score``).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from langgraph.store.base import BaseStore

NAMESPACE = "episodes"
INDEX_FIELDS = ["goal", "lessons[*]"]
MIN_SCORE = 0.4
"""Cosine similarity a past episode needs to count as similar (calibrated for MiniLM)."""


def namespace(workflow: str) -> tuple[str, str]:
    """Where a workflow's episodes live (a ``.`` in the name, which labels cannot hold, becomes ``_``)."""
    return (NAMESPACE, workflow.replace(".", "_"))


def record_episode(store: BaseStore, workflow: str, episode: dict[str, Any]) -> str:
    """Store a run's episode (lessons derived and merged); returns its key (``episode["id"]`` if given)."""
    if not str(episode.get("goal") or "").strip():
        raise ValueError("an episode needs a goal")
    key = str(episode.get("id") or uuid.uuid4().hex)
    value = {k: v for k, v in episode.items() if k != "id"}
    value["lessons"] = _unique([*lessons_from(episode), *(episode.get("lessons") or [])])
    value.setdefault("recorded_at", datetime.now(UTC).isoformat())
    store.put(namespace(workflow), key, json.loads(json.dumps(value, default=str)), index=INDEX_FIELDS)
    return key


def lessons_from(episode: dict[str, Any]) -> list[str]:
    """Lessons a later run should know, derived from decisions, feedback and a failed outcome."""
    lessons = [lesson for d in episode.get("decisions") or [] if (lesson := _decision_lesson(d))]
    lessons += [f"Evaluator feedback: {f}" for f in episode.get("feedback") or [] if str(f).strip()]
    status = episode.get("status")
    if status in ("incomplete", "rejected", "failed") and episode.get("outcome"):
        lessons.append(f"A previous run ended {status}: {_clip(str(episode['outcome']), 200)}")
    return _unique(lessons)


def recall(store: BaseStore, workflow: str, goal: str, limit: int = 3, *, min_score: float = MIN_SCORE) -> list[str]:
    """The lessons of the past episodes most similar to `goal`, best first, without repeats."""
    hits = store.search(namespace(workflow), query=goal, limit=max(limit * 3, 10))
    lessons: list[str] = []
    for hit in hits:
        if hit.score is None or hit.score < min_score:
            continue
        lessons += [str(lesson) for lesson in hit.value.get("lessons") or []]
    return _unique(lessons)[:limit]


def _decision_lesson(decision: dict[str, Any]) -> str | None:
    kind = decision.get("decision") or decision.get("type")
    message = str(decision.get("message") or "").strip()
    what = describe_action(decision)
    if kind == "reject":
        return f"A reviewer rejected {what} because: {message}" if message else f"A reviewer rejected {what}."
    if kind == "edit":
        before, after = decision.get("args") or {}, decision.get("edited_args") or {}
        changes = [f"{k} from {_show(before[k])} to {_show(v)}" if k in before else f"{k} to {_show(v)}"
                   for k, v in after.items() if before.get(k, object()) != v]
        if not changes:
            return None
        return f"A reviewer changed {'; '.join(changes)} in {what}" + (f" ({message})" if message else "")
    if kind == "response" and message:
        return f"A reviewer said about {what}: {message}"
    if kind == "approve" and message:
        return f"A reviewer approved {what}: {message}"
    return None


def describe_action(decision: dict[str, Any]) -> str:
    """``name(k=v, ...)`` for a tool call, else what the decision was about."""
    name = decision.get("action") or decision.get("tool") or decision.get("name")
    args = decision.get("args") or {}
    if name:
        shown = ", ".join(f"{k}={_show(v)}" for k, v in args.items())
        return _clip(f"{name}({shown})", 160)
    if decision.get("kind"):
        task = f" on task {decision['task_id']}" if decision.get("task_id") else ""
        return f"the {decision['kind']} escalation{task}"
    return "an action"


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(s for s in (str(i).strip() for i in items) if s))
