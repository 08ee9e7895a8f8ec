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


def non_answer(content: Any, tools: list[str]) -> str | None:
    """What is wrong with a final message that answers nothing, or None for a real answer."""
    text = content if isinstance(content, str) else json.dumps(content, default=str)
    stripped = text.strip()
    if not re.search(r"[A-Za-z0-9]", stripped):
        return "empty"
    match = _CALL_AS_TEXT.match(stripped)
    if match and (match.group(3) or any(stripped.lstrip("`").lstrip().startswith(tool) for tool in tools)):
        return "a tool call written as text (tools are called, not written)"
    if _FILLER.match(stripped):
        return f"a filler ({stripped[:60]!r})"
    return None


def progress_made(actions: list[ActionRecord], earlier: list[ActionRecord]) -> bool:
    """Whether `actions` (one step's) include a successful call not made before in the attempt."""
    seen = {call_key(a["tool"], a["args"]) for a in earlier if a["outcome"] in ("executed", "replayed")}
    return any(a["outcome"] in ("executed", "replayed") and call_key(a["tool"], a["args"]) not in seen for a in actions)


def loop_interventions(interventions: list[dict[str, Any]]) -> int:
    """How many loop-recovery interventions this attempt has had already."""
    return sum(1 for i in interventions if i.get("mechanism") == "loop_recovery")
