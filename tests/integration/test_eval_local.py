"""`taskwarden eval --baseline` on the real embedded model: both systems run the same case end to end.

Scores on one case are not asserted (a 1.5B model is not deterministic across request orders); what is
asserted is that each system really ran on the model, was scored by the refunds table, and reported."""

from __future__ import annotations

import json

import pytest

from taskwarden.cli.main import main

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]


def test_eval_runs_taskwarden_and_the_prebuilt_baseline_on_the_embedded_model(local_server, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["eval", "refunds", "--baseline", "--case", "common-alice-headphones", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "task success" in printed.out and "escalation recall" in printed.out and "tokens / case" in printed.out
    report = json.loads((out / "report.json").read_text())
    assert report["systems"] == ["taskwarden", "baseline"]
    cases = {c["system"]: c for c in report["cases"]}
    for system in ("taskwarden", "baseline"):
        case = cases[system]
        assert case["id"] == "common-alice-headphones" and case["end"] != "error", case
        assert case["model_calls"] >= 1 and case["input_tokens"] > 0, case
        assert set(case["added"]) <= {"refunds", "reply_drafts"}
        assert report["summaries"][system]["cases"] == 1
    assert cases["taskwarden"]["model_calls"] >= 3  # planned, worked and evaluated
