"""What a workflow provides to be evaluated: a fresh copy of its systems per case, and a way to observe them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from importlib import import_module
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from taskwarden.evals.dataset import Case, Record, explain_validation
from taskwarden.graph.workflow import Workflow

SetupT = TypeVar("SetupT", bound=BaseModel)


@dataclass
class EvalWorkspace:
    """One case's private world: the workflow bound to freshly seeded systems under a scratch directory."""

    workflow: Workflow
    observe: Callable[[], dict[str, list[Record]]]
    """The records of every system the workflow can change, by kind (``refunds``, ``outbox``, ``files``...),
    each a dict of stable fields (no timestamps or random ids), so before/after can be compared."""
    workdir: Path
    close: Callable[[], None] = field(default=lambda: None)


class WorkspaceFactory(Protocol):
    """``eval_workspace(workdir, today, case)``: seed the workflow's systems under `workdir` with dates
    relative to `today`, apply ``case.setup``, and return the workflow bound to them (same `today` clock)."""

    def __call__(self, workdir: Path, today: date, case: Case) -> EvalWorkspace: ...


def parse_setup(schema: type[SetupT], case: Case) -> SetupT:
    """``case.setup`` validated by a workflow's Pydantic `schema`; a ValueError naming the case and the
    first problems otherwise (the runner scores it as that case's failure)."""
    try:
        return schema.model_validate(case.setup)
    except ValidationError as exc:
        raise ValueError(f"case {case.id!r}: invalid setup: {explain_validation(exc)}") from None


def eval_support(workflow: str) -> Any:
    """The module ``taskwarden.workflows.<workflow>.evaluation`` (``eval_workspace``, ``generate_cases``,
    ``DATASET``), or LookupError if that workflow ships none."""
    from taskwarden.workflows import SHIPPED, workflow_names

    if workflow not in SHIPPED:
        raise LookupError(f"unknown workflow {workflow!r}; available: {', '.join(workflow_names())}")
    try:
        return import_module(f"taskwarden.workflows.{workflow}.evaluation")
    except ModuleNotFoundError as exc:
        if exc.name != f"taskwarden.workflows.{workflow}.evaluation":
            raise
        raise LookupError(f"workflow {workflow!r} ships no evaluation support") from None
