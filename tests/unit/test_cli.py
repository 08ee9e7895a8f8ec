"""The CLI: a run that pauses in one process and resumes in another; bad input leaves state unchanged."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from taskwarden.cli.main import main
from taskwarden.graph.persistence import sqlite_checkpointer
from taskwarden.workflows.refunds.db import refunds_for

SCRIPTED_CLI = Path(__file__).parents[1] / "fixtures" / "scripted_cli.py"
REQUEST = "alice@example.com: please refund my standing desk, order P1002 - it arrived damaged"


def cli(home: Path, phase: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TASKWARDEN_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, str(SCRIPTED_CLI), phase, "--", *args], env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def checkpoint_of(home: Path, thread: str):
    saver = sqlite_checkpointer(home / "checkpoints.db")
    item = saver.get_tuple({"configurable": {"thread_id": thread, "checkpoint_ns": ""}})
    return (item.config["configurable"]["checkpoint_id"], item.checkpoint["channel_values"].get("tasks")) if item else None


@pytest.fixture
def paused(home):
    """A refund run paused for approval by a first process."""
    first = cli(home, "pause", "run", "refunds", REQUEST, "--thread", "th-1", "--on-review", "stop")
    assert first.returncode == 3, first.stderr + first.stdout
    return home


def test_pause_in_one_process_resume_in_another(paused):
    home = paused
    assert refunds_for(home / "refunds.db") == []
    shown = cli(home, "none", "review", "show", "th-1")
    assert shown.returncode == 0 and "issue_refund" in shown.stdout and "amount: 249.0" in shown.stdout
    listed = cli(home, "none", "review", "list")
    assert "th-1" in listed.stdout and "issue_refund" in listed.stdout

    second = cli(home, "approve", "review", "approve", "th-1")
    assert second.returncode == 0, second.stderr + second.stdout
    assert "Refunded $249 for P1002" in second.stdout
    assert [(r["purchase_id"], r["amount"]) for r in refunds_for(home / "refunds.db")] == [("P1002", 249.0)]
    runs = cli(home, "none", "runs", "list")
    assert "th-1" in runs.stdout and "completed" in runs.stdout


def test_run_streams_progress_and_stops_at_the_review_with_a_clear_prompt(home):
    out = cli(home, "pause", "run", "refunds", REQUEST, "--thread", "th-2", "--on-review", "stop")
    assert out.returncode == 3
    for expected in ["plan: 3 task(s)", "t3   writer", "t1 -> lookup_customer(email='alice@example.com')", "t1 evaluated: pass",
                     "t2 -> issue_refund(", "paused for human review", "Refunds over $100 need a human's approval",
                     "taskwarden review approve|edit|reject th-2"]:
        assert expected in out.stdout, f"missing {expected!r} in:\n{out.stdout}"


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("taskwarden: error: ")
    return err[0]


def test_empty_request_is_refused(home, capsys):
    assert main(["run", "refunds", "   "]) == 2
    assert "request is empty" in one_error_line(capsys)
    assert main(["runs", "list"]) == 0 and "no runs yet" in capsys.readouterr().out


def test_unknown_workflow_is_refused(home, capsys):
    assert main(["run", "payroll", "pay everyone"]) == 2
    assert "unknown workflow 'payroll'; available: invoices, leads, refunds, vulnwatch" in one_error_line(capsys)


@pytest.mark.parametrize("argv", [["resume", "nope"], ["review", "approve", "nope"], ["runs", "show", "nope"],
                                  ["review", "show", "nope"]])
def test_unknown_thread_is_refused(home, capsys, argv):
    assert main(argv) == 2
    assert "unknown thread 'nope'" in one_error_line(capsys)


@pytest.mark.parametrize("argv, error", [
    (["review", "decide", "th-1", "--decisions", '{"decisions": [{"type": "bogus"}]}'], "needs a type"),
    (["review", "decide", "th-1", "--decisions", "{not json"], "not valid JSON"),
    (["review", "decide", "th-1", "--decisions", '{"decisions": []}'], "expected 1 decision"),
    (["review", "edit", "th-1", "--args", "[1, 2]"], "must be a JSON object"),
    (["review", "respond", "th-1", "--message", "  "], "non-empty message"),
])
def test_malformed_decision_is_refused_and_the_thread_is_unchanged(paused, capsys, argv, error):
    before = checkpoint_of(paused, "th-1")
    assert main(argv) == 2
    assert error in one_error_line(capsys)
    assert checkpoint_of(paused, "th-1") == before
    assert refunds_for(paused / "refunds.db") == []


def test_a_finished_thread_has_no_pending_review(paused, capsys):
    assert cli(paused, "approve", "review", "approve", "th-1").returncode == 0
    assert main(["review", "approve", "th-1"]) == 2
    assert "has no pending review" in one_error_line(capsys)


def test_a_failing_model_endpoint_gives_one_line_and_the_run_can_resume(home, capsys):
    from scripts import REFUND_PLAN
    from taskwarden.models.errors import ModelCallError
    from taskwarden.testing import ScriptedChatModel, call, fail, say, structured

    models = {"orchestrator": ScriptedChatModel(script=[REFUND_PLAN]),
              "worker": ScriptedChatModel(script=[call("lookup_customer", when="(t1)", email="alice@example.com"),
                                                  fail(ModelCallError("endpoint timed out after 3 tries"))]),
              "evaluator": ScriptedChatModel(script=[])}
    assert main(["run", "refunds", REQUEST, "--thread", "th-f", "--on-review", "stop"], models=models) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["taskwarden: model error: endpoint timed out after 3 tries; "
                   "the run is kept at its last checkpoint: taskwarden resume th-f"]
    for model in models.values():
        model.assert_complete()

    later = {"orchestrator": ScriptedChatModel(script=[]),
             "worker": ScriptedChatModel(script=[call("check_refund_policy", when="(t1)", purchase_id="P1002"),
                                                 say("Alice is C001; P1002 eligible.", when="(t1)"),
                                                 call("issue_refund", when="(t2)", purchase_id="P1002", amount=249.0,
                                                      reason="damaged", customer_email="alice@example.com")]),
             "evaluator": ScriptedChatModel(script=[structured({"verdict": "pass"})])}
    assert main(["resume", "th-f", "--on-review", "stop"], models=later) == 3
    assert "issue_refund" in capsys.readouterr().out
    for model in later.values():
        model.assert_complete()


def test_the_command_exits_at_once_after_ctrl_c_though_a_worker_thread_is_still_busy(tmp_path):
    """Measured: Ctrl-C during `taskwarden eval` printed 'interrupted' and then the process waited minutes for
    a model call in one of LangGraph's (non-daemon) worker threads. `cli` exits at once with 130."""
    program = tmp_path / "interrupted.py"
    program.write_text(
        "import threading, time\n"
        "import taskwarden.cli.main as m\n"
        "def main(argv=None, **_):\n"
        "    threading.Thread(target=time.sleep, args=(60,)).start()  # a model call still running\n"
        "    print('saved', flush=True)\n"
        "    return m.INTERRUPTED\n"
        "m.main = main\n"
        "m.cli()\n")
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(program)], capture_output=True, text=True, timeout=50)
    assert (done.returncode, done.stdout) == (130, "saved\n") and time.monotonic() - started < 30


def test_on_review_approve_leaves_an_escalation_with_no_result_paused_instead_of_looping(home, capsys):
    from scripts import REFUND_PLAN
    from taskwarden.testing import ScriptedChatModel, say

    models = {"orchestrator": ScriptedChatModel(script=[REFUND_PLAN]),
              "worker": ScriptedChatModel(script=[say("", when="(t1)") for _ in range(12)]),
              "evaluator": ScriptedChatModel(script=[])}
    assert main(["run", "refunds", REQUEST, "--thread", "th-e", "--on-review", "approve"], models=models) == 3
    out = capsys.readouterr().out
    assert "--on-review approve cannot answer this review (it allows edit, reject, response): paused for a human" in out
    assert "taskwarden review edit|reject|respond th-e" in out
    assert checkpoint_of(home, "th-e")[1]["t1"]["status"] == "escalated"

    before = checkpoint_of(home, "th-e")
    assert main(["review", "approve", "th-e"]) == 2, "approving a task with no result is refused"
    assert "'approve' is not allowed" in one_error_line(capsys)
    assert checkpoint_of(home, "th-e") == before
