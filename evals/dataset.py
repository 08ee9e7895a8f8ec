"""The dataset format: one labelled case per JSONL line, validated line by line.

A case says what to ask the workflow, how the scripted reviewer answers its reviews (and the requester
its confirmations), and what must be true afterwards: which records the run adds to the workflow's
systems (its *effects*, compared by state, not by what the model said), which extra records are
tolerated, whether a human review is expected, and what the answer must (not) say. See docs/eval.md for the full format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Record = dict[str, Any]
"""One record of a system (a row, a message, a file), as the workflow's `observe()` reports it."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReviewerPolicy(_Strict):
    """How the scripted reviewer answers every review the run asks for."""

    decision: Literal["approve", "reject", "edit", "respond"] = "approve"
    message: str = ""
    """The reason given with a reject, or the text of a respond."""
    args: dict[str, Any] = Field(default_factory=dict)
    """For ``edit``: the arguments merged into the proposed action's."""
    max_reviews: int = Field(default=3, ge=1)
    """After this many reviews in one case the reviewer rejects, so no case loops on reviews."""


class RequesterPolicy(_Strict):
    """How the scripted requester answers confirmation requests (a workflow's `confirm` tools state what
    they are about to do and wait for the requester's yes). Not human reviews: scored separately."""

    confirm: bool = True
    """Say yes to every confirmation (False: refuse them)."""
    message: str = ""
    """The reason given with a refusal."""


class AnswerCheck(_Strict):
    """What the run's answer must say. Matching is case-insensitive, on substrings."""

    contains: list[str | list[str]] = Field(default_factory=list)
    """Every item must occur; an item that is a list is satisfied by any one of its alternatives."""
    excludes: list[str] = Field(default_factory=list)
    """None of these may occur."""


class Expectation(_Strict):
    """The labelled outcome of a case."""

    effects: dict[str, list[Record]] = Field(default_factory=dict)
    """Records each system must gain, by kind (e.g. ``{"refunds": [{"purchase_id": "P1002", "amount": 249}]}``).
    A record matches an added record whose values agree on every key given here (numbers within 0.01,
    strings case-insensitively). Kinds not named here must gain nothing, unless `allowed` tolerates it."""
    allowed: dict[str, list[Record] | Literal["any"]] = Field(default_factory=dict)
    """Added records that are tolerated but not required, by kind (``"any"``: anything of that kind)."""
    review: bool = False
    """Whether the run should ask a human (an approval or an escalation) before it ends."""
    status: Literal["completed", "failed", "any"] = "completed"
    """How the run should end (``failed``: the workflow refuses the input or gives up, by design)."""
    answer: AnswerCheck = Field(default_factory=AnswerCheck)


class Case(_Strict):
    """One labelled case."""

    id: str = Field(min_length=1)
    input: dict[str, Any]
    """The workflow's input: at least ``{"request": "..."}``."""
    expect: Expectation
    setup: dict[str, Any] = Field(default_factory=dict)
    """Workflow-specific seeding for this case (extra rows, a feed file...), applied by the workflow's
    ``eval_workspace`` before the run; the workflow itself only sees `input`."""
    reviewer: ReviewerPolicy = Field(default_factory=ReviewerPolicy)
    requester: RequesterPolicy = Field(default_factory=RequesterPolicy)
    """How the requester answers confirmations; the same `max_reviews` cap (counted separately) ends loops."""
    tags: list[str] = Field(default_factory=list)
    """What the case covers (``common``, ``policy:approval``, ``edge:unknown-customer``...): reports group by tag."""
    note: str = ""

    @field_validator("input")
    @classmethod
    def _has_request(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(value.get("request"), str) or not value["request"].strip():
            raise ValueError('input needs a non-empty "request" string')
        return value

    @property
    def request(self) -> str:
        return self.input["request"]


@dataclass(frozen=True)
class DatasetError:
    """A line that is not a valid case: reported with its number, the other cases still run."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class Dataset:
    path: Path | None
    cases: list[Case]
    errors: list[DatasetError]


class DatasetFileError(ValueError):
    """The dataset file cannot be read at all (missing, not UTF-8, no cases)."""


def parse_lines(lines: list[str], path: Path | None = None) -> Dataset:
    """Parse JSONL text: blank lines and lines starting with ``#`` are skipped; a bad line becomes a
    `DatasetError` (line number and reason) and parsing goes on. Duplicate ids are errors too."""
    cases: list[Case] = []
    errors: list[DatasetError] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            errors.append(DatasetError(number, f"not JSON: {exc.msg} at column {exc.colno}"))
            continue
        if not isinstance(data, dict):
            errors.append(DatasetError(number, f"a case must be a JSON object, not {type(data).__name__}"))
            continue
        try:
            case = Case.model_validate(data)
        except ValidationError as exc:
            errors.append(DatasetError(number, explain_validation(exc)))
            continue
        if case.id in seen:
            errors.append(DatasetError(number, f"duplicate case id {case.id!r} (first on line {seen[case.id]})"))
            continue
        seen[case.id] = number
        cases.append(case)
    return Dataset(path, cases, errors)


def load_dataset(path: str | Path) -> Dataset:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetFileError(f"no dataset at {path}") from None
    except UnicodeDecodeError as exc:
        raise DatasetFileError(f"{path} is not UTF-8 text: {exc}") from None
    except OSError as exc:
        raise DatasetFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_lines(text.splitlines(), path)


def stratified_sample(cases: list[Case], n: int) -> list[Case]:
    """`n` cases spread over the cases' first tags (round robin over the tag groups, in file order),
    so a quick run still covers every policy branch and edge case; deterministic. With fewer cases
    than groups, the groups are taken evenly spaced over the file (not just its first groups)."""
    groups: dict[str, list[Case]] = {}
    for case in cases:
        groups.setdefault(case.tags[0] if case.tags else "", []).append(case)
    picked: list[Case] = []
    queues = [list(group) for group in groups.values()]
    if 0 < n < len(queues):
        queues = [queues[i * len(queues) // n] for i in range(n)]
    while len(picked) < min(n, len(cases)):
        for queue in queues:
            if queue and len(picked) < n:
                picked.append(queue.pop(0))
    order = {case.id: i for i, case in enumerate(cases)}
    return sorted(picked, key=lambda case: order[case.id])


def dump_cases(cases: list[dict[str, Any]] | list[Case]) -> str:
    """JSONL text for `cases`, one compact line each (what dataset generators write)."""
    rows = [Case.model_validate(c).model_dump(mode="json", exclude_defaults=True) if isinstance(c, dict)
            else c.model_dump(mode="json", exclude_defaults=True) for c in cases]
    return "".join(json.dumps(row, ensure_ascii=False, sort_keys=False) + "\n" for row in rows)


def explain_validation(exc: ValidationError) -> str:
    """The first three problems of a Pydantic error as ``where: what``, in one line."""
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error["loc"]) or "case"
        parts.append(f"{where}: {error['msg']}")
    more = len(exc.errors()) - 3
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
