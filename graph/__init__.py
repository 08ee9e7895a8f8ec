"""The engine's graph: build a workflow into a LangGraph graph, with durable, reviewable runs."""

from taskwarden.graph.builder import build_workflow, workflow_builder
from taskwarden.graph.context import Context
from taskwarden.graph.usage import Budgets
from taskwarden.graph.workflow import Workflow

__all__ = ["Budgets", "Context", "Workflow", "build_workflow", "workflow_builder"]
