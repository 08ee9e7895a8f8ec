"""Run cases against systems: a private workspace per (system, case), observe before and after, score.

A case that crashes its workflow (or its setup) is scored as a failure with the error; it never stops
the evaluation. Cases run concurrently up to `concurrency` (one at a time suits the embedded model,
which serves one request at a time anyway)."""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from taskwarden.evals.dataset import Case
from taskwarden.evals.scoring import CaseScore, EffectDiff, Outcome, diff_effects, score_case
from taskwarden.evals.systems import System
from taskwarden.evals.workspace import WorkspaceFactory


@dataclass
class CaseResult:
    case: Case
    system: str
    outcome: Outcome
    diff: EffectDiff
    score: CaseScore


Progress = Callable[[CaseResult, int, int], None]
"""Called after each case with the result, how many are done and how many there are."""


def run_case(system: System, case: Case, workspace_for: WorkspaceFactory, workdir: Path, today: date) -> CaseResult:
    """One case on one system; every failure becomes a scored failure with its error."""
    workdir.mkdir(parents=True, exist_ok=True)
    before: dict = {}
    after: dict = {}
    workspace = None
    started = time.perf_counter()
    try:
        workspace = workspace_for(workdir, today, case)
        before = workspace.observe()
        outcome = system.run(workspace, case)
    except Exception as exc:  # noqa: BLE001 - a crashing case is a failed case, not a crashed evaluation
        where = "setup" if workspace is None else "run"
        outcome = Outcome(end="error", error=f"{where}: {type(exc).__name__}: {exc}",
                          seconds=time.perf_counter() - started,
                          detail={"traceback": traceback.format_exc(limit=6)})
    if workspace is not None:
        try:
            after = workspace.observe()
        except Exception as exc:  # noqa: BLE001
            outcome.end, outcome.error = "error", outcome.error or f"observe: {type(exc).__name__}: {exc}"
            after = before
        finally:
            workspace.close()
    diff = diff_effects(before, after)
    return CaseResult(case, system.name, outcome, diff, score_case(case, diff, outcome))


def run_eval(cases: list[Case], systems: list[System], workspace_for: WorkspaceFactory, *, concurrency: int = 1,
             today: date | None = None, workroot: Path | None = None, keep: bool = False,
             progress: Progress | None = None,
             reuse: dict[tuple[str, str], CaseResult] | None = None) -> list[CaseResult]:
    """Every case on every system; results in (system, case) order whatever order they finished in.

    Cases run one after the other, each on every system, so an interrupted run holds comparable results.
    Results in `reuse` (by system name and case id: a resumed evaluation's journal) are not run again;
    `progress` counts only the ones that run. Workspaces live under `workroot` (a temporary directory by
    default, removed afterwards unless `keep`)."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    today = today or date.today()
    root = Path(workroot) if workroot else Path(tempfile.mkdtemp(prefix="taskwarden-eval-"))
    jobs = [(system, case) for system in systems for case in cases]
    reuse = reuse or {}
    results: list[CaseResult | None] = [reuse.get((system.name, case.id)) for system, case in jobs]
    # case by case (every system on a case before the next case): an interrupted run compares like with like
    pending = sorted((index for index, result in enumerate(results) if result is None),
                     key=lambda index: (index % len(cases), index // len(cases)))
    done = 0
    lock = threading.Lock()

    def work(index: int) -> None:
        nonlocal done
        system, case = jobs[index]
        result = run_case(system, case, workspace_for, root / system.name / _safe(case.id), today)
        with lock:
            results[index] = result
            done += 1
            if progress:
                progress(result, done, len(pending))

    try:
        if concurrency == 1:
            for index in pending:
                work(index)
        else:
            with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="eval") as pool:
                list(pool.map(work, pending))
    finally:
        if not keep and workroot is None:
            shutil.rmtree(root, ignore_errors=True)
    return [r for r in results if r is not None]


def _safe(case_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", case_id)[:80] or "case"
