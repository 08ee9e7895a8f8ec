"""The public definition of a workflow: instructions, roles, tools, policies and budgets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel

from taskwarden.graph.reliability import Reliability
from taskwarden.graph.usage import Budgets
from taskwarden.tools.expressions import ExpressionError, compile_expression
from taskwarden.tools.policy import PolicyGate, PolicyRule
from taskwarden.tools.redact import REDACTION_LEVELS, RedactionLevel
from taskwarden.tools.registry import Role, ToolRegistry, ToolSpec

MODEL_ROLES = ("orchestrator", "worker", "evaluator")


@dataclass
class Workflow:
    """Everything the engine needs to run one kind of job. Validated when created."""

    name: str
    description: str
    instructions: str
    roles: list[Role]
    tools: list[ToolSpec] = field(default_factory=list)
    policies: list[PolicyRule] = field(default_factory=list)
    budgets: Budgets = field(default_factory=Budgets)
    plan_hint: str = ""
    """Guidance for the planner, e.g. the usual shape of a plan for this workflow."""
    models: dict[str, str] = field(default_factory=dict)
    """Model spec per role (`orchestrator`, `worker`, `evaluator`); unset roles use the defaults."""
    answer_from: tuple[str, str] | None = None
    """``(tool, argument)`` whose last executed value is the run's answer, e.g. the reply a writer
    saved with ``("draft_reply", "message")``; without it the final tasks' results answer."""
    validate_request: Callable[[str], str | None] | None = None
    """Returns an error message for a request this workflow cannot take, or None."""
    sample_requests: list[str] = field(default_factory=list)
    input_schema: type[BaseModel] | None = None
    """What a webhook payload must look like (a Pydantic model); None: ``{"request": str, ...}``. The run's
    request is the model's ``to_request()`` if it has one, else its ``request`` field, else the payload
    as JSON. See taskwarden.serve.triggers."""
    trigger_filter: str | None = None
    """Which trigger events start a run, in the policy expression language over the event's fields,
    e.g. ``source == 'web form'``; other events are acknowledged and ignored."""
    reliability: Reliability = field(default_factory=Reliability)
    """The mechanisms that keep a small model honest (grounded arguments, loop recovery, verify after
    write...); all on by default. See taskwarden.graph.reliability."""
    confirm: tuple[str, ...] = ()
    """Tools whose calls the requester must confirm through the conversation before they run (customer-
    facing workflows): the details are stated and only an explicit yes lets the call go ahead."""
    redact: RedactionLevel = "secrets"
    """What models see (a run's ``Context(redact=...)`` overrides it): ``secrets`` masks card numbers and
    secrets; ``pii`` also replaces e-mail addresses and phone numbers with placeholders, restored in
    what the model writes; ``off`` sends everything as it is. See taskwarden.graph.redacting_model."""

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"workflow name {self.name!r} must be an identifier (letters, digits, - or _)")
        if not self.roles:
            raise ValueError(f"workflow {self.name!r} needs at least one role")
        names = [role.name for role in self.roles]
        if len(set(names)) != len(names):
            raise ValueError(f"workflow {self.name!r} has duplicate role names: {names}")
        self.registry = ToolRegistry.of(self.tools)
        self.registry.check_grants(self.roles)
        unknown = [rule.tool for rule in self.policies if rule.tool != "*" and self.registry.get(rule.tool) is None]
        if unknown:
            raise ValueError(f"workflow {self.name!r} has policies for unknown tools {unknown}")
        if self.answer_from and self.registry.get(self.answer_from[0]) is None:
            raise ValueError(f"workflow {self.name!r} takes its answer from unknown tool {self.answer_from[0]!r}")
        unconfirmable = [tool for tool in self.confirm if self.registry.get(tool) is None]
        if unconfirmable:
            raise ValueError(f"workflow {self.name!r} asks to confirm unknown tools {unconfirmable}")
        bad_roles = [role for role in self.models if role not in MODEL_ROLES]
        if bad_roles:
            raise ValueError(f"workflow {self.name!r}: models may be set for {MODEL_ROLES}, not {bad_roles}")
        if self.redact not in REDACTION_LEVELS:
            raise ValueError(f"workflow {self.name!r}: redact must be one of {list(REDACTION_LEVELS)}, "
                             f"not {self.redact!r}")
        try:
            self.trigger_expression = compile_expression(self.trigger_filter) if self.trigger_filter else None
        except ExpressionError as exc:
            raise ValueError(f"workflow {self.name!r}: trigger_filter: {exc}") from None
        self.gate = PolicyGate(tuple(self.policies))

    def role(self, name: str) -> Role:
        for role in self.roles:
            if role.name == name:
                return role
        raise KeyError(f"workflow {self.name!r} has no role {name!r}")
