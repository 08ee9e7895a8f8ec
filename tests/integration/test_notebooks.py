"""The notebooks in notebooks/ run top to bottom on the real embedded model, and show what they promise.

Each notebook is executed with nbclient in a fresh kernel (the environment's ``python3`` kernel, i.e. this
interpreter) with a per-cell timeout. The kernel gets, through its environment:

- ``TASKWARDEN_HOME`` = the session's model home, so the notebook's ``ensure_server()`` reuses the
  ``local_server`` fixture's model server (shared with the other integration tests);
- ``TMPDIR`` = the test's ``tmp_path``, so the temporary data directory every notebook creates (and removes
  in its last cell) lands there; a notebook that fails half way leaves it to pytest's clean-up.

Executed notebooks are not written back: the committed notebooks carry no outputs (checked below).
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

pytestmark = [pytest.mark.integration, pytest.mark.timeout(2400)]

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CELL_TIMEOUT = 900
"""Seconds one cell may take: a refund-desk run on the embedded model takes 2-5 minutes on 2 cores."""
REASON = "The customer already received store credit for P1002; never refund an order twice."


def stop_leftovers(root: Path) -> None:
    """Kill what a failed notebook left running: processes whose TASKWARDEN_HOME lies under `root` (Linux)."""
    marker = f"TASKWARDEN_HOME={root}/".encode()
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if any(entry.startswith(marker) for entry in (proc / "environ").read_bytes().split(b"\0")):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(proc.name), signal.SIGKILL)


def execute(name: str, tmp_path: Path, model_home: Path) -> list[str]:
    """Run notebooks/<name>.ipynb; returns the text output of each code cell, in order."""
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    env = {**os.environ, "TASKWARDEN_HOME": str(model_home), "TMPDIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    env.pop("TASKWARDEN_SERVER_URL", None)  # server.ipynb starts (and stops) its own server
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute(env=env)
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"{name}.ipynb failed:\n{exc}"[-6000:])
    finally:
        stop_leftovers(tmp_path)
    return [output_text(cell) for cell in notebook.cells if cell.cell_type == "code"]


def output_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output["text"])
        elif "data" in output:
            parts.append(output["data"].get("text/plain", ""))
    return "".join(parts)


def leftovers(tmp_path: Path) -> list[str]:
    return [path.name for path in tmp_path.glob("taskwarden-*")]


def test_committed_notebooks_carry_no_outputs():
    names = sorted(path.name for path in NOTEBOOKS.glob("*.ipynb"))
    assert names == ["memory.ipynb", "quickstart.ipynb", "server.ipynb"]
    for name in names:
        notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(notebook)
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        assert all(not cell.outputs and cell.execution_count is None for cell in code), f"{name} has outputs"


def test_quickstart_pauses_for_review_and_completes_the_refund(tmp_path, model_home, local_server):
    outputs = execute("quickstart", tmp_path, model_home)
    everything = "\n".join(outputs)
    assert "plan:" in everything and "issue_refund" in everything
    review = next(text for text in outputs if "refunds so far:" in text)
    assert "tool_approval" in review and "purchase_id: P1002" in review and "refunds so far: []" in review
    assert "status: completed" in outputs[-2] and "R1002" in outputs[-2], outputs[-2]
    assert leftovers(tmp_path) == [], "the notebook removes its data directory"


def test_memory_recalls_a_reviewers_lesson_in_the_next_plan(tmp_path, model_home, local_server):
    outputs = execute("memory", tmp_path, model_home)
    everything = "\n".join(outputs)
    assert "chunks" in outputs[1] and "Store credit" in outputs[2], outputs[2]  # knowledge ingested and found
    assert "recalled: A reviewer rejected" in everything and REASON in everything
    assert "unrelated: []" in everything
    assert "Lessons from earlier runs" in everything
    assert "lesson recalled: True" in outputs[-2] and "lesson in the planning prompt: True" in outputs[-2], outputs[-2]
    assert leftovers(tmp_path) == []


def test_server_notebook_streams_interrupts_resumes_and_schedules(tmp_path, model_home, local_server):
    outputs = execute("server", tmp_path, model_home)
    everything = "\n".join(outputs)
    assert "['refunds']" in everything
    assert "interrupt: ['issue_refund']" in everything and "thread status: interrupted" in everything
    assert "plan" in everything and "tool_call" in everything
    checks = outputs[-2]
    assert "status: completed" in checks and "executed" in checks and "R1002" in checks, checks
    assert "cron deleted: True" in checks
    assert "server stopped: 0" in outputs[-1], outputs[-1]
    assert leftovers(tmp_path) == []
