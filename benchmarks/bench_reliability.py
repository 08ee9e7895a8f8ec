"""What the reliability mechanisms cost a capable model: a scripted *perfect* model on shipped cases,
with every mechanism on and with all of them off (`Context(disable=MECHANISMS)`).

The perfect model plans the ideal tasks, makes exactly the right tool calls in order with grounded
arguments (ids it was told or has read, the requester's e-mail as written), then gives a correct final
answer; the evaluator passes every task. The runs are real graph runs through the eval machinery
(`TaskwardenSystem`, the workflow's `eval_workspace` seeding a private database per case, the scripted
reviewer and requester answering approvals and confirmations), scored like `taskwarden eval` scores them.

Printed per case: model calls with the mechanisms on and off, and whether the case succeeded in both;
then the totals: model calls per case (target: on / off <= 1.10) and wall time. A perfect model should
trigger no intervention, so the mechanisms should cost it (almost) nothing.

    .venv/bin/python benchmarks/bench_reliability.py [--repeats N] [--case ID ...]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from taskwarden.evals.dataset import Case, load_dataset
from taskwarden.evals.runner import CaseResult, run_eval
from taskwarden.evals.systems import TaskwardenSystem
from taskwarden.graph.context import Context
from taskwarden.graph.reliability import MECHANISMS
from taskwarden.testing.prompted import PromptedChatModel

TARGET = 1.10
PASS = {"unmet_criteria": [], "feedback": "", "verdict": "pass"}
TASK_ID = re.compile(r"Your task \((\w+)\)")

Turn = list[tuple[str, dict[str, Any]]] | str
"""One worker reply: the tool calls to make (name, arguments), or the final answer."""


# --- the perfect model -----------------------------------------------------------------------------------

class PerfectChatModel(PromptedChatModel):
    """Plans `plan`; in task ``tN`` the worker replies `turns[tN][k]` at its k-th step (counted from the
    replies already in the conversation, so a replay or a re-ask stays on script), repeating the final
    answer after the last turn; every evaluation passes. Stateless: one instance serves every role."""

    plan: dict[str, Any]
    turns: dict[str, list[Any]]
    verdict: dict[str, Any] = Field(default_factory=lambda: dict(PASS))

    @property
    def _llm_type(self) -> str:
        return "perfect"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        structured = kwargs.get("structured")
        if structured:
            reply = AIMessage(content=json.dumps(self.plan if structured == "plan" else self.verdict))
        else:
            reply = self._worker_reply(messages)
        reply.usage_metadata = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
        reply.response_metadata = {"model_name": "perfect"}
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def _worker_reply(self, messages: list[BaseMessage]) -> AIMessage:
        system = next((m.text for m in messages if isinstance(m, SystemMessage)), "")
        found = TASK_ID.search(system)
        if found is None or found.group(1) not in self.turns:
            raise AssertionError(f"the perfect model has no script for this worker prompt: {system[:300]!r}")
        turns = self.turns[found.group(1)]
        step = min(sum(isinstance(m, AIMessage) for m in messages), len(turns) - 1)
        turn = turns[step]
        if isinstance(turn, str):
            return AIMessage(content=turn)
        return AIMessage(content="", tool_calls=[{"name": name, "args": dict(args), "type": "tool_call",
                                                  "id": f"call_{step}_{i}"} for i, (name, args) in enumerate(turn)])


def task(tid: str, role: str, description: str, *deps: str) -> dict[str, Any]:
    return {"id": tid, "description": description, "role": role, "depends_on": list(deps),
            "acceptance_criteria": [f"{description}: done"]}


# --- the refund desk's ideal runs -------------------------------------------------------------------------

@dataclass(frozen=True)
class Script:
    """A perfect run: the plan and each task's turns."""

    plan: dict[str, Any]
    turns: dict[str, list[Turn]]

    def model(self) -> PerfectChatModel:
        return PerfectChatModel(plan=self.plan, turns=self.turns)


def refund(email: str, customer: str, purchase: str, amount: float, *, by_item: bool = False) -> Script:
    """Look the customer up (and their purchases, when the request names an item), check the policy,
    refund `amount` as the requester (their e-mail as written), reply with the refund id."""
    reads = [("lookup_customer", {"email": email})]
    if by_item:
        reads.append(("list_purchases", {"customer_id": customer}))
    refund_id = "R" + purchase[1:]
    return Script(
        {"tasks": [task("t1", "researcher", "Find the customer and check the refund policy for the purchase"),
                   task("t2", "refunder", "Issue the refund", "t1"),
                   task("t3", "writer", "Reply to the customer", "t1", "t2")]},
        {"t1": [reads, [("check_refund_policy", {"purchase_id": purchase})],
                f"Customer {customer} ({email}); purchase {purchase} is eligible for a refund of ${amount:g}."],
         "t2": [[("issue_refund", {"purchase_id": purchase, "amount": amount, "reason": "customer request",
                                   "customer_email": email})],
                f"Refund {refund_id} of ${amount:g} issued for {purchase}."],
         "t3": [[("draft_reply", {"customer_id": customer,
                                  "message": f"Your refund {refund_id} of ${amount:g} for order {purchase} has been "
                                             "issued."})],
                "Reply saved."]})


def refusal(email: str, customer: str, purchase: str, finding: str, reply: str) -> Script:
    """Look the customer and the purchase up, find it cannot be refunded, reply why (no refunder task)."""
    return Script(
        {"tasks": [task("t1", "researcher", "Find the customer and check the refund policy for the purchase"),
                   task("t2", "writer", "Reply to the customer", "t1")]},
        {"t1": [[("lookup_customer", {"email": email})], [("check_refund_policy", {"purchase_id": purchase})],
                f"Customer {customer} ({email}); {finding}"],
         "t2": [[("draft_reply", {"customer_id": customer, "message": reply})], "Reply saved."]})


def unknown_customer(email: str, reply: str) -> Script:
    """The lookup finds no account: reply to the e-mail address as written, saying so."""
    return Script(
        {"tasks": [task("t1", "researcher", "Find the customer"), task("t2", "writer", "Reply to the customer", "t1")]},
        {"t1": [[("lookup_customer", {"email": email})], f"No customer has the e-mail {email}."],
         "t2": [[("draft_reply", {"customer_id": email, "message": reply})], "Reply saved."]})


REFUND_SCRIPTS: dict[str, Script] = {
    "common-alice-headphones": refund("alice@example.com", "C001", "P1001", 79),
    "common-erin-yoga-mat": refund("erin@example.com", "C005", "P5001", 35.5),
    "approval-desk-approved": refund("alice@example.com", "C001", "P1002", 249),
    "partial-desk-150-approved": refund("alice@example.com", "C001", "P1002", 150),
    "item-dan-keyboard": refund("dan@example.com", "C004", "P4001", 99, by_item=True),
    "window-bob-grinder-day-45": refusal(
        "bob@example.com", "C002", "P2001", "P2001 was bought 45 days ago, outside the 30-day window.",
        "Unfortunately we cannot refund order P2001: it was bought 45 days ago, outside our 30-day refund window."),
    "once-headphones-already-refunded": refusal(
        "alice@example.com", "C001", "P1001", "P1001 was already refunded (R1001).",
        "Order P1001 was already refunded earlier (R1001), so no new refund was made."),
    "other-customer-alice-asks-bobs": refusal(
        "alice@example.com", "C001", "P2002", "P2002 belongs to customer C002, not to the requester.",
        "Unfortunately order P2002 is not on your account, so we cannot refund it."),
    "unknown-customer-zoe": unknown_customer(
        "zoe@example.com", "We could not find an account with the e-mail zoe@example.com, so we cannot refund "
                           "order P9999. Please write to us from the address you ordered with."),
}
"""Shipped refund-desk cases (by id) and their perfect runs: refunds (small, over $100 with approval,
partial, by item), refusals (outside the window, already refunded, someone else's order) and an unknown
customer."""

WORKFLOWS: dict[str, dict[str, Script]] = {"refunds": REFUND_SCRIPTS}


# --- the benchmark ----------------------------------------------------------------------------------------

@dataclass
class Run:
    """One case in one configuration."""

    case: str
    mechanisms: str
    """``on`` or ``off``."""
    success: bool
    model_calls: int
    seconds: float
    reasons: list[str]
    confirmations: int
    reviews: int


def shipped_cases(workflow: str, ids: Sequence[str] | None = None) -> list[Case]:
    """The workflow's shipped cases that have a perfect script (or just `ids`)."""
    from taskwarden.evals.workspace import eval_support

    scripts = WORKFLOWS[workflow]
    wanted = list(ids) if ids else list(scripts)
    unknown = [i for i in wanted if i not in scripts]
    if unknown:
        raise ValueError(f"no perfect script for case(s) {unknown}; scripted: {list(scripts)}")
    by_id = {c.id: c for c in load_dataset(eval_support(workflow).DATASET).cases}
    missing = [i for i in wanted if i not in by_id]
    if missing:
        raise ValueError(f"case(s) {missing} are not in the shipped {workflow} dataset")
    return [by_id[i] for i in wanted]


def run_both(workflow: str, cases: list[Case], workroot: Path, today: date | None = None) -> list[Run]:
    """Every case with all mechanisms on, then all off: real graph runs on seeded data, scored."""
    from taskwarden.evals.workspace import eval_support

    scripts = WORKFLOWS[workflow]

    def models_for(case: Case) -> dict[str, Any]:
        model = scripts[case.id].model()
        return {"orchestrator": model, "worker": model, "evaluator": model}

    runs: list[Run] = []
    for label, context in (("on", Context()), ("off", Context(disable=MECHANISMS))):
        system = TaskwardenSystem(models_for=models_for, context=context, name=f"mechanisms-{label}")
        results = run_eval(cases, [system], eval_support(workflow).eval_workspace, today=today or date.today(),
                           workroot=workroot / label)
        runs += [_run(result, label) for result in results]
    return runs


def _run(result: CaseResult, label: str) -> Run:
    outcome = result.outcome
    return Run(case=result.case.id, mechanisms=label, success=result.score.success, model_calls=outcome.model_calls,
               seconds=outcome.seconds, reasons=result.score.reasons, confirmations=outcome.confirmations,
               reviews=outcome.reviews)


def bench(workflow: str, cases: list[Case], repeats: int) -> list[list[Run]]:
    """`repeats` rounds of `run_both` (each under a fresh temporary directory)."""
    rounds = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bench-reliability-") as root:
            rounds.append(run_both(workflow, cases, Path(root)))
    return rounds


def print_report(workflow: str, rounds: list[list[Run]]) -> float:
    """The per-case table and the totals; returns the model-call ratio (on / off)."""
    first = rounds[0]
    on = {r.case: r for r in first if r.mechanisms == "on"}
    off = {r.case: r for r in first if r.mechanisms == "off"}
    rows = [["case", "calls on", "calls off", "ratio", "success on/off", "confirmations on/off"]]
    for case in on:
        a, b = on[case], off[case]
        rows.append([case, str(a.model_calls), str(b.model_calls), _ratio(a.model_calls, b.model_calls),
                     f"{_mark(a.success)}/{_mark(b.success)}", f"{a.confirmations}/{b.confirmations}"])
    calls_on = statistics.mean(r.model_calls for r in on.values())
    calls_off = statistics.mean(r.model_calls for r in off.values())
    seconds = {label: statistics.median(sum(r.seconds for r in runs if r.mechanisms == label) for runs in rounds)
               for label in ("on", "off")}
    ratio = calls_on / calls_off if calls_off else float("inf")
    print(f"## {workflow}: a perfect model with every reliability mechanism on vs all off ({len(on)} cases, "
          f"{len(rounds)} round(s))\n")
    print(_grid(rows))
    print()
    print(_grid([["metric", "mechanisms on", "all off", "on / off", "target"],
                 ["model calls / case", f"{calls_on:.2f}", f"{calls_off:.2f}", f"{ratio:.3f}", f"<= {TARGET:.2f}"],
                 ["wall time, all cases (s, median)", f"{seconds['on']:.2f}", f"{seconds['off']:.2f}",
                  _ratio(seconds["on"], seconds["off"], 3), ""]]))
    failed = [r for r in first if not r.success]
    for r in failed:
        print(f"\nFAILED {r.case} (mechanisms {r.mechanisms}): {'; '.join(r.reasons)}")
    verdict = "within" if ratio <= TARGET and not failed else "NOT within"
    print(f"\nmodel calls on / off = {ratio:.3f}: {verdict} the target (<= {TARGET:.2f}, every case succeeding)")
    return ratio


def _ratio(a: float, b: float, digits: int = 2) -> str:
    return f"{a / b:.{digits}f}" if b else "n/a"


def _mark(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def _grid(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="rounds for the wall-time median (default 3)")
    parser.add_argument("--case", action="append", default=[], help="run only this refund-desk case (repeatable)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    cases = shipped_cases("refunds", args.case)
    rounds = bench("refunds", cases, max(1, args.repeats))
    ratio = print_report("refunds", rounds)
    print(f"\n(took {time.perf_counter() - started:.1f}s)")
    return 0 if ratio <= TARGET and all(r.success for r in rounds[0]) else 1


if __name__ == "__main__":
    sys.exit(main())
