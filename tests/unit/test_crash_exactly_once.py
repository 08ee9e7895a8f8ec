"""A worker killed (SIGKILL) mid-refund: the resumed run, in a new process, refunds exactly once.

The refund desk runs on scripted models in `tests/fixtures/crash_refund.py`, with the default
SQLite checkpointer and ledger under a private ``TASKWARDEN_HOME``. The process kills itself from
inside `issue_refund`; a second process resumes the thread from its last checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import TODAY
from taskwarden.graph.persistence import sqlite_checkpointer
from taskwarden.tools.executor import execute, idempotency_key
from taskwarden.tools.ledger import Ledger
from taskwarden.workflows.refunds.db import refunds_for, seed
from taskwarden.workflows.refunds.tools import RefundDesk, refund_tools

CRASH_REFUND = Path(__file__).parents[1] / "fixtures" / "crash_refund.py"
THREAD = "th-crash"


def run_process(home: Path, phase: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TASKWARDEN_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, str(CRASH_REFUND), phase, str(home / "refunds.db"), TODAY.isoformat(), THREAD]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                          check=False)


def checkpointed_tasks(home: Path) -> dict:
    saver = sqlite_checkpointer(home / "checkpoints.db")
    try:
        item = saver.get_tuple({"configurable": {"thread_id": THREAD, "checkpoint_ns": ""}})
    finally:
        saver.conn.close()
    return item.checkpoint["channel_values"]["tasks"]


@pytest.mark.parametrize(("crash", "refunds_after_crash", "resumed_outcome"), [
    ("after-commit", 1, "replayed"),   # the effect happened: reconciled from the database, not repeated
    ("before-commit", 0, "executed"),  # it did not: the call runs (once) on resume
])
def test_a_refund_killed_mid_call_is_executed_exactly_once_after_resume(home, crash, refunds_after_crash,
                                                                          resumed_outcome):
    db = seed(home / "refunds.db", TODAY)

    killed = run_process(home, crash)

    assert killed.returncode == -signal.SIGKILL, killed.stderr + killed.stdout
    assert len(refunds_for(db)) == refunds_after_crash
    (entry,) = [e for e in Ledger(home / "ledger.db").entries() if e["tool"] == "issue_refund"]
    assert (entry["tool"], entry["status"], entry["result"]) == ("issue_refund", "started", None)
    tasks = checkpointed_tasks(home)
    assert tasks["t1"]["status"] == "passed"
    assert tasks["t2"]["status"] == "pending" and tasks["t2"]["actions"] == [], "no checkpoint saw the refund"

    resumed = run_process(home, "resume")

    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    out = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert out["status"] == "completed" and out["final_answer"] == "Your refund of $79.00 for P1001 is on its way." and not out["interrupts"]
    (action,) = out["tasks"]["t2"]["actions"]
    assert (action["tool"], action["outcome"]) == ("issue_refund", resumed_outcome)
    # the purchase database and the ledger agree: one refund, recorded once, done
    (refund,) = refunds_for(db)
    assert (refund["id"], refund["purchase_id"], refund["amount"]) == ("R1001", "P1001", 79.0)
    (entry,) = [e for e in Ledger(home / "ledger.db").entries() if e["tool"] == "issue_refund"]
    assert entry["status"] == "done" and json.loads(entry["result"])["refund_id"] == refund["id"]
    assert entry["key"] == idempotency_key(THREAD, "t2", "issue_refund", entry["args"])


def test_a_refund_started_in_the_ledger_but_never_committed_runs_once(refunds_db, tmp_path):
    """In process: the crash left only the ledger's "started" record; reconcile finds nothing, so it runs."""
    desk, ledger = RefundDesk(refunds_db, today=lambda: TODAY), Ledger(tmp_path / "ledger.db")
    spec = next(s for s in refund_tools(desk) if s.name == "issue_refund")
    args = {"purchase_id": "P1001", "amount": 79.0, "reason": "broken", "customer_email": "alice@example.com"}
    key = idempotency_key("thread", "t2", "issue_refund", args)
    ledger._start(key, "issue_refund", args)  # the process died before the refund committed

    first, second = execute(spec, args, key, ledger), execute(spec, args, key, ledger)

    assert (first.outcome, second.outcome) == ("executed", "replayed")
    assert [r["purchase_id"] for r in refunds_for(refunds_db)] == ["P1001"]
    assert ledger.lookup(key)["status"] == "done"
