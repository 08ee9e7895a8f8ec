"""The scripted reviewer: answers a run's human reviews the way a case's `reviewer` policy says."""

from __future__ import annotations

from typing import Any

from taskwarden.evals.dataset import ReviewerPolicy

STOPPED = "The reviewer has already answered the maximum number of reviews for this case."


def decide(request: dict[str, Any], policy: ReviewerPolicy, reviews_so_far: int) -> dict[str, Any]:
    """The resume value (``{"decisions": [...]}``) for one HITL request, one decision per action.

    A decision the review does not allow falls back sensibly: an approval of an escalation that only
    takes a reply becomes a reply saying "approved"; anything else impossible becomes a rejection.
    After `policy.max_reviews` reviews every further one is rejected, so no case loops on reviews."""
    decisions = []
    for action, config in zip(request["action_requests"], request["review_configs"]):
        allowed = config["allowed_decisions"]
        if reviews_so_far >= policy.max_reviews:
            decisions.append(_reject(allowed, STOPPED))
            continue
        decisions.append(_one(action, allowed, policy))
    return {"decisions": decisions}


def _one(action: dict[str, Any], allowed: list[str], policy: ReviewerPolicy) -> dict[str, Any]:
    kind = policy.decision
    if kind == "approve":
        if "approve" in allowed:
            return {"type": "approve"}
        if "response" in allowed:
            return {"type": "response", "message": policy.message or "Approved: go ahead."}
    elif kind == "edit" and "edit" in allowed:
        return {"type": "edit", "edited_action": {"name": action["name"], "args": {**action["args"], **policy.args}}}
    elif kind == "respond" and "response" in allowed:
        return {"type": "response", "message": policy.message or "No further information."}
    elif kind == "reject":
        return _reject(allowed, policy.message or "Rejected by the reviewer.")
    return _reject(allowed, policy.message or f"The reviewer wanted to {kind}, which this review does not allow.")


def _reject(allowed: list[str], message: str) -> dict[str, Any]:
    if "reject" in allowed:
        return {"type": "reject", "message": message}
    return {"type": "response", "message": message}
