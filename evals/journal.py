"""An evaluation's journal: every finished (system, case) result, appended to ``<out>/cases.jsonl`` as it lands.

A long evaluation (75 cases on the embedded model take hours) that is interrupted, or that crashes,
keeps what it finished; ``taskwarden eval ... --out DIR --resume`` reads the journal back and runs only
what is missing. A result is reused only for the same system, model and case text: a case edited since
runs again.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from taskwarden import __version__
from taskwarden.evals.dataset import Case
from taskwarden.evals.runner import CaseResult
from taskwarden.evals.scoring import CaseScore, EffectDiff, Outcome

JOURNAL_FILE = "cases.jsonl"


class JournalError(ValueError):
    """A journal that cannot be resumed: it was written for another model."""


def code_version() -> str:
    """The code that produced a result: the git commit of a source checkout (``+dirty`` with local edits),
    else the package version. Recorded per result, so a report resumed across edits says so."""
    root = Path(__file__).resolve().parents[1]
    try:
        top = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel"], capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        if not top or Path(top).resolve() != root:  # an installed package inside some other repository
            return __version__
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{commit}+dirty" if dirty else commit or __version__


def fingerprint(case: Case) -> str:
    """A short hash of the case's whole text: a result is reused only for the very same case."""
    text = json.dumps(case.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class Journal:
    """Appends one JSON line per result (thread-safe, flushed at once) and reads them back."""

    def __init__(self, folder: Path, model: str, code: str | None = None) -> None:
        self.path = Path(folder) / JOURNAL_FILE
        self.model = model
        self.code = code or code_version()
        self._lock = threading.Lock()

    def append(self, result: CaseResult) -> None:
        line = json.dumps({"system": result.system, "model": self.model, "code": self.code, "case": result.case.id,
                           "fingerprint": fingerprint(result.case), "outcome": asdict(result.outcome),
                           "diff": asdict(result.diff), "score": asdict(result.score)},
                          ensure_ascii=False, default=str)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(line + "\n")
                out.flush()

    def exists(self) -> bool:
        return self.path.exists() and self.path.stat().st_size > 0

    def set_aside(self) -> Path:
        """Rename the journal (a fresh evaluation in the same folder starts its own; nothing is lost)."""
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        kept = self.path.with_name(f"cases-{stamp}.jsonl")
        number = 1
        while kept.exists():
            number += 1
            kept = self.path.with_name(f"cases-{stamp}-{number}.jsonl")
        self.path.rename(kept)
        return kept

    def load(self, cases: list[Case]) -> tuple[dict[tuple[str, str], CaseResult], list[str]]:
        """The results to reuse, by (system, case id), and why the other lines were not reused.

        JournalError when the journal was written for another model (its results would mislead)."""
        by_id = {case.id: case for case in cases}
        reused: dict[tuple[str, str], CaseResult] = {}
        skipped: list[str] = []
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                system, case_id, model = record["system"], record["case"], record["model"]
            except (ValueError, KeyError, TypeError) as exc:
                skipped.append(f"line {number}: unreadable ({type(exc).__name__}), run again")
                continue
            if model != self.model:
                raise JournalError(f"{self.path} holds results for model {model!r}, not {self.model!r}: resume with "
                                   f"--model {model}, or give another --out")
            case = by_id.get(case_id)
            if case is None:
                continue  # not selected this time (another --case / --sample): kept in the journal, not reported
            if record.get("fingerprint") != fingerprint(case):
                skipped.append(f"line {number}: case {case_id} changed since it ran, run again")
                continue
            try:
                reused[(system, case_id)] = _result(record, case)
            except (TypeError, KeyError) as exc:
                skipped.append(f"line {number}: unreadable ({type(exc).__name__}: {exc}), run again")
        return reused, skipped


def _result(record: dict[str, Any], case: Case) -> CaseResult:
    outcome = Outcome(**record["outcome"])
    outcome.detail = {**outcome.detail, "code": record.get("code", "unknown"), "resumed": True}
    return CaseResult(case=case, system=record["system"], outcome=outcome,
                      diff=EffectDiff(**record["diff"]), score=CaseScore(**record["score"]))
