"""Per-run configuration, passed as ``context=Context(...)`` and read by nodes via ``runtime.context``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taskwarden.graph.reliability import Reliability, check_mechanisms
from taskwarden.graph.usage import Budgets
from taskwarden.tools.redact import RedactionLevel, check_level


@dataclass(kw_only=True)
class Context:
    """Run configuration. Every field is optional: None falls back to the workflow's own setting.

    Model specs resolve in this order: this context, the workflow's `models`, the environment
    (``TASKWARDEN_<ROLE>_MODEL``, then ``TASKWARDEN_MODEL``), then ``local`` (the embedded model).
    """

    orchestrator_model: str | None = None
    """Model spec for planning, e.g. ``local`` or ``openai:gpt-4o-mini``."""
    worker_model: str | None = None
    """Model spec for the workers' tool loops."""
    evaluator_model: str | None = None
    """Model spec for checking results."""
    max_steps: int | None = None
    max_revisions: int | None = None
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    max_wall_seconds: float | None = None
    max_tool_failures: int | None = None
    redact: RedactionLevel | None = None
    """What models may see in this run: ``secrets``, ``pii`` or ``off`` (see `Workflow.redact`)."""
    disable: tuple[str, ...] | None = None
    """Reliability mechanisms switched off for this run (see `taskwarden.graph.reliability`), e.g.
    ``("grounding",)``; used by ablations. None keeps the workflow's own settings."""

    def __post_init__(self) -> None:
        if self.redact is not None:
            check_level(self.redact)
        if self.disable is not None:
            if isinstance(self.disable, str):
                self.disable = tuple(part.strip() for part in self.disable.split(",") if part.strip())
            self.disable = tuple(self.disable)
            check_mechanisms(self.disable)

    def reliability(self, base: Reliability) -> Reliability:
        return base.without(self.disable)

    def budgets(self, base: Budgets) -> Budgets:
        return base.with_overrides(max_steps=self.max_steps, max_revisions=self.max_revisions,
                                   max_tokens=self.max_tokens, max_cost_usd=self.max_cost_usd,
                                   max_wall_seconds=self.max_wall_seconds, max_tool_failures=self.max_tool_failures)

    def model_spec(self, role: str) -> str | None:
        return getattr(self, f"{role}_model", None)


def context_of(runtime: Any) -> Context:
    """The run's context, or defaults when the caller passed none (or a plain dict, as servers do)."""
    context = getattr(runtime, "context", None)
    if isinstance(context, Context):
        return context
    if isinstance(context, dict):
        known = {key: value for key, value in context.items() if key in Context.__dataclass_fields__}
        return Context(**known)
    return Context()
