"""benchmarks/bench_reliability.py: a perfect model completes shipped cases with the mechanisms on and off."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

PATH = Path(__file__).parents[2] / "benchmarks" / "bench_reliability.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_reliability", PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_reliability"] = module  # pydantic resolves the perfect model's annotations there
    spec.loader.exec_module(module)
    yield module
    del sys.modules["bench_reliability"]


@pytest.mark.parametrize("case_id", ["approval-desk-approved", "other-customer-alice-asks-bobs"])
def test_the_mechanisms_do_not_break_or_slow_a_perfect_model(bench, tmp_path, case_id):
    runs = bench.run_both("refunds", bench.shipped_cases("refunds", [case_id]), tmp_path)
    on, off = (next(r for r in runs if r.mechanisms == label) for label in ("on", "off"))
    assert on.success, on.reasons
    assert off.success, off.reasons
    assert on.model_calls == off.model_calls  # a perfect model triggers no corrective step
    if case_id == "approval-desk-approved":  # an approval ($249), and the requester's yes only with mechanisms on
        assert (on.reviews, on.confirmations, off.reviews, off.confirmations) == (1, 0, 1, 0)  # the shipped desk does not confirm (confirm_refunds=False)


def test_every_scripted_case_is_shipped_and_the_report_prints(bench, tmp_path, capsys):
    assert len(bench.shipped_cases("refunds")) == len(bench.REFUND_SCRIPTS)
    with pytest.raises(ValueError, match="no perfect script for case"):
        bench.shipped_cases("refunds", ["no-such-case"])
    runs = bench.run_both("refunds", bench.shipped_cases("refunds", ["unknown-customer-zoe"]), tmp_path)
    assert bench.print_report("refunds", [runs]) == 1.0
    assert "model calls / case" in capsys.readouterr().out
