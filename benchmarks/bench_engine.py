"""Engine overhead on an instant fake model: our graph next to a plain LangGraph graph of the same shape.

Four sections, each printed as a table:

1. Per-step overhead. A one-role workflow (plan one task, the worker calls one read tool then
   answers, the evaluator passes it) runs on our engine and on a plain `StateGraph` with the same
   nodes: intake, recall, orchestrate, `Send` to a worker subgraph (model node, `ToolNode`, model
   node, finish), evaluate, orchestrate, finalize, remember. Both make the same model calls (the
   same instant, deterministic fake model: 1 plan, 2 worker, 1 evaluation) and the same tool call, and
   execute the same number of nodes; runs alternate between the two so background load hits both.
   Target: ours / plain <= 1.10, in memory. With durable state (ours: audit log + SQLite WAL
   checkpointer + ledger; plain: LangGraph's `SqliteSaver` as it comes) for reference.
2. Checkpoint writes: `put` / `put_writes` latency of a realistic checkpoint (the last one of a run
   above) on `SqliteSaver` as LangGraph opens it (its `setup` turns WAL on; SQLite's default
   synchronous=FULL) and on ours (`sqlite_checkpointer`: WAL, synchronous=NORMAL), one audit append,
   and the per-step time of a small linear graph with each checkpointer.
3. Throughput of N concurrent runs (threads) on our durable configuration.
4. Memory per paused run: M runs stop at a human review (a `require_approval` write tool); RSS
   growth / M, with our SQLite checkpointer and with `InMemorySaver`, and checkpoint bytes on disk.

Everything is written under a temporary directory (``TASKWARDEN_HOME`` included); no network.

    .venv/bin/python benchmarks/bench_engine.py [--quick] [--profile] [--dir DIR]
"""

from __future__ import annotations

import argparse
import cProfile
import ctypes
import gc
import json
import os
import pstats
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Annotated, Any, Literal

import psutil
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import StructuredTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode
from langgraph.types import Command, Send
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from taskwarden.graph import Workflow, build_workflow
from taskwarden.graph.audit import AuditLog
from taskwarden.graph.persistence import sqlite_checkpointer
from taskwarden.testing.prompted import PromptedChatModel
from taskwarden.tools.ledger import Ledger
from taskwarden.tools.policy import require_approval
from taskwarden.tools.registry import Role, tool_spec

TARGET = 1.10
REQUEST = "What is the status of order A1001?"
ORDERS = {"A1001": "shipped on 2026-11-02, tracking ZX81", "A1002": "awaiting payment"}
PLAN = {"tasks": [{"id": "t1", "description": "Look up order A1001 and state its status", "role": "clerk",
                   "depends_on": [], "acceptance_criteria": ["the order's status is stated"]}]}
PASS = {"unmet_criteria": [], "feedback": "", "verdict": "pass"}
ANSWER = "Order A1001 shipped on 2026-11-02 (tracking ZX81)."


# --- the instant fake model -------------------------------------------------------------------------

class InstantChatModel(PromptedChatModel):
    """Answers at once and always the same way: a structured call gets `plan` (a schema with `tasks`)
    or `verdict`; a chat call gets one call of `tool` until a tool result is in the prompt, then `answer`.

    Stateless (one instance serves every run and thread); structured calls go through the chat-model
    path too, so every call pays the same LangChain callback overhead a real model's would.
    """

    tool: str = "lookup_order"
    args: dict[str, Any] = Field(default_factory=lambda: {"order_id": "A1001"})
    answer: str = ANSWER
    plan: dict[str, Any] = Field(default_factory=lambda: PLAN)
    verdict: dict[str, Any] = Field(default_factory=lambda: PASS)

    @property
    def _llm_type(self) -> str:
        return "instant"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        structured = kwargs.get("structured")
        if structured:
            reply = AIMessage(content=json.dumps(self.plan if structured == "plan" else self.verdict))
        elif any(isinstance(m, ToolMessage) for m in messages):
            reply = AIMessage(content=self.answer)
        else:
            reply = AIMessage(content="", tool_calls=[{"name": self.tool, "args": dict(self.args), "type": "tool_call",
                                                       "id": f"call_{len(messages)}"}])
        reply.usage_metadata = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
        reply.response_metadata = {"model_name": "instant"}
        return ChatResult(generations=[ChatGeneration(message=reply)])


# --- the workflow on our engine -----------------------------------------------------------------------

def lookup_order(order_id: str) -> str:
    """Look up an order's status by its id (e.g. A1001)."""
    return ORDERS.get(order_id, f"no order {order_id}")


def send_note(order_id: str, note: str) -> str:
    """Send the customer a note about their order."""
    return f"note about {order_id} sent"


def lookup_workflow() -> Workflow:
    """One role with one read tool: the shape of section 1."""
    return Workflow(name="bench", description="Answers questions about orders.",
                    instructions="Answer the customer's question about their order from the order system.",
                    roles=[Role("clerk", "Looks orders up and answers questions about them", ("lookup_order",))],
                    tools=[tool_spec(lookup_order, risk="read")])


def approval_workflow() -> Workflow:
    """One role whose only tool is a write that needs a human's approval: every run pauses."""
    return Workflow(name="bench_pause", description="Sends customers notes about their orders.",
                    instructions="Send the customer the note they asked for.",
                    roles=[Role("clerk", "Sends notes to customers", ("send_note",))],
                    tools=[tool_spec(send_note, risk="write", grounding={"order_id": "free"})],
                    policies=[require_approval("send_note", reason="Notes to customers need a human's approval")])


def our_graph(workflow: Workflow, root: Path, *, durable: bool, checkpointer: BaseCheckpointSaver | None = None,
              model: BaseChatModel | None = None) -> Any:
    """Our engine on the instant model; durable: audit log + SQLite checkpointer under `root`."""
    model = model or InstantChatModel()
    models = {"orchestrator": model, "worker": model, "evaluator": model}
    root.mkdir(parents=True, exist_ok=True)
    if durable:
        checkpointer = sqlite_checkpointer(root / "checkpoints.db")
    return build_workflow(workflow, models=models, checkpointer=checkpointer, ledger=Ledger(root / "ledger.db"),
                          store=None, audit=AuditLog(root / "audit.db") if durable else None)


# --- the plain LangGraph graph of the same shape ----------------------------------------------------------

def merge(left: dict | None, right: dict | None) -> dict:
    return {**(left or {}), **(right or {})}


class PlainState(TypedDict, total=False):
    messages: Annotated[list, add_messages]
    request: str
    lessons: list[str]
    plan: dict | None
    tasks: Annotated[dict, merge]
    final_answer: str


class PlainWorkerState(TypedDict, total=False):
    task: dict
    request: str
    messages: Annotated[list, add_messages]
    tasks: dict


class PlainWorkerOutput(TypedDict, total=False):
    tasks: dict


class PlainTask(BaseModel):
    id: str
    description: str
    role: str
    depends_on: list[str] = []
    acceptance_criteria: list[str]


class PlainPlan(BaseModel):
    tasks: list[PlainTask]


class PlainEvaluation(BaseModel):
    unmet_criteria: list[str] = []
    feedback: str = ""
    verdict: Literal["pass", "revise", "escalate"] = "pass"


def plain_graph(model: BaseChatModel, checkpointer: BaseCheckpointSaver | None) -> Any:
    """What one would write with LangGraph alone: same nodes, same model and tool calls, no engine."""
    tool = StructuredTool.from_function(lookup_order)
    worker_model = model.bind_tools([tool])
    planner = model.with_structured_output(PlainPlan)
    evaluator = model.with_structured_output(PlainEvaluation)

    def call_model(state: PlainWorkerState) -> dict:
        prompt = [SystemMessage(f"You are the clerk. Task {state['task']['id']}: {state['task']['description']}"),
                  HumanMessage(state["request"]), *state.get("messages", [])]
        return {"messages": [worker_model.invoke(prompt)]}

    def finish(state: PlainWorkerState) -> dict:
        task = {**state["task"], "status": "done", "result": state["messages"][-1].content}
        return {"tasks": {task["id"]: task}}

    worker = StateGraph(PlainWorkerState, output_schema=PlainWorkerOutput)
    worker.add_node(call_model)
    worker.add_node("tools", ToolNode([tool]))
    worker.add_node(finish)
    worker.add_edge(START, "call_model")
    worker.add_conditional_edges("call_model", lambda s: "tools" if s["messages"][-1].tool_calls else "finish",
                                 ["tools", "finish"])
    worker.add_edge("tools", "call_model")
    worker.add_edge("finish", END)

    def intake(state: PlainState) -> dict:
        return {"request": state["messages"][-1].content, "plan": None, "tasks": {}}

    def recall(state: PlainState) -> dict:
        return {"lessons": []}

    def orchestrate(state: PlainState) -> dict:
        if state.get("plan") is not None:
            return {}
        plan = planner.invoke([SystemMessage("Plan the work as tasks for the clerk role."),
                               HumanMessage(state["request"])])
        return {"plan": plan.model_dump(),
                "tasks": {t.id: {**t.model_dump(), "status": "pending", "result": ""} for t in plan.tasks}}

    def route_after_orchestrate(state: PlainState) -> Any:
        tasks = state["tasks"].values()
        if any(t["status"] == "done" for t in tasks):
            return "evaluate"
        ready = [t for t in tasks if t["status"] == "pending"]
        return [Send("work", {"task": t, "request": state["request"]}) for t in ready] if ready else "finalize"

    def evaluate(state: PlainState) -> dict:
        updates = {}
        for task in state["tasks"].values():
            if task["status"] == "done":
                verdict = evaluator.invoke([SystemMessage(f"Check the result against: {task['acceptance_criteria']}"),
                                            HumanMessage(task["result"])])
                updates[task["id"]] = {**task, "status": "passed" if verdict.verdict == "pass" else "revise"}
        return {"tasks": updates}

    def finalize(state: PlainState) -> dict:
        answer = "\n\n".join(t["result"] for t in state["tasks"].values())
        return {"final_answer": answer, "messages": [AIMessage(answer)]}

    def remember(state: PlainState) -> dict:
        return {}

    builder = StateGraph(PlainState)
    for node in (intake, recall, orchestrate, evaluate, finalize, remember):
        builder.add_node(node)
    builder.add_node("work", worker.compile())
    builder.add_edge(START, "intake")
    builder.add_edge("intake", "recall")
    builder.add_edge("recall", "orchestrate")
    builder.add_conditional_edges("orchestrate", route_after_orchestrate, ["work", "evaluate", "finalize"])
    builder.add_edge("work", "evaluate")
    builder.add_edge("evaluate", "orchestrate")
    builder.add_edge("finalize", "remember")
    builder.add_edge("remember", END)
    return builder.compile(checkpointer=checkpointer)


def default_sqlite_saver(path: Path) -> SqliteSaver:
    """LangGraph's `SqliteSaver` as `SqliteSaver.from_conn_string` opens it: WAL (its `setup` sets it),
    SQLite's default synchronous=FULL."""
    saver = SqliteSaver(sqlite3.connect(path, check_same_thread=False))
    saver.setup()
    return saver


# --- measuring ---------------------------------------------------------------------------------------

def thread(prefix: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": f"{prefix}-{uuid.uuid4().hex[:12]}"}}


def run_once(graph: Any, prefix: str = "run") -> dict[str, Any]:
    return graph.invoke({"messages": [("user", REQUEST)]}, thread(prefix))


def count_nodes(graph: Any) -> int:
    """Node executions of one run, subgraph nodes included (the `work` node counts once, as itself)."""
    stream = graph.stream({"messages": [("user", REQUEST)]}, thread("count"), stream_mode="tasks", subgraphs=True)
    return sum(1 for _namespace, chunk in stream if "result" in chunk)


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def alternate(calls: dict[str, Callable[[], Any]], repeats: int, warmup: int) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) seconds per call of each callable, interleaved call by call (order flipped every round).

    CPU time is the whole process's (background checkpoint threads included); on a busy machine it
    moves less than wall time."""
    names = list(calls)
    for _ in range(warmup):
        for name in names:
            calls[name]()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for i in range(repeats):
        for name in names if i % 2 == 0 else reversed(names):
            wall, cpu = time.perf_counter(), time.process_time()
            calls[name]()
            times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    return times


def median_ms(samples: list[tuple[float, float]]) -> tuple[float, float]:
    """Median wall and CPU milliseconds."""
    return 1000 * statistics.median(s[0] for s in samples), 1000 * statistics.median(s[1] for s in samples)


def paired_ratio(ours: list[tuple[float, float]], plain: list[tuple[float, float]], which: int) -> float:
    """The median of ours / plain over runs made back to back (0: wall, 1: CPU): a burst of load on a
    shared machine slows both runs of a pair, and a few slow pairs do not move the median."""
    return statistics.median(o[which] / p[which] for o, p in zip(ours, plain))


def checkpoints_per_run(saver: SqliteSaver, thread_id: str) -> tuple[int, int]:
    """Checkpoints and pending writes stored for one thread (every namespace)."""
    with saver.cursor(transaction=False) as cur:
        checkpoints = cur.execute("SELECT COUNT(*) FROM checkpoints WHERE thread_id = ?", (thread_id,)).fetchone()[0]
        writes = cur.execute("SELECT COUNT(*) FROM writes WHERE thread_id = ?", (thread_id,)).fetchone()[0]
    return checkpoints, writes


def bench_overhead(root: Path, repeats: int, warmup: int) -> tuple[list[tuple], dict[str, float]]:
    """Section 1: ours vs plain, per run and per node execution, in three persistence setups."""
    model = InstantChatModel()
    out = our_graph(lookup_workflow(), root / "check", durable=False, model=model).invoke(
        {"messages": [("user", REQUEST)]})
    plain_out = plain_graph(model, None).invoke({"messages": [("user", REQUEST)]})
    assert out["status"] == "completed" and out["final_answer"] == ANSWER == plain_out["final_answer"], (out, plain_out)

    setups: list[tuple[str, Any, Any, int]] = [
        ("no checkpointer", our_graph(lookup_workflow(), root / "none", durable=False, model=model),
         plain_graph(model, None), 1),
        ("InMemorySaver", our_graph(lookup_workflow(), root / "mem", durable=False, checkpointer=InMemorySaver(),
                                    model=model), plain_graph(model, InMemorySaver()), 1),
        ("durable SQLite", our_graph(lookup_workflow(), root / "durable", durable=True, model=model),
         plain_graph(model, default_sqlite_saver(root / "plain.db")), 3),
        ("durable, plain on our checkpointer", our_graph(lookup_workflow(), root / "durable2", durable=True,
                                                         model=model),
         plain_graph(model, sqlite_checkpointer(root / "plain-ours.db")), 3),
    ]
    rows, ratios = [], {}
    for label, ours, plain, slower in setups:
        nodes_ours, nodes_plain = count_nodes(ours), count_nodes(plain)
        n = max(1, repeats // slower)
        times = alternate({"ours": lambda g=ours: run_once(g, "ours"), "plain": lambda g=plain: run_once(g, "plain")},
                          n, warmup)
        ours_ms, plain_ms = median_ms(times["ours"])[0], median_ms(times["plain"])[0]
        ratio, cpu_ratio = (paired_ratio(times["ours"], times["plain"], i) * nodes_plain / nodes_ours for i in (0, 1))
        ratios[label], ratios[f"{label} cpu"] = ratio, cpu_ratio
        stored = checkpoint_counts(ours.checkpointer, plain.checkpointer) if label.startswith("durable") else ""
        rows.append((label, n, nodes_ours, nodes_plain, ours_ms, plain_ms, 1000 * ours_ms / nodes_ours,
                     1000 * plain_ms / nodes_plain, ratio, cpu_ratio, stored))
    return rows, ratios


def checkpoint_counts(ours: SqliteSaver, plain: SqliteSaver) -> str:
    """Checkpoints / pending writes the latest run of each stored, ours vs plain."""
    counts = []
    for saver in (ours, plain):
        with saver.cursor(transaction=False) as cur:
            thread_id = cur.execute("SELECT thread_id FROM checkpoints ORDER BY rowid DESC LIMIT 1").fetchone()[0]
        counts.append(checkpoints_per_run(saver, thread_id))
    return f"{counts[0][0]} / {counts[0][1]} vs {counts[1][0]} / {counts[1][1]}"


def print_overhead(rows: list[tuple]) -> None:
    print("\n## 1. Per-step overhead: our engine vs a plain LangGraph graph of the same shape (instant model)\n")
    print("| persistence | runs | nodes ours / plain | ours ms/run | plain ms/run | ours µs/node | plain µs/node | "
          "ours / plain (wall) | ours / plain (CPU) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, n, no, np_, om, pm, ou, pu, ratio, cpu_ratio, _stored in rows:
        print(f"| {label} | {n} | {no} / {np_} | {om:.2f} | {pm:.2f} | {ou:,.0f} | {pu:,.0f} | {ratio:.2f} | "
              f"{cpu_ratio:.2f} |")
    print("\nRuns alternate ours/plain after a warm-up; ms/run are medians, ratios the median of per-pair ratios "
          "per node execution (a node: one execution, the worker subgraph's nodes included). Durable: ours is the "
          "audit log (synchronous=FULL) + `sqlite_checkpointer` (WAL, synchronous=NORMAL); plain is LangGraph's "
          "`SqliteSaver` as it comes (WAL, synchronous=FULL), then on `sqlite_checkpointer` like ours.")
    stored = next((r[10] for r in rows if r[10]), "")
    if stored:
        ours, plain = stored.split(" vs ")
        print(f"One durable run stores checkpoints / pending writes: ours {ours}, plain {plain}; ours also appends "
              "its events to the audit log (one synced transaction each).")


# --- section 2: checkpoint writes -------------------------------------------------------------------------

def realistic_checkpoint(root: Path) -> tuple[dict, dict, dict, list[tuple[str, Any]]]:
    """The last checkpoint of a finished run on our engine (plan, task, messages, usage), its metadata,
    its channel versions, and the writes of one of its tasks."""
    saver = InMemorySaver()
    graph = our_graph(lookup_workflow(), root / "sample", durable=False, checkpointer=saver)
    config = thread("sample")
    out = graph.invoke({"messages": [("user", REQUEST)]}, config)
    latest = saver.get_tuple(config)
    assert latest is not None
    writes = [("tasks", out["tasks"]), ("usage", out["usage"]), ("messages", out["messages"][-1:])]
    return latest.checkpoint, dict(latest.metadata), latest.checkpoint["channel_versions"], writes


def bench_puts(saver: BaseCheckpointSaver, checkpoint: dict, metadata: dict, versions: dict,
               writes: list[tuple[str, Any]], step: int) -> tuple[float, float]:
    """Seconds for one `put` and one `put_writes` (next checkpoint of thread `bench-puts`)."""
    config = {"configurable": {"thread_id": f"bench-puts-{step % 16}", "checkpoint_ns": ""}}
    started = time.perf_counter()
    saved = saver.put(config, {**checkpoint, "id": str(uuid6(clock_seq=step))}, {**metadata, "step": step}, versions)
    put = time.perf_counter() - started
    started = time.perf_counter()
    saver.put_writes(saved, writes, task_id=str(uuid.uuid4()))
    return put, time.perf_counter() - started


def linear_graph(checkpointer: BaseCheckpointSaver | None, nodes: int = 6) -> Any:
    """A small graph: `nodes` nodes in a row, each appending to a list and bumping a counter."""

    class Small(TypedDict, total=False):
        count: int
        log: Annotated[list, lambda a, b: [*(a or []), *(b or [])]]

    builder = StateGraph(Small)
    names = [f"n{i}" for i in range(nodes)]
    for name in names:
        builder.add_node(name, lambda s, name=name: {"count": s.get("count", 0) + 1, "log": [name]})
    builder.add_edge(START, names[0])
    for a, b in zip(names, names[1:]):
        builder.add_edge(a, b)
    builder.add_edge(names[-1], END)
    return builder.compile(checkpointer=checkpointer)


def bench_checkpoints(root: Path, puts: int, runs: int) -> list[tuple]:
    """Section 2: put / put_writes latency and the per-step time of a small graph, per checkpointer."""
    checkpoint, metadata, versions, writes = realistic_checkpoint(root)
    savers: dict[str, BaseCheckpointSaver] = {
        "SqliteSaver default (WAL, synchronous=FULL)": default_sqlite_saver(root / "default-puts.db"),
        "ours (WAL, synchronous=NORMAL)": sqlite_checkpointer(root / "ours-puts.db"),
        "InMemorySaver": InMemorySaver(),
    }
    size = len(next(iter(savers.values())).serde.dumps_typed(checkpoint)[1])
    lat: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in savers}
    for i in range(puts + 5):
        for name in savers if i % 2 == 0 else reversed(savers):
            put, put_writes = bench_puts(savers[name], checkpoint, metadata, versions, writes, i)
            if i >= 5:
                lat[name][0].append(put)
                lat[name][1].append(put_writes)
    audit = AuditLog(root / "audit-appends.db")
    appends = []
    for i in range(puts):
        started = time.perf_counter()
        audit.append("bench-audit", "tool_result", {"task_id": "t1", "tool": "lookup_order", "result": ORDERS["A1001"]},
                     node="work", replay_key=f"k{i}")
        appends.append(time.perf_counter() - started)

    graphs = {name: linear_graph(saver if not name.startswith("InMemory") else InMemorySaver())
              for name, saver in (("SqliteSaver default (WAL, synchronous=FULL)", default_sqlite_saver(root / "default-graph.db")),
                                  ("ours (WAL, synchronous=NORMAL)", sqlite_checkpointer(root / "ours-graph.db")),
                                  ("InMemorySaver", None))}
    graphs["no checkpointer"] = linear_graph(None)
    per_run = alternate({name: (lambda g=g: g.invoke({"count": 0}, thread("small"))) for name, g in graphs.items()},
                        runs, warmup=3)
    steps = 6
    rows = []
    for name in graphs:
        put_ms = put_writes_ms = (float("nan"),) * 2
        if name in lat:
            put_ms = (1000 * statistics.median(lat[name][0]), 1000 * percentile(lat[name][0], 0.99))
            put_writes_ms = (1000 * statistics.median(lat[name][1]), 1000 * percentile(lat[name][1], 0.99))
        rows.append((name, *put_ms, *put_writes_ms, 1000 * median_ms(per_run[name])[0] / steps))
    rows.append(("ours: audit append (WAL, synchronous=FULL)", 1000 * statistics.median(appends),
                 1000 * percentile(appends, 0.99), float("nan"), float("nan"), float("nan")))
    print_checkpoints(rows, size, puts, runs, steps)
    return rows


def print_checkpoints(rows: list[tuple], size: int, puts: int, runs: int, steps: int) -> None:
    print(f"\n## 2. Checkpoint writes ({size:,}-byte checkpoint, {puts} puts each; "
          f"small graph: {steps} nodes in a row, {runs} runs)\n")
    print("| checkpointer | put p50 ms | put p99 ms | put_writes p50 ms | put_writes p99 ms | small graph µs/step |")
    print("|---|---:|---:|---:|---:|---:|")

    def fmt(value: float, spec: str) -> str:
        return "-" if value != value else format(value, spec)

    for name, p50, p99, w50, w99, step in rows:
        print(f"| {name} | {fmt(p50, '.3f')} | {fmt(p99, '.3f')} | {fmt(w50, '.3f')} | {fmt(w99, '.3f')} | "
              f"{fmt(step, ',.0f')} |")
    print("\nThe audit row is one `AuditLog.append` (one event; a run of section 1 records about a dozen).")


# --- section 3: throughput ---------------------------------------------------------------------------------

def runs_per_second(graph: Any, in_flight: int, total: int) -> tuple[float, float, float]:
    """Runs/s with `in_flight` runs at a time (threads), and the p50 / p99 latency of one run in ms."""
    latencies: list[float] = []

    def one(_: int) -> None:
        started = time.perf_counter()
        out = run_once(graph, f"n{in_flight}")
        latencies.append(time.perf_counter() - started)
        assert out["final_answer"] == ANSWER, out

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=in_flight) as pool:
        list(pool.map(one, range(total)))
    wall = time.perf_counter() - started
    return total / wall, 1000 * statistics.median(latencies), 1000 * percentile(latencies, 0.99)


def bench_throughput(root: Path, levels: list[int], runs_per_level: Callable[[int], int],
                     warmup: int = 3) -> list[tuple]:
    """Section 3: runs/s with N runs in flight on our durable configuration (one compiled graph, as a
    server holds it); the plain graph on `SqliteSaver` alongside for reference."""
    model = InstantChatModel()
    ours = our_graph(lookup_workflow(), root / "throughput", durable=True, model=model)
    plain = plain_graph(model, default_sqlite_saver(root / "throughput-plain.db"))
    for _ in range(warmup):
        run_once(ours, "warm")
        run_once(plain, "warm")
    rows = []
    for n in levels:
        total = runs_per_level(n)
        rows.append((n, total, *runs_per_second(ours, n, total), runs_per_second(plain, n, total)[0]))
    print("\n## 3. Throughput: N concurrent runs (threads) on our durable configuration (audit log + SQLite WAL "
          "checkpointer)\n")
    print("| runs in flight | runs | runs/s | latency p50 ms | latency p99 ms | plain graph on SqliteSaver, runs/s |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n, total, rate, p50, p99, plain_rate in rows:
        print(f"| {n} | {total} | {rate:,.1f} | {p50:,.1f} | {p99:,.1f} | {plain_rate:,.1f} |")
    print(f"\nThreads share one process (the GIL) and {os.cpu_count()} cores: on an instant model a run is CPU "
          "work, so more runs in flight add latency, not throughput; with a real model a run waits on it.")
    return rows


# --- section 4: memory per paused run -----------------------------------------------------------------------

def rss() -> int:
    """Resident memory after a garbage collection, with freed heap handed back to the OS (glibc)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    return psutil.Process().memory_info().rss


def pause_runs(graph: Any, count: int, prefix: str) -> list[dict[str, Any]]:
    configs = [thread(prefix) for _ in range(count)]
    for config in configs:
        graph.invoke({"messages": [("user", "Tell the customer of order A1001 that it shipped")]}, config)
    return configs


def bench_paused(root: Path, count: int, warmup: int = 5) -> dict[str, float]:
    """Section 4: memory and disk per run paused at a human review."""
    model = InstantChatModel(tool="send_note", args={"order_id": "A1001", "note": "Your order shipped."},
                             plan={"tasks": [{**PLAN["tasks"][0], "description": "Send the customer the note"}]})
    results: dict[str, float] = {}
    for label, durable in (("sqlite", True), ("memory", False)):
        where = root / f"paused-{label}"
        graph = our_graph(approval_workflow(), where, durable=durable, model=model,
                          checkpointer=None if durable else InMemorySaver())
        pause_runs(graph, warmup, "warm")
        before = rss()
        configs = pause_runs(graph, count // 2, "paused")
        middle = rss()
        configs += pause_runs(graph, count - count // 2, "paused")
        after = rss()
        results[f"rss_{label}"] = (after - before) / count
        results[f"rss_{label}_marginal"] = (after - middle) / (count - count // 2)
        pending = [graph.get_state(c).interrupts for c in configs]
        assert all(len(p) == 1 and p[0].value["kind"] == "tool_approval" for p in pending), "every run must pause"
        resumed = graph.invoke(Command(resume={pending[0][0].id: {"decisions": [{"type": "approve"}]}}), configs[0])
        assert resumed["status"] == "completed", resumed.get("status")
        if durable:
            saver = graph.checkpointer
            with saver.cursor(transaction=False) as cur:
                cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                ids = [c["configurable"]["thread_id"] for c in configs[1:]]
                marks = ",".join("?" * len(ids))
                payload = cur.execute(f"SELECT COALESCE(SUM(LENGTH(checkpoint) + LENGTH(metadata)), 0), COUNT(*) "
                                      f"FROM checkpoints WHERE thread_id IN ({marks})", ids).fetchone()
                writes = cur.execute(f"SELECT COALESCE(SUM(LENGTH(value)), 0), COUNT(*) FROM writes "
                                     f"WHERE thread_id IN ({marks})", ids).fetchone()
            results["checkpoint_bytes"] = (payload[0] + writes[0]) / len(ids)
            results["checkpoints"] = payload[1] / len(ids)
            results["writes"] = writes[1] / len(ids)
            results["db_bytes"] = (where / "checkpoints.db").stat().st_size / (count + warmup)
            with closing(sqlite3.connect(where / "audit.db")) as audit:
                audit.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                events = audit.execute(f"SELECT COUNT(*) FROM audit WHERE thread_id IN ({marks})", ids).fetchone()[0]
            results["audit_events"] = events / len(ids)
            results["audit_bytes"] = (where / "audit.db").stat().st_size / (count + warmup)
    print(f"\n## 4. Memory per paused run ({count} runs waiting for a human's approval of a write tool)\n")
    print("| measure | per paused run |")
    print("|---|---:|")
    for label, name in (("sqlite", "SQLite checkpointer (durable)"), ("memory", "InMemorySaver")):
        print(f"| RSS growth, {name}: all runs / second half only | {results[f'rss_{label}'] / 1024:,.1f} / "
              f"{results[f'rss_{label}_marginal'] / 1024:,.1f} KiB |")
    print(f"| checkpoint payload (checkpoints + pending writes) | {results['checkpoint_bytes'] / 1024:,.1f} KiB |")
    print(f"| checkpoints / pending writes stored | {results['checkpoints']:.0f} / {results['writes']:.0f} |")
    print(f"| checkpoints.db file size | {results['db_bytes'] / 1024:,.1f} KiB |")
    print(f"| audit events recorded / audit.db file size | {results['audit_events']:.0f} / "
          f"{results['audit_bytes'] / 1024:,.1f} KiB |")
    print("\nRSS is read after a garbage collection and malloc_trim, before, halfway and after; the second half "
          "leaves out caches that stop growing (SQLite's page cache: 2 MB a connection). File sizes after a WAL "
          "checkpoint, divided by every run the file holds (warm-up runs included; one run was resumed to its end).")
    return results


# --- main ------------------------------------------------------------------------------------------------

def profile_ours(root: Path, runs: int) -> None:
    """cProfile of `runs` runs on our engine without a checkpointer: where our per-step time goes."""
    graph = our_graph(lookup_workflow(), root / "profile", durable=False)
    for _ in range(5):
        run_once(graph)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        run_once(graph)
    profiler.disable()
    repo = re.escape(str(Path(__file__).resolve().parents[1]))
    print(f"\n## Profile: {runs} runs on our engine, no checkpointer\n")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(15)
    stats.sort_stats("cumulative").print_stats(rf"^{repo}/(graph|agents|tools)/", 25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (about 20 s)")
    parser.add_argument("--profile", action="store_true", help="also profile our engine's in-memory runs")
    parser.add_argument("--dir", type=Path, default=None, help="where to write databases (default: a temp dir)")
    args = parser.parse_args()
    quick = args.quick
    with tempfile.TemporaryDirectory(prefix="bench-engine-", dir=args.dir) as tmp:
        root = Path(tmp)
        os.environ["TASKWARDEN_HOME"] = str(root / "home")  # nothing may touch the user's data directory
        print(f"cores: {os.cpu_count()}, databases under {root}, {'quick' if quick else 'full'} run")
        rows, ratios = bench_overhead(root, repeats=24 if quick else 150, warmup=4 if quick else 10)
        print_overhead(rows)
        bench_checkpoints(root, puts=150 if quick else 1000, runs=20 if quick else 150)
        levels = [1, 4, 16] if quick else [1, 4, 16, 64]
        throughput = bench_throughput(root, levels, (lambda n: max(8, 2 * n)) if quick else (lambda n: max(30, 4 * n)))
        paused = bench_paused(root, count=40 if quick else 200)
        if args.profile:
            profile_ours(root, runs=50 if quick else 200)
    best = max(throughput, key=lambda row: row[2])
    memory = ratios["InMemorySaver"]
    print(f"\nSummary: ours / plain per step {memory:.2f} wall, {ratios['InMemorySaver cpu']:.2f} CPU with "
          f"InMemorySaver (target <= {TARGET:.2f}: {'met' if memory <= TARGET else 'NOT met'}); "
          f"{ratios['no checkpointer']:.2f} / {ratios['no checkpointer cpu']:.2f} without a checkpointer; "
          f"{ratios['durable SQLite']:.2f} / {ratios['durable SQLite cpu']:.2f} durable vs stock SqliteSaver, "
          f"{ratios['durable, plain on our checkpointer']:.2f} / {ratios['durable, plain on our checkpointer cpu']:.2f} "
          "vs plain on our checkpointer. "
          f"{best[2]:,.1f} runs/s at best ({best[0]} in flight). Per paused run: "
          f"{paused['rss_sqlite_marginal'] / 1024:,.0f} KiB RSS with SQLite, "
          f"{paused['rss_memory_marginal'] / 1024:,.0f} KiB with InMemorySaver, "
          f"{paused['checkpoint_bytes'] / 1024:,.0f} KiB of checkpoints on disk.")

if __name__ == "__main__":
    main()
