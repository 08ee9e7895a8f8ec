"""The policy gate: deterministic rules, checked in code before every tool call (never by the model)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from taskwarden.tools.expressions import ExpressionError, compile_expression, evaluate

Outcome = Literal["allow", "require_approval", "forbid"]
Condition = str | Callable[[dict[str, Any]], bool] | None


@dataclass(frozen=True)
class PolicyRule:
    """`tool` calls matching `when` are forbidden or need a human's approval."""

    tool: str
    """Tool name the rule applies to, or ``*`` for every tool."""
    action: Literal["require_approval", "forbid"]
    when: Condition = None
    """None (always), an expression over the call's arguments (``"amount > 100"``), or a callable."""
    reason: str = ""
    constants: Mapping[str, Any] = field(default_factory=dict, hash=False)
    """Named values an expression may use besides the arguments (e.g. ``allowlist``); they win over
    an argument of the same name, so a call cannot shadow them (see `evaluate`)."""
    _compiled: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.action not in ("require_approval", "forbid"):
            raise ValueError(f"policy action must be 'require_approval' or 'forbid', got {self.action!r}")
        object.__setattr__(self, "constants", copy.deepcopy(dict(self.constants)))  # later changes do not leak in
        if isinstance(self.when, str):
            object.__setattr__(self, "_compiled", compile_expression(self.when))

    def matches(self, tool: str, args: dict[str, Any]) -> bool:
        """Whether the rule applies; a condition that cannot be evaluated applies (fail closed)."""
        if self.tool not in ("*", tool):
            return False
        if self.when is None:
            return True
        try:
            if self._compiled is not None:
                return bool(evaluate(self._compiled, args, self.constants))
            return bool(self.when(args))  # type: ignore[operator]
        except (ExpressionError, TypeError, KeyError, ValueError):
            return True

    def describe(self) -> str:
        condition = "" if self.when is None else f" when {self.when if isinstance(self.when, str) else 'condition'}"
        verb = "needs approval" if self.action == "require_approval" else "is forbidden"
        return self.reason or f"{self.tool}{condition} {verb}"


def require_approval(tool: str, when: Condition = None, reason: str = "") -> PolicyRule:
    """A rule: calls to `tool` (matching `when`) stop for a human's approve / edit / reject."""
    return PolicyRule(tool=tool, action="require_approval", when=when, reason=reason)


def forbid(tool: str, when: Condition = None, reason: str = "") -> PolicyRule:
    """A rule: calls to `tool` (matching `when`) are refused and reported back to the model."""
    return PolicyRule(tool=tool, action="forbid", when=when, reason=reason)


@dataclass(frozen=True)
class PolicyDecision:
    """What the gate decided for one tool call, and why."""

    outcome: Outcome
    reason: str = ""


@dataclass(frozen=True)
class PolicyGate:
    """Evaluates all rules for a call: any matching `forbid` wins, then any `require_approval`."""

    rules: tuple[PolicyRule, ...] = ()

    def check(self, tool: str, args: dict[str, Any]) -> PolicyDecision:
        matched = [rule for rule in self.rules if rule.matches(tool, args)]
        for action in ("forbid", "require_approval"):
            hits = [rule for rule in matched if rule.action == action]
            if hits:
                return PolicyDecision(outcome=action, reason="; ".join(rule.describe() for rule in hits))
        return PolicyDecision(outcome="allow")
