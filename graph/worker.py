"""The worker subgraph: a ReAct loop over only its role's tools, every call through the policy gate.

    START -> call_model --(tool calls)--> run_tools -> call_model ... --(final answer / stop)--> finish -> END

`run_tools` interrupts for a human when the gate requires approval. LangGraph re-runs a node from
its start on resume, so everything before the interrupt is deterministic (gating) and side effects
happen only after it, through the idempotency ledger.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from taskwarden.agents.prompts import (
    DEPENDENCIES_SECTION,
    FEEDBACK_SECTION,
    GROUNDING_REMINDER,
    MUST_CALL_REMINDER,
    PREVIOUS_ACTIONS_SECTION,
    WORKER_PROMPT,
    WORKER_REQUEST,
)
from taskwarden.graph.context import Context, context_of
from taskwarden.graph.engine import Engine
from taskwarden.graph.events import emit, emit_model_call
from taskwarden.graph.hitl import action_request, ask_human, hitl_request
from taskwarden.graph.state import ActionRecord, WorkerInput, WorkerOutput, WorkerState
from taskwarden.graph.usage import add_usage, usage_of_call
from taskwarden.graph.workflow import Workflow
from taskwarden.tools.executor import GatedCall, ToolExecution, execute, gate_call, idempotency_key, validate_args
from taskwarden.tools.ledger import Ledger, UncertainExecution

APPROVAL_DECISIONS = ("approve", "edit", "reject", "response")


def worker_system_prompt(workflow: Workflow, state: WorkerState) -> str:
    task, role = state["task"], workflow.role(state["task"]["role"])
    return WORKER_PROMPT.format(
        role=role.name,
        workflow=workflow.name,
        role_description=role.description,
        workflow_instructions=workflow.instructions.strip(),
        role_instructions=f"\n{role.instructions.strip()}" if role.instructions else "",
        task_id=task["id"],
        description=task["description"],
        criteria="\n".join(f"- {c}" for c in task["acceptance_criteria"]),
        previous_actions=PREVIOUS_ACTIONS_SECTION.format(actions="\n".join(f"- {a['summary']}" for a in task["actions"]))
        if task["actions"] else "",
        feedback=FEEDBACK_SECTION.format(feedback="\n".join(f"- {f}" for f in task["feedback"])) if task["feedback"] else "",
    )


def worker_request(state: WorkerState) -> str:
    """The human turn: the request, then what earlier tasks found."""
    deps = state.get("dependency_results") or {}
    found = DEPENDENCIES_SECTION.format(results="\n".join(f"- {k}: {v}" for k, v in deps.items())) if deps else ""
    return WORKER_REQUEST.format(request=state["request"], dependencies=found)


def build_worker_graph(engine: Engine) -> Any:
    """Compile the worker subgraph (no checkpointer: it inherits the parent run's)."""
    workflow, provider, ledger = engine.workflow, engine.models, engine.ledger

    def call_model(state: WorkerState, runtime: Runtime[Context]) -> dict[str, Any]:
        started = time.monotonic()
        context = context_of(runtime)
        budgets = engine.budgets(context, state.get("budget_grants", 0))
        spent = add_usage(state["run_usage"], state.get("usage"))
        reason = budgets.exhausted_by(spent)
        if reason is None and (state.get("usage") or {}).get("steps", 0) >= budgets.max_task_steps:
            reason = f"task step limit reached ({budgets.max_task_steps} model calls in one attempt)"
        if reason:
            return {"stop": {"kind": "budget", "reason": reason}}
        failures = failure_streak(state.get("actions", []))
        if len(failures) >= budgets.max_tool_failures:
            return {"stop": tool_failures_stop(failures)}
        role = workflow.role(state["task"]["role"])
        model = provider.get("worker", context)
        specs = workflow.registry.for_role(role)
        required = _missing_required_calls(role.must_call, state)
        if specs:
            # a required tool not run yet is forced by name; after a grounding reminder, any tool
            # (constrained decoding guarantees the call)
            last = (state.get("worker_messages") or [None])[-1]
            reminded = isinstance(last, HumanMessage) and last.content == GROUNDING_REMINDER
            choice = required[0] if required else "any" if reminded else None
            model = model.bind_tools([spec.tool for spec in specs], **({"tool_choice": choice} if choice else {}))
        messages = [SystemMessage(content=worker_system_prompt(workflow, state)),
                    HumanMessage(content=worker_request(state)),
                    *state.get("worker_messages", [])]
        reply = model.invoke(messages)
        if not isinstance(reply, AIMessage):
            reply = AIMessage(content=str(getattr(reply, "content", reply)))
        seconds = time.monotonic() - started
        emit_model_call("worker", reply, seconds, task_id=state["task"]["id"])
        for call in reply.tool_calls:
            emit("tool_call", task_id=state["task"]["id"], tool=call["name"], args=call["args"])
        update = {"worker_messages": [reply], "usage": usage_of_call(reply, seconds)}
        if required and not reply.tool_calls:  # a model that ignored the forced choice is reminded, within budget
            update["worker_messages"].append(HumanMessage(content=MUST_CALL_REMINDER.format(tools=", ".join(required))))
        elif needs_grounding(specs, state, reply):
            update["worker_messages"].append(HumanMessage(content=GROUNDING_REMINDER))
        return update

    def run_tools(state: WorkerState, config: RunnableConfig) -> dict[str, Any]:
        started = time.monotonic()
        task, role = state["task"], workflow.role(state["task"]["role"])
        reply = state["worker_messages"][-1]
        gated = [gate_call(call, role, workflow.registry, workflow.gate) for call in reply.tool_calls]
        for call in gated:  # the gate's verdict on every call, recorded before anyone is asked
            emit("policy_decision", task_id=task["id"], tool=call.name, args=call.args, call_id=call.call_id,
                 outcome=call.decision.outcome, reason=call.refusal or call.decision.reason)
        decisions = _ask_approvals(gated, task)
        thread_id = str(config.get("configurable", {}).get("thread_id", "no-thread"))
        messages, actions = [], []
        update: dict[str, Any] = {"worker_messages": messages, "actions": actions,
                                  "reviews": approval_records(gated, decisions, task["id"])}
        try:
            for call in gated:
                outcome, observation, args, ran = _resolve(call, decisions.get(call.call_id), task["id"], thread_id,
                                                           workflow, ledger)
                messages.append(ToolMessage(content=observation, tool_call_id=call.call_id, name=call.name,
                                            status="error" if outcome in ("refused", "error", "invalid") else "success"))
                actions.append(ActionRecord(tool=call.name, args=args, outcome=outcome,
                                            summary=f"{call.name}({_fmt(args)}) -> {outcome}: {observation[:300]}",
                                            **({"attempts": ran.attempts, "errors": list(ran.errors)} if ran else {})))
                emit("tool_result", task_id=task["id"], tool=call.name, outcome=outcome, result=observation[:500])
        except UncertainExecution as exc:  # the task stops and escalates with what ran so far
            update["stop"] = {"kind": "uncertain_side_effect", "reason": str(exc)}
        return {**update, "usage": {"seconds": time.monotonic() - started}}

    def finish(state: WorkerState) -> dict[str, Any]:
        task = dict(state["task"])
        actions = [*task.get("actions", []), *state.get("actions", [])]
        stop = state.get("stop")
        last = state.get("worker_messages", [])[-1:] or [None]
        if stop:
            seen = [m.content for m in state.get("worker_messages", []) if isinstance(m, ToolMessage)][-3:]
            if stop.get("errors"):  # the whole error history, not just the last observations
                seen = [_describe_failure(error) for error in stop["errors"]]
            task.update(status="escalated", actions=actions, escalation={
                **stop, "task_id": task["id"],
                "what_was_done": [a["summary"] for a in actions],
                "what_was_seen": [str(s)[:300] for s in seen],
            })
        else:
            content = last[0].content if isinstance(last[0], AIMessage) else ""
            task.update(status="done", actions=actions, result=content if isinstance(content, str) else str(content),
                        escalation=None)
        emit("task_finished", task_id=task["id"], status=task["status"], result=task.get("result", ""))
        return {"tasks": {task["id"]: task}}

    builder = StateGraph(WorkerState, context_schema=Context, input_schema=WorkerInput, output_schema=WorkerOutput)
    builder.add_node(call_model)
    builder.add_node(run_tools)
    builder.add_node(finish)
    builder.add_edge(START, "call_model")
    builder.add_conditional_edges("call_model", route_after_call_model)
    builder.add_conditional_edges("run_tools", route_after_run_tools)
    builder.add_edge("finish", END)
    return builder.compile()


def route_after_call_model(state: WorkerState) -> Literal["run_tools", "call_model", "finish"]:
    """Tool calls run; a reminder (a required tool not called yet) asks again; else the attempt ends."""
    if state.get("stop"):
        return "finish"
    last = state["worker_messages"][-1]
    if isinstance(last, HumanMessage):
        return "call_model"
    return "run_tools" if isinstance(last, AIMessage) and last.tool_calls else "finish"


def needs_grounding(specs: list[Any], state: WorkerState, reply: AIMessage) -> bool:
    """A worker that may change state answered before any tool call in this task (once per attempt).

    Its answer would report an action it never took or a fact it never checked. Roles with only
    read tools are left alone: they may answer from the earlier tasks' results."""
    if reply.tool_calls or not any(spec.has_side_effects for spec in specs):
        return False
    if state["task"]["actions"] or state.get("actions") or _was_reminded_to_ground(state):
        return False
    return True


def _was_reminded_to_ground(state: WorkerState) -> bool:
    return any(isinstance(m, HumanMessage) and m.content == GROUNDING_REMINDER for m in state.get("worker_messages", []))


def _missing_required_calls(required: tuple[str, ...], state: WorkerState) -> list[str]:
    """Required tools this task has not run successfully yet (in this or an earlier attempt)."""
    ran = {a["tool"] for a in [*state["task"]["actions"], *state.get("actions", [])] if a["outcome"] in ("executed", "replayed")}
    return [tool for tool in required if tool not in ran]


def failure_streak(actions: list[ActionRecord]) -> list[ActionRecord]:
    """The failed tool calls (`error`) since the last call that ran, in this attempt.

    Refused, invalid and rejected calls never ran: they neither count nor reset the streak (the
    step limit stops a model that keeps making them).
    """
    streak: list[ActionRecord] = []
    for action in actions:
        if action["outcome"] == "error":
            streak.append(action)
        elif action["outcome"] in ("executed", "replayed"):
            streak = []
    return streak


def tool_failures_stop(failures: list[ActionRecord]) -> dict[str, Any]:
    """The escalation for a task whose tool calls keep failing, with every failed call's errors."""
    tools = sorted({a["tool"] for a in failures})
    return {"kind": "tool_failures",
            "reason": f"{len(failures)} tool calls in a row failed ({', '.join(tools)}); a human must look at the tools "
                      "or the task",
            "errors": [{"tool": a["tool"], "args": a["args"], "attempts": a.get("attempts", 1),
                        "errors": a.get("errors") or [a["summary"]]} for a in failures]}


def _describe_failure(error: dict[str, Any]) -> str:
    attempts = error.get("attempts", 1)
    history = "; ".join(f"#{i} {e[:300]}" for i, e in enumerate(error.get("errors", []), 1))
    plural = "s" if attempts != 1 else ""
    return f"{error['tool']}({_fmt(error.get('args', {}))}) failed after {attempts} attempt{plural}: {history}"


def route_after_run_tools(state: WorkerState) -> Literal["call_model", "finish"]:
    return "finish" if state.get("stop") else "call_model"


def _ask_approvals(gated: list[GatedCall], task: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """One review for all calls in this step that need approval; returns decisions by call id."""
    pending = [c for c in gated if not c.refusal and c.decision.outcome == "require_approval"]
    if not pending:
        return {}
    request = hitl_request(
        [action_request(c.name, c.args, f"{c.decision.reason}. Task {task['id']}: {task['description']}") for c in pending],
        [APPROVAL_DECISIONS] * len(pending),
        kind="tool_approval", task_id=task["id"],
    )
    emit("review_requested", kind="tool_approval", task_id=task["id"], actions=request["action_requests"])
    decisions = ask_human(request)
    for call, decision in zip(pending, decisions):
        emit("review_decided", kind="tool_approval", task_id=task["id"], tool=call.name, decision=decision["type"],
             message=decision.get("message", ""), edited_args=decision.get("edited_action", {}).get("args"))
    return {c.call_id: d for c, d in zip(pending, decisions)}


def approval_records(gated: list[GatedCall], decisions: dict[str, dict[str, Any]], task_id: str) -> list[dict[str, Any]]:
    """The human decisions on this step's calls, as the run's `reviews` records (audit and memory)."""
    return [{"kind": "tool_approval", "task_id": task_id, "action": call.name, "args": call.args,
             "decision": decision["type"], "message": decision.get("message", ""),
             "edited_args": decision.get("edited_action", {}).get("args")}
            for call in gated if (decision := decisions.get(call.call_id))]


def _resolve(call: GatedCall, decision: dict[str, Any] | None, task_id: str, thread_id: str,
             workflow: Workflow, ledger: Ledger) -> tuple[str, str, dict[str, Any], ToolExecution | None]:
    """Apply the gate's outcome and any human decision; run the call if it may run.

    Returns (outcome, observation, arguments, the execution if the tool ran)."""
    if call.refusal:
        return ("invalid" if call.spec else "refused"), call.refusal, call.args, None
    if call.decision.outcome == "forbid":
        return "refused", f"Refused by policy: {call.decision.reason}. Do not retry this call.", call.args, None
    args, note = call.args, ""
    if call.decision.outcome == "require_approval":
        assert decision is not None
        if decision["type"] in ("reject", "response"):
            said = decision.get("message") or "no reason given"
            return "rejected", f"A human reviewer did not approve this call and says: {said}", call.args, None
        if decision["type"] == "edit":
            try:
                args = validate_args(call.spec, decision["edited_action"]["args"])
            except ValueError as exc:
                return ("invalid", f"The reviewer's edited arguments are invalid: {exc}", decision["edited_action"]["args"],
                        None)
            if workflow.gate.check(call.name, args).outcome == "forbid":
                return "refused", "Refused by policy after the reviewer's edit.", args, None
            note = " (arguments edited by a human reviewer)"
    key = idempotency_key(thread_id, task_id, call.name, args)
    ran = execute(call.spec, args, key, ledger)
    return ran.outcome, ran.observation + note, args, ran


def _fmt(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in args.items())
