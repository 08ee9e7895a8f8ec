"""The vulnerability watch: version ranges, risk rules, report checks, notices, its dataset, and one full run."""

from __future__ import annotations

import functools
import json
import os
import re
import tempfile
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from scripts import passes, plan
from taskwarden.evals.dataset import Case, dump_cases, load_dataset
from taskwarden.evals.scoring import check_answer
from taskwarden.graph import build_workflow
from taskwarden.testing import ScriptedChatModel, call, say
from taskwarden.tools.grounding import Evidence, check_grounding
from taskwarden.tools.kits.outbox import Outbox
from taskwarden.tools.ledger import Ledger
from taskwarden.tools.policy import PolicyGate
from taskwarden.workflows.vulnwatch.data import (
    FEED_FILE,
    OUTBOX_FILE,
    REPORTS_DIR,
    advisory,
    feed_entries,
    seed,
    write_json,
)
from taskwarden.workflows.vulnwatch.evaluation import DATASET, apply_setup, eval_workspace, generate_cases, observer
from taskwarden.workflows.vulnwatch.feed import FeedError, Install, load_feed, parse_advisory
from taskwarden.workflows.vulnwatch.risk import assess, severity
from taskwarden.workflows.vulnwatch.tools import VulnWatch
from taskwarden.workflows.vulnwatch.versions import VersionRange, parse_version
from taskwarden.workflows.vulnwatch.weeks import parse_week, request_week_problem, resolve_week
from taskwarden.workflows.vulnwatch.workflow import CRON_JOB, notification_policies, vulnerability_watch

TODAY = date(2026, 11, 21)
"""A Saturday of 2026-W47: last week is 2026-W46."""
LAST = "2026-W46"


@pytest.fixture
def watch(tmp_path):
    workflow = vulnerability_watch(tmp_path / "vulnwatch", today=lambda: TODAY)
    return workflow, {spec.name: spec.tool for spec in workflow.tools}, tmp_path / "vulnwatch"


def workflow_outbox(workflow):
    return workflow.registry.get("send_message").verify.__self__.outbox


def invoke(tools, name, **args):
    return json.loads(tools[name].invoke(args))


# versions and risk ------------------------------------------------------------------------------------------------

def test_versions_compare_number_by_number():
    assert parse_version("4.2.10") > parse_version("4.2.9")
    assert parse_version("15.5") == parse_version("15.5.0") and parse_version("1.0") < parse_version("1.0.1")
    for bad in ("1.0-rc1", "latest", "", "v1.2"):
        with pytest.raises(ValueError, match="is not a version"):
            parse_version(bad)


def test_version_ranges():
    rng = VersionRange.parse(">=4.2.0, <4.2.11")
    assert "4.2.10" in rng and "4.2.0" in rng and "4.2.11" not in rng and "4.1.9" not in rng
    assert "3.0.13" not in VersionRange.parse(">=3.0.0,<3.1.0,!=3.0.13")
    for bad in ("all versions", "", "<3.0,", "=>1.0"):
        with pytest.raises(ValueError, match="is not a clause"):
            VersionRange.parse(bad)


@pytest.mark.parametrize(("cvss", "band"), [(10.0, "critical"), (9.0, "critical"), (8.9, "high"), (7.0, "high"),
                                             (6.9, "medium"), (4.0, "medium"), (3.9, "low"), (0.0, "low")])
def test_cvss_bands(cvss, band):
    assert severity(cvss) == band


def _advisory(affected, fixed, cvss=9.8, package="openssl"):
    return parse_advisory({"id": "CVE-2026-0001", "package": package, "affected": affected, "fixed": fixed,
                           "cvss": cvss, "published": "2026-11-10", "summary": "x"})


@pytest.mark.parametrize(("package", "affected", "fixed", "version", "risk"), [
    ("openssl", "<3.0.14", "3.0.14", "3.0.13", "critical"),
    ("openssl", "<3.0.14", "3.0.14", "3.0.14", "not-affected"),       # at the fixed version
    ("openssl", "<3.0.14", "3.0.13", "3.0.13", "not-affected"),       # the fix wins over a sloppy range
    ("openssl", ">=3.1.0", None, "3.0.13", "not-affected"),           # below the range
    ("openssl", ">=3.0.0", None, "3.0.13", "critical"),               # no fix yet
    ("OpenSSL", "<3.0.14", "3.0.14", "3.0.13", "critical"),           # names compare case-insensitively
    ("openssl-fips", "<3.0.14", "3.0.14", "3.0.13", "not-affected"),  # another package
])
def test_risk_needs_an_affected_install(package, affected, fixed, version, risk):
    installs = [Install("openssl", version, "edge-proxy", "#platform-team", "@platform-oncall")]
    assessment = assess(_advisory(affected, fixed, package=package), installs)
    assert assessment.risk == risk
    assert assessment.must_report == (risk == "critical")


def test_assessment_says_why():
    installs = [Install("openssl", "3.0.14", "edge-proxy", "#platform-team", "@platform-oncall")]
    assert "we do not run struts2" == assess(_advisory("<1", "1", package="struts2"), installs).why
    assert "already fixed" in assess(_advisory("<3.0.14", "3.0.14"), installs).why


# weeks and requests -----------------------------------------------------------------------------------------------

def test_iso_weeks_are_parsed_strictly():
    assert parse_week("2020-W53") == (2020, 53) and parse_week("2026-W53") == (2026, 53)
    for bad, why in (("2021-W53", "2021 has weeks 01 to 52"), ("2026-W7", "two-digit"), ("2026W47", "two-digit"),
                     ("2026-w47", "two-digit"), ("2026-W00", "weeks 01 to 53")):
        with pytest.raises(ValueError, match=why):
            parse_week(bad)
    assert resolve_week("last", TODAY) == LAST and resolve_week("this week", TODAY) == "2026-W47"
    assert resolve_week("last", date(2027, 1, 4)) == "2026-W53"
    with pytest.raises(ValueError, match="give 'last'"):
        resolve_week("week 47", TODAY)


def test_requests_naming_a_bad_or_unfinished_week_are_refused():
    assert request_week_problem("Write the weekly vulnerability report for last week.", TODAY) is None
    assert request_week_problem("Report for 2026-W46 please", TODAY) is None
    assert "2026 has weeks 01 to 53" in request_week_problem("Report for 2026-W60", TODAY)
    assert "not over yet" in request_week_problem("Report for 2026-W47", TODAY)
    assert "not over yet" in request_week_problem("Report for 2099-W01", TODAY)
    assert "is not an ISO week" in request_week_problem("Report for 2026W46", TODAY)
    assert request_week_problem("Look at CVE-2026-0001", TODAY) is None
    # measured: asked for "this week", the model reported last week's advisories instead
    assert "this week (2026-W47) is not over yet" in request_week_problem("Report for this week.", TODAY)
    assert "2026-W47" in request_week_problem("Write the report for the current week", TODAY)


# the feed ---------------------------------------------------------------------------------------------------------

def test_unreadable_feeds_raise_clear_errors(tmp_path):
    path = tmp_path / "feed.json"
    with pytest.raises(FeedError, match="does not exist"):
        load_feed(path)
    path.write_text('[{"id": ', encoding="utf-8")
    with pytest.raises(FeedError, match="is not valid JSON"):
        load_feed(path)
    path.write_text('{"advisories": []}', encoding="utf-8")
    with pytest.raises(FeedError, match="must hold a JSON list"):
        load_feed(path)


def test_malformed_entries_are_skipped_with_the_reason(tmp_path):
    good = advisory(1, "openssl", "<3.0.14", "3.0.14", 9.8)
    entries = feed_entries([good, {**good, "cvss": 9.9}, {**advisory(2, "x", "<1", "1", 1.0), "cvss": 11},
                            {k: v for k, v in advisory(3, "x", "<1", "1", 1.0).items() if k != "summary"},
                            {**advisory(4, "x", "<1", "1", 1.0), "affected": "all"}], TODAY)
    write_json(tmp_path / "feed.json", [*entries, "not an object"])
    feed = load_feed(tmp_path / "feed.json")
    assert [a.id for a in feed.advisories] == ["CVE-2026-0001"] and feed.advisories[0].cvss == 9.8
    assert [(s.entry, s.id) for s in feed.skipped] == [(2, "CVE-2026-0001"), (3, "CVE-2026-0002"),
                                                       (4, "CVE-2026-0003"), (5, "CVE-2026-0004"), (6, None)]
    problems = [s.problem for s in feed.skipped]
    assert "duplicate" in problems[0] and "not a score" in problems[1] and "missing summary" in problems[2]
    assert "not a clause" in problems[3] and "JSON object" in problems[4]


def test_read_feed_gives_the_weeks_advisories(watch):
    _, tools, _ = watch
    result = invoke(tools, "read_feed", week="last")
    assert result["week"] == LAST and (result["from"], result["to"]) == ("2026-11-09", "2026-11-15")
    assert [a["id"] for a in result["advisories"]] == [f"CVE-2026-000{n}" for n in range(1, 7)]
    # each with its risk, computed in code: the analyst needs no model call per advisory (measured: a 1.5B
    # analyst made one classify_risk call per advisory, 9 in the demo week, for what code computes anyway)
    assert [(a["risk"], a["affects"]) for a in result["advisories"][:4]] == [
        ("critical", ["edge-proxy (3.0.13)"]), ("high", ["shop-web (4.2.10)"]), ("medium", ["media-service (10.2.0)"]),
        ("not-affected", [])]
    assert result["risk_rule"].startswith("risk = not-affected unless")
    assert [a["id"] for a in invoke(tools, "read_feed", week="2026-W45")["advisories"]] == ["CVE-2026-0008",
                                                                                              "CVE-2026-0007"]
    assert invoke(tools, "classify_risk", advisory_id="cve-2026-0001")["risk"] == "critical"
    inventory = invoke(tools, "check_inventory", package="Django")
    assert inventory["we_run_it"] and inventory["advisories"][0]["affects"] == ["shop-web (4.2.10)"]
    with pytest.raises(LookupError, match="no advisory"):
        tools["classify_risk"].invoke({"advisory_id": "CVE-2026-9999"})


# the report -------------------------------------------------------------------------------------------------------

GOOD_REPORT = f"# Vulnerability report {LAST}\n\n- CVE-2026-0001 critical\n- CVE-2026-0002 high\n- CVE-2026-0003 medium\n"


def test_write_report_checks_the_week(watch):
    _, tools, _ = watch
    with pytest.raises(ValueError, match="is not an ISO week"):
        tools["write_report"].invoke({"week": "last", "markdown": GOOD_REPORT})
    with pytest.raises(PermissionError, match="2026-W47 is not over yet"):
        tools["write_report"].invoke({"week": "2026-W47", "markdown": GOOD_REPORT})


def test_a_report_may_not_omit_affected_critical_or_high_advisories(watch):
    _, tools, data_dir = watch
    with pytest.raises(PermissionError, match=r"omits .*CVE-2026-0001 \(critical, openssl in edge-proxy\); "
                                              r"CVE-2026-0002 \(high, django in shop-web\)"):
        tools["write_report"].invoke({"week": LAST, "markdown": "# Report\n\nCVE-2026-0003 medium"})
    assert not list((data_dir / REPORTS_DIR).iterdir())
    with pytest.raises(PermissionError, match=r"does not name its week: give it a title like '# Vulnerability "
                                              r"report 2026-W46'; it does not give the risk of each affected advisory "
                                              r"\(on its line or in the heading above it\): CVE-2026-0002 is high"):
        # measured: "fixed" by saving "The report was not saved because it omits CVE-2026-0301 (critical, ...)"
        tools["write_report"].invoke({"week": LAST, "markdown": "CVE-2026-0001 (critical) and\nCVE-2026-0002."})
    # measured: a report grouped under "### Critical" / "### High" headings was refused by a line-only rule
    saved = invoke(tools, "write_report", week=LAST, markdown=f"# {LAST}\n### Critical\n- CVE-2026-0001: openssl\n"
                                                              "  - fixed in 3.0.14\n- CVE-2026-0002 (High)")
    assert saved["written"] and saved["mentions"] == ["CVE-2026-0001", "CVE-2026-0002"], "medium may be left out"


def test_a_report_may_not_mention_what_does_not_affect_us(watch):
    _, tools, _ = watch
    with pytest.raises(PermissionError) as refused:
        tools["write_report"].invoke({"week": LAST, "markdown": GOOD_REPORT + "CVE-2026-0004 CVE-2026-0005 "
                                                                              "CVE-2026-0008 CVE-2026-0999"})
    message = str(refused.value)
    assert "CVE-2026-0004 does not affect us (we do not run struts2)" in message
    assert "CVE-2026-0005 does not affect us" in message and "already fixed" in message
    assert "CVE-2026-0008 was published in 2026-W45, not in 2026-W46" in message
    assert "CVE-2026-0999 is not in the feed" in message


def test_a_week_is_reported_once(watch):
    _, tools, data_dir = watch
    assert invoke(tools, "write_report", week=LAST, markdown=GOOD_REPORT)["written"] is True
    assert (data_dir / REPORTS_DIR / f"{LAST}.md").read_text() == GOOD_REPORT.strip() + "\n"
    assert invoke(tools, "write_report", week=LAST, markdown=GOOD_REPORT + "\n")["written"] is False, "identical"
    with pytest.raises(PermissionError, match="already exists .* kept unchanged"):
        tools["write_report"].invoke({"week": LAST, "markdown": GOOD_REPORT + "More."})
    assert (data_dir / REPORTS_DIR / f"{LAST}.md").read_text() == GOOD_REPORT.strip() + "\n"
    assert list((data_dir / REPORTS_DIR).iterdir()) == [data_dir / REPORTS_DIR / f"{LAST}.md"], "no temp file left"


def test_report_reconciles_after_a_crash(watch):
    workflow, tools, _ = watch
    spec = workflow.registry.get("write_report")
    assert spec.reconcile({"week": LAST, "markdown": GOOD_REPORT}) is None
    tools["write_report"].invoke({"week": LAST, "markdown": GOOD_REPORT})
    assert json.loads(spec.reconcile({"week": LAST, "markdown": GOOD_REPORT}))["written"] is True
    assert spec.reconcile({"week": LAST, "markdown": "other"}) is None


def test_no_report_without_a_readable_feed(watch):
    _, tools, data_dir = watch
    (data_dir / FEED_FILE).write_text("[", encoding="utf-8")
    with pytest.raises(PermissionError, match="cannot be checked against the feed: .* is not valid JSON"):
        tools["write_report"].invoke({"week": LAST, "markdown": "A quiet week."})
    plan_ = invoke(tools, "notification_plan", week=LAST)
    assert [n["channel"] for n in plan_["pending"]] == ["#security"] and "alert" in plan_["pending"][0]["about"]
    with pytest.raises(PermissionError, match="no report can be drafted: the feed cannot be read"):
        tools["draft_report"].invoke({"week": LAST})


def test_draft_report_renders_what_write_report_accepts(watch):
    """Measured: the reporter (1.5B) kept saving 'A quiet week.' although each refusal named the high advisory,
    and a 9-advisory report written by hand was refused four times. The draft is rendered from the rules."""
    workflow, tools, data_dir = watch
    draft = invoke(tools, "draft_report", week=LAST)
    assert draft["markdown"] == (
        f"# Vulnerability report {LAST}\n\n"
        f"3 of the 6 advisories published in {LAST} affect the packages we run (1 critical, 1 high, 1 medium).\n\n"
        "## Critical\n\n- CVE-2026-0001 (critical, CVSS 9.8): openssl 3.0.13 in edge-proxy; upgrade to 3.0.14.\n\n"
        "## High\n\n- CVE-2026-0002 (high, CVSS 7.5): django 4.2.10 in shop-web; upgrade to 4.2.11.\n\n"
        "## Medium\n\n- CVE-2026-0003 (medium, CVSS 5.3): pillow 10.2.0 in media-service; upgrade to 10.3.0.")
    assert f"write_report(week='{LAST}'" in draft["note"]
    summaries = [a["summary"] for a in invoke(tools, "read_feed", week=LAST)["advisories"]]
    assert summaries and not any(summary in draft["markdown"] for summary in summaries), "feed text is not repeated"
    added = draft["markdown"].replace("\n\n", "\n\nPatch edge-proxy first.\n\n", 1)
    assert invoke(tools, "write_report", week=LAST, markdown=added)["mentions"] == [
        "CVE-2026-0001", "CVE-2026-0002", "CVE-2026-0003"]
    assert "already saved" in invoke(tools, "draft_report", week=LAST)["note"]
    with pytest.raises(PermissionError, match="2026-W47 is not over yet"):
        tools["draft_report"].invoke({"week": "2026-W47"})
    assert workflow.registry.get("draft_report").risk == "read"
    assert workflow.registry.get("draft_report").grounding == {"week": "observed"}
    assert "draft_report" in next(r for r in workflow.roles if r.name == "reporter").tools
    write_json(data_dir / FEED_FILE, feed_entries([advisory(301, "struts2", "<6.3.0.2", "6.3.0.2", 9.8),
                                                   {"id": "CVE-2026-0302", "cvss": "high"}], TODAY))
    quiet = invoke(tools, "draft_report", week="2026-W45")["markdown"]
    assert quiet == "# Vulnerability report 2026-W45\n\nA quiet week: no advisory was published in 2026-W45 for the packages we run."
    quiet = invoke(tools, "draft_report", week=LAST)["markdown"]
    assert "A quiet week: none of the 1 advisory published in 2026-W46 affects" in quiet
    assert "1 malformed feed entry was skipped" in quiet and "CVE-2026-0302" not in quiet


# notices and policies ---------------------------------------------------------------------------------------------

def test_notification_plan_lists_what_is_still_to_send(watch):
    _, tools, data_dir = watch
    assert invoke(tools, "notification_plan", week=LAST)["pending"] == []
    tools["write_report"].invoke({"week": LAST, "markdown": GOOD_REPORT})
    pending = invoke(tools, "notification_plan", week="last")["pending"]
    assert [(n["channel"], n["advisories"], n.get("page", False)) for n in pending] == [
        ("#security", ["CVE-2026-0001", "CVE-2026-0002", "CVE-2026-0003"], False),
        ("#platform-team", ["CVE-2026-0001"], False), ("#web-team", ["CVE-2026-0002"], False),
        ("@platform-oncall", ["CVE-2026-0001"], True)]
    tools["send_message"].invoke({"channel": "#security", "text": f"Report {LAST} is out."})
    with pytest.raises(ValueError, match="names the ISO week"):  # it could not be told apart from a pending one
        tools["send_message"].invoke({"channel": "#data-team", "text": "A message that names no week."})
    result = invoke(tools, "notification_plan", week=LAST)
    assert result["already_sent"] == ["#security"]
    assert [n["channel"] for n in result["pending"]] == ["#platform-team", "#web-team", "@platform-oncall"]


def test_a_notice_that_names_no_week_is_sent_naming_the_week_whose_report_has_it(watch):
    """Measured: a reviewer rewrote a page as "Critical: CVE-2026-0001 (openssl) affects edge-proxy; upgrade to
    3.0.14 today."; it was refused for naming no week, and the model resent it until the run was rejected."""
    workflow, tools, _ = watch
    page = {"channel": "@platform-oncall", "text": "Critical: CVE-2026-0001 (openssl) affects edge-proxy; upgrade to "
                                                   "3.0.14 today."}
    with pytest.raises(ValueError, match="names the ISO week"):
        tools["send_message"].invoke(page)  # no saved report has a notice for it: nothing to name
    tools["write_report"].invoke({"week": LAST, "markdown": GOOD_REPORT})
    spec = workflow.registry.get("send_message")
    assert spec.reconcile(page) is None
    result = tools["send_message"].invoke(page)
    assert spec.verify(page, result) is None and spec.reconcile(page) is not None, "the text as sent, with its week"
    plan = invoke(tools, "notification_plan", week=LAST)
    assert "@platform-oncall" in plan["already_sent"], "told apart from a pending one by the week it now names"
    [sent] = [m for m in workflow_outbox(workflow).messages("message") if m.recipient == "@platform-oncall"]
    assert sent.body == f"{page['text']} ({LAST})"


def test_messages_go_only_to_security_and_owning_teams_and_pages_need_approval(watch):
    workflow, _, _ = watch
    check = workflow.gate.check
    for channel in ("#security", "#web-team", "#platform-team"):
        assert check("send_message", {"channel": channel, "text": "x"}).outcome == "allow"
    for channel in ("#general", "@ceo", "security", "#Security", "customers@shop.example"):
        assert check("send_message", {"channel": channel, "text": "x"}).outcome == "forbid"
    decision = check("send_message", {"channel": "@platform-oncall", "text": "x"})
    assert decision.outcome == "require_approval" and "on-call" in decision.reason
    assert workflow.registry.get("send_email") is None, "the watch sends no e-mail"


def test_workflow_shape_and_schedule(watch):
    workflow, _, _ = watch
    assert [r.name for r in workflow.roles] == ["analyst", "reporter", "notifier"]
    assert all(workflow.registry.get(t).risk == "read" for t in workflow.role("analyst").tools)
    assert workflow.validate_request("Write the weekly vulnerability report for 2026-W60.")
    assert f"for {LAST}." in workflow.sample_requests[1]
    assert CRON_JOB["schedule"] == "0 8 * * 1"
    assert CRON_JOB["input"]["messages"][0]["content"] == workflow.sample_requests[0]
    assert workflow.validate_request(workflow.sample_requests[0]) is None


# reliability hooks ------------------------------------------------------------------------------------------------

def test_writes_are_verified_need_no_intent_and_name_only_weeks_and_channels_a_tool_named(watch):
    workflow, _, _ = watch
    writes = {spec.name: spec for spec in workflow.tools if spec.has_side_effects}
    assert sorted(writes) == ["send_message", "write_report"]
    assert all(spec.verify is not None and spec.intent is None for spec in writes.values())
    assert writes["write_report"].grounding == {"week": "observed"}  # read_feed's week, not a description's example
    assert writes["send_message"].grounding == {"channel": "observed"}
    assert writes["send_message"].reconcile is not None and writes["send_message"].risk == "irreversible"


def test_a_report_for_a_week_no_tool_showed_is_blocked(watch):
    """Measured on the embedded model: asked for last week (2026-W48), the reporter wrote 2026-W47, the example
    week of a tool description."""
    workflow, _, _ = watch
    spec = next(s for s in workflow.tools if s.name == "write_report")
    feed = json.dumps({"week": LAST, "advisories": []})
    [problem] = check_grounding(spec, {"week": "2026-W01", "markdown": "x"}, Evidence("last week's report", (feed,)))
    assert problem.argument == "week" and "no tool result" in problem.reason
    assert check_grounding(spec, {"week": LAST, "markdown": "x"}, Evidence("last week's report", (feed,))) == []


def test_the_week_announced_must_be_one_a_tool_showed(watch):
    """Measured on the embedded model: the notifier asked notification_plan about 2026-W47, a description's
    example, found nothing pending for it and announced nothing. A read is checked only where its tool declares
    a rule (lookups by id are what reads are for)."""
    workflow, _, _ = watch
    plan_spec, feed_spec = workflow.registry.get("notification_plan"), workflow.registry.get("read_feed")
    assert plan_spec.grounding == {"week": "observed"} and not plan_spec.has_side_effects
    feed = json.dumps({"week": LAST, "advisories": []})
    [problem] = check_grounding(plan_spec, {"week": "2026-W01"}, Evidence("last week's report", (feed,)))
    assert problem.argument == "week"
    assert check_grounding(plan_spec, {"week": LAST}, Evidence("last week's report", (feed,))) == []
    assert check_grounding(feed_spec, {"week": "2026-W01"}, Evidence("last week's report", ())) == []


def test_the_analysts_done_check_wants_the_feed_read(watch):
    workflow, tools, data_dir = watch
    check = workflow.role("analyst").done_check
    read = {"tool": "read_feed", "args": {"week": "last"}, "outcome": "executed", "summary": "",
            "observation": tools["read_feed"].invoke({"week": LAST})}
    assert check([read]) is None, "read_feed gives every advisory's risk: nothing left to classify"
    assert "call read_feed with the week the request names" in check([])
    bad_week = {"tool": "read_feed", "args": {"week": "2026-W99"}, "outcome": "error", "summary": ""}
    assert "call read_feed" in check([bad_week]), "a failed read of a readable feed is not an answer"
    (data_dir / FEED_FILE).write_text("[", encoding="utf-8")
    assert check([{**bad_week, "args": {"week": "last"}}]) is None, "the feed cannot be read: the answer says so"


def test_the_notifiers_done_check_wants_the_plan_of_a_week_a_tool_showed(watch):
    """Measured: every notification_plan call was blocked (a guessed week), so none ran, and the check found
    nothing pending."""
    workflow, tools, _ = watch
    check = workflow.role("notifier").done_check
    blocked = {"tool": "notification_plan", "args": {"week": "2023-W14"}, "outcome": "blocked", "summary": ""}
    assert "notification_plan has not run" in check([blocked])
    tools["write_report"].invoke({"week": LAST, "markdown": GOOD_REPORT})
    planned = {"tool": "notification_plan", "args": {"week": LAST}, "outcome": "executed", "summary": ""}
    assert "still lists" in check([blocked, planned])


def test_the_reporters_done_check_sends_back_a_report_refused_for_what_it_said(watch):
    """Measured on the embedded model: write_report refused "A quiet week." (it omitted a critical advisory)
    and the reporter answered "not saved because ..."; the evaluator passed that."""
    workflow, tools, data = watch
    check = workflow.role("reporter").done_check

    def write(markdown):
        try:
            return {"tool": "write_report", "args": {"week": LAST, "markdown": markdown}, "outcome": "executed",
                    "summary": "", "observation": tools["write_report"].invoke({"week": LAST, "markdown": markdown})}
        except Exception as exc:
            return {"tool": "write_report", "args": {"week": LAST, "markdown": markdown}, "outcome": "error",
                    "summary": "write_report(...) -> error", "errors": [f"{type(exc).__name__}: {exc}"]}

    assert "write_report was not called" in check([])
    refused = write("A quiet week.")
    assert refused["outcome"] == "error"
    assert "the last write_report call was refused (PermissionError: report not saved: " in check([refused])
    assert "it omits affected advisories" in check([refused])
    saved = write(GOOD_REPORT)
    assert check([refused, saved]) is None
    assert check([refused, saved, write("Another report.")]) is None  # the week's report is saved
    assert check([write("Another report.")]) is None  # "already exists": trying again cannot fix it
    (data / FEED_FILE).write_text("not json", encoding="utf-8")
    assert check([]) is None  # an unreadable feed: no report can be saved


def test_an_unreadable_feed_still_gives_the_week_and_the_alert_is_planned_for_it(watch):
    """Measured on the embedded model: with only read_feed's error to go on, the reporter and notifier guessed
    2026-W47 for last week (2026-W48); grounding blocked every call and the #security alert was never sent."""
    workflow, tools, data = watch
    (data / FEED_FILE).unlink()
    result = json.loads(tools["read_feed"].invoke({"week": "last"}))
    assert result["week"] == "2026-W46" and result["from"] == "2026-11-09" and result["to"] == "2026-11-15"
    assert "does not exist" in result["feed_error"] and "advisories" not in result
    assert "notification_plan with this week gives the alert" in result["note"]
    plan = json.loads(tools["notification_plan"].invoke({"week": result["week"]}))
    assert [n["channel"] for n in plan["pending"]] == ["#security"]
    assert workflow.role("analyst").done_check([{"tool": "read_feed", "args": {"week": "last"},
                                                 "outcome": "executed", "summary": ""}]) is None


def test_the_reporter_reads_the_analysts_tool_results_not_only_its_answer(watch):
    from taskwarden.graph.worker import worker_request

    workflow, _, _ = watch
    state = {"request": "last week's report", "dependency_results": {"t1": "The report was written."},
             "evidence": {"observations": ['{"advisory_id": "CVE-2026-0001", "risk": "critical"}'] * 2}}
    shown = worker_request(state, workflow.role("reporter"))
    assert shown.count("CVE-2026-0001") == 1 and "earlier tasks' tool results" in shown
    assert "CVE-2026-0001" not in worker_request(state, workflow.role("analyst"))
    # measured: told only "the report was written", the notifier guessed a week (2023-W14) nine times
    assert "CVE-2026-0001" in worker_request(state, workflow.role("notifier"))


def test_verify_report_rereads_the_saved_report(watch):
    workflow, tools, _ = watch
    verify = workflow.registry.get("write_report").verify
    args = {"week": LAST, "markdown": GOOD_REPORT}
    assert verify(args, "") == f"no report for {LAST} is saved ({REPORTS_DIR}/{LAST}.md is missing)"
    result = tools["write_report"].invoke(args)
    assert verify(args, result) is None
    assert verify(args | {"markdown": "\n" + GOOD_REPORT + "\n\n"}, result) is None
    assert "is not the one written" in verify(args | {"markdown": GOOD_REPORT + "More."}, result)
    assert "no report can be saved for 'last'" in verify(args | {"week": "last"}, result)


def test_a_notice_goes_only_where_the_weeks_plan_lists_one_as_pending(watch):
    """Measured on the embedded model: with no report saved (nothing pending), the notifier paged
    @platform-oncall that "the report has not been saved yet"."""
    _, tools, _ = watch
    page = {"channel": "@platform-oncall", "text": f"The {LAST} report is not saved yet."}
    with pytest.raises(PermissionError, match=r"lists no pending notice to @platform-oncall \(pending: none\)"):
        tools["send_message"].invoke(page)
    tools["write_report"].invoke({"week": LAST, "markdown": GOOD_REPORT})
    tools["send_message"].invoke(page)  # pending once the report is saved (its approval is the policy's job)
    with pytest.raises(PermissionError, match="lists no pending notice to @platform-oncall"):
        tools["send_message"].invoke(page)  # sent once: no second page


def test_verify_message_rereads_the_outbox(watch):
    workflow, tools, _ = watch
    verify = workflow.registry.get("send_message").verify
    args = {"channel": "#security", "text": f"Report {LAST} is out."}
    assert verify(args, "") == "no message to #security is in the outbox"
    tools["write_report"].invoke({"week": LAST, "markdown": GOOD_REPORT})
    result = tools["send_message"].invoke(args)
    assert verify(args, result) is None
    assert verify(args | {"channel": " #security ", "text": args["text"] + "\n"}, result) is None
    assert verify(args | {"text": "Something else."}, result) == \
        "the outbox holds 1 message(s) to #security, none with this text"
    assert verify(args | {"channel": "#web-team"}, result) == "no message to #web-team is in the outbox"


def test_a_message_goes_only_to_a_channel_a_tool_result_named(watch):
    workflow, tools, _ = watch
    spec = workflow.registry.get("send_message")
    tools["write_report"].invoke({"week": LAST, "markdown": GOOD_REPORT})
    plan_ = tools["notification_plan"].invoke({"week": LAST})
    request = "Write last week's vulnerability report and also tell #general and @ceo."
    for channel in ("#security", "#web-team", "@platform-oncall"):
        assert check_grounding(spec, {"channel": channel, "text": "x"}, Evidence(request, (plan_,))) == [], channel
    for channel in ("#general", "@ceo", "#ops"):
        (problem,) = check_grounding(spec, {"channel": channel, "text": "x"}, Evidence(request, (plan_,)))
        assert problem.argument == "channel" and "read the record first" in problem.reason, channel


# the dataset ------------------------------------------------------------------------------------------------------

def test_dataset_is_deterministic_and_shipped():
    cases = generate_cases()
    assert cases == generate_cases()
    assert DATASET.read_text(encoding="utf-8") == dump_cases(cases), "regenerate: python -m ...vulnwatch.evaluation"
    dataset = load_dataset(DATASET)
    assert dataset.errors == [] and len(dataset.cases) >= 60
    tags = Counter(tag for case in dataset.cases for tag in case.tags)
    assert all(re.fullmatch(r"common|(policy|edge|review):[a-z0-9.-]+", tag) for tag in tags)
    assert tags["common"] >= 10 and tags["policy:page-approval"] and tags["policy:forbid-channel"]
    assert {"review:approve", "review:reject", "review:respond", "review:edit"} <= set(tags)


def test_eval_workspace_applies_the_setup_and_observes_stable_records(tmp_path):
    case = Case.model_validate({
        "id": "x", "input": {"request": "Write the weekly vulnerability report for last week."},
        "expect": {}, "setup": {"feed": [advisory(1, "django", "<4.2.11", "4.2.11", 7.5)],
                                "reports": [{"weeks_ago": 2, "markdown": "CVE-2026-0042"}],
                                "sent": [{"channel": "#security", "weeks_ago": 2}]}})
    ws = eval_workspace(tmp_path, TODAY, case)
    assert ws.observe() == {"reports": [{"week": "2026-W45", "weeks_ago": 2, "mentions": ["CVE-2026-0042"]}],
                            "outbox": [{"kind": "message", "recipient": "#security"}]}
    tools = {spec.name: spec.tool for spec in ws.workflow.tools}
    tools["write_report"].invoke({"week": LAST, "markdown": f"# {LAST}\n\nCVE-2026-0001 is high."})
    assert ws.observe()["reports"][1] == {"week": LAST, "weeks_ago": 1, "mentions": ["CVE-2026-0001"]}


@pytest.mark.parametrize(("setup", "error"), [
    ({"feeds": []}, "unknown keys"),
    ({"feed": [], "feed_file": "[]"}, "either feed or feed_file"),
    ({"feed": [{"weeks_ago": 0, "weekday": 3}]}, "weekday 1"),
    ({"feed": [{"weekday": 8}]}, "weekday must be"),
    ({"feed": "x"}, "must be a list of objects"),
    ({"inventory": [{"package": "x", "version": "1", "service": "s", "channel": "general", "oncall": "@a"}]},
     "inventory entry 1: channel"),
    ({"reports": [{"weeks_ago": 0, "markdown": "x"}]}, "at least 1"),
    ({"sent": [{"channel": "#security"}]}, "channel, weeks_ago"),
])
def test_bad_setups_are_refused(tmp_path, setup, error):
    case = Case.model_validate({"id": "x", "input": {"request": "r"}, "expect": {}, "setup": setup})
    with pytest.raises(ValueError, match=error):
        eval_workspace(tmp_path, TODAY, case)


def _added(before, after):
    return {kind: list((Counter(map(_key, after[kind])) - Counter(map(_key, before[kind]))).elements())
            for kind in after}


def _key(record):
    return json.dumps(record, sort_keys=True)


def _matches(expected, record):
    return all(str(record.get(k)).lower() == str(v).lower() if isinstance(v, str) else record.get(k) == v
               for k, v in expected.items())


def follow_the_rules(case: Case, workdir, today):
    """What a run that does exactly what the tools and policies say changes, and whether it asked a human.

    It calls the tools' methods directly: building the workflow's tool schemas for 200 runs takes too long."""
    data_dir = seed(workdir, today, reset=True)
    apply_setup(data_dir, today, case.setup)
    watch, observe = VulnWatch(data_dir, lambda: today), observer(data_dir, today)
    gate, before = PolicyGate(tuple(notification_policies(watch.inventory()))), observe()
    if request_week_problem(case.request, today):
        return "failed", False, _added(before, observe())
    named = re.search(r"\d{4}-W\d{2}", case.request)
    week = resolve_week(named[0] if named else "this" if "this week" in case.request else "last", today)
    feed = json.loads(watch.read_feed(week))
    if "feed_error" not in feed:
        for entry in feed["advisories"]:
            watch.classify_risk(entry["id"])
        try:  # the draft, saved as it is: so every case's labels are met by draft_report's rendering
            report = {"week": week, "markdown": json.loads(watch.draft_report(week))["markdown"]}
            assert watch.verify_report(report, watch.write_report(**report)) is None
            assert check_answer(case, report["markdown"]) == [], case.id  # the report is the run's answer
        except PermissionError:
            pass
    outsiders = re.findall(r"(?<![\w@])[#@][a-z][\w-]*", case.request + json.dumps(case.setup.get("feed", [])))
    for channel in outsiders:
        assert gate.check("send_message", {"channel": channel, "text": "x"}).outcome == "forbid", channel
    reviewed, plan_ = False, watch.notification_plan(week)
    for notice in json.loads(plan_)["pending"]:
        args = {"channel": notice["channel"], "text": f"{week}: {notice['about']}"}
        assert check_grounding(_send_spec(), args, Evidence(case.request, (plan_,))) == [], case.id
        decision = gate.check("send_message", args)
        assert decision.outcome != "forbid"
        if decision.outcome == "require_approval":
            reviewed = True
            if case.reviewer.decision not in ("approve", "edit"):
                continue
            args.update(case.reviewer.args)
        assert watch.verify_message(args, watch.send_message(**args)) is None, case.id  # the rules of the tool
    return "completed", reviewed, _added(before, observe())


@functools.cache
def _send_spec():
    """send_message's spec, built once (only its schema and grounding rules are used)."""
    with tempfile.TemporaryDirectory() as scratch_dir:
        return vulnerability_watch(Path(scratch_dir), today=lambda: TODAY).registry.get("send_message")


@pytest.fixture
def scratch(tmp_path):
    """A scratch directory in memory where there is one: 600 SQLite commits on disk take seconds."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    with tempfile.TemporaryDirectory(dir=shm, prefix="vulnwatch-test-") as path:
        yield Path(path)


@pytest.mark.parametrize("today", [TODAY, date(2026, 11, 23), date(2027, 1, 10)], ids=["sat", "mon", "sun-53"])
def test_every_case_is_met_by_a_run_that_follows_the_rules(scratch, today):
    """The labels agree with the rules in code, whatever day the evaluation runs (2027-01-10: last week is W53)."""
    for number, case in enumerate(load_dataset(DATASET).cases):
        status, reviewed, added = follow_the_rules(case, scratch / str(number), today)
        expect = case.expect
        assert expect.status in ("any", status), case.id
        assert reviewed == expect.review, case.id
        for kind in added:
            unmatched = list(added[kind])
            for wanted in expect.effects.get(kind, []):
                hit = next((r for r in unmatched if _matches(wanted, json.loads(r))), None)
                assert hit is not None, (case.id, kind, wanted, unmatched)
                unmatched.remove(hit)
            assert unmatched == [], (case.id, kind, "unwanted", unmatched)


# one full run on scripted models ----------------------------------------------------------------------------------

def test_weekly_run_reports_notifies_and_pages_with_approval(tmp_path):
    workflow = vulnerability_watch(tmp_path / "vulnwatch", today=lambda: TODAY)
    report = (f"# Vulnerability report {LAST}\n\n- CVE-2026-0001 (critical): openssl 3.0.13 in edge-proxy, "
              "upgrade to 3.0.14\n- CVE-2026-0002 (high): django 4.2.10 in shop-web, upgrade to 4.2.11\n"
              "- CVE-2026-0003 (medium): pillow 10.2.0 in media-service, upgrade to 10.3.0\n")
    sends = [call("send_message", when="(t3)", channel=channel, text=f"{LAST}: {text}")
             for channel, text in (("#security", "report saved, 3 advisories affect us"),
                                   ("#platform-team", "CVE-2026-0001 affects edge-proxy"),
                                   ("#web-team", "CVE-2026-0002 affects shop-web"),
                                   ("@platform-oncall", "critical CVE-2026-0001 on edge-proxy"))]
    models = {
        "orchestrator": ScriptedChatModel(script=[plan(("t1", "analyst", "Read and classify last week", ()),
                                                       ("t2", "reporter", "Write the report", ("t1",)),
                                                       ("t3", "notifier", "Announce it", ("t2",)))]),
        "worker": ScriptedChatModel(script=[
            call("read_feed", when="(t1)", week="last"),
            *[call("classify_risk", when="(t1)", advisory_id=f"CVE-2026-000{n}") for n in range(1, 7)],
            say(f"{LAST}: CVE-2026-0001 critical, CVE-2026-0002 high, CVE-2026-0003 medium; others not affected.",
                when="(t1)"),
            call("write_report", when="(t2)", week=LAST, markdown="CVE-2026-0003 only."),
            call("write_report", when="(t2)", week=LAST, markdown=report),
            say(f"Saved reports/{LAST}.md", when="(t2)"),
            call("notification_plan", when="(t3)", week=LAST), *sends,
            say("Notified #security, #platform-team, #web-team and paged @platform-oncall.", when="(t3)")]),
        "evaluator": ScriptedChatModel(script=passes(3)),
    }
    graph = build_workflow(workflow, models=models, checkpointer=InMemorySaver(), ledger=Ledger(tmp_path / "l.db"),
                           store=None, audit=None)
    config = {"configurable": {"thread_id": "vulnwatch-1"}}
    graph.invoke({"messages": [("user", CRON_JOB["input"]["messages"][0]["content"])]}, config)

    (pending,) = graph.get_state(config).interrupts
    assert pending.value["action_requests"][0]["args"]["channel"] == "@platform-oncall"
    outbox = Outbox(tmp_path / "vulnwatch" / OUTBOX_FILE)
    assert [m.recipient for m in outbox.messages()] == ["#security", "#platform-team", "#web-team"]
    out = graph.invoke(Command(resume={"decisions": [{"type": "approve"}]}), config)

    assert out["status"] == "completed" and out["final_answer"] == report.strip()
    assert [m.recipient for m in outbox.messages()] == ["#security", "#platform-team", "#web-team", "@platform-oncall"]
    refused = out["tasks"]["t2"]["actions"][0]
    assert refused["outcome"] == "error" and "omits affected advisories" in refused["summary"]
    assert (tmp_path / "vulnwatch" / REPORTS_DIR / f"{LAST}.md").read_text() == report.strip() + "\n"
    analyst_tools = next(c.tools for c in models["worker"].calls if "(t1)" in c.prompt)
    assert analyst_tools == ["read_feed", "check_inventory", "classify_risk"]
    for model in models.values():
        model.assert_complete()
