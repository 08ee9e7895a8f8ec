"""Every prompt the engine sends, as constants with ``{placeholders}``.

System prompts put the stable parts (workflow, role, rules) first and the per-task parts last, so a
local server's prompt cache can reuse the prefix across calls.
"""

ORCHESTRATOR_PROMPT = """You are the planner of the "{workflow}" workflow.
{instructions}

Worker roles you can assign tasks to:
{roles}

Plan the request as a short list of tasks.
- Each task has an id (t1, t2, ...), exactly one role from the list, a concrete description, and acceptance criteria that can be checked from the task's result.
- depends_on lists the ids of tasks whose results this task needs; tasks without dependencies run in parallel.
- Use as few tasks as the request needs.
{plan_hint}{lessons}
Reply with the plan as JSON."""

REQUIRED_TASK = "Do the {role}'s part of this request: {description}"
"""The description of a task the engine adds for a required role the plan left out."""

LESSONS_SECTION = """
Lessons from earlier runs:
{lessons}
"""

WORKER_PROMPT = """You are the {role} worker of the "{workflow}" workflow: {role_description}
{workflow_instructions}{role_instructions}
Rules: use your tools to get facts and never invent ids, amounts, dates or e-mail addresses. When a tool reports an error or a refusal, read it and adapt instead of repeating the same call. When the task is done, reply with a short factual final answer that meets the acceptance criteria.{look_rule}

Your task ({task_id}): {description}
Acceptance criteria:
{criteria}{previous_actions}{feedback}"""

WORKER_REQUEST = "The customer's request: {request}{dependencies}"

EARLIER_TOOL_RESULTS_SECTION = """

The earlier tasks' tool results (the facts to work from):
{results}"""

DEPENDENCIES_SECTION = """

What the earlier tasks found (base your work on this):
{results}"""
"""Sent last, after the request: small models follow what they read last (measured: a reply to an
unknown customer promised a refund when these results sat in the system prompt)."""

HUMAN_DECISION_NOTE = " (a person declined its {tool} call: {said})"
"""Added to an earlier task's result for the tasks that build on it, so a reviewer's or the requester's "no" and
their reason reach, say, the reply (measured: the reply to a refund the reviewer rejected left out the reviewer's
"send it for warranty repair", which only the refunder's rejected call held)."""

PREVIOUS_ACTIONS_SECTION = """
Actions already taken for this task in earlier attempts (their effects are real: do not repeat them):
{actions}"""

FEEDBACK_SECTION = """
Feedback on your previous attempt (address it):
{feedback}"""

EVALUATOR_PROMPT = """You check one task's result against its acceptance criteria, using the actions taken and the result.
- unmet_criteria: the criteria (copied exactly) that the result clearly does not meet; empty when all are met.
- feedback: for unmet criteria, exactly what the worker must fix.
- verdict: "pass" when all criteria are met, "revise" when the worker can fix an unmet criterion, "escalate" only when a human must decide (missing information or a policy conflict).

Request: {request}
Task ({task_id}): {description}
Acceptance criteria:
{criteria}
Actions taken:
{actions}
Result:
{result}

A change the request did not ask for (or a change when the condition for it is not met) makes a task fail.

Reply with the verdict as JSON."""

REPAIR_PROMPT = """Your previous reply could not be used: {error}
Reply again with corrected JSON that follows the schema exactly."""

STALL_FEEDBACK = "The result was empty. Do the task and give a concrete final answer."

MUST_CALL_REMINDER = "Not done yet: this task requires calling {tools} before you answer. Call it now."

GROUNDING_REMINDER = ("Not done yet: you answered without using a tool, but this task can change records and "
                      "its answer must rest on what your tools report. Call the tool that does or checks what "
                      "the task asks, then answer from its result.")
"""Sent once when a worker that may change state answers before any tool call (it would report an
action it never took: measured on the 1.5B model, "Refund issued. Refund ID: R001" with no call)."""

# --- reliability interventions (taskwarden.graph.reliability): observations and reminders the engine sends

LOOK_BEFORE_ACT_RULE = """
Before you change a record, read it with your tools and use exactly the ids and values they report; never act on an id you have not seen in a tool result, and never act on a different record than the one the request names."""

LOOK_BEFORE_ACT_PLAN_RULE = """
- When the request refers to records indirectly ("my most recent order", "the lead from Acme"), plan a lookup task that finds them first; tasks that change records depend on it.
- When the request asks for no change (a question, or the condition for the action is not met), plan no task that changes anything."""

UNGROUNDED_OBSERVATION = ("Not run: {tool} was blocked: {problems}. {how} Then call {tool} again with the values "
                          "the tools report, or, if the record cannot be found, give your final answer saying so.")
REQUEST_DISAGREES = "Not run: {tool} was blocked: {problem}. Call {tool} again with that change."
REQUEST_RULES_OUT = "Not run: {tool} was blocked: {problem}. Do not call {tool} again: give your final answer."
"""A request check's problem that no change to the call fixes (`NothingToCall`). Measured, with REQUEST_DISAGREES in its
place: asked for ../invoices.db (not in the inbox), the payer tried flag_exception twice more, then answered "The
invoice ../invoices.db was not found in the inbox. Call flag_exception again with that change."."""
UNGROUNDED_LOOKUP = ("Not run: {tool} was blocked: {problems}. Search with a value the request or an earlier tool "
                     "result gives, as written there (an id, e-mail address, name or company); never make one up.{given}"
                     " If nothing the request gives finds the record, give your final answer saying so.")
REQUEST_GIVES = " The request gives {values}: call {tool} with one of them now."
FIND_WITH = "Look it up first with: {tools}."
NAMED_RECORD_FIRST = ("Ran {tool} with {argument}={first!r} instead of {value!r}: the request names {named}, so that "
                      "record is read first. If it is not found, say so in your final answer; never use another record "
                      "instead. Its result:")
"""The note before the result of a read that ran on the record the request names instead of the one asked for."""
ALREADY_DONE = ("Already done in this task, so it was not done again (nobody was asked again either). Do not repeat "
                "it: go on with what is left, or give your final answer. Its result:")
"""Before the result of a write this task had already made, replayed from the ledger. Measured: after paging the
on-call engineer (approved), the notifier sent the same page 3 more times, each asking the reviewer again."""
EDITED_NOTE = " (arguments edited by a human reviewer)"
"""After the result of a call that ran with a reviewer's edited arguments."""
NO_READ_TOOL = "You have no tool that can look it up; it must come from the request or the earlier tasks' tool results."

NOT_ASKED_OBSERVATION = ("Not run: the request does not ask for what {tool} does, so nothing is changed. Do not "
                         "call it again; give your final answer saying why no change was made.")

NOT_FOUND_HINT = (" (not found is a finding, not a failure to retry: if the request's record does not exist, say so "
                  "in your final answer)")
"""Appended to a tool's not-found error (a `LookupError`): small models otherwise retry the lookup until their
step limit."""

REPEATED_FAILURE_OBSERVATION = ("Not run: this exact call already failed in this task ({error}). Repeating it will "
                                "fail again. Tools you can use: {tools}. Change the arguments based on what the "
                                "tools reported, use another tool, or give your final answer explaining what failed.")

NO_PROGRESS_REMINDER = ("You have made {steps} model calls without a new tool result. Done so far: {done}. Tools you "
                        "can use: {tools}. Make the one call that moves the task forward, or give your final answer "
                        "with what you found.")

NON_ANSWER_REMINDER = ("Your reply was {what}, not an answer, and the task is not done: {description} Use your tools "
                       "({tools}) if needed, then reply with a short factual final answer.")

STALLED_FEEDBACK = ("The previous attempt stalled ({reason}). Start again from the request and the earlier tasks' "
                    "results, make each needed tool call once, and finish with a concrete final answer.")

CONFIRM_REQUEST = ("Before I go ahead, please confirm: {action}. Reply yes to confirm, or tell me what to change.")

UNCONFIRMED_OBSERVATION = ("Not run: the requester did not confirm {tool} ({message}). Do not retry it; say in your "
                           "final answer that nothing was changed and why.")

UNFINISHED_FEEDBACK = "Not finished yet (checked in the system): {problem}"

UNFINISHED_REMINDER = ("Not finished yet (checked in the system): {problem}. Do that now with a tool call; answer "
                       "only when it is done.")

WORK_DONE_RESULT = ("Done: {why} after the task's work was done, and its check of the system finds nothing left "
                    "undone. What was done:\n{done}")
"""The result of a task that would escalate (step limit) or start over (stalled) although its done check finds
nothing undone."""

DECLINED_BEFORE_OBSERVATION = ("Not run: a human reviewer already declined this exact call in this task ({reason}), "
                               "and is not asked again. It is settled as declined: do not retry it. Go on with what "
                               "is left, or give your final answer saying it was declined.")

INCOMPLETE_ANSWER_FEEDBACK = "The answer is incomplete (checked against the system): {problem}"

INCOMPLETE_ANSWER_REMINDER = ("Your answer is incomplete (checked against the system): {problem}. Reply again with "
                              "the complete final answer.")

MISMATCH_FEEDBACK = "Verify after write: {tool}({args}) did not take the intended effect: {problem}"

UNASKED_WRITE_FEEDBACK = ("{tool} changed a record although the request does not ask for it; an unnecessary change "
                          "is a failure: a human must check it.")
