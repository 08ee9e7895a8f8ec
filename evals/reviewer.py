"""The scripted reviewer and requester: answer a run's human reviews the way a case's `reviewer` policy
says, and its confirmation requests (``kind == "confirmation"``) the way its `requester` policy says."""

from __future__ import annotations

from typing import Any

from taskwarden.evals.dataset import RequesterPolicy, ReviewerPolicy

STOPPED = "The reviewer has already answered the maximum number of reviews for this case."
CONFIRMATIONS_STOPPED = "No. I have already confirmed the maximum number of actions for this request."
REFUSED = "No, please do not go ahead."
YES = "yes"


def is_confirmation(request: dict[str, Any]) -> bool:
    """Whether a HITL request asks the requester to confirm an action (not a human review)."""
    return request.get("kind") == "confirmation"


def confirm(request: dict[str, Any], policy: RequesterPolicy, confirmations_so_far: int, limit: int) -> dict[str, Any]:
    """The requester's resume value for a confirmation request: a yes (``approve``, else a ``response``
    saying "yes") when `policy.confirm`, else a refusal; after `limit` confirmations every further one
    is refused, so no case loops on confirmations."""
    decisions = []
    for config in request["review_configs"]:
        allowed = config["allowed_decisions"]
        if confirmations_so_far >= limit:
            decisions.append(_reject(allowed, CONFIRMATIONS_STOPPED))
        elif not policy.confirm:
            decisions.append(_reject(allowed, policy.message or REFUSED))
        elif "approve" in allowed:
            decisions.append({"type": "approve"})
        else:
            decisions.append({"type": "response", "message": YES})
    return {"decisions": decisions}


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
