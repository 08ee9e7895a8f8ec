"""The workflows Taskwarden ships, by name, and workflows from YAML files (`taskwarden.graph.workflow_file`)."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

from taskwarden.graph.workflow import Workflow
from taskwarden.graph.workflow_file import WorkflowFileError, load_workflow

__all__ = ["DEMO_DATA", "SHIPPED", "WORKFLOW_FILE_SUFFIXES", "UnknownWorkflow", "WorkflowFileError", "get_workflow",
           "is_workflow_file", "reset_demo_data", "workflow_names", "workflow_ref"]

WORKFLOW_FILE_SUFFIXES = (".yaml", ".yml")

SHIPPED: dict[str, str] = {
    "refunds": "taskwarden.workflows.refunds.workflow:refund_desk",
    "leads": "taskwarden.workflows.leads.workflow:lead_router",
    "invoices": "taskwarden.workflows.invoices.workflow:invoice_processor",
    "vulnwatch": "taskwarden.workflows.vulnwatch.workflow:vulnerability_watch",
}
DEMO_DATA: dict[str, str] = {
    "refunds": "taskwarden.workflows.refunds.workflow:reset_demo_data",
    "leads": "taskwarden.workflows.leads.workflow:reset_demo_data",
    "invoices": "taskwarden.workflows.invoices.workflow:reset_demo_data",
    "vulnwatch": "taskwarden.workflows.vulnwatch.workflow:reset_demo_data",
}


class UnknownWorkflow(LookupError):
    """No shipped workflow has that name."""


def workflow_names() -> list[str]:
    return sorted(SHIPPED)


def is_workflow_file(name: str) -> bool:
    """Whether `name` is a path to a workflow file (``.yaml`` / ``.yml``) rather than a shipped name."""
    return name.lower().endswith(WORKFLOW_FILE_SUFFIXES)


def workflow_ref(name: str) -> str:
    """How a run records its workflow: a shipped name as is, a file as its absolute path (so the run
    can be resumed from any directory)."""
    return str(Path(name).expanduser().resolve()) if is_workflow_file(name) else name


def get_workflow(name: str, **options: Any) -> Workflow:
    """The shipped workflow `name`, built with `options` (e.g. ``db_path``), or the workflow defined
    in the YAML file at path `name` (`load_workflow`; raises `WorkflowFileError`, takes no options)."""
    if is_workflow_file(name):
        if options:
            raise TypeError(f"a workflow file takes no options, got {sorted(options)}")
        return load_workflow(Path(name).expanduser())
    if name not in SHIPPED:
        raise UnknownWorkflow(f"unknown workflow {name!r}; available: {', '.join(workflow_names())} "
                              "(or give the path of a .yaml workflow file)")
    module, factory = SHIPPED[name].split(":")
    return getattr(import_module(module), factory)(**options)


def reset_demo_data(name: str) -> str:
    """Re-create workflow `name`'s seeded demo database; returns where it is."""
    if name not in DEMO_DATA:
        raise UnknownWorkflow(f"no demo data for {name!r}; available: {', '.join(sorted(DEMO_DATA))}")
    module, factory = DEMO_DATA[name].split(":")
    return str(getattr(import_module(module), factory)())
