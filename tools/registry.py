"""Tool registry: every tool declares its risk and scopes; roles are granted explicit tool lists."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from langchain_core.tools import BaseTool, StructuredTool

Risk = Literal["read", "write", "irreversible"]
RISKS: tuple[str, ...] = ("read", "write", "irreversible")
GroundRule = Literal["request", "observed", "seen", "free"]
GROUND_RULES: tuple[str, ...] = ("request", "observed", "seen", "free")
DoneCheck = Callable[[list[dict[str, Any]], str], "str | None"]
"""A role's check that its task left nothing undone, given the task's actions and the run's request (see
`Role.done_check`)."""
AnswerCheck = Callable[[str, list[dict[str, Any]], str], "str | None"]
"""A role's check that its answer states what it must, given the answer, the task's actions and the run's request
(see `Role.answer_check`)."""


class NothingToCall(str):
    """A `ToolSpec.request_check` problem that no change to the call fixes (the record the request names does not
    exist): the model is told to answer, not to call the tool again. Any other problem says what to change."""


@dataclass(frozen=True)
class ToolSpec:
    """A tool plus what the engine must know to run it safely."""

    tool: BaseTool
    """The LangChain tool the worker's model sees (name, description, argument schema)."""
    risk: Risk = "write"
    """`read` has no side effects; `write` and `irreversible` run at most once per call (ledger)."""
    scopes: tuple[str, ...] = ()
    """Scopes the tool needs, documented for reviewers and audits (e.g. `refunds:write`)."""
    reconcile: Callable[[dict[str, Any]], str | None] | None = None
    """For side-effecting tools: given the arguments of a call that may have run before a crash,
    return its result if the effect is observable in the system, or None if it did not happen."""
    timeout_s: float | None = 30.0
    """Deadline of one attempt; None waits forever. A side-effecting call past it is uncertain:
    it is left for reconciliation and escalated, never retried."""
    retries: int = 2
    """Extra attempts after a transient error. Which errors are transient depends on `risk`:
    `TransientToolError` always; `TimeoutError` / `ConnectionError` only for `read` tools."""
    backoff_s: float = 0.5
    """Base of the exponential backoff between attempts (full jitter: a random wait up to
    ``backoff_s * 2**retry``, capped at `max_backoff_s`)."""
    max_backoff_s: float = 8.0
    grounding: Mapping[str, GroundRule] | None = None
    """Where each argument of a side-effecting call must come from (`taskwarden.tools.grounding`):
    ``request`` (the request or conversation), ``observed`` (an earlier tool result in this run),
    ``seen`` (either), ``free`` (not checked). Unlisted arguments are inferred from their names and
    schema (ids and e-mail addresses are checked, free text and amounts are not)."""
    verify: Callable[[dict[str, Any], str], str | None] | None = None
    """For side-effecting tools: re-read the system after a call (arguments, result) and return None
    when the intended change is there, else what is wrong. Without it, `reconcile` is used."""
    intent: str | None = None
    """A regular expression (case-insensitive) the request must match for this tool to be called at
    all, e.g. ``r"refund|money back"``; otherwise the call is blocked as not asked for."""
    request_check: Callable[[dict[str, Any], str], str | None] | None = None
    """For side-effecting tools, grounding beyond traceability: given a call's arguments and the request, None
    when they agree, else what to change (e.g. the request names an owner the call leaves empty). A call that
    fails it is blocked before it runs and the model is told what to change; a `NothingToCall` problem (no call of
    the tool fits the request) tells it to answer instead."""
    precheck: Callable[[dict[str, Any]], None] | None = None
    """For side-effecting tools: the tool's own refusals, checked without side effects. Given a call's arguments, it
    raises what the tool would raise (the tool itself should call it first, so the two cannot drift apart). It runs
    before anyone is asked to confirm or approve the call: nobody approves a call the tool would refuse anyway."""

    def __post_init__(self) -> None:
        if self.risk not in RISKS:
            raise ValueError(f"tool {self.tool.name!r}: risk must be one of {RISKS}, got {self.risk!r}")
        if self.timeout_s is not None and self.timeout_s <= 0:
            raise ValueError(f"tool {self.tool.name!r}: timeout_s must be positive or None, got {self.timeout_s!r}")
        if self.retries < 0 or self.backoff_s < 0 or self.max_backoff_s < self.backoff_s:
            raise ValueError(f"tool {self.tool.name!r}: need retries >= 0 and 0 <= backoff_s <= max_backoff_s, got "
                             f"retries={self.retries!r}, backoff_s={self.backoff_s!r}, max_backoff_s={self.max_backoff_s!r}")
        if self.grounding:
            bad = {arg: rule for arg, rule in self.grounding.items() if rule not in GROUND_RULES}
            if bad:
                raise ValueError(f"tool {self.tool.name!r}: grounding rules must be among {GROUND_RULES}, got {bad}")
            object.__setattr__(self, "grounding", dict(self.grounding))
        if self.intent is not None:
            try:
                re.compile(self.intent)
            except re.error as exc:
                raise ValueError(f"tool {self.tool.name!r}: intent is not a regular expression: {exc}") from None

    @property
    def name(self) -> str:
        return self.tool.name

    @property
    def has_side_effects(self) -> bool:
        return self.risk != "read"

    @cached_property
    def arg_schemas(self) -> dict[str, dict[str, Any]]:
        """Each argument's JSON schema (an optional one as its non-null type), computed once per spec: the
        reliability checks read it on every tool call. Empty for a tool without a usable schema."""
        try:
            schema = self.tool.get_input_schema().model_json_schema()
        except Exception:  # noqa: BLE001 - a tool without a usable schema: only declared rules apply
            return {}
        return {name: _non_null(prop) for name, prop in (schema.get("properties") or {}).items()}


def tool_spec(fn: Callable[..., Any] | BaseTool, *, risk: Risk = "write", scopes: tuple[str, ...] = (),
              name: str | None = None,
              reconcile: Callable[[dict[str, Any]], str | None] | None = None, **options: Any) -> ToolSpec:
    """Wrap a plain function (its docstring is the description) or a LangChain tool into a `ToolSpec`.

    `options` sets the other `ToolSpec` fields: `timeout_s`, `retries`, `backoff_s`, `max_backoff_s`,
    `grounding`, `verify`, `intent`, `request_check` and `precheck`.
    """
    tool = fn if isinstance(fn, BaseTool) else StructuredTool.from_function(fn, name=name)
    return ToolSpec(tool=tool, risk=risk, scopes=tuple(scopes), reconcile=reconcile, **options)


@dataclass(frozen=True)
class Role:
    """A worker role: what it is for and the only tools it may call (least privilege)."""

    name: str
    description: str
    tools: tuple[str, ...] = ()
    instructions: str = ""
    criteria: tuple[str, ...] = ()
    """Acceptance criteria for every task of this role; when set they replace the planner's own,
    which makes evaluation predictable (small models write vague or contradictory criteria)."""
    after: tuple[str, ...] = ()
    """Roles whose tasks must finish first: the engine adds those dependencies to every plan."""
    must_call: tuple[str, ...] = ()
    """Tools a task of this role must have run before its answer counts (e.g. `draft_reply`)."""
    required: bool = False
    """Every plan has a task of this role (e.g. the reply to the customer): the engine adds one to a plan
    that lacks it (small models plan the first step of a pipeline and stop)."""
    sees_tool_results: bool = False
    """Its tasks read the earlier tasks' tool results too, not only their answers (a small model's summary
    drops the facts a report is written from)."""
    done_check: DoneCheck | None = field(default=None, compare=False)
    """A check in code that a task of this role left nothing undone, re-reading the system: given the
    task's actions (tool, args, outcome, observation) and the request, what is still to do, or None. Run before the
    evaluator (verify after write); what it returns revises the task (e.g. notices still unsent)."""
    answer_check: AnswerCheck | None = field(default=None, compare=False)
    """A check in code that a task's answer states what it must (loop recovery: an answer that leaves out part of
    the task is not an answer): given the answer, the task's actions and the request, what the answer still
    lacks, or None. Asked when the worker answers (it answers again, once per attempt) and before the evaluator
    (what it returns revises the task), e.g. a requested record the answer does not name."""

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"role name {self.name!r} must be a non-empty identifier (letters, digits, _ or -)")
        missing = [tool for tool in self.must_call if tool not in self.tools]
        if missing:
            raise ValueError(f"role {self.name!r} must call {missing} but is not granted them")


@dataclass
class ToolRegistry:
    """The tools of one workflow, looked up by name and by role grant."""

    specs: dict[str, ToolSpec] = field(default_factory=dict)

    @classmethod
    def of(cls, specs: list[ToolSpec]) -> ToolRegistry:
        registry = cls()
        for spec in specs:
            if spec.name in registry.specs:
                raise ValueError(f"duplicate tool name {spec.name!r}")
            registry.specs[spec.name] = spec
        return registry

    def get(self, name: str) -> ToolSpec | None:
        return self.specs.get(name)

    def for_role(self, role: Role) -> list[ToolSpec]:
        """The tools granted to `role`, in the order the role lists them."""
        return [self.specs[name] for name in role.tools]

    def check_grants(self, roles: list[Role]) -> None:
        """Raise `ValueError` if a role is granted a tool the registry does not have."""
        for role in roles:
            missing = [name for name in role.tools if name not in self.specs]
            if missing:
                raise ValueError(f"role {role.name!r} is granted unknown tools {missing}; known: {sorted(self.specs)}")


def _non_null(prop: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [{type: string}, {type: null}]`` (an optional argument) reads as its non-null type."""
    options = [p for p in prop.get("anyOf", []) if p.get("type") != "null"]
    return {**prop, **options[0]} if len(options) == 1 else prop
