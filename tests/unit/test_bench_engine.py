"""A tiny run of every section of benchmarks/bench_engine.py: the comparison stays like for like."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

PATH = Path(__file__).parents[2] / "benchmarks" / "bench_engine.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_engine", PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_engine"] = module  # pydantic and LangGraph resolve its annotations there
    spec.loader.exec_module(module)
    yield module
    del sys.modules["bench_engine"]


def test_the_instant_model_plans_calls_the_tool_answers_and_passes(bench):
    from langchain_core.messages import HumanMessage, ToolMessage

    model = bench.InstantChatModel()
    first = model.invoke([HumanMessage(bench.REQUEST)])
    (call,) = first.tool_calls
    assert call["name"] == "lookup_order" and call["args"] == {"order_id": "A1001"}
    done = model.invoke([HumanMessage(bench.REQUEST), first, ToolMessage("shipped", tool_call_id=call["id"])])
    assert done.content == bench.ANSWER and not done.tool_calls
    assert model.with_structured_output(bench.PlainPlan).invoke("plan").tasks[0].role == "clerk"
    evaluation = model.with_structured_output(bench.PlainEvaluation, include_raw=True).invoke("check")
    assert evaluation["parsed"].verdict == "pass"


def test_ours_and_plain_execute_the_same_nodes_and_answer_alike(bench, home, tmp_path):
    model = bench.InstantChatModel()
    ours = bench.our_graph(bench.lookup_workflow(), tmp_path, durable=False, model=model)
    plain = bench.plain_graph(model, None)
    assert bench.count_nodes(ours) == bench.count_nodes(plain) == 12
    assert bench.run_once(ours)["final_answer"] == bench.run_once(plain)["final_answer"] == bench.ANSWER


def test_every_section_runs_small(bench, home, tmp_path, capsys):
    rows, ratios = bench.bench_overhead(tmp_path / "overhead", repeats=2, warmup=1)
    bench.print_overhead(rows)
    assert [r[0] for r in rows] == ["no checkpointer", "InMemorySaver", "durable SQLite",
                                    "durable, plain on our checkpointer"]
    assert all(ratio > 0 for ratio in ratios.values())
    checkpoints = bench.bench_checkpoints(tmp_path / "checkpoints", puts=3, runs=2)
    assert checkpoints[0][1] > 0, "put latency measured on the default SqliteSaver"
    throughput = bench.bench_throughput(tmp_path / "throughput", [1, 2], lambda n: 2, warmup=1)
    assert [row[0] for row in throughput] == [1, 2] and all(row[2] > 0 for row in throughput)
    paused = bench.bench_paused(tmp_path / "paused", count=2, warmup=1)
    assert paused["checkpoints"] > 0 and paused["checkpoint_bytes"] > 0
    out = capsys.readouterr().out
    assert "## 1. Per-step overhead" in out and "## 4. Memory per paused run" in out
