"""Who must hear about a week's report, decided in code from the week's assessments.

- ``#security`` always gets one summary once the report is saved (a quiet week too: it shows the
  watch ran), or an alert when the feed cannot be read, since then no report can be written;
- each team owning an affected critical or high advisory gets one message on its channel;
- each team owning an affected critical advisory has its on-call paged (a human approves pages).

A notice counts as sent once the outbox holds a message to its channel that names the week, so a
second run for the same week only sends what is still pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taskwarden.workflows.vulnwatch.risk import Assessment

SECURITY_CHANNEL = "#security"


@dataclass(frozen=True)
class Notice:
    channel: str
    about: str
    advisories: tuple[str, ...] = ()
    page: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "about": self.about, "advisories": list(self.advisories),
                **({"page": True, "needs_approval": True} if self.page else {})}


def due_notices(week: str, assessments: list[Assessment]) -> list[Notice]:
    """The notices owed once the report for `week` is saved."""
    affected = [a for a in assessments if a.affected]
    notices = [Notice(SECURITY_CHANNEL, f"summary of the {week} report: "
                      + (f"{len(affected)} advisories affect us" if affected else "a quiet week, nothing affects us"),
                      tuple(a.advisory.id for a in affected))]
    teams: dict[str, list[str]] = {}
    pages: dict[str, list[str]] = {}
    for a in assessments:
        for install in a.affected if a.must_report else ():
            _add(teams, install.channel, a.advisory.id)
            if a.risk == "critical":
                _add(pages, install.oncall, a.advisory.id)
    notices += [Notice(channel, f"critical/high advisories affect this team's services ({week})", tuple(ids))
                for channel, ids in teams.items()]
    notices += [Notice(person, f"page: critical advisories affect this team's services ({week})", tuple(ids), True)
                for person, ids in pages.items()]
    return notices


def feed_alert(week: str, error: str) -> Notice:
    return Notice(SECURITY_CHANNEL, f"alert: the {week} report cannot be written because the feed is unreadable: "
                  f"{error}")


def _add(targets: dict[str, list[str]], target: str, advisory_id: str) -> None:
    ids = targets.setdefault(target, [])
    if advisory_id not in ids:
        ids.append(advisory_id)
