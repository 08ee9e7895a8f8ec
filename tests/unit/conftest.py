"""Fixtures for engine tests on scripted models."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from taskwarden.graph import build_workflow
from taskwarden.testing import ScriptedChatModel
from taskwarden.tools.ledger import Ledger
from taskwarden.workflows.refunds.workflow import refund_desk

from scripts import TODAY


@pytest.fixture
def refunds_db(tmp_path):
    from taskwarden.workflows.refunds.db import seed

    return seed(tmp_path / "refunds.db", TODAY)


@pytest.fixture
def make_graph(tmp_path, refunds_db):
    """Build a graph on scripted models: make_graph(orchestrator=[...], worker=[...], evaluator=[...])."""
    made: list[ScriptedChatModel] = []

    def build(*, orchestrator=(), worker=(), evaluator=(), workflow=None, **workflow_changes):
        models = {role: ScriptedChatModel(script=list(steps))
                  for role, steps in (("orchestrator", orchestrator), ("worker", worker), ("evaluator", evaluator))}
        made.extend(models.values())
        wf = workflow or refund_desk(refunds_db, today=lambda: TODAY)
        for key, value in workflow_changes.items():
            setattr(wf, key, value)
        graph = build_workflow(wf, models=models, checkpointer=InMemorySaver(), ledger=Ledger(tmp_path / "ledger.db"))
        return graph, models

    yield build
    for model in made:
        model.assert_complete()
