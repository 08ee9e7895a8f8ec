"""The evaluator agent: checks a task's result against its acceptance criteria.

The model names the criteria that are not met (constrained to the task's own criteria) before it
gives a verdict, and the verdict is derived in code: a result can only be sent back for revision
by naming an unmet criterion. Small models otherwise "revise" good results with vague feedback.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field, create_model

from taskwarden.agents.prompts import EVALUATOR_PROMPT
from taskwarden.agents.structured import invoke_structured

Verdict = Literal["pass", "revise", "escalate"]


class Evaluation(BaseModel):
    """The evaluator's output on one task result."""

    unmet_criteria: list[str] = Field(default_factory=list, description="Acceptance criteria the result does not meet")
    feedback: str = Field(default="", description="What to fix, or why a human is needed")
    verdict: Verdict = "pass"

    def decided(self) -> tuple[Verdict, str]:
        """The verdict and feedback that count: revise only with a named unmet criterion."""
        if self.verdict == "escalate":
            return "escalate", self.feedback
        if self.unmet_criteria:
            unmet = "; ".join(self.unmet_criteria)
            return "revise", f"Not met: {unmet}." + (f" {self.feedback}" if self.feedback else "")
        return "pass", ""


def evaluation_schema(criteria: list[str]) -> type[Evaluation]:
    """`Evaluation` whose `unmet_criteria` may only name these criteria (an enum the decoder enforces)."""
    return _evaluation_schema(tuple(criteria))


@lru_cache(maxsize=256)
def _evaluation_schema(criteria: tuple[str, ...]) -> type[Evaluation]:
    # Built once per set of criteria: pydantic's create_model costs ~1 ms, paid on every evaluation otherwise.
    criterion = Literal[criteria]  # type: ignore[valid-type]
    return create_model("Evaluation", __base__=Evaluation,
                        unmet_criteria=(list[criterion], Field(default_factory=list,  # type: ignore[valid-type]
                                                               description="Acceptance criteria the result does not meet")))


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
    return invoke_structured(model, evaluation_schema(list(task["acceptance_criteria"])),
                             [SystemMessage(content=prompt), HumanMessage(content="Evaluate the result.")],
                             max_repairs=max_repairs)
