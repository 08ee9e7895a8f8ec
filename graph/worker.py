"""The worker subgraph: a ReAct loop over only its role's tools, every call through the policy gate.

    START -> call_model --(tool calls)--> run_tools -> call_model ... --(final answer / stop)--> finish -> END

`run_tools` interrupts for a human when the gate requires approval. LangGraph re-runs a node from
its start on resume, so everything before the interrupt is deterministic (gating) and side effects
happen only after it, through the idempotency ledger. A tool's precheck (its own refusals, so that nobody is asked
about a call the tool would refuse) reads the system, so it runs in `call_model`, when the model proposes the call,
and its verdict is kept in the state: a review resumed later is about the same calls, and a call that became
refusable while a person reviewed it is refused by the tool itself when it runs.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

from taskwarden.agents.prompts import (
    ALREADY_DONE,
    CONFIRM_REQUEST,
    DEPENDENCIES_SECTION,
    EARLIER_TOOL_RESULTS_SECTION,
    EDITED_NOTE,
    FEEDBACK_SECTION,
    GROUNDING_REMINDER,
    INCOMPLETE_ANSWER_REMINDER,
    LOOK_BEFORE_ACT_RULE,
    MUST_CALL_REMINDER,
    NO_PROGRESS_REMINDER,
    NON_ANSWER_REMINDER,
    PREVIOUS_ACTIONS_SECTION,
    STALLED_FEEDBACK,
    UNCONFIRMED_OBSERVATION,
    UNFINISHED_REMINDER,
    WORK_DONE_RESULT,
    WORKER_PROMPT,
    WORKER_REQUEST,
)
from taskwarden.graph.context import Context, context_of
from taskwarden.graph.engine import Engine
from taskwarden.graph.events import emit, emit_model_call
from taskwarden.graph.guards import Block, check_call, named_record_first
from taskwarden.graph.hitl import action_request, ask_human, hitl_request
from taskwarden.graph.recovery import loop_interventions, non_answer, progress_made
from taskwarden.graph.reliability import Reliability
from taskwarden.graph.state import ActionRecord, WorkerInput, WorkerOutput, WorkerState
from taskwarden.graph.usage import add_usage, usage_of_call
from taskwarden.graph.workflow import Workflow
from taskwarden.tools.executor import (
    GatedCall,
    ToolExecution,
    call_key,
    execute,
    format_args,
    gate_call,
    idempotency_key,
    precheck,
    validate_args,
)
from taskwarden.tools.grounding import Evidence
from taskwarden.tools.ledger import Ledger, UncertainExecution
from taskwarden.tools.registry import Role

APPROVAL_DECISIONS = ("approve", "edit", "reject", "response")
CONFIRMATION_DECISIONS = ("approve", "reject", "response")
YES = ("yes", "y", "yes please", "confirm", "confirmed", "i confirm", "ok", "okay", "go ahead", "approved", "sure",
       "correct", "yes go ahead", "please do")
MAX_EARLIER_RESULT_CHARS = 1_500
MAX_EARLIER_RESULTS_CHARS = 8_000
"""How much of the earlier tasks' tool results a role that sees them reads: per result, and in all."""


def worker_system_prompt(workflow: Workflow, state: WorkerState, reliability: Reliability | None = None) -> str:
    task, role = state["task"], workflow.role(state["task"]["role"])
    changes = any(spec.has_side_effects for spec in workflow.registry.for_role(role))
    return WORKER_PROMPT.format(
        look_rule=LOOK_BEFORE_ACT_RULE if changes and (reliability is None or reliability.look_before_act) else "",
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


def worker_request(state: WorkerState, role: Role | None = None) -> str:
    """The human turn: the request, then what earlier tasks found (and their tool results, for roles that
    see them)."""
    deps = state.get("dependency_results") or {}
    found = DEPENDENCIES_SECTION.format(results="\n".join(f"- {k}: {v}" for k, v in deps.items())) if deps else ""
    if role is not None and role.sees_tool_results:
        found += earlier_tool_results((state.get("evidence") or {}).get("observations") or [])
    return WORKER_REQUEST.format(request=state["request"], dependencies=found)


def earlier_tool_results(observations: list[str]) -> str:
    """The other tasks' successful tool results, each clipped, once each, within a total size."""
    lines, size = [], 0
    for observation in dict.fromkeys(observations):
        line = f"- {observation[:MAX_EARLIER_RESULT_CHARS]}"
        if size + len(line) > MAX_EARLIER_RESULTS_CHARS:
            break
        lines.append(line)
        size += len(line)
    return EARLIER_TOOL_RESULTS_SECTION.format(results="\n".join(lines)) if lines else ""


def build_worker_graph(engine: Engine) -> Any:
    """Compile the worker subgraph (no checkpointer: it inherits the parent run's)."""
    workflow, provider, ledger = engine.workflow, engine.models, engine.ledger

    def call_model(state: WorkerState, runtime: Runtime[Context]) -> dict[str, Any]:
        started = time.monotonic()
        context = context_of(runtime)
        budgets = engine.budgets(context, state.get("budget_grants", 0))
        spent = add_usage(state["run_usage"], state.get("usage"))
        reason = budgets.exhausted_by(spent)
        reliability = engine.reliability(context)
        role = workflow.role(state["task"]["role"])
        steps = (state.get("usage") or {}).get("steps", 0)
        if reason is None and steps >= budgets.max_task_steps:
            why = f"the task step limit was reached ({steps} model calls)"
            if (result := result_when_done(role, state, reliability, workflow, why)) is not None:
                return {"worker_messages": [AIMessage(content=result)], "interventions": [intervention(
                    state, "verify_after_write", "finished", finished_message(why, "escalating"), step=steps)]}
            reason = f"task step limit reached ({budgets.max_task_steps} model calls in one attempt)"
        if reason:
            return {"stop": {"kind": "budget", "reason": reason}}
        failures = failure_streak(state.get("actions", []))
        if len(failures) >= budgets.max_tool_failures:
            return {"stop": tool_failures_stop(failures)}
        nudge: list[HumanMessage] = []
        idle = steps - state.get("progress_step", 0)
        if reliability.loop_recovery and idle >= reliability.max_steps_without_progress:
            reason = f"{idle} model calls without a new tool result"
            if loop_interventions(state.get("interventions", [])):
                return stalled(state, reason)
            done = "; ".join(a["summary"][:120] for a in state.get("actions", [])
                             if a["outcome"] in ("executed", "replayed")) or "nothing yet"
            nudge = [HumanMessage(content=NO_PROGRESS_REMINDER.format(steps=idle, done=done,
                                                                      tools=", ".join(role.tools)))]
            intervened = intervention(state, "loop_recovery", "corrected", f"no progress: {reason}")
        model = provider.get("worker", context)
        specs = workflow.registry.for_role(role)
        required = _missing_required_calls(role.must_call, state)
        if specs:
            # a required tool not run yet is forced by name; after a grounding or unfinished-work
            # reminder, any tool (constrained decoding guarantees the call)
            last = (state.get("worker_messages") or [None])[-1]
            reminded = isinstance(last, HumanMessage) and isinstance(last.content, str) and (
                last.content == GROUNDING_REMINDER or last.content.startswith(UNFINISHED_PREFIX))
            choice = required[0] if required else "any" if reminded else None
            model = model.bind_tools([spec.tool for spec in specs], **({"tool_choice": choice} if choice else {}))
        messages = [SystemMessage(content=worker_system_prompt(workflow, state, reliability)),
                    HumanMessage(content=worker_request(state, role)),
                    *state.get("worker_messages", []), *nudge]
        reply = model.invoke(messages)
        if not isinstance(reply, AIMessage):
            reply = AIMessage(content=str(getattr(reply, "content", reply)))
        seconds = time.monotonic() - started
        emit_model_call("worker", reply, seconds, task_id=state["task"]["id"])
        for call in reply.tool_calls:
            emit("tool_call", task_id=state["task"]["id"], tool=call["name"], args=call["args"])
        update: dict[str, Any] = {"worker_messages": [*nudge, reply], "usage": usage_of_call(reply, seconds),
                                  "prechecked": refused_before_review(reply.tool_calls, role, workflow, reliability)}
        if nudge:
            update.update(interventions=[intervened], progress_step=steps)
        what = None if reply.tool_calls or not reliability.loop_recovery else non_answer(
            reply.content, list(role.tools), state["task"]["acceptance_criteria"])
        if required and not reply.tool_calls:  # a model that ignored the forced choice is reminded, within budget
            update["worker_messages"].append(HumanMessage(content=MUST_CALL_REMINDER.format(tools=", ".join(required))))
        elif needs_grounding(specs, state, reply, reliability):
            update["worker_messages"].append(HumanMessage(content=GROUNDING_REMINDER))
        elif not reply.tool_calls and (undone := unfinished(role, state, reliability)):
            update["worker_messages"].append(HumanMessage(content=UNFINISHED_REMINDER.format(problem=undone)))
            update["interventions"] = [*update.get("interventions", []), intervention(
                state, "verify_after_write", "unfinished", f"answered with work left undone: {undone}", step=steps)]
        elif what:
            if loop_interventions([*state.get("interventions", []), *update.get("interventions", [])]):
                return {**update, **stalled(state, f"the final reply was {what}")}
            update["worker_messages"].append(HumanMessage(content=NON_ANSWER_REMINDER.format(
                what=what, description=state["task"]["description"], tools=", ".join(role.tools) or "none")))
            update["interventions"] = [*update.get("interventions", []),
                                       intervention(state, "loop_recovery", "corrected", f"the final reply was {what}")]
        elif not reply.tool_calls and (lacking := incomplete_answer(role, state, reply.content, reliability)):
            update["worker_messages"].append(HumanMessage(content=INCOMPLETE_ANSWER_REMINDER.format(problem=lacking)))
            update["interventions"] = [*update.get("interventions", []), intervention(
                state, "loop_recovery", "incomplete", f"the answer is incomplete: {lacking}", step=steps)]
        return update

    def run_tools(state: WorkerState, config: RunnableConfig, runtime: Runtime[Context]) -> Command[Literal["call_model", "finish"]]:
        started = time.monotonic()
        task, role = state["task"], workflow.role(state["task"]["role"])
        reliability = engine.reliability(context_of(runtime))
        reply = state["worker_messages"][-1]
        gated = [gate_call(call, role, workflow.registry, workflow.gate) for call in reply.tool_calls]
        evidence = worker_evidence(state)
        redirects = {}  # look before you act: reads of another record than the named one run on the named one
        for index, (raw, call) in enumerate(zip(reply.tool_calls, gated)):
            if reliability.look_before_act and (redirect := named_record_first(call, evidence, state.get("actions", []))):
                redirects[call.call_id] = redirect
                gated[index] = gate_call({**raw, "args": redirect.args}, role, workflow.registry, workflow.gate)
        for call in gated:  # the gate's verdict on every call, recorded before anyone is asked
            emit("policy_decision", task_id=task["id"], tool=call.name, args=call.args, call_id=call.call_id,
                 outcome=call.decision.outcome, reason=call.refusal or call.decision.reason)
        blocks = {call.call_id: block for call in gated
                  if (block := check_call(call, role=role, registry=workflow.registry, reliability=reliability,
                                          request=evidence.request, evidence=evidence,
                                          attempt_actions=state.get("actions", []),
                                          earlier_actions=task.get("actions", [])))}
        interventions = [intervention(state, "look_before_act", "redirected", r.summary, tool=c.name, args=c.args)
                         for c in gated if (r := redirects.get(c.call_id))]
        interventions += [intervention(state, b.mechanism, "blocked", b.summary, tool=c.name, args=c.args)
                          for c in gated if (b := blocks.get(c.call_id))]
        thread_id = str(config.get("configurable", {}).get("thread_id", "no-thread"))
        earlier = [*task.get("actions", []), *state.get("actions", [])]
        done = {c.call_id: args for c in gated
                if (args := _made_before(c, earlier, ledger, thread_id, task["id"])) is not None}
        # a call this task already made is replayed from the ledger, not made again: nobody is asked twice
        asking = [c for c in gated if c.call_id not in blocks and c.call_id not in done
                  and (_confirmable(c, reliability, workflow) or _needs_approval(c))]
        # the tool's own refusals, found when the model proposed the calls: nobody approves what the tool then refuses
        prechecked = state.get("prechecked") or {}
        refused = {c.call_id: ToolExecution("error", found["observation"], 0, tuple(found["errors"]))
                   for c in asking if (found := prechecked.get(c.call_id))}
        needs_confirmation = [c for c in asking if c.call_id not in refused and _confirmable(c, reliability, workflow)]
        confirmations = _ask_confirmations(needs_confirmation, task)
        decisions = _ask_approvals([c for c in asking if c.call_id not in refused
                                    and confirmations.get(c.call_id, {}).get("confirmed", True)], task)
        messages, actions = [], []
        update: dict[str, Any] = {"worker_messages": messages, "actions": actions, "interventions": interventions,
                                  "reviews": [*confirmation_records(needs_confirmation, confirmations, task["id"]),
                                              *approval_records(gated, decisions, task["id"])]}
        try:
            for call in gated:
                if pre := refused.get(call.call_id):
                    outcome, observation, args, ran = pre.outcome, pre.observation, call.args, pre
                else:
                    outcome, observation, args, ran = _resolve(
                        call, decisions.get(call.call_id), task["id"], thread_id, workflow, ledger,
                        blocks.get(call.call_id), confirmations.get(call.call_id), done.get(call.call_id))
                if redirect := redirects.get(call.call_id):
                    observation = f"{redirect.note}\n{observation}"
                if outcome == "replayed" and call.call_id in done and \
                        (undone := undone_after_replay(role, state, reliability, interventions)):
                    observation = f"{observation}\n{UNFINISHED_REMINDER.format(problem=undone)}"
                messages.append(ToolMessage(content=observation, tool_call_id=call.call_id, name=call.name,
                                            status="error" if outcome in ("refused", "error", "invalid", "blocked")
                                            else "success"))
                actions.append(ActionRecord(tool=call.name, args=args, outcome=outcome,
                                            **({"proposed": call.args} if args != call.args else {}),
                                            summary=f"{call.name}({format_args(args)}) -> {outcome}: {observation[:300]}",
                                            **({"attempts": ran.attempts, "errors": list(ran.errors)} if ran else {}),
                                            **({"observation": observation} if outcome in ("executed", "replayed")
                                               else {})))
                emit("tool_result", task_id=task["id"], tool=call.name, outcome=outcome, result=observation[:500])
        except UncertainExecution as exc:  # the task stops and escalates with what ran so far
            update["stop"] = {"kind": "uncertain_side_effect", "reason": str(exc)}
        if progress_made(actions, state.get("actions", [])):
            update["progress_step"] = (state.get("usage") or {}).get("steps", 0)
        elif any(b.mechanism == "loop_recovery" for b in blocks.values()) and \
                loop_interventions(state.get("interventions", [])) and not update.get("stop"):
            update.update(stalled(state, "it repeated a call that had already failed"))
        update["usage"] = {"seconds": time.monotonic() - started}
        return Command(update=update, goto=after_tools(state, update))

    def finish(state: WorkerState, runtime: Runtime[Context]) -> dict[str, Any]:
        task = dict(state["task"])
        actions = [*task.get("actions", []), *state.get("actions", [])]
        stop = state.get("stop")
        last = state.get("worker_messages", [])[-1:] or [None]
        max_revisions = engine.budgets(context_of(runtime), state.get("budget_grants", 0)).max_revisions
        why = f"the model stalled ({stop['reason']})" if stop and stop.get("kind") == "stalled" else ""
        result = why and result_when_done(workflow.role(task["role"]), state, engine.reliability(context_of(runtime)),
                                          workflow, why)
        if result:  # its work is done: it ends with what it did instead of starting over or escalating
            intervention(state, "verify_after_write", "finished", finished_message(why, "starting over"))
            task.update(status="done", actions=actions, result=result, escalation=None)
        elif stop and stop.get("kind") == "stalled" and task["attempts"] <= max_revisions:
            # re-plan the task: a fresh attempt that is told how this one stalled
            task.update(status="revise", actions=actions, escalation=None,
                        feedback=[*task["feedback"], STALLED_FEEDBACK.format(reason=stop["reason"])])
            emit("intervention", task_id=task["id"], mechanism="loop_recovery", action="replanned",
                 message=f"attempt {task['attempts']} stalled ({stop['reason']}): the task starts again")
        elif stop:
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
    builder.add_node(run_tools, destinations=("call_model", "finish"))
    builder.add_node(finish)
    builder.add_edge(START, "call_model")
    builder.add_conditional_edges("call_model", route_after_call_model)
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


def needs_grounding(specs: list[Any], state: WorkerState, reply: AIMessage,
                    reliability: Reliability | None = None) -> bool:
    """A worker answered before any tool call in this task (once per attempt), and its answer cannot rest
    on anything: the role may change state (it would report an action it never took), or, with the
    grounding mechanism on, the task has no earlier results to answer from (a first task's facts must
    come from its tools; measured: the vulnerability watch's analyst "read" the feed without reading it).
    Roles with only read tools and earlier results may answer from those."""
    if reply.tool_calls or not specs:
        return False
    if not any(spec.has_side_effects for spec in specs):
        first = not state.get("dependency_results")
        if not (first and reliability and reliability.grounding) or non_answer(reply.content, []):
            return False  # an empty or filler reply gets loop recovery's more specific correction
    if state["task"]["actions"] or state.get("actions") or _was_reminded_to_ground(state):
        return False
    return True


UNFINISHED_PREFIX = UNFINISHED_REMINDER.split("{", 1)[0]


def unfinished(role: Role, state: WorkerState, reliability: Reliability) -> str | None:
    """What the role's done check finds undone when the worker answers, or None (nothing undone, no check,
    or no reminder due). Asked before the answer is accepted, so the model fixes it in the same attempt,
    with its calls in view, instead of starting a revision over; reminded again only after progress (a new
    successful call since the last reminder), so a model that ignores it ends the attempt and the
    evaluate node's done check sends the task back."""
    if role.done_check is None or not reliability.verify_after_write:
        return None
    reminders = [i for i in state.get("interventions", []) if i.get("action") == "unfinished"]
    if reminders and state.get("progress_step", 0) <= reminders[-1].get("step", 0):
        return None
    try:
        actions = [dict(a) for a in [*state["task"]["actions"], *state.get("actions", [])]]
        return role.done_check(actions, state["request"])
    except Exception:  # noqa: BLE001 - the evaluate node runs the check again and reports its failure
        return None


def undone_after_replay(role: Role, state: WorkerState, reliability: Reliability,
                        interventions: list[dict[str, Any]]) -> str | None:
    """When the worker repeats a write its task already made (replayed, not made again): what the role's done check
    still finds undone, recorded as an `unfinished` intervention (once per step), else None. Told only "already done:
    go on with what is left", the refund writer saved the same reply 6 times after its done check said what to change
    (measured on the embedded model)."""
    if role.done_check is None or not reliability.verify_after_write or \
            any(i.get("action") == "unfinished" for i in interventions):
        return None
    try:
        undone = role.done_check([dict(a) for a in [*state["task"]["actions"], *state.get("actions", [])]],
                                 state["request"])
    except Exception:  # noqa: BLE001 - the evaluate node runs the check again and reports its failure
        return None
    if undone:
        interventions.append(intervention(state, "verify_after_write", "unfinished",
                                          f"repeated a write with work left undone: {undone}",
                                          step=(state.get("usage") or {}).get("steps", 0)))
    return undone


def finished_message(why: str, instead: str) -> str:
    """The `finished` intervention's message: why the attempt ended, and what the task does instead of `instead`."""
    return (f"{why} after its work was done: nothing left undone (checked in the system), so the task ends with "
            f"what it did instead of {instead}")


def result_when_done(role: Role, state: WorkerState, reliability: Reliability, workflow: Workflow,
                     why: str) -> str | None:
    """The task's result when its attempt ends without an answer (`why`: the step limit, a stall) but its work is
    done, or None (it escalates or starts over as before). Done means: the role has a done check and it finds
    nothing undone, the task made a write, every required tool ran, and the role's answer check (if any) accepts
    the result. Measured: after a page was declined, the notifier replayed its sent notices until its 8 calls
    were spent, and the budget escalation was rejected although every notice had gone out."""
    if role.done_check is None or not reliability.verify_after_write or _missing_required_calls(role.must_call, state):
        return None
    actions = [dict(a) for a in [*state["task"]["actions"], *state.get("actions", [])]]
    writes: dict[str, str] = {}  # each write once, as first made (its result), not as replayed
    for action in actions:
        if action["outcome"] in ("executed", "replayed") and (spec := workflow.registry.get(action["tool"])) \
                and spec.has_side_effects:
            writes.setdefault(action["summary"].split(" -> ", 1)[0], action["summary"])
    if not writes:
        return None
    result = WORK_DONE_RESULT.format(why=why, done="\n".join(f"- {summary}" for summary in writes.values()))
    try:
        if role.done_check(actions, state["request"]) is not None:
            return None
        if role.answer_check is not None and role.answer_check(result, actions, state["request"]) is not None:
            return None
    except Exception:  # noqa: BLE001 - a check that fails cannot vouch for the work: the task escalates
        return None
    return result


def incomplete_answer(role: Role, state: WorkerState, answer: Any, reliability: Reliability) -> str | None:
    """What the role's answer check finds missing from the worker's answer, or None (nothing missing, no check,
    or the worker was told once in this attempt already: the evaluate node's check then revises the task).
    The worker answers again in the same attempt, with its calls in view."""
    if role.answer_check is None or not reliability.loop_recovery:
        return None
    if any(i.get("action") == "incomplete" for i in state.get("interventions", [])):
        return None
    try:
        actions = [dict(a) for a in [*state["task"]["actions"], *state.get("actions", [])]]
        return role.answer_check(answer if isinstance(answer, str) else str(answer), actions, state["request"])
    except Exception:  # noqa: BLE001 - the evaluate node runs the check again and reports its failure
        return None


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
    return f"{error['tool']}({format_args(error.get('args', {}))}) failed after {attempts} attempt{plural}: {history}"


def after_tools(state: WorkerState, update: dict[str, Any]) -> Literal["call_model", "finish"]:
    """Where run_tools goes next: back to the model, unless the attempt must stop. The node routes itself
    (a `Command`): a conditional edge would copy every channel of the state to read one."""
    return "finish" if update.get("stop") or state.get("stop") else "call_model"


def _needs_approval(call: GatedCall) -> bool:
    return not call.refusal and call.decision.outcome == "require_approval"


def refused_before_review(calls: list[dict[str, Any]], role: Role, workflow: Workflow,
                          reliability: Reliability) -> dict[str, dict[str, Any]]:
    """The tool's own refusals (`precheck`) of the proposed calls that a person would be asked to approve or
    confirm, by call id: what `run_tools` answers instead of asking (the `prechecked` state)."""
    found: dict[str, dict[str, Any]] = {}
    for raw in calls:
        call = gate_call(raw, role, workflow.registry, workflow.gate)
        if (_needs_approval(call) or _confirmable(call, reliability, workflow)) and \
                (refused := precheck(call.spec, call.args)):
            found[call.call_id] = {"observation": refused.observation, "errors": list(refused.errors)}
    return found


def _ask_approvals(gated: list[GatedCall], task: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """One review for all calls in this step that need approval; returns decisions by call id."""
    pending = [c for c in gated if _needs_approval(c)]
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
             workflow: Workflow, ledger: Ledger, block: Block | None = None,
             confirmation: dict[str, Any] | None = None,
             done: dict[str, Any] | None = None) -> tuple[str, str, dict[str, Any], ToolExecution | None]:
    """Apply the gate's outcome, the reliability checks and any human decision; run the call if it may run.
    A call this task already made (`done`: the arguments it ran with, a reviewer's edit included) is replayed
    from the ledger, with no approval asked again.

    Returns (outcome, observation, arguments, the execution if the tool ran)."""
    if block is not None:
        return "blocked", block.observation, call.args, None
    if confirmation is not None and not confirmation["confirmed"]:
        said = confirmation["message"] or "no reason given"
        return "rejected", UNCONFIRMED_OBSERVATION.format(tool=call.name, message=said), call.args, None
    if call.refusal:
        return ("invalid" if call.spec else "refused"), call.refusal, call.args, None
    if call.decision.outcome == "forbid":
        return "refused", f"Refused by policy: {call.decision.reason}. Do not retry this call.", call.args, None
    args, note = (call.args, "") if done is None else (done, "" if done == call.args else EDITED_NOTE)
    if call.decision.outcome == "require_approval" and done is None:
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
            note = EDITED_NOTE
    key = idempotency_key(thread_id, task_id, call.name, args)
    ran = execute(call.spec, args, key, ledger)
    if done is not None and ran.outcome == "replayed":
        return ran.outcome, f"{ALREADY_DONE}\n{ran.observation}{note}", args, ran
    return ran.outcome, ran.observation + note, args, ran



def worker_evidence(state: WorkerState) -> Evidence:
    """The request and conversation, and every successful tool result this run has seen so far."""
    given = state.get("evidence") or {}
    own = [a["observation"] for a in [*state["task"]["actions"], *state.get("actions", [])]
           if a.get("observation") and a["outcome"] in ("executed", "replayed")]
    return Evidence(given.get("request") or state["request"], (*given.get("observations", []), *own))


def intervention(state: WorkerState, mechanism: str, action: str, message: str, **data: Any) -> dict[str, Any]:
    """Record and announce one reliability intervention (an `intervention` event, audited and streamed)."""
    record = {"mechanism": mechanism, "action": action, "message": message, **data}
    emit("intervention", task_id=state["task"]["id"], **record)
    return record


def stalled(state: WorkerState, reason: str) -> dict[str, Any]:
    """End the attempt as stalled (a second loop-recovery trigger): re-planned, or escalated when no revision is left."""
    emit("intervention", task_id=state["task"]["id"], mechanism="loop_recovery", action="escalated",
         message=f"stalled again: {reason}")
    return {"stop": {"kind": "stalled", "reason": reason}}


def _confirmable(call: GatedCall, reliability: Reliability, workflow: Workflow) -> bool:
    return (reliability.confirm_before_write and call.name in workflow.confirm and not call.refusal
            and call.decision.outcome != "forbid")


def _made_before(call: GatedCall, earlier: list[ActionRecord], ledger: Ledger, thread_id: str,
                 task_id: str) -> dict[str, Any] | None:
    """The arguments a write this task already made ran with, when `call` repeats it (the same arguments, or the
    ones a reviewer edited it from); None for a call not made yet, or a read."""
    if call.spec is None or not call.spec.has_side_effects or call.refusal:
        return None
    if _already_done(ledger, idempotency_key(thread_id, task_id, call.name, call.args)):
        return call.args
    key = call_key(call.name, call.args)
    for action in reversed(earlier):
        proposed = action.get("proposed")
        if proposed is not None and action["outcome"] in ("executed", "replayed") and \
                call_key(action["tool"], proposed) == key:
            return action["args"]
    return None


def _already_done(ledger: Ledger, key: str) -> bool:
    entry = ledger.lookup(key)
    return bool(entry) and entry.get("status") == "done"


def _ask_confirmations(calls: list[GatedCall], task: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Ask the requester to confirm these calls (one interrupt); returns ``{call_id: {confirmed, message}}``."""
    if not calls:
        return {}
    request = hitl_request([action_request(c.name, c.args, CONFIRM_REQUEST.format(action=f"{c.name}({format_args(c.args)})"))
                            for c in calls], [CONFIRMATION_DECISIONS] * len(calls),
                           kind="confirmation", task_id=task["id"])
    for call, asked in zip(calls, request["action_requests"]):
        emit("intervention", task_id=task["id"], mechanism="confirm_before_write", action="confirm_requested",
             tool=call.name, args=call.args, message=asked["description"])
    answers = ask_human(request)
    results = {}
    for call, answer in zip(calls, answers):
        said = answer.get("message", "")
        confirmed = answer["type"] == "approve" or (answer["type"] == "response" and is_yes(said))
        results[call.call_id] = {"confirmed": confirmed, "message": said, "decision": answer["type"]}
        emit("review_decided", kind="confirmation", task_id=task["id"], tool=call.name,
             decision="approve" if confirmed else "reject", message=said)
    return results


def is_yes(message: str) -> bool:
    """An explicit yes from the requester ("yes", "Yes, go ahead.", "confirm")."""
    words = " ".join(message.lower().replace(",", " ").replace(".", " ").replace("!", " ").split())
    return words in YES or any(words.startswith(f"{yes} ") for yes in ("yes", "confirm", "i confirm", "go ahead"))


def confirmation_records(calls: list[GatedCall], confirmations: dict[str, dict[str, Any]],
                         task_id: str) -> list[dict[str, Any]]:
    return [{"kind": "confirmation", "task_id": task_id, "action": call.name, "args": call.args,
             "decision": "approve" if answer["confirmed"] else "reject", "message": answer["message"],
             "edited_args": None}
            for call in calls if (answer := confirmations.get(call.call_id))]
