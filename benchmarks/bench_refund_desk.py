"""The refund desk end to end on the embedded model: wall time split into model time and engine time.

Model time is the sum of the chat-model calls as LangChain sees them (queueing, HTTP, decoding and
any repair re-ask inside a call); engine time is the rest (graph steps, checkpoints, tools, policy,
ledger). Target: engine <= 5% of wall time. Reviews are approved automatically.

    .venv/bin/python benchmarks/bench_refund_desk.py [--all]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langgraph.types import Command

from taskwarden.evals.dataset import ReviewerPolicy
from taskwarden.evals.reviewer import decide
from taskwarden.graph import build_workflow
from taskwarden.graph.persistence import sqlite_checkpointer
from taskwarden.tools.ledger import Ledger
from taskwarden.workflows.refunds.db import refunds_for, seed
from taskwarden.workflows.refunds.prompts import SAMPLE_REQUESTS
from taskwarden.workflows.refunds.workflow import refund_desk


class ModelTimer(BaseCallbackHandler):
    """Sums the duration of every chat-model call."""

    def __init__(self) -> None:
        self.started: dict[UUID, float] = {}
        self.seconds = 0.0
        self.calls = 0

    def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.started[run_id] = time.perf_counter()

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        if run_id in self.started:
            self.seconds += time.perf_counter() - self.started.pop(run_id)
            self.calls += 1

    on_llm_error = on_llm_end  # type: ignore[assignment]


APPROVE = ReviewerPolicy(decision="approve")  # approves; a task with no result is sent back to its worker


def run_one(request: str, workdir: Path) -> dict[str, Any]:
    db = seed(workdir / "refunds.db", reset=True)
    graph = build_workflow(refund_desk(db), checkpointer=sqlite_checkpointer(workdir / "checkpoints.db"),
                           ledger=Ledger(workdir / "ledger.db"))
    timer = ModelTimer()
    config = {"configurable": {"thread_id": f"bench-{time.time_ns()}"}, "callbacks": [timer]}
    started = time.perf_counter()
    graph.invoke({"messages": [("user", request)]}, config)
    for _ in range(6):  # approve reviews until the run ends
        interrupts = graph.get_state(config).interrupts
        if not interrupts:
            break
        graph.invoke(Command(resume={i.id: decide(i.value, APPROVE, 0) for i in interrupts}), config)
    wall = time.perf_counter() - started
    values = graph.get_state(config).values
    return {"request": request, "status": values.get("status"), "wall": wall, "model": timer.seconds,
            "calls": timer.calls, "refunds": len(refunds_for(db))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="run every sample request, not only the first")
    args = parser.parse_args()
    requests = SAMPLE_REQUESTS if args.all else SAMPLE_REQUESTS[:1]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, request in enumerate(requests):
            workdir = Path(tmp) / str(i)
            workdir.mkdir()
            rows.append(run_one(request, workdir))
    print(f"{'request':<46} {'status':<10} {'calls':>5} {'wall s':>8} {'model s':>8} {'engine s':>8} {'engine %':>8} refunds")
    for r in rows:
        engine = r["wall"] - r["model"]
        print(f"{r['request'][:46]:<46} {r['status']:<10} {r['calls']:>5} {r['wall']:>8.1f} {r['model']:>8.1f} "
              f"{engine:>8.2f} {100 * engine / r['wall']:>7.2f}% {r['refunds']}")
    wall, model = sum(r["wall"] for r in rows), sum(r["model"] for r in rows)
    print(f"{'total':<46} {'':<10} {sum(r['calls'] for r in rows):>5} {wall:>8.1f} {model:>8.1f} "
          f"{wall - model:>8.2f} {100 * (wall - model) / wall:>7.2f}%   (target: engine <= 5%)")


if __name__ == "__main__":
    main()
