"""Lead routing, defined with the same public API any user workflow uses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from pydantic import BaseModel, Field

from taskwarden.graph.usage import Budgets
from taskwarden.graph.workflow import Workflow
from taskwarden.paths import data_home
from taskwarden.tools.policy import require_approval
from taskwarden.tools.registry import Role
from taskwarden.workflows.leads import prompts
from taskwarden.workflows.leads.db import seed
from taskwarden.workflows.leads.tools import MID_MARKET_MAX_EMPLOYEES, LeadDesk, lead_tools


class NewLead(BaseModel):
    """The webhook payload the CRM sends when a lead is recorded (the lead is already in the leads table).

    The run's request only names the lead: what the lead wrote stays in the CRM, where `find_lead`
    shows it as the lead's message, so nothing the lead typed reaches the planner as an instruction.
    """

    lead_id: str = Field(pattern=r"^L\d{3,}$", description="The CRM's id of the lead, like L001")
    name: str = Field(min_length=1)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    company: str = ""
    source: str = Field(min_length=1, description="Where the lead came from: web form, referral, event...")
    message: str = ""
    event_id: str | None = None
    """The sender's id for the event: a redelivery with the same id starts no second run."""

    def to_request(self) -> str:
        company = f" of {self.company}" if self.company.strip() else ""
        return (f"A new lead arrived from the {self.source}: {self.lead_id}, {self.name} <{self.email}>{company}. "
                "Enrich and route it.")


def default_db_path() -> Path:
    return data_home() / "leads.db"


def reset_demo_data() -> Path:
    """Re-seed the demo database (lead dates relative to today); earlier assignments are discarded."""
    return seed(default_db_path(), reset=True)


def lead_router(db_path: str | Path | None = None, today: Callable[[], date] = date.today) -> Workflow:
    """Lead routing on its seeded database (created on first use, never overwritten)."""
    path = seed(Path(db_path) if db_path else default_db_path(), today())
    desk = LeadDesk(db_path=path, today=today)
    return Workflow(
        name="leads",
        description="Lead routing: enrich a new lead's company, route it by size (<=10 SMB, 11-500 mid-market, "
                    ">500 enterprise with a human's approval; unknown companies to nurture).",
        instructions=prompts.INSTRUCTIONS,
        roles=[
            Role("researcher", prompts.RESEARCHER, ("find_lead", "enrich_company"), instructions=prompts.RESEARCHER_STEPS,
                 criteria=prompts.RESEARCHER_CRITERIA, required=True, done_check=desk.unlooked),
            # no must_call: a lead that was not found or was already routed is rightly not routed; find_lead
            # lets a router that is pushed to use a tool check the lead instead of routing it
            Role("router", prompts.ROUTER, ("find_lead", "route_lead"), instructions=prompts.ROUTER_STEPS,
                 criteria=prompts.ROUTER_CRITERIA, after=("researcher",), required=True, done_check=desk.unrouted,
                 answer_check=desk.unstated),
        ],
        tools=lead_tools(desk),
        policies=[require_approval("route_lead", "segment == 'enterprise'",
                                   reason=f"Leads from companies over {MID_MARKET_MAX_EMPLOYEES} employees go to a human")],
        budgets=Budgets(max_steps=30),
        plan_hint=prompts.PLAN_HINT,
        sample_requests=prompts.SAMPLE_REQUESTS,
        input_schema=NewLead,
        trigger_filter="source == 'web form'",
    )
