"""The graph's shape is guarded by a Mermaid snapshot; the server graph carries no checkpointer."""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

from taskwarden.graph import workflow_builder
from taskwarden.testing import ScriptedChatModel
from taskwarden.tools.ledger import Ledger
from taskwarden.workflows.refunds.workflow import refund_desk

SNAPSHOT = Path(__file__).parents[1] / "snapshots" / "refunds_graph.mmd"
ROOT = Path(__file__).parents[2]


def test_graph_matches_the_mermaid_snapshot(tmp_path):
    fake = ScriptedChatModel(script=[])
    builder = workflow_builder(refund_desk(tmp_path / "refunds.db"), models={"orchestrator": fake, "worker": fake,
                                                                             "evaluator": fake},
                               ledger=Ledger(tmp_path / "ledger.db"))
    drawn = builder.compile().get_graph(xray=1).draw_mermaid()
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(drawn)
    assert drawn == SNAPSHOT.read_text(), "graph shape changed: review it, then rerun with UPDATE_SNAPSHOTS=1"


def test_langgraph_json_graphs_load_without_a_checkpointer(home):
    config = json.loads((ROOT / "langgraph.json").read_text())
    for name, target in config["graphs"].items():
        path, attr = target.split(":")
        module = importlib.import_module("taskwarden." + path.removeprefix("./").removesuffix(".py").replace("/", "."))
        graph = getattr(module, attr)
        assert graph.checkpointer is None, f"{name} must let the server supply persistence"
        assert {"intake", "orchestrate", "work", "evaluate", "human_review", "finalize"} <= set(graph.nodes)
