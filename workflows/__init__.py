"""The workflows Taskwarden ships, by name."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from taskwarden.graph.workflow import Workflow

SHIPPED: dict[str, str] = {
    "refunds": "taskwarden.workflows.refunds.workflow:refund_desk",
}
DEMO_DATA: dict[str, str] = {
    "refunds": "taskwarden.workflows.refunds.workflow:reset_demo_data",
}


class UnknownWorkflow(LookupError):
    """No shipped workflow has that name."""


def workflow_names() -> list[str]:
    return sorted(SHIPPED)


def get_workflow(name: str, **options: Any) -> Workflow:
    """The shipped workflow `name`, built with `options` (e.g. ``db_path``)."""
    if name not in SHIPPED:
        raise UnknownWorkflow(f"unknown workflow {name!r}; available: {', '.join(workflow_names())}")
    module, factory = SHIPPED[name].split(":")
    return getattr(import_module(module), factory)(**options)


def reset_demo_data(name: str) -> str:
    """Re-create workflow `name`'s seeded demo database; returns where it is."""
    if name not in DEMO_DATA:
        raise UnknownWorkflow(f"no demo data for {name!r}; available: {', '.join(sorted(DEMO_DATA))}")
    module, factory = DEMO_DATA[name].split(":")
    return str(getattr(import_module(module), factory)())
