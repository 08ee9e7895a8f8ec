"""The vulnerability watch, defined with the same public API any user workflow uses.

It runs on a schedule: `CRON_JOB` holds the arguments of the LangGraph server's cron API
(``client.crons.create("vulnwatch", **CRON_JOB)``, see docs/serving.md), every Monday at 08:00 for the
ISO week that just ended.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from taskwarden.graph.usage import Budgets
from taskwarden.graph.workflow import Workflow
from taskwarden.paths import data_home
from taskwarden.tools.policy import PolicyRule
from taskwarden.tools.registry import Role
from taskwarden.workflows.vulnwatch import prompts
from taskwarden.workflows.vulnwatch.data import seed
from taskwarden.workflows.vulnwatch.feed import Install
from taskwarden.workflows.vulnwatch.notices import SECURITY_CHANNEL
from taskwarden.workflows.vulnwatch.tools import VulnWatch, vulnwatch_tools
from taskwarden.workflows.vulnwatch.weeks import request_week_problem, week_of

SCHEDULE = "0 8 * * 1"
"""Mondays at 08:00 (UTC unless the cron sets a timezone): the report covers the week that just ended."""
CRON_JOB: dict[str, Any] = {
    "schedule": SCHEDULE,
    "input": {"messages": [{"role": "user", "content": prompts.SCHEDULED_REQUEST}]},
    "metadata": {"schedule": "vulnwatch-weekly"},
    "on_run_completed": "keep",  # a run may pause for a page's approval: keep its thread
}


def default_data_dir() -> Path:
    return data_home() / "vulnwatch"


def reset_demo_data() -> Path:
    """Re-seed the demo feed and inventory (dates relative to today); earlier reports and messages are discarded."""
    return seed(default_data_dir(), reset=True)


def notification_policies(inventory: list[Install]) -> list[PolicyRule]:
    """Messages go only to #security and the inventory's team channels and on-call people; paging an
    on-call person (a message to them) needs a human's approval."""
    teams = sorted({install.channel for install in inventory})
    oncall = sorted({install.oncall for install in inventory})
    return [
        PolicyRule("send_message", "forbid", "channel not in recipients", constants={
            "recipients": [SECURITY_CHANNEL, *teams, *oncall]},
            reason=f"Notices go only to {SECURITY_CHANNEL}, the owning teams' channels and their on-call"),
        PolicyRule("send_message", "require_approval", "channel in oncall", constants={"oncall": oncall},
                   reason="Paging an on-call engineer needs a human's approval"),
    ]


def vulnerability_watch(data_dir: str | Path | None = None, today: Callable[[], date] = date.today) -> Workflow:
    """The vulnerability watch on its seeded files (created on first use, never overwritten)."""
    watch = VulnWatch(seed(Path(data_dir) if data_dir else default_data_dir(), today()), today)
    last_week = week_of(today() - timedelta(weeks=1))
    return Workflow(
        name="vulnwatch",
        description="Vulnerability watch: read the week's advisories, classify their risk for what we run, "
                    "write the weekly report, notify the teams (pages with approval).",
        instructions=prompts.INSTRUCTIONS,
        roles=[
            Role("analyst", prompts.ANALYST, ("read_feed", "check_inventory", "classify_risk"),
                 instructions=prompts.ANALYST_STEPS, criteria=prompts.ANALYST_CRITERIA, required=True,
                 done_check=watch.unread_feed),
            Role("reporter", prompts.REPORTER, ("draft_report", "write_report"), instructions=prompts.REPORTER_STEPS,
                 criteria=prompts.REPORTER_CRITERIA, after=("analyst",), required=True, sees_tool_results=True,
                 done_check=watch.unsaved_report),
            Role("notifier", prompts.NOTIFIER, ("notification_plan", "send_message"),
                 instructions=prompts.NOTIFIER_STEPS, criteria=prompts.NOTIFIER_CRITERIA,
                 after=("analyst", "reporter"), must_call=("notification_plan",), required=True, sees_tool_results=True,
                 done_check=watch.unsent_notices),
        ],
        tools=vulnwatch_tools(watch),
        policies=notification_policies(watch.inventory()),
        budgets=Budgets(max_steps=40),
        plan_hint=prompts.PLAN_HINT,
        answer_from=("write_report", "markdown"),
        validate_request=lambda request: request_week_problem(request, today()),
        sample_requests=[prompts.SCHEDULED_REQUEST,
                         f"Write the weekly vulnerability report for {last_week}.",
                         "Write last week's vulnerability report; a page may need your approval.",
                         "Write the weekly vulnerability report for 2026-W60."],
    )
