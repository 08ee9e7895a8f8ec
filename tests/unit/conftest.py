"""Fixtures for engine tests on scripted models."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from scripts import TODAY, scripted_tasks_only
from taskwarden.graph import build_workflow
from taskwarden.graph.audit import AuditLog
from taskwarden.graph.reliability import MECHANISMS, Reliability
from taskwarden.testing import ScriptedChatModel
from taskwarden.tools.ledger import Ledger
from taskwarden.workflows.refunds.workflow import refund_desk

WITHOUT_MECHANISMS = Reliability().without(MECHANISMS)


@pytest.fixture
def refunds_db(tmp_path):
    from taskwarden.workflows.refunds.db import seed

    return seed(tmp_path / "refunds.db", TODAY)


@pytest.fixture
def audit_log(tmp_path):
    """The audit log the test's graphs record to (never the one in the user's data directory)."""
    return AuditLog(tmp_path / "audit.db")


@pytest.fixture
def make_graph(tmp_path, refunds_db, audit_log):
    """Build a graph on scripted models: make_graph(orchestrator=[...], worker=[...], evaluator=[...])."""
    made: list[ScriptedChatModel] = []

    def build(*, orchestrator=(), worker=(), evaluator=(), workflow=None, store=None, **workflow_changes):
        models = {role: ScriptedChatModel(script=list(steps))
                  for role, steps in (("orchestrator", orchestrator), ("worker", worker), ("evaluator", evaluator))}
        made.extend(models.values())
        wf = workflow or refund_desk(refunds_db, today=lambda: TODAY)
        if workflow is None:
            scripted_tasks_only(wf)
        # engine tests script exact call sequences; the reliability mechanisms have their own tests
        # (test_reliability.py) and would otherwise add steps to every script
        wf.reliability = workflow_changes.pop("reliability", WITHOUT_MECHANISMS)
        for key, value in workflow_changes.items():
            setattr(wf, key, value)
        graph = build_workflow(wf, models=models, checkpointer=InMemorySaver(), ledger=Ledger(tmp_path / "ledger.db"),
                               store=store, audit=audit_log)
        return graph, models

    yield build
    for model in made:
        model.assert_complete()
