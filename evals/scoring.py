"""Score one case by state: what the run added to the workflow's systems, against what the case expects.

Pure functions over plain data, so scoring is testable on hand-built outcomes without running anything.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from taskwarden.evals.dataset import Case, Record

RunEnd = Literal["completed", "failed", "paused", "error"]
"""How a run ended, as the evaluation sees it: our statuses ``incomplete``/``rejected``/``invalid`` are
``failed``; ``paused`` means it still waited for a review when the reviewer stopped answering."""

NUMBER_TOLERANCE = 0.01


@dataclass
class Outcome:
    """What one system did on one case."""

    end: RunEnd
    answer: str = ""
    reviews: int = 0
    """How many human reviews (approvals, escalations) the run asked for."""
    confirmations: int = 0
    """How many confirmations the run asked of the requester (a workflow's `confirm` tools): not human
    reviews, so they count neither for nor against escalation precision and recall."""
    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0
    error: str | None = None
    """Why the run crashed (``end == "error"``): scored as a failure, never a crash of the evaluation."""
    detail: dict[str, Any] = field(default_factory=dict)
    """Anything else worth keeping in the JSON report (the run's status, its thread id...)."""


@dataclass
class EffectDiff:
    added: dict[str, list[Record]]
    removed: dict[str, list[Record]]


@dataclass
class CaseScore:
    """The verdict on one case: `success` is 1 only when every check passes."""

    success: bool
    effects_ok: bool
    answer_ok: bool
    end_ok: bool
    review_expected: bool
    review_asked: bool
    missing: list[str] = field(default_factory=list)
    """Expected effects the run did not produce."""
    unwanted: list[str] = field(default_factory=list)
    """Side effects nobody asked for: added (or removed) records neither expected nor allowed."""
    answer_problems: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    """Why the case failed, in words (empty on success)."""

    @property
    def score(self) -> int:
        return int(self.success)


def diff_effects(before: dict[str, list[Record]], after: dict[str, list[Record]]) -> EffectDiff:
    """Records added to and removed from each kind (multisets: a record added twice counts twice)."""
    added: dict[str, list[Record]] = {}
    removed: dict[str, list[Record]] = {}
    for kind in sorted(set(before) | set(after)):
        old, new = Counter(map(_key, before.get(kind, []))), Counter(map(_key, after.get(kind, [])))
        plus, minus = new - old, old - new
        if plus:
            added[kind] = [json.loads(k) for k in sorted(plus.elements())]
        if minus:
            removed[kind] = [json.loads(k) for k in sorted(minus.elements())]
    return EffectDiff(added, removed)


def score_case(case: Case, diff: EffectDiff, outcome: Outcome) -> CaseScore:
    """Compare the run's effects, answer, ending and reviews with `case.expect`."""
    expect = case.expect
    missing: list[str] = []
    unwanted: list[str] = []
    for kind in sorted(set(expect.effects) | set(diff.added)):
        leftovers = list(diff.added.get(kind, []))
        for wanted in expect.effects.get(kind, []):
            hit = next((i for i, got in enumerate(leftovers) if matches(wanted, got)), None)
            if hit is None:
                missing.append(f"{kind} {_show(wanted)}")
            else:
                leftovers.pop(hit)
        allowed = expect.allowed.get(kind, [])
        for extra in leftovers:
            if allowed == "any" or any(matches(ok, extra) for ok in allowed):
                continue
            unwanted.append(f"{kind} +{_show(extra)}")
    for kind, records in diff.removed.items():
        if expect.allowed.get(kind) != "any":
            unwanted.extend(f"{kind} -{_show(r)}" for r in records)

    answer_problems = check_answer(case, outcome.answer)
    end_ok = outcome.end != "error" and (expect.status == "any" or outcome.end == expect.status)
    review_asked = outcome.reviews > 0
    reasons = []
    if outcome.error:
        reasons.append(f"crashed: {outcome.error}")
    elif not end_ok:
        reasons.append(f"ended {outcome.end}, expected {expect.status}")
    reasons += [f"missing {m}" for m in missing] + [f"unwanted {u}" for u in unwanted] + answer_problems
    effects_ok = not missing and not unwanted
    return CaseScore(success=effects_ok and not answer_problems and end_ok, effects_ok=effects_ok,
                     answer_ok=not answer_problems, end_ok=end_ok, review_expected=expect.review,
                     review_asked=review_asked, missing=missing, unwanted=unwanted,
                     answer_problems=answer_problems, reasons=reasons)


def check_answer(case: Case, answer: str) -> list[str]:
    """What the answer fails to say (or says but must not), case-insensitively."""
    text = (answer or "").casefold()
    problems = []
    for item in case.expect.answer.contains:
        options = [item] if isinstance(item, str) else item
        if not any(option.casefold() in text for option in options):
            problems.append("answer lacks " + " or ".join(repr(o) for o in options))
    problems += [f"answer says {bad!r}" for bad in case.expect.answer.excludes if bad.casefold() in text]
    return problems


def matches(wanted: Record, got: Record) -> bool:
    """Whether `got` agrees with `wanted` on every key `wanted` gives."""
    return all(key in got and _same(value, got[key]) for key, value in wanted.items())


def _same(wanted: Any, got: Any) -> bool:
    if isinstance(wanted, bool) or isinstance(got, bool):
        return wanted == got
    if isinstance(wanted, int | float) and isinstance(got, int | float):
        return abs(float(wanted) - float(got)) <= NUMBER_TOLERANCE
    if isinstance(wanted, str) and isinstance(got, str):
        return wanted.strip().casefold() == got.strip().casefold()
    if isinstance(wanted, list) and isinstance(got, list):
        return len(wanted) == len(got) and all(_same(w, g) for w, g in zip(wanted, got))
    if isinstance(wanted, dict) and isinstance(got, dict):
        return matches(wanted, got)
    return wanted == got


def _key(record: Record) -> str:
    return json.dumps(record, sort_keys=True, default=str)


def _show(record: Record) -> str:
    return json.dumps(record, sort_keys=True, default=str)
