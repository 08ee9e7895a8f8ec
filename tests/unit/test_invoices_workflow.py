"""Invoice processing: the PDF writer, field extraction, the desk's business rules, the dataset and
evaluation workspace, and whole runs on scripted models."""

from __future__ import annotations

import io
import json
import re
import sqlite3

import pypdf
import pytest
from langgraph.types import Command

from scripts import TODAY, passes, plan
from taskwarden.evals.dataset import Case, load_dataset, parse_lines
from taskwarden.graph.reliability import Reliability
from taskwarden.testing import call, say
from taskwarden.tools.grounding import Evidence, check_grounding
from taskwarden.tools.registry import NothingToCall
from taskwarden.workflows.invoices import evaluation
from taskwarden.workflows.invoices.db import exceptions, payments, seed
from taskwarden.workflows.invoices.documents import (
    DEMO_INVOICES,
    InvoiceDoc,
    read_document,
    render,
    seed_inbox,
    write_invoice,
)
from taskwarden.workflows.invoices.fields import parse_invoice, payment_instructions
from taskwarden.workflows.invoices.pdf import write_pdf
from taskwarden.workflows.invoices.tools import InvoiceDesk, invoice_tools
from taskwarden.workflows.invoices.workflow import invoice_processor

CFG = {"configurable": {"thread_id": "invoices-1"}}
INVOICE_PLAN = plan(("t1", "clerk", "Read the invoice and look up its PO", ()),
                    ("t2", "payer", "Match the invoice, then pay it or flag the exception", ("t1",)))


@pytest.fixture
def desk(tmp_path):
    return InvoiceDesk(db_path=seed(tmp_path / "invoices.db", TODAY), inbox=seed_inbox(tmp_path / "inbox", TODAY),
                       today=lambda: TODAY)


def match(desk, number):
    return json.loads(desk.match_invoice(number))


# --- PDF and extraction -------------------------------------------------------------------------------

def test_pdf_writer_round_trips_through_pypdf_with_correct_xref():
    lines = ["INVOICE", "Vendor: Acme (Office) Supply", "Path C:\\invoices", "Total due: $2,340.00", "x " * 80]
    data = write_pdf(lines)
    assert data == write_pdf(lines), "deterministic: no timestamps or ids"
    reader = pypdf.PdfReader(io.BytesIO(data), strict=True)
    text = reader.pages[0].extract_text()
    assert "Vendor: Acme (Office) Supply" in text and "Path C:\\invoices" in text and "Total due: $2,340.00" in text
    xref = int(re.search(rb"startxref\n(\d+)", data).group(1))
    assert data[xref:].startswith(b"xref\n0 6\n")
    offsets = [int(line[:10]) for line in data[xref:].split(b"\n")[3:8]]
    assert [data[o:].split(b"\n", 1)[0] for o in offsets] == [b"%d 0 obj" % n for n in range(1, 6)]


def test_pdf_writer_refuses_more_than_a_page():
    with pytest.raises(ValueError, match="do not fit on one page"):
        write_pdf(["line"] * 100)


@pytest.mark.parametrize("suffix", ["txt", "md", "pdf"])
@pytest.mark.parametrize("style", [0, 1, 2])
def test_fields_are_extracted_from_every_format_and_layout(tmp_path, suffix, style):
    doc = InvoiceDoc(file=f"INV-4001.{suffix}", vendor="Globex Logistics, LLC", po="PO-1003", total=1275.0, tax=75.0,
                     style=style)
    fields = parse_invoice(read_document(write_invoice(tmp_path, doc, TODAY)))
    assert fields == {"invoice_number": "INV-4001", "vendor": "Globex Logistics, LLC", "po_number": "PO-1003",
                      "total": 1275.0, "invoice_date": "2026-11-18", "due_date": "2026-12-18"}


def test_a_missing_po_number_is_none():
    doc = InvoiceDoc(file="INV-4002.txt", vendor="Acme Office Supply", total=10.0)
    assert parse_invoice(render(doc, TODAY).decode())["po_number"] is None


def test_payment_instructions_are_found_only_where_they_are():
    texts = {doc.file: render(doc, TODAY).decode("latin-1") for doc in DEMO_INVOICES if doc.file.endswith((".txt", ".md"))}
    found = {file for file, text in texts.items() if payment_instructions(text)}
    assert found == {"INV-2050.txt"}
    assert payment_instructions("Please remit to our new bank account: IBAN DE89 3704.")


@pytest.mark.parametrize(("doc", "error"), [
    (InvoiceDoc(file="INV-4003.pdf", vendor="X", total=1.0, damage="corrupt"), "not a valid PDF or it is damaged"),
    (InvoiceDoc(file="INV-4004.pdf", vendor="X", total=1.0, damage="scanned"), "no text layer"),
    (InvoiceDoc(file="INV-4005.docx", vendor="X", total=1.0), "unsupported file type '.docx'"),
])
def test_unreadable_documents_raise_clear_errors(tmp_path, doc, error, caplog):
    with pytest.raises(ValueError, match=re.escape(error)):
        read_document(write_invoice(tmp_path, doc, TODAY))
    # pypdf's own warning ("EOF marker not found") is not logged on top of our error, each time the inbox is read
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]


# --- the desk's business rules --------------------------------------------------------------------

@pytest.mark.parametrize(("number", "decision", "problem"), [
    ("INV-2041", "pay", ""),
    ("INV-2042", "pay", ""),
    ("INV-2044", "pay", ""),
    ("INV-2052", "pay", ""),
    ("INV-2043", "flag", "amount mismatch: the invoice totals $1,395.00 but PO-1003 is for $1,275.00 ($120.00 more)"),
    ("INV-2045", "flag", "PO-1005 is closed"),
    ("INV-2046", "flag", "names no PO number"),
    ("INV-2047", "flag", "cannot be read"),
    ("INV-2048", "flag", "vendor mismatch: the invoice is from 'Northwind Traders' but PO-1006 is with 'Acme Office"),
    ("INV-2049", "flag", "no purchase order PO-1999"),
    ("INV-2050", "flag", "carries payment instructions"),
    ("INV-2051", "flag", "no text layer"),
    ("INV-1990", "none", "already paid (PO-1008, $640.00"),
])
def test_match_invoice_decides_from_the_document_and_the_database(desk, number, decision, problem):
    result = match(desk, number)
    assert result["decision"] == decision
    assert problem in " ".join(result["problems"])
    if decision == "pay":
        assert result["problems"] == [] and result["amount_to_pay"] == result["invoice"]["total"]


def test_schedule_payment_pays_once_and_reconciles(desk):
    assert desk.reconcile_payment({"invoice_number": "INV-2041"}) is None
    paid = json.loads(desk.schedule_payment("INV-2041", "PO-1001", 2340.0))
    assert paid["status"] == "payment scheduled" and paid["vendor"] == "Acme Office Supply"
    assert [(p["invoice_number"], p["po_number"], p["amount"], p["scheduled_on"]) for p in payments(desk.db_path)][-1] \
        == ("INV-2041", "PO-1001", 2340.0, TODAY.isoformat())
    assert json.loads(desk.reconcile_payment({"invoice_number": "inv-2041"}))["amount"] == 2340.0
    with pytest.raises(PermissionError, match="already paid .*a duplicate"):
        desk.schedule_payment("INV-2041", "PO-1001", 2340.0)
    assert match(desk, "INV-2041")["decision"] == "none"


@pytest.mark.parametrize(("args", "error", "message"), [
    (("INV-2043", "PO-1003", 1395.0), PermissionError, "amount mismatch"),
    (("INV-2043", "PO-1003", 1275.0), PermissionError, "amount mismatch"),
    (("INV-2048", "PO-1006", 312.4), PermissionError, "vendor mismatch"),
    (("INV-2045", "PO-1005", 3150.0), PermissionError, "closed"),
    (("INV-2049", "PO-1999", 2100.0), PermissionError, "no purchase order PO-1999"),
    (("INV-2046", "PO-1003", 1275.0), PermissionError, "names no PO number"),
    (("INV-2050", "PO-1010", 980.0), PermissionError, "payment instructions"),
    (("INV-2047", "PO-1007", 1920.0), PermissionError, "cannot be read"),
    (("INV-2041", "PO-1006", 2340.0), PermissionError, "invoice INV-2041 names PO-1001, not 'PO-1006'"),
    (("INV-2041", "PO-1001", 2000.0), ValueError, r"amount must be the invoice total \$2,340.00"),
    (("INV-9999", "PO-1001", 2340.0), LookupError, "no invoice INV-9999 in the inbox"),
    (("2041", "PO-1001", 2340.0), LookupError, "not an invoice number"),
    (("INV-2041", "1001", 2340.0), LookupError, "not a PO number"),
])
def test_schedule_payment_enforces_the_matching_rules(desk, args, error, message):
    with pytest.raises(error, match=message):
        desk.schedule_payment(*args)
    assert [p["invoice_number"] for p in payments(desk.db_path)] == ["INV-1990"]


def test_a_total_within_a_cent_pays_the_invoice_total(desk):
    json.loads(desk.schedule_payment("INV-2052", "PO-1006", 312.40))
    assert payments(desk.db_path)[-1]["amount"] == 312.41


def test_flag_exception_files_once_and_blocks_payment(desk):
    filed = json.loads(desk.flag_exception("inv-2043", "amount mismatch: $120.00 more than PO-1003", "po-1003"))
    assert filed["status"] == "filed for review"
    again = json.loads(desk.flag_exception("INV-2043", "again"))
    assert again["status"] == "already filed for review"
    assert [(e["invoice_number"], e["po_number"]) for e in exceptions(desk.db_path)] == [("INV-2043", "PO-1003")]
    assert match(desk, "INV-2043")["decision"] == "none"
    desk.flag_exception("INV-2041", "the vendor called about it")
    with pytest.raises(PermissionError, match="already filed as an exception"):
        desk.schedule_payment("INV-2041", "PO-1001", 2340.0)


@pytest.mark.parametrize(("write", "check"), [
    (lambda desk: desk.schedule_payment("INV-2041", "PO-1001", 2340.0), "refusal_of_payment"),
    (lambda desk: desk.flag_exception("INV-2041", "the vendor called about it"), "refusal_of_exception"),
], ids=["schedule_payment", "flag_exception"])
def test_a_write_checks_under_the_write_lock_so_no_other_run_pays_in_between(desk, monkeypatch, write, check):
    """Another run that pays the invoice between a write's checks and its insert would leave it paid and filed (or
    paid twice): while the checks run, the database's write lock is held, and that run waits."""
    rival = sqlite3.connect(desk.db_path, timeout=0)
    checked, blocked = getattr(desk, check), []

    def check_then_race(args):
        found = checked(args)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            rival.execute("INSERT INTO payments VALUES ('INV-2041', 'PO-1001', 'V01', 2340.0, '2026-01-01')")
        blocked.append(args["invoice_number"])
        return found

    monkeypatch.setattr(desk, check, check_then_race)
    write(desk)
    rival.close()
    assert blocked == ["INV-2041"]
    assert len(payments(desk.db_path)) + len(exceptions(desk.db_path)) == 2, "the seeded payment and this write"


def test_a_write_that_is_refused_leaves_the_lock_and_the_database_as_they_were(desk):
    with pytest.raises(PermissionError, match="already paid"):
        desk.flag_exception("INV-1990", "duplicate")
    with sqlite3.connect(desk.db_path, timeout=0) as other:  # the refused write released its lock
        other.execute("DELETE FROM payments WHERE invoice_number = 'INV-1990'")
    assert payments(desk.db_path) == [] and exceptions(desk.db_path) == []


def test_writes_are_verified_and_need_no_intent(desk):
    writes = {spec.name: spec for spec in invoice_tools(desk) if spec.has_side_effects}
    assert sorted(writes) == ["flag_exception", "schedule_payment"]
    for spec in writes.values():
        assert spec.verify is not None and spec.intent is None and spec.grounding is None, spec.name


def test_verify_payment_rereads_the_payments(desk):
    args = {"invoice_number": "INV-2041", "po_number": "PO-1001", "amount": 2340.0}
    assert desk.verify_payment(args, "") == "no payment of invoice INV-2041 is scheduled"
    result = desk.schedule_payment(**args)
    assert desk.verify_payment(args, result) is None
    assert desk.verify_payment(args | {"invoice_number": "inv-2041", "po_number": "po-1001"}, result) is None
    assert desk.verify_payment(args | {"po_number": "PO-1006"}, result) == \
        "invoice INV-2041 is paid against PO-1001, not PO-1006"
    assert desk.verify_payment(args | {"amount": 2000}, result) == "invoice INV-2041 is paid $2,340.00, not $2,000.00"
    assert "is no number" in desk.verify_payment(args | {"amount": "lots"}, result)
    cents = {"invoice_number": "INV-2052", "po_number": "PO-1006", "amount": 312.40}
    assert desk.verify_payment(cents, desk.schedule_payment(**cents)) is None, "paid the $312.41 total, within a cent"


def test_verify_exception_rereads_the_exceptions(desk):
    args = {"invoice_number": "INV-2043", "reason": "amount mismatch", "po_number": "PO-1003"}
    assert desk.verify_exception(args, "") == "invoice INV-2043 is not filed as an exception"
    assert desk.verify_exception(args, desk.flag_exception(**args)) is None
    assert desk.verify_exception(args | {"reason": "filed again"}, desk.flag_exception("INV-2043", "again")) is None
    assert desk.verify_exception({"invoice_number": "INV-1990"}, "") == "invoice INV-1990 is not filed as an exception"


@pytest.mark.parametrize(("args", "error", "message"), [
    (("INV-9999", "no such invoice"), LookupError, "no invoice INV-9999 in the inbox"),
    (("INV-1990", "duplicate"), PermissionError, "already paid"),
    (("INV-2043", "  "), ValueError, "the reason is empty"),
])
def test_flag_exception_refuses_what_it_cannot_file(desk, args, error, message):
    with pytest.raises(error, match=message):
        desk.flag_exception(*args)
    assert exceptions(desk.db_path) == []


def test_read_invoice_is_confined_to_the_inbox(desk, tmp_path):
    (tmp_path / "secret.txt").write_text("Invoice number: INV-4444")
    (desk.inbox / "INV-4444.txt").symlink_to(tmp_path / "secret.txt")
    for name in ("../invoices.db", str(tmp_path / "secret.txt"), "..", ".hidden", "INV-4444.txt"):
        with pytest.raises((PermissionError, FileNotFoundError)):
            desk.read_invoice(name)
    assert "INV-4444.txt" not in desk.list_inbox()
    with pytest.raises(FileNotFoundError, match="no file 'INV-9999.pdf' in the inbox; call list_inbox"):
        desk.read_invoice("INV-9999.pdf")


def test_a_document_that_cannot_be_read_is_a_result_with_its_problem_and_what_to_do(desk):
    """Measured: told only the error (a ValueError), the clerk read the damaged INV-3061.pdf again, with list_inbox
    in between, until its attempts were spent; the run ended at a reviewer, who rejected it."""
    found = json.loads(desk.read_invoice("INV-2047.pdf"))
    assert found["readable"] is False and found["invoice_number"] == "INV-2047" and found["file"] == "INV-2047.pdf"
    assert "INV-2047.pdf cannot be read" in found["problem"]
    assert found["next_step"].startswith("do not read it again") and "match_invoice" in found["next_step"]
    scanned = json.loads(desk.read_invoice("INV-2051"))
    assert "no text layer" in scanned["problem"] and "text" not in scanned and "fields" not in scanned
    assert json.loads(desk.match_invoice("INV-2047"))["decision"] == "flag", "the payer still flags it for a human"


def test_read_invoice_returns_text_and_fields_also_without_extension(desk):
    result = json.loads(desk.read_invoice("INV-2044"))
    assert result["file"] == "INV-2044.pdf"
    assert result["fields"]["total"] == 14800.0 and result["fields"]["po_number"] == "PO-1004"
    assert "Sales tax: $1,100.00" in result["text"]
    listed = json.loads(desk.list_inbox())["files"]
    assert {"file": "INV-2041.pdf", "type": "pdf", "size": (desk.inbox / "INV-2041.pdf").stat().st_size} in listed


def test_policies_route_large_payments_and_every_exception_to_a_human(tmp_path):
    workflow = invoice_processor(tmp_path / "invoices.db", tmp_path / "inbox", today=lambda: TODAY)
    check = workflow.gate.check
    assert check("flag_exception", {"invoice_number": "INV-2043", "reason": "x"}).outcome == "require_approval"
    assert check("schedule_payment", {"amount": 10000.0}).outcome == "allow"
    assert check("schedule_payment", {"amount": 10000.01}).outcome == "require_approval"
    assert [role.name for role in workflow.roles] == ["clerk", "payer"]


def test_demo_data_lives_under_the_data_home(home):
    from taskwarden.workflows.invoices.workflow import default_db_path, default_inbox, reset_demo_data

    invoice_processor()
    assert default_db_path() == home / "invoices" / "invoices.db" and default_db_path().exists()
    assert len(list(default_inbox().iterdir())) == len(DEMO_INVOICES)
    InvoiceDesk(default_db_path(), default_inbox()).schedule_payment("INV-2041", "PO-1001", 2340.0)
    assert reset_demo_data() == home / "invoices"
    assert [p["invoice_number"] for p in payments(default_db_path())] == ["INV-1990"]


# --- dataset and evaluation workspace ---------------------------------------------------------------

def test_dataset_is_deterministic_valid_and_shipped():
    cases = evaluation.generate_cases()
    assert cases == evaluation.generate_cases()
    assert len(cases) >= 60
    shipped = evaluation.DATASET.read_text(encoding="utf-8")
    from taskwarden.evals.dataset import dump_cases

    assert dump_cases(cases) == shipped, "regenerate: python -m taskwarden.workflows.invoices.evaluation"
    dataset = load_dataset(evaluation.DATASET)
    assert dataset.errors == [] and len(dataset.cases) == len(cases)
    tags = {tag for case in dataset.cases for tag in case.tags}
    assert {"common", "policy:large-payment", "policy:exception-review", "policy:amount-match", "policy:po-exists",
            "policy:po-open", "policy:vendor-match", "policy:paid-once", "edge:corrupt-pdf", "edge:missing-po-number",
            "edge:prompt-injection", "edge:cents-tolerance", "review:approve", "review:reject",
            "format:pdf", "format:md", "format:txt"} <= tags


def _invoice_number(case: Case) -> str | None:
    for records in case.expect.effects.values():
        return records[0]["invoice_number"]
    return next((item for item in case.expect.answer.contains if isinstance(item, str) and item.startswith("INV-")),
                None)


def _added(before, after):
    return {kind: [r for r in records if r not in before.get(kind, [])] for kind, records in after.items()}


def _agrees(expected: dict, record: dict) -> bool:
    def same(a, b):
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return abs(a - b) <= 0.01 + 1e-9
        return str(a).casefold() == str(b).casefold()
    return all(key in record and same(value, record[key]) for key, value in expected.items())


def test_every_case_is_consistent_with_the_desks_own_rules(tmp_path):
    """Each case's workspace seeds, and doing what the rules say (pay, flag, or nothing, as the reviewer
    decides) produces exactly the labelled effects and reviews."""
    for case in load_dataset(evaluation.DATASET).cases:
        workspace = evaluation.eval_workspace(tmp_path / case.id, TODAY, case)
        tools = {spec.name: spec.tool for spec in workspace.workflow.tools}
        before = workspace.observe()
        number = _invoice_number(case)
        if number is None:  # nothing to process: the named file is not an invoice in the inbox
            with pytest.raises((FileNotFoundError, PermissionError)):
                tools["read_invoice"].invoke({"filename": case.request.split("invoice ")[1].split()[0]})
            assert not case.expect.review and not case.expect.effects, case.id
            continue
        found = json.loads(tools["match_invoice"].invoke({"invoice_number": number}))
        approves = case.reviewer.decision == "approve"
        if found["decision"] == "pay":
            review = found["amount_to_pay"] > 10000
            if approves or not review:
                tools["schedule_payment"].invoke({"invoice_number": number, "po_number": found["purchase_order"][
                    "po_number"], "amount": found["amount_to_pay"]})
        elif found["decision"] == "flag":
            review = True
            if approves:
                tools["flag_exception"].invoke({"invoice_number": number, "reason": "; ".join(found["problems"])})
        else:
            review = False
        added = _added(before, workspace.observe())
        assert review == case.expect.review, case.id
        for kind, records in added.items():
            expected = case.expect.effects.get(kind, [])
            assert len(records) == len(expected), f"{case.id}: {kind} added {records}, expected {expected}"
            assert all(_agrees(e, r) for e, r in zip(expected, records)), f"{case.id}: {records} vs {expected}"


def test_every_labelled_write_is_grounded_once_the_invoice_was_matched_and_then_verified(tmp_path):
    """The write each case expects (a payment or an exception) passes grounding once match_invoice was read, is
    blocked before any read (look before act), and is verified by re-reading the database after it ran."""
    checked = 0
    for case in load_dataset(evaluation.DATASET).cases:
        workspace = evaluation.eval_workspace(tmp_path / case.id, TODAY, case)
        specs = {spec.name: spec for spec in workspace.workflow.tools}
        for kind, records in case.expect.effects.items():
            number = records[0]["invoice_number"]
            found = specs["match_invoice"].tool.invoke({"invoice_number": number})
            decision = json.loads(found)
            if kind == "payments":
                name = "schedule_payment"
                args = {"invoice_number": number, "po_number": decision["purchase_order"]["po_number"],
                        "amount": decision["amount_to_pay"]}
            else:
                name = "flag_exception"
                args = {"invoice_number": number, "reason": "; ".join(decision["problems"]),
                        "po_number": (decision["invoice"] or {}).get("po_number") or ""}
            spec = specs[name]
            assert check_grounding(spec, args, Evidence(case.request, (found,))) == [], case.id
            assert check_grounding(spec, args, Evidence(case.request)), case.id
            assert spec.verify(args, "") is not None, case.id
            assert spec.verify(args, spec.tool.invoke(args)) is None, case.id
            checked += 1
    assert checked >= 50


def test_eval_workspace_seeds_setup_and_observes_a_payment(tmp_path):
    case = Case.model_validate({
        "id": "x", "input": {"request": "Process the invoice INV-5001.pdf"}, "expect": {},
        "setup": {"purchase_orders": [{"po_number": "PO-5001", "vendor": "Contoso Print", "amount": 830.0}],
                  "invoices": [{"file": "INV-5001.pdf", "vendor": "Contoso Print", "po": "PO-5001", "total": 830.0}]}})
    workspace = evaluation.eval_workspace(tmp_path, TODAY, case)
    assert (tmp_path / "inbox" / "INV-5001.pdf").read_bytes().startswith(b"%PDF-1.4")
    before = workspace.observe()
    assert before == {"payments": [{"invoice_number": "INV-1990", "po_number": "PO-1008", "vendor_id": "V03",
                                    "amount": 640.0}], "exceptions": []}
    tools = {spec.name: spec.tool for spec in workspace.workflow.tools}
    tools["schedule_payment"].invoke({"invoice_number": "INV-5001", "po_number": "PO-5001", "amount": 830.0})
    assert _added(before, workspace.observe()) == {
        "payments": [{"invoice_number": "INV-5001", "po_number": "PO-5001", "vendor_id": "V06", "amount": 830.0}],
        "exceptions": []}


@pytest.mark.parametrize(("setup", "message"), [
    ({"refunds": []}, "refunds: Extra inputs are not permitted"),
    ({"invoices": [{"file": "../x.pdf", "vendor": "A", "total": 1}]}, "invoices.0.file"),
    ({"invoices": [{"file": "INV-2041.pdf", "vendor": "A", "total": 1}]}, "already in the seeded inbox"),
    ({"purchase_orders": [{"po_number": "PO-1001", "vendor": "A", "amount": 1}]}, "PO-1001 already exists"),
    ({"payments": [{"invoice_number": "INV-5002", "po_number": "PO-7777", "amount": 1}]}, "unknown purchase order"),
    ({"payments": [{"invoice_number": "INV-5002", "po_number": "PO-1008", "amount": 1}]}, "already paid"),
])
def test_eval_workspace_refuses_a_bad_setup(tmp_path, setup, message):
    case = Case.model_validate({"id": "bad", "input": {"request": "r"}, "expect": {}, "setup": setup})
    with pytest.raises(ValueError, match=re.escape(message)):
        evaluation.eval_workspace(tmp_path, TODAY, case)


def test_shipped_cases_parse_line_by_line():
    text = evaluation.DATASET.read_text(encoding="utf-8")
    assert parse_lines(text.splitlines()).errors == []


# --- whole runs on scripted models ------------------------------------------------------------------

@pytest.fixture
def db(tmp_path):
    return tmp_path / "inv" / "invoices.db"


@pytest.fixture
def invoices(db):
    return invoice_processor(db, db.parent / "inbox", today=lambda: TODAY)


def clerk(file, po):
    return [call("read_invoice", when="(t1)", filename=file), call("get_purchase_order", when="(t1)", po_number=po),
            say(f"{file}: read; {po} found.", when="(t1)")]


def test_a_matching_pdf_invoice_is_paid_without_review(make_graph, invoices, db):
    graph, models = make_graph(
        workflow=invoices, orchestrator=[INVOICE_PLAN],
        worker=[*clerk("INV-2041.pdf", "PO-1001"),
                call("match_invoice", when="(t2)", invoice_number="INV-2041"),
                call("schedule_payment", when="(t2)", invoice_number="INV-2041", po_number="PO-1001", amount=2340.0),
                say("Payment scheduled for INV-2041 (PO-1001, $2,340.00).", when="(t2)")],
        evaluator=passes(2))
    out = graph.invoke({"messages": [("user", "Process the invoice INV-2041.pdf in the inbox")]}, CFG)
    assert out["status"] == "completed" and not graph.get_state(CFG).interrupts
    assert out["final_answer"] == "Payment scheduled for INV-2041 (PO-1001, $2,340.00)."
    assert [(p["invoice_number"], p["amount"]) for p in payments(db)] == [("INV-1990", 640.0), ("INV-2041", 2340.0)]
    clerk_call = next(c for c in models["worker"].calls if "(t1)" in c.prompt)
    assert clerk_call.tools == ["list_inbox", "read_invoice", "get_purchase_order"]
    read = next(m for c in models["worker"].calls for m in c.messages if getattr(m, "name", "") == "read_invoice")
    assert '"total": 2340.0' in read.content, "the PDF was read with pypdf"


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_a_mismatch_is_flagged_for_a_human_who_decides_whether_it_is_filed(make_graph, invoices, db, decision):
    answer = "INV-2043 flagged for review." if decision == "approve" else "The reviewer did not approve the exception."
    graph, _ = make_graph(
        workflow=invoices, orchestrator=[INVOICE_PLAN],
        worker=[*clerk("INV-2043.txt", "PO-1003"),
                call("match_invoice", when="(t2)", invoice_number="INV-2043"),
                call("flag_exception", when="(t2)", invoice_number="INV-2043", po_number="PO-1003",
                     reason="amount mismatch: $1,395.00 against $1,275.00"),
                say(answer, when="(t2)")],
        evaluator=passes(2))
    graph.invoke({"messages": [("user", "Process the invoice INV-2043.txt in the inbox")]}, CFG)
    (pending,) = graph.get_state(CFG).interrupts
    assert pending.value["action_requests"][0]["name"] == "flag_exception"
    assert "Every invoice exception goes to a human" in pending.value["action_requests"][0]["description"]
    assert exceptions(db) == [], "nothing is filed before the decision"

    resume = {"type": decision, **({"message": "I'll call Globex."} if decision == "reject" else {})}
    out = graph.invoke(Command(resume={"decisions": [resume]}), CFG)
    assert out["status"] == "completed" and out["final_answer"] == answer
    filed = [e["invoice_number"] for e in exceptions(db)]
    assert filed == (["INV-2043"] if decision == "approve" else [])
    assert [p["invoice_number"] for p in payments(db)] == ["INV-1990"]


def test_an_invoice_the_request_does_not_name_is_not_paid_in_its_place(make_graph, invoices, db):
    """Measured on the embedded model: asked for ../invoices.db, the clerk read INV-2041.pdf instead, and the payer
    paid it. The payment is blocked before it runs; the payer is told why and answers."""
    answer = "../invoices.db was not found in the inbox: nothing was paid."
    graph, models = make_graph(
        workflow=invoices, orchestrator=[INVOICE_PLAN],
        worker=[call("list_inbox", when="(t1)"), *clerk("INV-2041.pdf", "PO-1001"),
                call("match_invoice", when="(t2)", invoice_number="INV-2041"),
                call("schedule_payment", when="(t2)", invoice_number="INV-2041", po_number="PO-1001", amount=2340.0),
                say(answer, when="(t2)")],
        evaluator=passes(2), reliability=Reliability())
    out = graph.invoke({"messages": [("user", "Process the invoice ../invoices.db in the inbox")]}, CFG)
    assert out["status"] == "completed" and out["final_answer"] == answer
    assert [p["invoice_number"] for p in payments(db)] == ["INV-1990"], "only the seeded payment"
    told = [m.content for c in models["worker"].calls for m in c.messages if getattr(m, "name", "") == "schedule_payment"]
    assert told and "the request names ../invoices.db, which is not an invoice file in the inbox" in told[-1]
    assert told[-1].endswith("Do not call schedule_payment again: give your final answer."), \
        "no change to the call fixes it (measured: told to call again 'with that change', the payer tried twice more)"
    assert "again with that change" not in told[-1]
    payer = {role.name: role for role in invoices.roles}["payer"]
    matched = [{"tool": "match_invoice", "args": {"invoice_number": "INV-2041"}, "outcome": "executed"}]
    request = "Process the invoice ../invoices.db in the inbox"
    assert payer.done_check(matched, request) is None, "the invoice it matched instead is not work left undone"
    assert payer.answer_check(answer, matched, request) is None


def test_a_large_payment_waits_for_approval(make_graph, invoices, db):
    graph, _ = make_graph(
        workflow=invoices, orchestrator=[INVOICE_PLAN],
        worker=[*clerk("INV-2044.pdf", "PO-1004"),
                call("match_invoice", when="(t2)", invoice_number="INV-2044"),
                call("schedule_payment", when="(t2)", invoice_number="INV-2044", po_number="PO-1004", amount=14800.0),
                say("Payment of $14,800.00 scheduled for INV-2044.", when="(t2)")],
        evaluator=passes(2))
    graph.invoke({"messages": [("user", "Process the invoice INV-2044.pdf in the inbox")]}, CFG)
    (pending,) = graph.get_state(CFG).interrupts
    assert pending.value["action_requests"][0]["description"].startswith("Payments over $10,000 need a human's approval")
    out = graph.invoke(Command(resume={"decisions": [{"type": "approve"}]}), CFG)
    assert out["status"] == "completed" and payments(db)[-1]["invoice_number"] == "INV-2044"



def _payer(workspace):
    return {role.name: role for role in workspace.workflow.roles}["payer"]


def test_the_payers_done_check_names_the_write_each_case_expects_and_is_then_satisfied(tmp_path):
    """On every case, a payer that answered without a write is told the one write the case expects (or asked for
    none where the case expects nothing: a duplicate, a missing file); once that write is made, or a reviewer
    declined it, the check is satisfied. Measured: match_invoice said "flag" (no PO number) and the payer answered
    "INV-2046 is flagged for review" without calling flag_exception."""
    for case in load_dataset(evaluation.DATASET).cases:
        workspace = evaluation.eval_workspace(tmp_path / case.id, TODAY, case)
        specs = {spec.name: spec for spec in workspace.workflow.tools}
        undone = _payer(workspace).done_check([], case.request)
        number = _invoice_number(case)
        if not case.expect.effects and not case.expect.review:
            assert undone is None, f"{case.id}: {undone}"
            continue
        name = re.search(r"call (schedule_payment|flag_exception)", undone).group(1)
        assert f"invoice {number} " in undone, case.id
        expected = "payments" if name == "schedule_payment" else "exceptions"
        assert set(case.expect.effects) <= {expected}, case.id
        decision = json.loads(specs["match_invoice"].tool.invoke({"invoice_number": number}))
        if name == "schedule_payment":
            args = {"invoice_number": number, "po_number": decision["purchase_order"]["po_number"],
                    "amount": decision["amount_to_pay"]}
            assert f"po_number {args['po_number']!r}, amount {args['amount']}" in undone, case.id
        else:
            args = {"invoice_number": number, "reason": "; ".join(decision["problems"]),
                    "po_number": (decision["invoice"] or {}).get("po_number") or ""}
            assert f"reason {args['reason']!r}" in undone, case.id
        assert specs[name].request_check(args, case.request) is None, case.id
        if case.reviewer.decision == "reject":
            declined = {"tool": name, "args": args, "outcome": "rejected"}
            assert _payer(workspace).done_check([declined], case.request) is None, case.id
            continue
        specs[name].tool.invoke(args)
        made = {"tool": name, "args": args, "outcome": "executed"}
        assert _payer(workspace).done_check([made], case.request) is None, case.id
        assert _added(evaluation.eval_workspace(tmp_path / f"{case.id}-fresh", TODAY, case).observe(),
                      workspace.observe()).get(expected), case.id


def test_the_payers_answer_must_name_the_invoice_it_handled(desk):
    """Measured: after filing INV-3063.docx as an exception, the payer answered "The invoice document named in the
    request is not supported by the system. ... the exception was filed for review with ID 1." (no number)."""
    filed = {"tool": "flag_exception", "args": {"invoice_number": "inv-2046 ", "reason": "no PO"}, "outcome": "executed"}
    request = "Process the invoice INV-2046.md in the inbox"
    lacking = desk.unstated("The exception was filed for review with ID 1.", [filed], request)
    assert lacking.startswith("the answer does not name invoice INV-2046 by its number")
    assert lacking.endswith('"INV-2046: neither paid nor flagged yet (the invoice names no PO number, so it cannot be '
                            'matched to a purchase order)."'), "what happened, read from the database, to copy"
    desk.flag_exception("INV-2046", "no PO number")
    assert '"INV-2046: flagged as an exception and filed for review (no PO number)."' in desk.unstated(
        "Filed.", [filed], request)
    declined = {"tool": "flag_exception", "args": {"invoice_number": "INV-2043"}, "outcome": "rejected"}
    assert '"INV-2043: not paid and not filed: a reviewer declined it."' in desk.unstated("Done.", [declined], "x")
    paid = {"tool": "schedule_payment", "args": {"invoice_number": "INV-2041"}, "outcome": "executed"}
    desk.schedule_payment("INV-2041", "PO-1001", 2340.0)
    assert '"INV-2041: payment of $2,340.00 scheduled against PO-1001 on ' in desk.unstated("Paid.", [paid], "x")
    assert desk.unstated("INV-2046 was filed for review: it names no PO.", [filed], request) is None
    assert desk.unstated("Nothing to do.", [], request), "no call: the invoice the request names"
    assert desk.unstated("Nothing to do.", [], "Process the invoice INV-9999.pdf in the inbox") is None, "not in the inbox"


def test_only_the_invoice_the_request_names_is_paid_or_flagged(desk):
    """Measured: asked to "Process the invoice ../invoices.db in the inbox", the clerk listed the inbox and read
    INV-2041.pdf instead, and the payer paid it ($2,340.00)."""
    pay = {"invoice_number": "INV-2041", "po_number": "PO-1001", "amount": 2340.0}
    outside = desk.named_check(pay, "Process the invoice ../invoices.db in the inbox")
    assert outside.startswith("the request names ../invoices.db, which is not an invoice file in the inbox")
    assert "INV-2041 included" in outside and outside.endswith("answer that ../invoices.db was not found in the inbox")
    assert "INV-9999.pdf, which is not" in desk.named_check(pay, "Process the invoice INV-9999.pdf in the inbox")
    assert desk.named_check(pay, "Process the invoice /etc/passwd") is not None, "a path names a document too"
    other = desk.named_check(pay, "Please process INV-2042.md from the accounts-payable inbox.")
    assert other.startswith("the request names invoice INV-2042, not INV-2041")
    assert isinstance(outside, NothingToCall) and not isinstance(other, NothingToCall), \
        "no call fits a request whose document is not in the inbox; another invoice number would"
    for request in ("Process the invoice INV-2041.pdf in the inbox", "Process invoice inv-2041 from the inbox.",
                    "Process INV-2041 (or INV-2042.md) and ../nowhere.pdf", "Pay what is due and/or flag the rest."):
        assert desk.named_check(pay, request) is None, request
    assert desk.named_check({"invoice_number": " inv-2041 "}, "Handle the invoice INV-2041.pdf, please.") is None
    specs = {spec.name: spec for spec in invoice_tools(desk)}
    assert specs["schedule_payment"].request_check == desk.named_check == specs["flag_exception"].request_check


def test_the_payers_answer_must_say_what_happened_to_the_invoice(desk):
    """Measured: after INV-2051.pdf was filed as an exception, the payer answered "The invoice INV-2051.pdf could not
    be read automatically. ... The customer should check the file and try again." (nothing about the exception)."""
    filed = {"tool": "flag_exception", "args": {"invoice_number": "INV-2051"}, "outcome": "executed"}
    request = "Handle the invoice INV-2051.pdf, please."
    vague = "The invoice INV-2051.pdf could not be read automatically. The customer should check the file."
    assert desk.unstated(vague, [filed], request) is None, "nothing on record yet: nothing to state"
    desk.flag_exception("INV-2051", "the document cannot be read")
    lacking = desk.unstated(vague, [filed], request)
    assert lacking.startswith("the answer does not say what happened to invoice INV-2051")
    assert lacking.endswith('"INV-2051: flagged as an exception and filed for review (the document cannot be read)."')
    assert desk.unstated("INV-2051.pdf cannot be read, so it was flagged for a human.", [filed], request) is None
    paid = {"tool": "schedule_payment", "args": {"invoice_number": "INV-2041"}, "outcome": "executed"}
    desk.schedule_payment("INV-2041", "PO-1001", 2340.0)
    both = "INV-2041 matches PO-1001. INV-2051 was flagged for review."
    assert "invoice INV-2041." in desk.unstated(both, [paid, filed], "x"), "each invoice in its own sentences"
    assert desk.unstated("INV-2041 was paid. INV-2051 was flagged for review.", [paid, filed], "x") is None
    declined = {"tool": "flag_exception", "args": {"invoice_number": "INV-2047"}, "outcome": "rejected"}
    assert "a reviewer declined it" in desk.unstated("INV-2047 cannot be read.", [declined], "x")
    assert desk.unstated("INV-2047 was not filed: the reviewer declined.", [declined], "x") is None
