"""The evaluator agent: checks a task's result against its acceptance criteria."""

from __future__ import annotations

from typing import Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from taskwarden.agents.prompts import EVALUATOR_PROMPT
from taskwarden.agents.structured import invoke_structured


class Evaluation(BaseModel):
    """The evaluator's verdict on one task result."""

    verdict: Literal["pass", "revise", "escalate"]
    feedback: str = Field(default="", description="What to fix (revise) or why a human is needed (escalate)")


def evaluate_result(model: BaseChatModel, *, request: str, task: dict, max_repairs: int = 1) -> tuple[Evaluation, list[AIMessage]]:
    """Judge `task` (a task record with description, criteria, actions and result)."""
    prompt = EVALUATOR_PROMPT.format(
        request=request,
        task_id=task["id"],
        description=task["description"],
        criteria="\n".join(f"- {c}" for c in task["acceptance_criteria"]),
        actions="\n".join(f"- {a['summary']}" for a in task.get("actions", [])) or "- none",
        result=task.get("result") or "(empty)",
    )
    return invoke_structured(model, Evaluation, [SystemMessage(content=prompt), HumanMessage(content="Evaluate the result.")],
                             max_repairs=max_repairs)
