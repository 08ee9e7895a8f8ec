"""Graphs exported for the LangGraph server (`langgraph.json`).

They carry no checkpointer and no store: the server supplies persistence. Models resolve at run
time from the run's context (``{"worker_model": "openai:gpt-4o-mini"}``...), the workflow, the
environment, else the embedded local model.
"""

from taskwarden.graph.builder import workflow_builder
from taskwarden.workflows import get_workflow

refunds = workflow_builder(get_workflow("refunds")).compile(name="refunds")
leads = workflow_builder(get_workflow("leads")).compile(name="leads")
invoices = workflow_builder(get_workflow("invoices")).compile(name="invoices")
vulnwatch = workflow_builder(get_workflow("vulnwatch")).compile(name="vulnwatch")
