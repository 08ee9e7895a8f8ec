"""The lead desk's tools. Routing rules live here, in code, so they hold even when the model errs."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from taskwarden.graph.asks import asks_for
from taskwarden.tools.grounding import mentions
from taskwarden.tools.registry import ToolSpec, tool_spec
from taskwarden.workflows.leads import prompts
from taskwarden.workflows.leads.db import FREE_MAIL_DOMAINS, connect

Segment = Literal["smb", "mid-market", "enterprise", "nurture"]
SEGMENTS: tuple[str, ...] = ("smb", "mid-market", "enterprise", "nurture")
SMB_MAX_EMPLOYEES = 10
MID_MARKET_MAX_EMPLOYEES = 500
TEAMS: dict[str, tuple[str, ...]] = {
    "smb": ("smb-queue",),
    "mid-market": ("mid-market-queue", "priya", "marco"),
    "enterprise": ("enterprise-queue", "dana", "lee"),
    "nurture": ("nurture-queue",),
}
"""Who may own a lead of each segment: the segment's queue (the default) or one of its account executives."""
ROUTING_RULE = (f"companies of up to {SMB_MAX_EMPLOYEES} employees are smb, {SMB_MAX_EMPLOYEES + 1} to "
                f"{MID_MARKET_MAX_EMPLOYEES} mid-market, over {MID_MARKET_MAX_EMPLOYEES} enterprise (a human approves); "
                "leads whose company is not in the directory (free e-mail, unknown domain) go to nurture")
LEAD_ID = re.compile(r"L\d{3,}", re.IGNORECASE)
ROUTE_INTENT = r"\brout(e|es|ed|ing)\b|\bassign|\bput\b|\bsend\b|\bmove\b"
"""What asks the desk to route a lead (its done check wants every requested lead routed only then)."""
LOOKED_UP = ("executed", "replayed", "error")
"""Outcomes of a `find_lead` call that looked the lead up: found, or not found."""


def lead_ids_in(text: str) -> list[str]:
    """The lead ids a text names (the request, an answer), upper-cased, in order, once each."""
    return list(dict.fromkeys(m.upper() for m in re.findall(rf"(?<![\w-]){LEAD_ID.pattern}(?![\w-])", text,
                                                             re.IGNORECASE)))


def _lead_id_arg(args: dict[str, Any]) -> str:
    """The lead id a call's arguments give, as the database keeps it (stripped, upper-cased; '' when absent)."""
    return str(args.get("lead_id", "")).strip().upper()


def _owner_name(owner: str) -> str:
    """An owner as `TEAMS` spells it: stripped, lower-cased, without a leading '@'."""
    return owner.strip().lower().lstrip("@")


def _found_by_request(actions: list[dict[str, Any]], request: str) -> list[str]:
    """Leads that a successful `find_lead` call found by a value the request gives (its name, e-mail or company),
    one lead per call: the lead of a request that names no id. A lookup by a value read elsewhere (a lead's message
    naming another lead) does not count."""
    found = []
    for action in actions:
        value = str(action["args"].get("lead", "")).strip()
        if action["tool"] != "find_lead" or action["outcome"] not in ("executed", "replayed") or \
                not mentions(request, value):
            continue
        try:
            lead = json.loads(action.get("observation") or "")
        except ValueError:
            continue
        if isinstance(lead, dict) and isinstance(lead.get("lead_id"), str):
            found.append(lead["lead_id"].upper())
    return found


def segment_for(employees: int) -> str:
    """The sales segment of a company with `employees` employees."""
    if employees <= SMB_MAX_EMPLOYEES:
        return "smb"
    return "mid-market" if employees <= MID_MARKET_MAX_EMPLOYEES else "enterprise"


def normalize_domain(value: str) -> str:
    """A bare domain from a domain, an e-mail address or a web address (``https://www.acme.com/about``)."""
    text = value.strip().lower()
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    text = re.sub(r"^[a-z]+://", "", text).split("/", 1)[0].split(":", 1)[0]
    return text.removeprefix("www.").strip(".")


@dataclass
class LeadDesk:
    """The lead desk's system of record, with a clock that tests can fix."""

    db_path: Path
    today: Callable[[], date] = date.today

    def find_lead(
        self,
        lead: Annotated[str, Field(description="The lead's id (like L001), e-mail address, name, or company "
                                               "name or domain")],
    ) -> str:
        """Find a lead: its id, contact, company domain, source, message, and whether it was already routed."""
        query = lead.strip()
        if not query:
            raise ValueError("say which lead: its id (like L001), e-mail address, name or company")
        with closing(connect(self.db_path)) as conn:
            base = ("SELECT l.*, a.segment, a.owner FROM leads l LEFT JOIN assignments a ON a.lead_id = l.id "
                    "LEFT JOIN companies c ON c.domain = l.domain ")
            if LEAD_ID.fullmatch(query):
                rows = conn.execute(base + "WHERE l.id = ?", (query.upper(),)).fetchall()
            elif "@" in query:
                rows = conn.execute(base + "WHERE lower(l.email) = lower(?)", (query,)).fetchall()
            else:
                pattern = f"%{query.lower()}%"
                rows = conn.execute(base + "WHERE lower(l.name) LIKE ? OR lower(l.company) LIKE ? OR l.domain LIKE ? "
                                    "OR lower(c.name) LIKE ? ORDER BY l.id", (pattern,) * 4).fetchall()
        if not rows:
            raise LookupError(f"no lead matches {query!r} (search by lead id like L001, e-mail address, name or company)")
        leads = [self._describe(row) for row in rows]
        if len(leads) == 1:
            return json.dumps(leads[0])
        return json.dumps({"matches": leads, "note": f"{len(leads)} leads match {query!r}: name one by its lead id"})

    def enrich_company(
        self,
        domain: Annotated[str, Field(description="The company's domain (like acme.com), or the lead's e-mail address")],
    ) -> str:
        """Look up a company in the directory by domain: employees, industry, country and the segment its size gives."""
        name = normalize_domain(domain)
        if not name or "." not in name:
            raise ValueError(f"{domain!r} is not a domain: pass the lead's domain (like acme.com) or e-mail address, "
                             "as find_lead shows them")
        if name in FREE_MAIL_DOMAINS:
            raise LookupError(f"{name} is a free e-mail provider, not a company: the lead's company size is unknown. "
                              "Route the lead to the 'nurture' segment.")
        company = self._company(name)
        if company is None:
            raise LookupError(f"no company with domain {name!r} in the directory: its size is unknown. "
                              "Route the lead to the 'nurture' segment.")
        return json.dumps({"domain": company["domain"], "company": company["name"], "employees": company["employees"],
                           "industry": company["industry"], "country": company["country"],
                           "segment": segment_for(company["employees"]), "rule": ROUTING_RULE})

    def route_lead(
        self,
        lead_id: Annotated[str, Field(description="The lead's id, like L001")],
        segment: Annotated[Segment, Field(description="The segment the company's size gives (nurture when the "
                                                      "company is not in the directory)")],
        reason: Annotated[str, Field(description="Why, in a few words: the company and its employee count")],
        owner: Annotated[str, Field(description="Leave empty for the segment's queue; only an account executive "
                                                "the request names")] = "",
    ) -> str:
        """Route a lead to a sales segment, once. The segment must match the company's size in the directory."""
        lead, why, owner = self.refusal_of_route(dict(lead_id=lead_id, segment=segment, owner=owner))
        note = " ".join(reason.split()) or why
        with closing(connect(self.db_path)) as conn, conn:
            conn.execute("INSERT INTO assignments (lead_id, segment, owner, note, assigned_on) VALUES (?, ?, ?, ?, ?)",
                         (lead["id"], segment, owner, note, self.today().isoformat()))
        return json.dumps({"lead_id": lead["id"], "segment": segment, "owner": owner, "status": "routed"})

    def refusal_of_route(self, args: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
        """`route_lead`'s refusals, with no side effect (its precheck): raises when the lead is unknown or routed
        already, or the segment or owner is not the one the directory gives; else returns the lead, why its segment
        is right, and the owner."""
        segment, owner = str(args.get("segment", "")), str(args.get("owner", "") or "")
        lead = self._lead(str(args.get("lead_id", "")))
        if lead["segment"] is not None:
            raise PermissionError(f"lead {lead['id']} was already routed to {lead['segment']} ({lead['owner']}); "
                                  "a lead is routed only once")
        if segment not in SEGMENTS:
            raise ValueError(f"segment must be one of {', '.join(SEGMENTS)}, got {segment!r}")
        correct, why = self._segment_of(lead)
        if segment != correct:
            raise PermissionError(f"refused: {why}, so lead {lead['id']} belongs to segment {correct!r}, not {segment!r} "
                                  f"({ROUTING_RULE}). Route it to {correct!r}.")
        return lead, why, self._owner(segment, owner)

    def reconcile_route(self, args: dict[str, Any]) -> str | None:
        """After a crash mid-route: the result if the lead is assigned to that segment, else None."""
        with closing(connect(self.db_path)) as conn:
            row = conn.execute("SELECT lead_id, segment, owner FROM assignments WHERE lead_id = ? AND segment = ?",
                               (_lead_id_arg(args), args.get("segment"))).fetchone()
        if row is None:
            return None
        return json.dumps({"lead_id": row["lead_id"], "segment": row["segment"], "owner": row["owner"],
                           "status": "routed"})

    def verify_route(self, args: dict[str, Any], result: str) -> str | None:
        """After a route: None when the assignments table holds the lead in that segment (with the owner asked,
        if one was); else what is wrong."""
        lead_id, segment = _lead_id_arg(args), args.get("segment")
        with closing(connect(self.db_path)) as conn:
            row = conn.execute("SELECT segment, owner FROM assignments WHERE lead_id = ?", (lead_id,)).fetchone()
        if row is None:
            return f"lead {lead_id} has no assignment"
        if row["segment"] != segment:
            return f"lead {lead_id} is assigned to {row['segment']} ({row['owner']}), not {segment}"
        asked = str(args.get("owner") or "").strip()
        if asked and segment in TEAMS:
            try:
                expected = self._owner(segment, asked)
            except ValueError:
                return f"lead {lead_id} is owned by {row['owner']}; {asked!r} is not on the {segment} team"
            if row["owner"] != expected:
                return f"lead {lead_id} is owned by {row['owner']}, not {expected}"
        return None

    def owner_check(self, args: dict[str, Any], request: str) -> str | None:
        """`route_lead`'s request check: the owner is the account executive of the lead's segment that the request
        names, else empty (the segment's queue). An executive named for another segment is not the owner (the
        segment's queue is). None when the call agrees; the segment itself is checked by `route_lead`.

        Measured: asked "Route lead L001 and assign it to Priya.", the router routed L001 with owner ''."""
        segment = args.get("segment")
        if segment not in TEAMS:
            return None
        queue, *executives = TEAMS[segment]
        named = [name for name in executives if re.search(rf"\b{re.escape(name)}\b", request, re.IGNORECASE)]
        owner = _owner_name(str(args.get("owner") or ""))
        if owner in executives and owner not in named:
            return prompts.OWNER_NOT_NAMED.format(owner=owner, queue=queue)
        if len(named) == 1 and owner != named[0]:
            return prompts.OWNER_NAMED.format(owner=named[0], segment=segment)
        return None

    def unlooked(self, actions: list[dict[str, Any]], request: str) -> str | None:
        """The researcher's completion check: the lead ids the request names that no `find_lead` call of this task
        looked up (found or not); None when there are none.

        Measured: asked to route L001, L003 and L010, the researcher looked up L001 only and answered."""
        looked = {str(a["args"].get("lead", "")).strip().upper() for a in actions
                  if a["tool"] == "find_lead" and a["outcome"] in LOOKED_UP}
        missing = [lead_id for lead_id in lead_ids_in(request) if lead_id not in looked]
        return prompts.UNLOOKED_LEADS.format(leads=", ".join(missing)) if missing else None

    def unrouted(self, actions: list[dict[str, Any]], request: str) -> str | None:
        """The router's completion check, when the request asks to route: the requested leads (by id, or found by
        what the request says) that exist, are not routed (re-read from the database), and that no human declined;
        for each, the segment the directory gives and, after a refused `route_lead`, that it must be called again.
        None when there are none.

        Measured: route_lead refused 'enterprise' for a gmail.com lead and named 'nurture'; the router answered
        "not routed because it belongs to segment 'nurture'". Asked for three leads, it routed one."""
        if not asks_for(ROUTE_INTENT, request):
            return None
        declined = {_lead_id_arg(a["args"]) for a in actions
                    if a["tool"] == "route_lead" and a["outcome"] in ("rejected", "refused")}
        undone = []
        for lead_id in dict.fromkeys([*lead_ids_in(request), *_found_by_request(actions, request)]):
            if lead_id in declined:
                continue
            try:
                lead = self._lead(lead_id)
            except LookupError:
                continue
            if lead["segment"] is not None:
                continue
            segment, why = self._segment_of(lead)
            tried = [str(a["args"].get("segment")) for a in actions if a["tool"] == "route_lead"
                     and _lead_id_arg(a["args"]) == lead_id and a["outcome"] == "error"]
            undone.append((prompts.ROUTE_AGAIN if tried else prompts.ROUTE_NOW).format(
                lead=lead_id, segment=segment, why=why, tried=", ".join(repr(t) for t in dict.fromkeys(tried))))
        return prompts.UNROUTED_LEADS.format(leads="; ".join(undone)) if undone else None

    def unstated(self, answer: str, actions: list[dict[str, Any]], request: str) -> str | None:
        """The router's answer check: the leads the request names (by id, or found by what it says) and the leads
        this task routed or a human declined, that the answer does not name by id, or, routed by this task, whose
        segment it does not name; with what happened to every one of them, read from the database, as sentences to
        copy. None when the answer says it all.

        Measured: asked for L017 and L012 (already routed), the router answered "The lead L017 was routed to
        mid-market."; asked to route Maya Patel's lead, "Maya Patel's lead was routed to the mid-market segment.";
        after routing L009 to enterprise, "The lead with id L009 was routed to the human for approval."."""
        attempted = [_lead_id_arg(a["args"]) for a in actions
                     if a["tool"] == "route_lead" and a["outcome"] in ("executed", "replayed", "rejected")]
        leads = [lead_id for lead_id in dict.fromkeys([*lead_ids_in(request),
                                                        *_found_by_request(actions, request), *attempted])
                 if LEAD_ID.fullmatch(lead_id)]
        named = set(lead_ids_in(answer))
        statuses = {lead_id: self._status(lead_id, actions) for lead_id in leads}
        lacking = [lead_id for lead_id, (kind, segment, _) in statuses.items() if lead_id not in named or (
            kind == "routed" and not re.search(rf"\b{segment.replace('-', '[- ]?')}\b", answer, re.IGNORECASE))]
        if not lacking:
            return None
        return prompts.UNSTATED_LEADS.format(leads=", ".join(lacking),
                                             statuses="; ".join(text for _, _, text in statuses.values()))

    def _status(self, lead_id: str, actions: list[dict[str, Any]]) -> tuple[str, str, str]:
        """What happened to a lead in this task, as the database and the task's `route_lead` calls tell it: its
        kind (a key of `prompts.LEAD_STATUS`), its segment ('' when not routed) and the sentence."""
        try:
            lead = self._lead(lead_id)
        except LookupError:
            return "missing", "", prompts.LEAD_STATUS["missing"].format(lead=lead_id)
        outcomes = {a["outcome"] for a in actions if a["tool"] == "route_lead"
                    and _lead_id_arg(a["args"]) == lead_id}
        if lead["segment"] is not None:
            kind = "routed" if outcomes & {"executed", "replayed"} else "already"
        else:
            kind = "declined" if "rejected" in outcomes else "unrouted"
        text = prompts.LEAD_STATUS[kind].format(lead=lead_id, segment=lead["segment"], owner=lead["owner"])
        return kind, lead["segment"] or "", text

    def _segment_of(self, lead: dict[str, Any]) -> tuple[str, str]:
        """The segment the directory gives a lead, and why."""
        company = None if lead["domain"] in FREE_MAIL_DOMAINS else self._company(lead["domain"])
        if company is None:
            why = (f"{lead['domain']} is a free e-mail provider" if lead["domain"] in FREE_MAIL_DOMAINS
                   else f"{lead['domain']} is not in the company directory") + ", so the company's size is unknown"
            return "nurture", why
        return segment_for(company["employees"]), f"{company['name']} has {company['employees']} employees"

    def _describe(self, row: Any) -> dict[str, Any]:
        routed = (f"already routed to {row['segment']} ({row['owner']})" if row["segment"] is not None
                  else "not routed yet")
        return {"lead_id": row["id"], "name": row["name"], "email": row["email"], "company": row["company"],
                "domain": row["domain"], "source": row["source"], "received_on": row["received_on"],
                "message_from_lead": row["message"], "routing": routed}

    def _lead(self, lead_id: str) -> dict[str, Any]:
        if not LEAD_ID.fullmatch(lead_id.strip()):
            raise LookupError(f"{lead_id!r} is not a lead id (they look like L001); find the lead with find_lead first")
        with closing(connect(self.db_path)) as conn:
            row = conn.execute("SELECT l.*, a.segment, a.owner FROM leads l LEFT JOIN assignments a "
                               "ON a.lead_id = l.id WHERE l.id = ?", (lead_id.strip().upper(),)).fetchone()
        if row is None:
            raise LookupError(f"no lead with id {lead_id!r}")
        return dict(row)

    def _company(self, domain: str) -> dict[str, Any] | None:
        with closing(connect(self.db_path)) as conn:
            row = conn.execute("SELECT * FROM companies WHERE domain = ?", (domain,)).fetchone()
        return None if row is None else dict(row)

    @staticmethod
    def _owner(segment: str, owner: str) -> str:
        """The assignment's owner: the segment's queue unless one of its account executives is named."""
        team = TEAMS[segment]
        name = _owner_name(owner)
        if not name or name in (segment, f"{segment} queue", "queue"):
            return team[0]
        if name not in team:
            raise ValueError(f"{owner!r} is not on the {segment} team ({', '.join(team)}); leave owner empty "
                             f"for the {team[0]}")
        return name


def lead_tools(desk: LeadDesk) -> list[ToolSpec]:
    """The lead desk's tool specs: two reads and one write (reconcilable, verified, its owner checked against the
    request).

    No intent: every run is a new lead to route. Grounding as inferred for the write (the lead id must have been
    read); `find_lead` searches only with what the request or a tool result gives (measured: asked for "Maya
    Patel", a 1.5B researcher looked up an invented 'M001' and reported that no lead was found)."""
    return [
        tool_spec(desk.find_lead, risk="read", scopes=("leads:read",), grounding={"lead": "seen"}),
        tool_spec(desk.enrich_company, risk="read", scopes=("companies:read",)),
        tool_spec(desk.route_lead, risk="write", scopes=("assignments:write",), reconcile=desk.reconcile_route,
                  verify=desk.verify_route, request_check=desk.owner_check, precheck=desk.refusal_of_route),
    ]
