"""Invoice processing, defined with the same public API any user workflow uses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from taskwarden.graph.usage import Budgets
from taskwarden.graph.workflow import Workflow
from taskwarden.paths import data_home
from taskwarden.tools.policy import require_approval
from taskwarden.tools.registry import Role, ToolSpec
from taskwarden.workflows.invoices import prompts
from taskwarden.workflows.invoices.db import seed
from taskwarden.workflows.invoices.documents import seed_inbox
from taskwarden.workflows.invoices.tools import APPROVAL_THRESHOLD_USD, InvoiceDesk, invoice_tools


def data_dir() -> Path:
    return data_home() / "invoices"


def default_db_path() -> Path:
    return data_dir() / "invoices.db"


def default_inbox() -> Path:
    return data_dir() / "inbox"


def reset_demo_data() -> Path:
    """Re-seed the demo database and inbox (dates relative to today); earlier payments and exceptions are discarded."""
    seed(default_db_path(), reset=True)
    seed_inbox(default_inbox(), reset=True)
    return data_dir()


def invoice_desk_tools(db_path: str | Path | None = None, inbox_dir: str | Path | None = None) -> list[ToolSpec]:
    """The invoice desk's tools on its seeded database and inbox (a factory a workflow file can import)."""
    return invoice_tools(InvoiceDesk(db_path=seed(Path(db_path) if db_path else default_db_path()),
                                     inbox=seed_inbox(Path(inbox_dir) if inbox_dir else default_inbox())))


def invoice_processor(db_path: str | Path | None = None, inbox_dir: str | Path | None = None,
                      today: Callable[[], date] = date.today) -> Workflow:
    """Invoice processing on its seeded database and inbox (created on first use, never overwritten)."""
    desk = InvoiceDesk(db_path=seed(Path(db_path) if db_path else default_db_path()),
                       inbox=seed_inbox(Path(inbox_dir) if inbox_dir else default_inbox()), today=today)
    return Workflow(
        name="invoices",
        description="Invoice processing: read the invoice (text, Markdown or PDF), match its purchase order, pay it "
                    "(over $10,000 with approval) or flag the exception for a human's review.",
        instructions=prompts.INSTRUCTIONS,
        roles=[
            Role("clerk", prompts.CLERK, ("list_inbox", "read_invoice", "get_purchase_order"),
                 instructions=prompts.CLERK_STEPS, criteria=prompts.CLERK_CRITERIA, required=True),
            Role("payer", prompts.PAYER, ("match_invoice", "schedule_payment", "flag_exception"),
                 instructions=prompts.PAYER_STEPS, criteria=prompts.PAYER_CRITERIA, after=("clerk",), required=True,
                 done_check=desk.unsettled, answer_check=desk.unstated),
        ],
        tools=invoice_tools(desk),
        policies=[
            require_approval("schedule_payment", f"amount > {APPROVAL_THRESHOLD_USD:g}",
                             reason=f"Payments over ${APPROVAL_THRESHOLD_USD:,.0f} need a human's approval"),
            require_approval("flag_exception",
                             reason="Every invoice exception goes to a human: approve to file it for follow-up, "
                                    "reject to drop it"),
        ],
        budgets=Budgets(max_steps=30),
        plan_hint=prompts.PLAN_HINT,
        sample_requests=prompts.SAMPLE_REQUESTS,
    )
