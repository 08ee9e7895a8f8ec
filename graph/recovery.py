"""Stall detection for a worker's attempt: non-answers and steps without progress (loop recovery).

The ladder, per attempt: the first stall gets a corrective message (what failed, what to try, which
tools exist); a second one ends the attempt as *stalled*, which re-plans the task (a fresh attempt
with the stall as feedback) while revisions are left, and escalates to a human after that.
"""

from __future__ import annotations

import json
import re
from typing import Any

from taskwarden.graph.state import ActionRecord
from taskwarden.tools.executor import call_key

_FILLER = re.compile(r"^(ok(ay)?|sure|done|got it|understood|i will\b.*|let me\b.*|i'll\b.*|one moment\b.*|"
                     r"working on it\b.*)[.!\s]*$", re.IGNORECASE)
_CALL_AS_TEXT = re.compile(r"^\s*(```\w*\s*)?(\{\s*\"(name|tool|function|tool_name)\"\s*:|[a-z_]+\s*\(.*\)\s*;?\s*$)",
                           re.IGNORECASE | re.DOTALL)


ECHO_WORDS = 8
"""A reply that copies this many words in a row from the task's criteria, making up half of it or more,
restates what to do instead of reporting what was done."""


def non_answer(content: Any, tools: list[str], task_text: list[str] | tuple[str, ...] = ()) -> str | None:
    """What is wrong with a final message that answers nothing, or None for a real answer. `task_text`
    (the task's acceptance criteria) catches a reply that only restates them (measured: "The payment
    scheduled (invoice INV-1990, ...), or the exception flagged and its reason, or why neither was done")."""
    text = content if isinstance(content, str) else json.dumps(content, default=str)
    stripped = text.strip()
    if not re.search(r"[A-Za-z0-9]", stripped):
        return "empty"
    match = _CALL_AS_TEXT.match(stripped)
    if match and (match.group(3) or any(stripped.lstrip("`").lstrip().startswith(tool) for tool in tools)):
        return "a tool call written as text (tools are called, not written)"
    if _FILLER.match(stripped):
        return f"a filler ({stripped[:60]!r})"
    if any(_echoes(stripped, source) for source in task_text):
        return "a copy of the task's acceptance criteria, not a report of what was done"
    return None


def _echoes(reply: str, source: str) -> bool:
    words, model = _words(reply), _words(source)
    if len(words) < ECHO_WORDS:
        return False
    longest = _longest_common_run(words, model)
    return longest >= ECHO_WORDS and 2 * longest >= len(words)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def _longest_common_run(a: list[str], b: list[str]) -> int:
    """The length of the longest run of words found, in order and contiguous, in both lists."""
    best, previous = 0, [0] * (len(b) + 1)
    for word in a:
        current = [0] * (len(b) + 1)
        for j, other in enumerate(b, 1):
            if word == other:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def progress_made(actions: list[ActionRecord], earlier: list[ActionRecord]) -> bool:
    """Whether `actions` (one step's) include a successful call not made before in the attempt."""
    seen = {call_key(a["tool"], a["args"]) for a in earlier if a["outcome"] in ("executed", "replayed")}
    return any(a["outcome"] in ("executed", "replayed") and call_key(a["tool"], a["args"]) not in seen for a in actions)


def loop_interventions(interventions: list[dict[str, Any]]) -> int:
    """How many loop-recovery interventions this attempt has had already (stall and loop corrections: an
    incomplete answer sent back to be completed is not one)."""
    return sum(1 for i in interventions if i.get("mechanism") == "loop_recovery" and i.get("action") != "incomplete")
