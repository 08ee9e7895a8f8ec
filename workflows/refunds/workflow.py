"""The refund desk, defined with the same public API any user workflow uses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from taskwarden.graph.usage import Budgets
from taskwarden.graph.workflow import Workflow
from taskwarden.paths import data_home
from taskwarden.tools.policy import require_approval
from taskwarden.tools.registry import DoneCheck, Role, ToolSpec
from taskwarden.workflows.refunds import prompts
from taskwarden.workflows.refunds.db import seed
from taskwarden.workflows.refunds.tools import APPROVAL_THRESHOLD_USD, RefundDesk, refund_tools


def default_db_path() -> Path:
    return data_home() / "refunds.db"


def seeded_db(db_path: str | Path | None = None) -> Path:
    """The desk's database at `db_path` (default: `default_db_path()`), seeded on first use, never overwritten."""
    return seed(Path(db_path) if db_path else default_db_path())


def reset_demo_data() -> Path:
    """Re-seed the demo database (purchase dates relative to today); earlier refunds are discarded."""
    return seed(default_db_path(), reset=True)


def refund_desk_tools(db_path: str | Path | None = None) -> list[ToolSpec]:
    """The refund desk's tools on its seeded database: the factory `workflows/examples/refunds.yaml` imports."""
    return refund_tools(RefundDesk(db_path=seeded_db(db_path)))


REFUND_DESK_CHECKS = ("unchecked", "unrefunded", "unreported")
"""The refund desk's done checks (`RefundDesk` methods), by name."""


def refund_desk_check(check: str, db_path: str | Path | None = None) -> DoneCheck:
    """One of the desk's done checks (`REFUND_DESK_CHECKS`) on its seeded database: the factory
    `workflows/examples/refunds.yaml` imports for its roles' ``done_check``. The checks re-read the
    database, so they see what the tools of `refund_desk_tools` (on the same database) did."""
    if check not in REFUND_DESK_CHECKS:
        raise ValueError(f"no refund desk check {check!r}; the checks are {', '.join(REFUND_DESK_CHECKS)}")
    return getattr(RefundDesk(db_path=seeded_db(db_path)), check)


def refund_desk(db_path: str | Path | None = None, today: Callable[[], date] = date.today, *,
                confirm_refunds: bool = False) -> Workflow:
    """The refund desk on its seeded database (created on first use, never overwritten).

    `confirm_refunds` makes the requester confirm each refund through the conversation before it is
    made (confirm before write). It is off for the shipped desk, which answers e-mailed requests with
    a drafted reply (nobody is on the line to say yes); turn it on where the requester chats live."""
    path = seeded_db(db_path)
    desk = RefundDesk(db_path=path, today=today)
    return Workflow(
        name="refunds",
        description="Refund desk: look up the purchase, check the 30-day policy, refund (over $100 with approval), reply.",
        instructions=prompts.INSTRUCTIONS,
        roles=[
            Role("researcher", prompts.RESEARCHER, ("lookup_customer", "list_purchases", "check_refund_policy"),
                 instructions=prompts.RESEARCHER_STEPS, criteria=prompts.RESEARCHER_CRITERIA, done_check=desk.unchecked),
            Role("refunder", prompts.REFUNDER, ("check_refund_policy", "issue_refund"), instructions=prompts.REFUNDER_STEPS,
                 criteria=prompts.REFUNDER_CRITERIA, after=("researcher",), done_check=desk.unrefunded),
            Role("writer", prompts.WRITER, ("draft_reply",), instructions=prompts.WRITER_STEPS,
                 criteria=prompts.WRITER_CRITERIA, after=("researcher", "refunder"), must_call=("draft_reply",),
                 # every request gets a reply (measured: a plan without the writer left none)
                 required=True, done_check=desk.unreported),
        ],
        tools=refund_tools(desk),
        policies=[require_approval("issue_refund", f"amount > {APPROVAL_THRESHOLD_USD:g}",
                                   reason=f"Refunds over ${APPROVAL_THRESHOLD_USD:.0f} need a human's approval")],
        budgets=Budgets(max_steps=30),
        plan_hint=prompts.PLAN_HINT,
        answer_from=("draft_reply", "message"),
        sample_requests=prompts.SAMPLE_REQUESTS,
        confirm=("issue_refund",) if confirm_refunds else (),
    )
