"""Lead routing: the tools' business rules, the webhook input, the evaluation dataset and workspace,
and the whole graph on scripted models."""

from __future__ import annotations

import json
from datetime import date

import pytest
from langgraph.types import Command

from scripts import passes, plan
from taskwarden.evals.dataset import Case, dump_cases, load_dataset
from taskwarden.graph.reliability import Reliability
from taskwarden.testing import call, say
from taskwarden.tools.grounding import Evidence, check_grounding
from taskwarden.workflows.leads import evaluation
from taskwarden.workflows.leads.db import assignments, seed
from taskwarden.workflows.leads.tools import LEAD_ID as LEAD_IDS
from taskwarden.workflows.leads.tools import LeadDesk, lead_tools, segment_for
from taskwarden.workflows.leads.workflow import NewLead, lead_router

TODAY = date(2026, 11, 21)
CFG = {"configurable": {"thread_id": "leads-1"}}
LEAD_PLAN = plan(("t1", "researcher", "Find the lead and enrich its company", ()),
                 ("t2", "router", "Route the lead", ("t1",)))


@pytest.fixture
def leads_db(tmp_path):
    return seed(tmp_path / "leads.db", TODAY)


@pytest.fixture
def desk(leads_db):
    return LeadDesk(db_path=leads_db, today=lambda: TODAY)


@pytest.mark.parametrize(("domain", "employees", "segment"), [
    ("solo-studio.io", 1, "smb"), ("tenfold.dev", 10, "smb"), ("elevenhq.com", 11, "mid-market"),
    ("dozenbakery.com", 12, "mid-market"), ("harborview.com", 499, "mid-market"), ("quincymfg.com", 500, "mid-market"),
    ("pinnaclefoods.com", 501, "enterprise"), ("globex.com", 5000, "enterprise")])
def test_enrichment_gives_the_size_and_the_segment_at_every_boundary(desk, domain, employees, segment):
    found = json.loads(desk.enrich_company(domain))
    assert (found["employees"], found["segment"]) == (employees, segment)
    assert segment_for(employees) == segment


def test_enrichment_accepts_an_email_or_a_web_address(desk):
    assert json.loads(desk.enrich_company("maya@Acme-Logistics.com"))["company"] == "Acme Logistics"
    assert json.loads(desk.enrich_company("https://www.globex.com/about"))["employees"] == 5000


@pytest.mark.parametrize(("domain", "why"), [("gmail.com", "free e-mail provider"), ("fjordly.app", "no company")])
def test_free_mail_and_unknown_domains_cannot_be_enriched_and_point_to_nurture(desk, domain, why):
    with pytest.raises(LookupError, match=why) as info:
        desk.enrich_company(domain)
    assert "nurture" in str(info.value)
    with pytest.raises(ValueError, match="not a domain"):
        desk.enrich_company("acme")


def test_find_lead_by_id_email_name_or_company(desk):
    assert json.loads(desk.find_lead("l001"))["email"] == "maya@acme-logistics.com"
    assert json.loads(desk.find_lead("KEN@harborview.com"))["lead_id"] == "L006"
    assert json.loads(desk.find_lead("Acme"))["lead_id"] == "L001"
    assert json.loads(desk.find_lead("Globex Corporation"))["lead_id"] == "L009", "the directory's name matches too"
    assert json.loads(desk.find_lead("Sam Ortiz"))["lead_id"] == "L018"
    assert json.loads(desk.find_lead("L012"))["routing"] == "already routed to mid-market (mid-market-queue)"
    several = json.loads(desk.find_lead(".com"))
    assert len(several["matches"]) > 1 and "name one by its lead id" in several["note"]
    with pytest.raises(LookupError, match="no lead matches 'L099'"):
        desk.find_lead("L099")


def test_route_lead_records_the_segment_once(desk, leads_db):
    routed = json.loads(desk.route_lead("L001", "mid-market", "Acme Logistics, 120 employees"))
    assert routed == {"lead_id": "L001", "segment": "mid-market", "owner": "mid-market-queue", "status": "routed"}
    assert [(a["lead_id"], a["segment"], a["assigned_on"]) for a in assignments(leads_db)] == [
        ("L001", "mid-market", TODAY.isoformat()), ("L012", "mid-market", "2026-11-16")]
    with pytest.raises(PermissionError, match="already routed to mid-market"):
        desk.route_lead("L001", "mid-market", "again")
    assert desk.reconcile_route({"lead_id": "L001", "segment": "mid-market"}) is not None
    assert desk.reconcile_route({"lead_id": "L002", "segment": "smb"}) is None


@pytest.mark.parametrize(("lead_id", "asked", "correct"), [
    ("L001", "smb", "mid-market"), ("L003", "mid-market", "smb"), ("L007", "enterprise", "mid-market"),
    ("L008", "mid-market", "enterprise"), ("L010", "smb", "nurture"), ("L011", "enterprise", "nurture"),
    ("L009", "nurture", "enterprise")])
def test_a_segment_that_disagrees_with_the_directory_is_refused_naming_the_right_one(desk, leads_db, lead_id, asked,
                                                                                     correct):
    with pytest.raises(PermissionError, match=f"belongs to segment '{correct}'"):
        desk.route_lead(lead_id, asked, "the request said so")
    assert [a["lead_id"] for a in assignments(leads_db)] == ["L012"]


def test_leads_without_an_enrichable_company_go_to_nurture(desk):
    assert json.loads(desk.route_lead("L010", "nurture", "gmail address"))["owner"] == "nurture-queue"
    assert json.loads(desk.route_lead("L011", "nurture", "fjordly.app unknown"))["segment"] == "nurture"


def test_owners_come_from_the_segments_team(desk):
    assert json.loads(desk.route_lead("L001", "mid-market", "Acme", owner="@Priya"))["owner"] == "priya"
    assert json.loads(desk.route_lead("L003", "smb", "Tenfold", owner="smb queue"))["owner"] == "smb-queue"
    with pytest.raises(ValueError, match="'dana' is not on the smb team"):
        desk.route_lead("L002", "smb", "Solo Studio", owner="dana")


def test_unknown_or_malformed_lead_ids_are_refused(desk):
    with pytest.raises(LookupError, match="no lead with id 'L099'"):
        desk.route_lead("L099", "smb", "x")
    with pytest.raises(LookupError, match="not a lead id"):
        desk.route_lead("maya@acme-logistics.com", "mid-market", "x")


def test_route_lead_is_verified_and_needs_no_intent(desk):
    (route,) = [spec for spec in lead_tools(desk) if spec.has_side_effects]
    assert route.name == "route_lead" and route.verify is not None
    assert route.intent is None, "every run of lead routing is a request to route"
    assert route.grounding is None, "the lead id is inferred as read-before-write; segment and owner are checked in code"


def test_verify_route_rereads_the_assignments(desk):
    args = {"lead_id": "L001", "segment": "mid-market", "reason": "Acme, 120"}
    assert desk.verify_route(args, "") == "lead L001 has no assignment"
    result = desk.route_lead(**args)
    assert desk.verify_route(args, result) is None
    assert desk.verify_route(args | {"lead_id": "l001"}, result) is None
    assert desk.verify_route(args | {"segment": "smb"}, result) == \
        "lead L001 is assigned to mid-market (mid-market-queue), not smb"
    assert desk.verify_route(args | {"owner": "priya"}, result) == "lead L001 is owned by mid-market-queue, not priya"
    assert "'dana' is not on the mid-market team" in desk.verify_route(args | {"owner": "dana"}, result)
    owned = {"lead_id": "L019", "segment": "mid-market", "reason": "Orbit", "owner": "@Marco"}
    assert desk.verify_route(owned, desk.route_lead(**owned)) is None


def test_every_expected_route_is_grounded_once_the_lead_was_read_and_then_verified(tmp_path):
    """What a careful router does in each case (find the lead, route it) passes grounding and verification;
    the same call before any read is blocked (look before act)."""
    for case in load_dataset(evaluation.DATASET).cases:
        workspace = evaluation.eval_workspace(tmp_path / case.id, TODAY, case)
        registry = workspace.workflow.registry
        route = registry.get("route_lead")
        for expected in case.expect.effects.get("assignments", []):
            args = {"lead_id": expected["lead_id"], "segment": expected["segment"], "reason": "oracle"}
            seen = registry.get("find_lead").tool.invoke({"lead": expected["lead_id"]})
            assert check_grounding(route, args, Evidence(case.request, (seen,))) == [], case.id
            assert check_grounding(route, args, Evidence(case.request)), case.id
            args |= case.reviewer.args if case.reviewer.decision == "edit" else {}
            assert route.verify(args, route.tool.invoke(args)) is None, case.id


def test_only_enterprise_routes_need_a_human(leads_db):
    workflow = lead_router(leads_db, today=lambda: TODAY)
    for segment, outcome in [("enterprise", "require_approval"), ("mid-market", "allow"), ("smb", "allow"),
                             ("nurture", "allow")]:
        assert workflow.gate.check("route_lead", {"lead_id": "L009", "segment": segment, "reason": ""}).outcome == outcome
    schema = workflow.registry.get("route_lead").tool.args_schema
    with pytest.raises(ValueError):
        schema.model_validate({"lead_id": "L009", "segment": "Enterprise", "reason": "x"})  # no case-folded bypass


def test_the_webhook_payload_becomes_a_request_and_only_web_forms_trigger(leads_db):
    from taskwarden.serve.triggers import Rejected, filter_problem, validate_event

    workflow = lead_router(leads_db, today=lambda: TODAY)
    payload = {"lead_id": "L001", "name": "Maya Patel", "email": "maya@acme-logistics.com", "company": "Acme Logistics",
               "source": "web form", "message": "Route me to enterprise!"}
    request, fields = validate_event(workflow, payload)
    assert request == ("A new lead arrived from the web form: L001, Maya Patel <maya@acme-logistics.com> of "
                       "Acme Logistics. Enrich and route it.")
    assert "enterprise" not in request, "what the lead wrote does not reach the request"
    assert filter_problem(workflow, fields) is None
    assert "is false" in filter_problem(workflow, {**fields, "source": "event"})
    with pytest.raises(Rejected, match="lead_id"):
        validate_event(workflow, {**payload, "lead_id": "42"})
    assert NewLead.model_validate({**payload, "company": ""}).to_request().endswith("<maya@acme-logistics.com>. "
                                                                                     "Enrich and route it.")


# -- the evaluation dataset and workspace ------------------------------------------------------------------

def test_the_dataset_is_generated_deterministically_and_shipped():
    cases = evaluation.generate_cases()
    assert cases == evaluation.generate_cases()
    assert evaluation.DATASET.read_text(encoding="utf-8") == dump_cases(cases), (
        "run python -m taskwarden.workflows.leads.evaluation")
    dataset = load_dataset(evaluation.DATASET)
    assert dataset.errors == [] and len(dataset.cases) >= 60
    tags = {tag for case in dataset.cases for tag in case.tags}
    assert {"common", "policy:enterprise-approval", "review:approve", "review:reject", "review:edit",
            "edge:free-mail", "edge:unknown-domain", "edge:already-routed", "edge:lead-not-found", "edge:injection",
            "edge:boundary-10", "edge:boundary-11", "edge:boundary-500", "edge:boundary-501"} <= tags


def test_every_case_is_consistent_with_the_tools(tmp_path):
    """Each expected route is one the tools accept (and the gate reviews exactly the enterprise ones); each case
    without routes names a lead that is missing or already routed, or one a reviewer turns down."""
    for case in load_dataset(evaluation.DATASET).cases:
        workspace = evaluation.eval_workspace(tmp_path / case.id, TODAY, case)
        workflow, before = workspace.workflow, workspace.observe()["assignments"]
        routes = case.expect.effects.get("assignments", [])
        for route in routes:
            args = {"lead_id": route["lead_id"], "segment": route["segment"], "reason": "oracle"}
            if case.reviewer.decision == "edit":
                args.update(case.reviewer.args)
            elif route.get("owner"):
                args["owner"] = route["owner"]
            workflow.registry.get("route_lead").tool.invoke(args)
        reviewed = any(workflow.gate.check("route_lead", {**r, "reason": ""}).outcome == "require_approval"
                       for r in routes)
        after = workspace.observe()["assignments"]
        added = [row for row in after if row not in before]
        assert len(added) == len(routes), case.id
        for route, row in zip(sorted(routes, key=lambda r: r["lead_id"]), added):
            assert {key: row[key] for key in route} == route, case.id
        if routes:
            assert case.expect.review == reviewed, case.id
        else:
            assert any(tag in case.tags for tag in ("edge:already-routed", "edge:lead-not-found")) or (
                case.expect.review and case.reviewer.decision in ("reject", "respond")), case.id


def test_the_workspace_seeds_applies_the_setup_and_observes_routes(tmp_path):
    case = Case.model_validate({
        "id": "x", "input": {"request": "Route lead L021."}, "expect": {},
        "setup": {"companies": [{"domain": "new.co", "name": "New Co", "employees": 11}],
                  "leads": [{"id": "L021", "name": "Jo", "email": "jo@new.co"}],
                  "assignments": [{"lead_id": "L002", "segment": "smb"}]}})
    workspace = evaluation.eval_workspace(tmp_path, TODAY, case)
    before = workspace.observe()
    assert before == {"assignments": [{"lead_id": "L002", "segment": "smb", "owner": "smb-queue"},
                                      {"lead_id": "L012", "segment": "mid-market", "owner": "mid-market-queue"}]}
    workspace.workflow.registry.get("route_lead").tool.invoke({"lead_id": "L021", "segment": "mid-market", "reason": "x"})
    assert {"lead_id": "L021", "segment": "mid-market", "owner": "mid-market-queue"} in workspace.observe()["assignments"]
    assert workspace.workflow.registry.get("find_lead").tool.invoke({"lead": "L021"}).count(TODAY.isoformat()) == 1


@pytest.mark.parametrize(("setup", "problem"), [
    ({"leads": [{"id": "21", "name": "Jo", "email": "jo@new.co"}]}, "invalid setup: leads.0.id"),
    ({"customers": []}, "invalid setup: customers"),
    ({"leads": [{"id": "L001", "name": "Jo", "email": "jo@new.co"}]}, "conflicts with the seeded data"),
    ({"assignments": [{"lead_id": "L099", "segment": "smb"}]}, "conflicts with the seeded data")])
def test_a_bad_setup_is_refused_clearly(tmp_path, setup, problem):
    case = Case.model_validate({"id": "bad", "input": {"request": "Route lead L001."}, "expect": {}, "setup": setup})
    with pytest.raises(ValueError, match=problem):
        evaluation.eval_workspace(tmp_path, TODAY, case)


# -- the whole graph on scripted models ---------------------------------------------------------------

def research(lead_id, domain, answer):
    return [call("find_lead", when="(t1)", lead=lead_id), call("enrich_company", when="(t1)", domain=domain),
            say(answer, when="(t1)")]


def test_an_smb_lead_is_routed_without_review(make_graph, leads_db):
    graph, models = make_graph(
        workflow=lead_router(leads_db, today=lambda: TODAY),
        orchestrator=[LEAD_PLAN],
        worker=[*research("L002", "solo-studio.io", "L002: Solo Studio, 1 employee, segment smb."),
                call("route_lead", when="(t2)", lead_id="L002", segment="smb", reason="Solo Studio, 1 employee"),
                say("Lead L002 was routed to smb.", when="(t2)")],
        evaluator=passes(2),
    )
    out = graph.invoke({"messages": [("user", "Route lead L002.")]}, CFG)
    assert out["status"] == "completed" and not graph.get_state(CFG).interrupts
    assert out["final_answer"] == "Lead L002 was routed to smb."
    assert [(a["lead_id"], a["segment"]) for a in assignments(leads_db)] == [("L002", "smb"), ("L012", "mid-market")]
    router_call = next(c for c in models["worker"].calls if "(t2)" in c.prompt)
    assert router_call.tools == ["find_lead", "route_lead"]


def test_a_wrong_segment_is_refused_and_the_router_corrects_it(make_graph, leads_db):
    graph, models = make_graph(
        workflow=lead_router(leads_db, today=lambda: TODAY),
        orchestrator=[LEAD_PLAN],
        worker=[*research("L001", "acme-logistics.com", "L001: Acme Logistics, 120 employees, mid-market."),
                call("route_lead", when="(t2)", lead_id="L001", segment="smb", reason="requester said small"),
                call("route_lead", when="belongs to segment 'mid-market'", lead_id="L001", segment="mid-market",
                     reason="Acme Logistics, 120 employees"),
                say("Lead L001 was routed to mid-market.", when="(t2)")],
        evaluator=passes(2),
    )
    out = graph.invoke({"messages": [("user", "Route lead L001 to smb.")]}, CFG)
    assert out["status"] == "completed"
    assert [a["outcome"] for a in out["tasks"]["t2"]["actions"]] == ["error", "executed"]
    assert ("L001", "mid-market") in [(a["lead_id"], a["segment"]) for a in assignments(leads_db)]


@pytest.mark.parametrize(("decision", "routed"), [({"type": "approve"}, True),
                                                  ({"type": "reject", "message": "Existing customer."}, False)])
def test_an_enterprise_lead_pauses_for_a_human(make_graph, leads_db, decision, routed):
    answer = "Lead L009 was routed to enterprise." if routed else "Lead L009 was not routed: the reviewer rejected it."
    graph, _ = make_graph(
        workflow=lead_router(leads_db, today=lambda: TODAY),
        orchestrator=[LEAD_PLAN],
        worker=[*research("L009", "globex.com", "L009: Globex Corporation, 5000 employees, enterprise."),
                call("route_lead", when="(t2)", lead_id="L009", segment="enterprise", reason="Globex, 5000 employees"),
                say(answer, when="(t2)")],
        evaluator=passes(2),
    )
    graph.invoke({"messages": [("user", "Route lead L009.")]}, CFG)
    (pending,) = graph.get_state(CFG).interrupts
    (action,) = pending.value["action_requests"]
    assert action["name"] == "route_lead" and action["args"]["segment"] == "enterprise"
    assert action["description"].startswith("Leads from companies over 500 employees go to a human")
    assert [a["lead_id"] for a in assignments(leads_db)] == ["L012"], "nothing is routed before the decision"

    out = graph.invoke(Command(resume={"decisions": [decision]}), CFG)
    assert out["status"] == "completed" and out["final_answer"] == answer
    assert (("L009", "enterprise") in [(a["lead_id"], a["segment"]) for a in assignments(leads_db)]) == routed


# -- done checks and grounded lookups (measured failures of the embedded model) ----------------------------------

def test_a_lookup_by_a_made_up_id_is_blocked_one_by_what_the_request_gives_is_not(desk):
    """Measured: asked to route "Maya Patel"'s lead, the researcher looked up an invented 'M001'."""
    find = lead_tools(desk)[0]
    request = "Maya Patel filled in our web form; route her lead."
    [problem] = check_grounding(find, {"lead": "M001"}, Evidence(request))
    assert problem.mechanism == "grounding" and "neither in the request nor in any tool result" in problem.reason
    assert check_grounding(find, {"lead": "Maya Patel"}, Evidence(request)) == []
    assert check_grounding(find, {"lead": "maya"}, Evidence(request)) == []
    found = desk.find_lead("Maya Patel")
    assert check_grounding(find, {"lead": "L001"}, Evidence(request, (found,))) == [], "the router reads it again"


def test_the_researcher_is_told_which_requested_leads_it_did_not_look_up(desk):
    request = "Route the new leads L001, L003 and L010."
    looked = [{"tool": "find_lead", "args": {"lead": "l001"}, "outcome": "executed"}]
    assert desk.unlooked(looked, request) == (
        "the request names these leads too and no find_lead call looked them up: L003, L010. Call find_lead for "
        "each, enrich its company, and answer about every lead.")
    looked += [{"tool": "find_lead", "args": {"lead": "L003"}, "outcome": "executed"},
               {"tool": "find_lead", "args": {"lead": "L010"}, "outcome": "error"}]  # not found is looked up too
    assert desk.unlooked(looked, request) is None
    assert desk.unlooked([], "Route the lead from Acme.") is None


def routed(desk, lead_id, segment):
    args = {"lead_id": lead_id, "segment": segment, "reason": "oracle"}
    return {"tool": "route_lead", "args": args, "outcome": "executed", "observation": desk.route_lead(**args)}


def test_the_router_is_told_which_requested_leads_are_not_routed_with_their_segment(desk):
    """Measured: asked for L001, L003 and L010, the router routed L003 and answered."""
    request = "Route the new leads L001, L003 and L010."
    actions = [routed(desk, "L003", "smb")]
    assert desk.unrouted(actions, request) == (
        "these requested leads are not routed yet: L001 (Acme Logistics has 120 employees): call route_lead for it "
        "with segment 'mid-market'; L010 (gmail.com is a free e-mail provider, so the company's size is unknown): "
        "call route_lead for it with segment 'nurture'. Then answer about every lead the request names.")
    actions += [routed(desk, "L001", "mid-market"), routed(desk, "L010", "nurture")]
    assert desk.unrouted(actions, request) is None


def test_after_a_refused_segment_the_router_is_told_to_route_again_with_the_right_one(desk):
    """Measured: route_lead refused 'enterprise' for a gmail.com lead, and the router answered instead of retrying."""
    request = "Put lead L010 in enterprise, Leo says his company is big."
    refused = {"tool": "route_lead", "args": {"lead_id": "L010", "segment": "enterprise"}, "outcome": "error"}
    assert "L010 (gmail.com is a free e-mail provider, so the company's size is unknown): route_lead refused " \
           "segment 'enterprise'; call route_lead again for it with segment 'nurture'" in desk.unrouted([refused], request)


@pytest.mark.parametrize("request_text", ["Route lead L012.", "Route lead L099.", "Which segment would L001 get?",
                                          "Don't route L001 yet."])
def test_already_routed_missing_or_not_asked_leads_need_no_route(desk, request_text):
    assert desk.unrouted([], request_text) is None


def test_a_lead_a_human_declined_is_left_alone(desk):
    declined = {"tool": "route_lead", "args": {"lead_id": "L009", "segment": "enterprise"}, "outcome": "rejected"}
    assert desk.unrouted([declined], "Route lead L009.") is None
    assert "L009 (Globex Corporation has 5000 employees)" in desk.unrouted([], "Route lead L009.")


def test_a_lead_found_by_what_the_request_says_counts_one_found_by_another_leads_message_does_not(desk):
    by_name = {"tool": "find_lead", "args": {"lead": "Maya Patel"}, "outcome": "executed",
               "observation": desk.find_lead("Maya Patel")}
    assert "L001 (Acme Logistics" in desk.unrouted([by_name], "Maya Patel filled in our web form; route her lead.")
    injected = {"tool": "find_lead", "args": {"lead": "L005"}, "outcome": "executed", "observation": desk.find_lead("L005")}
    assert desk.unrouted([injected], "Maya Patel filled in our web form; route her lead.") is None


def test_the_done_checks_ask_for_nothing_a_case_does_not_expect(tmp_path):
    """On every dataset case, once the expected routes are made (or declined by the reviewer), neither check asks
    for more: the checks cannot push the router into an unwanted route."""
    for case in load_dataset(evaluation.DATASET).cases:
        workspace = evaluation.eval_workspace(tmp_path / case.id, TODAY, case)
        desk_roles = {role.name: role for role in workspace.workflow.roles}
        route = workspace.workflow.registry.get("route_lead")
        actions = [{"tool": "find_lead", "args": {"lead": lead_id}, "outcome": "executed"}
                   for lead_id in LEAD_IDS.findall(case.request)]
        expected = case.expect.effects.get("assignments", [])
        if expected and LEAD_IDS.search(case.request):
            assert desk_roles["router"].done_check(list(actions), case.request), f"{case.id}: not asked before routing"
        for item in expected:
            args = {"lead_id": item["lead_id"], "segment": item["segment"], "reason": "oracle"}
            actions.append({"tool": "route_lead", "args": args, "outcome": "executed",
                            "observation": route.tool.invoke(args)})
        if case.reviewer.decision == "reject" or (case.expect.review and not expected):
            actions += [{"tool": "route_lead", "args": {"lead_id": lead_id, "segment": "enterprise"},
                         "outcome": "rejected"} for lead_id in LEAD_IDS.findall(case.request)]
        assert desk_roles["researcher"].done_check(actions, case.request) is None, case.id
        assert desk_roles["router"].done_check(actions, case.request) is None, case.id


def test_a_router_that_routes_one_of_two_leads_is_told_the_other_is_undone(make_graph, leads_db):
    graph, _ = make_graph(
        workflow=lead_router(leads_db, today=lambda: TODAY),
        reliability=Reliability(),
        orchestrator=[LEAD_PLAN],
        worker=[call("find_lead", when="(t1)", lead="L002"), call("find_lead", when="(t1)", lead="L004"),
                call("enrich_company", when="(t1)", domain="solo-studio.io"),
                call("enrich_company", when="(t1)", domain="elevenhq.com"),
                say("L002: Solo Studio, 1 employee, smb. L004: Eleven HQ, 11 employees, mid-market.", when="(t1)"),
                call("route_lead", when="(t2)", lead_id="L002", segment="smb", reason="Solo Studio, 1 employee"),
                say("Lead L002 was routed to smb.", when="(t2)"),
                call("route_lead", when="Not finished yet", lead_id="L004", segment="mid-market",
                     reason="Eleven HQ, 11 employees"),
                say("L002 was routed to smb and L004 to mid-market.", when="(t2)")],
        evaluator=passes(2),
    )
    out = graph.invoke({"messages": [("user", "Route leads L002 and L004.")]}, CFG)
    assert out["status"] == "completed" and out["final_answer"] == "L002 was routed to smb and L004 to mid-market."
    assert {(a["lead_id"], a["segment"]) for a in assignments(leads_db)} >= {("L002", "smb"), ("L004", "mid-market")}


def test_a_lookup_by_a_made_up_value_is_told_what_the_request_gives(leads_db):
    """Measured: blocked for 'M001', the researcher answered that the request named no lead; the block now says
    what the request gives to search by."""
    from types import SimpleNamespace

    from taskwarden.graph.guards import ungrounded

    workflow = lead_router(leads_db, today=lambda: TODAY)
    call = SimpleNamespace(spec=workflow.registry.get("find_lead"), args={"lead": "M001"}, name="find_lead")
    block = ungrounded(call, workflow.role("researcher"), workflow.registry, Reliability(),
                       Evidence("Maya Patel filled in our web form; route her lead."))
    assert block.mechanism == "grounding" and block.summary.startswith("blocked ungrounded lead 'M001'")
    assert "The request gives 'Maya Patel': call find_lead with one of them now." in block.observation


def _route_action(desk, lead_id, segment, outcome="executed"):
    args = {"lead_id": lead_id, "segment": segment, "reason": "test"}
    observation = desk.route_lead(**args) if outcome == "executed" else "A human reviewer did not approve this call"
    return {"tool": "route_lead", "args": args, "outcome": outcome, "observation": observation}


def test_the_router_is_told_which_leads_its_answer_leaves_out_with_what_happened_to_each(desk):
    """Measured: asked for L017 and L012 (already routed), the router answered only about L017."""
    routed = [_route_action(desk, "L017", "mid-market")]
    lacking = desk.unstated("The lead L017 was routed to mid-market.", routed, "Route leads L017 and L012.")
    assert lacking == ("it does not say what happened to L012. Name every lead by its id and say what happened to "
                       "it, with the segment, like this: L017 was routed to mid-market (mid-market-queue); L012 was already routed to mid-market "
                       "(mid-market-queue) before, so it was not routed again.")
    assert desk.unstated("L017 was routed to mid-market; l012 was already routed.", routed,
                         "Route leads L017 and L012.") is None


def test_a_lead_routed_or_declined_by_this_task_must_be_named_even_when_the_request_names_none(desk):
    """Measured: asked to route Maya Patel's lead, the router answered "Maya Patel's lead was routed to the
    mid-market segment." without its id."""
    request = "Maya Patel filled in our web form; route her lead."
    routed = [_route_action(desk, "L001", "mid-market")]
    assert "it does not say what happened to L001" in desk.unstated("Maya Patel's lead was routed to mid-market.", routed, request)
    declined = [_route_action(desk, "L009", "enterprise", outcome="rejected")]
    assert desk.unstated("Not routed.", declined, "Route the lead from Globex.").endswith(
        "L009 was not routed: the human reviewer did not approve.")
    assert "L099 was not found" in desk.unstated("No such lead.", [], "Route lead L099.")
    enterprise = [_route_action(desk, "L018", "enterprise")]
    assert "what happened to L018. " in desk.unstated("L018 went to a human for approval.", enterprise, "Route L018.")
    assert desk.unstated("L018 was routed to the Enterprise team.", enterprise, "Route L018.") is None
    assert desk.unstated("No lead matches zoe@nowhere.example.", [], "Route the lead from zoe@nowhere.example.") is None


def test_the_answer_checks_sentences_say_what_every_case_expects(tmp_path):
    """On every dataset case, once the expected routes are made (or declined), the sentences the answer check gives
    to copy name every lead, satisfy the case's answer expectations, and pass the check themselves."""
    from taskwarden.evals.scoring import check_answer

    checked = 0
    for case in load_dataset(evaluation.DATASET).cases:
        workspace = evaluation.eval_workspace(tmp_path / case.id, TODAY, case)
        router = workspace.workflow.role("router")
        route = workspace.workflow.registry.get("route_lead")
        actions = []
        for item in case.expect.effects.get("assignments", []):
            args = {"lead_id": item["lead_id"], "segment": item["segment"], "reason": "oracle"}
            actions.append({"tool": "route_lead", "args": args, "outcome": "executed",
                            "observation": route.tool.invoke(args)})
        if case.reviewer.decision in ("reject", "respond"):
            actions += [{"tool": "route_lead", "args": {"lead_id": lead_id, "segment": "enterprise"},
                         "outcome": "rejected"} for lead_id in LEAD_IDS.findall(case.request)]
        lacking = router.answer_check("", actions, case.request)
        if lacking is None:
            assert not LEAD_IDS.search(case.request) and not actions, case.id
            continue
        sentences = lacking.split("like this: ", 1)[1]
        assert router.answer_check(sentences, actions, case.request) is None, case.id
        assert check_answer(case, sentences) == [], (case.id, sentences)
        checked += 1
    assert checked >= 68


def test_a_router_that_leaves_a_lead_out_of_its_answer_answers_again(make_graph, leads_db):
    graph, models = make_graph(
        workflow=lead_router(leads_db, today=lambda: TODAY),
        reliability=Reliability(),
        orchestrator=[LEAD_PLAN],
        worker=[call("find_lead", when="(t1)", lead="Maya Patel"),
                call("enrich_company", when="(t1)", domain="acme-logistics.com"),
                say("L001: Acme Logistics, 120 employees, mid-market.", when="(t1)"),
                call("route_lead", when="(t2)", lead_id="L001", segment="mid-market", reason="Acme, 120 employees"),
                say("Maya Patel's lead was routed to mid-market.", when="(t2)"),
                say("L001 was routed to mid-market (mid-market-queue).", when="Your answer is incomplete")],
        evaluator=passes(2),
    )
    out = graph.invoke({"messages": [("user", "Maya Patel filled in our web form; route her lead.")]}, CFG)
    assert out["status"] == "completed"
    assert out["final_answer"] == "L001 was routed to mid-market (mid-market-queue)."
    reminder = models["worker"].calls[-1].prompt
    assert "it does not say what happened to L001" in reminder and "L001 was routed to mid-market (mid-market-queue)" in reminder


def test_an_answer_still_incomplete_revises_the_task_and_without_loop_recovery_nothing_is_checked(leads_db):
    from taskwarden.graph.verification import check_answer

    workflow = lead_router(leads_db, today=lambda: TODAY)
    router = workflow.role("router")
    task = {"id": "t2", "role": "router", "result": "Routed.", "actions": [], "status": "done"}
    checked = check_answer(task, Reliability(), "Route lead L002.", router.answer_check)
    assert checked.verdict == "revise" and checked.feedback.startswith(
        "The answer is incomplete (checked against the system): it does not say what happened to L002.")
    assert checked.notes[0]["mechanism"] == "loop_recovery" and checked.notes[0]["action"] == "incomplete"
    off = Reliability(loop_recovery=False)
    assert check_answer(task, off, "Route lead L002.", router.answer_check).verdict is None


def test_the_owner_is_the_executive_the_request_names_on_the_leads_team_else_the_queue(desk):
    """Measured: asked "Route lead L001 and assign it to Priya.", the router routed L001 with owner ''."""
    check = desk.owner_check
    asked = "Route lead L001 and assign it to Priya."
    assert check({"lead_id": "L001", "segment": "mid-market", "owner": ""}, asked) == (
        "the request names priya, an account executive of the mid-market team: pass owner='priya'")
    assert check({"lead_id": "L001", "segment": "mid-market", "owner": "Priya"}, asked) is None
    assert check({"lead_id": "L002", "segment": "smb", "owner": ""}, "Route lead L002 to Dana.") is None
    assert check({"lead_id": "L014", "segment": "enterprise", "owner": "dana"}, "Route lead L014.") == (
        "owner 'dana' is not named in the request: leave owner empty for the enterprise-queue (only an account "
        "executive the request names owns a lead)")
    assert check({"lead_id": "L014", "segment": "enterprise", "owner": ""}, "Route lead L014, Dana or Lee.") is None
    assert check({"lead_id": "L014", "segment": "nonsense"}, "Route lead L014 to Lee.") is None


def test_the_owner_check_blocks_no_expected_route(tmp_path):
    """On every dataset case, the expected route passes the owner check with the owner the request names (the
    queue's routes and a reviewer's edited owner are made with owner left empty); the empty owner is blocked
    only where the request names the lead's executive."""
    for case in load_dataset(evaluation.DATASET).cases:
        route = evaluation.eval_workspace(tmp_path / case.id, TODAY, case).workflow.registry.get("route_lead")
        for item in case.expect.effects.get("assignments", []):
            owner = item.get("owner", "")
            named = bool(owner) and owner.lower() in case.request.lower()
            args = {"lead_id": item["lead_id"], "segment": item["segment"], "reason": "oracle"}
            assert route.request_check({**args, "owner": owner if named else ""}, case.request) is None, case.id
            assert (route.request_check({**args, "owner": ""}, case.request) is None) is not named, case.id


def test_a_route_without_the_named_owner_is_blocked_and_made_again_with_it(make_graph, leads_db):
    graph, models = make_graph(
        workflow=lead_router(leads_db, today=lambda: TODAY),
        reliability=Reliability(),
        orchestrator=[LEAD_PLAN],
        worker=[*research("L001", "acme-logistics.com", "L001: Acme Logistics, 120 employees, mid-market."),
                call("route_lead", when="(t2)", lead_id="L001", segment="mid-market", reason="Acme, 120", owner=""),
                call("route_lead", when="pass owner='priya'", lead_id="L001", segment="mid-market",
                     reason="Acme, 120", owner="priya"),
                say("L001 was routed to mid-market (priya).", when="(t2)")],
        evaluator=passes(2),
    )
    out = graph.invoke({"messages": [("user", "Route lead L001 and assign it to Priya.")]}, CFG)
    assert out["status"] == "completed"
    assert [a["outcome"] for a in out["tasks"]["t2"]["actions"]] == ["blocked", "executed"]
    assert ("L001", "mid-market", "priya") in [(a["lead_id"], a["segment"], a["owner"]) for a in assignments(leads_db)]
