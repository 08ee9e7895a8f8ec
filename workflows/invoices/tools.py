"""The invoice desk's tools. The matching rules live here, in code, so they hold even when the model errs.

An invoice is paid only when the document itself (parsed here, not as the model read it) names an
open purchase order of the same vendor for the same amount (within a cent), carries no payment
instructions, and neither the invoice nor the PO was paid before. Anything else is an exception for
a human: `flag_exception` files it, and the workflow's policy puts every exception before a reviewer.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from taskwarden.tools.registry import NothingToCall, ToolSpec, tool_spec
from taskwarden.workflows.invoices.db import connect
from taskwarden.workflows.invoices.documents import READABLE_SUFFIXES, read_document
from taskwarden.workflows.invoices.fields import INVOICE_NUMBER, PO_NUMBER, parse_invoice, payment_instructions
from taskwarden.workflows.invoices.prompts import (
    NAMED_NOT_IN_INBOX,
    NOT_THE_NAMED_INVOICE,
    UNNAMED_INVOICES,
    UNREADABLE_NEXT_STEP,
    UNSTATED_OUTCOMES,
)
from taskwarden.workflows.sqlite_data import write_lock
from taskwarden.workflows.text import sentences

AMOUNT_TOLERANCE_USD = 0.01
APPROVAL_THRESHOLD_USD = 10_000.0
MAX_TEXT_CHARS = 6000
_INVOICE_CALLS = ("match_invoice", "schedule_payment", "flag_exception")
_SETTLED = ("executed", "replayed", "rejected")
"""Outcomes that settle a payment or an exception: made, or declined by a reviewer."""
_STATED = {
    "paid": re.compile(r"\b(paid|pay|payment|scheduled)\b", re.IGNORECASE),
    "filed": re.compile(r"\b(flag\w*|exception|review\w*)\b", re.IGNORECASE),
    "declined": re.compile(r"\b(declin\w*|reject\w*|not\s+(?:be\s+)?(?:paid|filed|approved|flagged|scheduled)|did\s+not|"
                           r"was\s+not|wasn't)\b", re.IGNORECASE),
}
"""Words that say what happened to an invoice, by what the database (or a reviewer's no) shows."""
_DOCUMENT_MENTION = re.compile(
    r"(?<![\w@.-])(?:(?:\.{1,2}|~)?/[\w./-]*[\w-]"                           # a path: ./x, ../x, /x, ~/x
    r"|(?:[\w.-]*/)*[\w-]+\.(?:pdf|md|txt|docx?|rtf|odt|csv|json|xml|html?|xlsx?|png|jpe?g|tiff?|zip|db|sqlite)\b)"
    r"|\bINV-\d{3,8}\b", re.IGNORECASE)
"""A document a request names: a path, a file name with a document's extension, or an invoice number."""
_VENDOR_SUFFIXES = re.compile(r"\b(inc|incorporated|llc|ltd|limited|co|corp|corporation|company|gmbh|plc)\b")

InvoiceNumber = Annotated[str, Field(description="The invoice number printed on the invoice, like INV-2041 "
                                                 "(for a document that cannot be read: its file name without extension)")]
PoNumber = Annotated[str, Field(description="A purchase order number, like PO-1001")]


@dataclass(frozen=True)
class _Document:
    """An inbox document as the desk reads it."""

    number: str
    path: Path
    text: str
    fields: dict[str, Any] | None
    error: str
    """Why the document cannot be read, or empty."""


@dataclass
class Assessment:
    """What the desk's own checks say about one invoice: pay it, flag it, or nothing to do."""

    invoice_number: str
    file: str
    fields: dict[str, Any] | None = None
    purchase_order: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    done: str = ""
    """Why nothing is to be done (already paid, already flagged), else empty."""

    @property
    def decision(self) -> str:
        return "none" if self.done else "flag" if self.problems else "pay"


@dataclass
class InvoiceDesk:
    """Accounts payable: the invoice inbox, the purchase-order database, and a clock tests can fix."""

    db_path: Path
    inbox: Path
    today: Callable[[], date] = date.today
    _read: dict[Path, tuple[tuple[int, int], _Document]] = field(default_factory=dict, init=False, repr=False)
    """Documents already read, by file, with the (mtime, size) they were read at."""

    def list_inbox(self) -> str:
        """List the invoice documents in the inbox (file name, type, size in bytes)."""
        files = [{"file": path.name, "type": path.suffix.lower().lstrip(".") or "none", "size": path.stat().st_size}
                 for path in self._files()]
        return json.dumps({"files": files, "readable_types": list(READABLE_SUFFIXES)})

    def read_invoice(
        self,
        filename: Annotated[str, Field(description="An invoice file in the inbox, like INV-2041.pdf "
                                                   "(without extension, the one file of that name)")],
    ) -> str:
        """Read an invoice document from the inbox (.txt, .md or .pdf): its text, and the fields found in it
        (invoice_number, vendor, po_number, total, invoice_date, due_date; null when the document has none).
        A document that cannot be read (damaged, scanned, of another type) gives `readable: false` and the problem."""
        path = self._locate(filename)
        doc = self._document(path)
        if doc.error:
            # A result, not an error: measured, told only the error, the clerk read the same damaged PDF again
            # (with list_inbox in between) until its attempts were spent, and the run ended at a reviewer
            return json.dumps({"file": path.name, "invoice_number": doc.number if INVOICE_NUMBER.fullmatch(doc.number)
                               else None, "readable": False, "problem": doc.error, "next_step": UNREADABLE_NEXT_STEP})
        text = doc.text
        clipped = text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS] + " ...(truncated)"
        return json.dumps({"file": path.name, "fields": doc.fields, "text": clipped}, ensure_ascii=False)

    def get_purchase_order(self, po_number: PoNumber) -> str:
        """Look up a purchase order: vendor, description, amount, status (open/closed) and the invoice that paid it."""
        return json.dumps(self._purchase_order(po_number))

    def match_invoice(self, invoice_number: InvoiceNumber) -> str:
        """Check an invoice against its purchase order and past payments. Returns the decision: `pay` (matches an
        open PO: same vendor, same amount), `flag` (an exception for a human, with the problems), or `none`
        (already paid or already flagged)."""
        found = self._assess(invoice_number)
        result: dict[str, Any] = {"invoice_number": found.invoice_number, "file": found.file,
                                  "decision": found.decision, "problems": found.problems or ([found.done] if found.done else []),
                                  "invoice": found.fields, "purchase_order": found.purchase_order}
        if found.decision == "pay":
            result["amount_to_pay"] = found.fields["total"]
            result["next_step"] = "schedule_payment with this invoice number, PO number and amount"
        elif found.decision == "flag":
            result["next_step"] = "flag_exception with these problems as the reason; do not pay"
        else:
            result["next_step"] = "nothing: do not pay and do not flag"
        return json.dumps(result)

    def schedule_payment(self, invoice_number: InvoiceNumber, po_number: PoNumber,
                         amount: Annotated[float, Field(description="The invoice total in USD")]) -> str:
        """Schedule payment of an invoice to the vendor's account on file. Only for an invoice that matches an open
        purchase order (same vendor, same amount within $0.01), paid once."""
        with write_lock(self.db_path) as conn:  # no other run pays or flags it between the checks and the insert
            found = self.refusal_of_payment(dict(invoice_number=invoice_number, po_number=po_number, amount=amount))
            po, total = found.purchase_order, found.fields["total"]  # the invoice's total is what is paid
            conn.execute("INSERT INTO payments VALUES (?, ?, ?, ?, ?)",
                         (found.invoice_number, po["po_number"], po["vendor_id"], total, self.today().isoformat()))
        return json.dumps({"status": "payment scheduled", "invoice_number": found.invoice_number,
                           "po_number": po["po_number"], "vendor": po["vendor"], "amount": total,
                           "scheduled_on": self.today().isoformat()})

    def refusal_of_payment(self, args: dict[str, Any]) -> Assessment:
        """`schedule_payment`'s refusals, with no side effect (its precheck): raises when the invoice is paid or filed
        already, does not match an open purchase order, names another PO, or the amount is not its total; else
        returns the invoice's assessment."""
        po_number, amount = str(args.get("po_number", "")), args.get("amount")
        found = self._assess(str(args.get("invoice_number", "")))
        if found.done:
            raise PermissionError(f"payment refused: {found.done}")
        if found.problems:
            raise PermissionError(f"payment refused: {'; '.join(found.problems)}. Flag the invoice for review with "
                                  "flag_exception instead.")
        po, total = found.purchase_order, found.fields["total"]
        if _normal_po(po_number) != po["po_number"]:
            raise PermissionError(f"payment refused: invoice {found.invoice_number} names {po['po_number']}, "
                                  f"not {po_number!r}")
        if not isinstance(amount, (int, float)) or abs(amount - total) > AMOUNT_TOLERANCE_USD + 1e-9:
            raise ValueError(f"amount must be the invoice total ${total:,.2f}, got {amount}")
        return found

    def reconcile_payment(self, args: dict[str, Any]) -> str | None:
        """After a crash mid-payment: the payment's result if it is in the database, else None."""
        row, _ = self._records(_invoice_number_arg(args))
        if row is None:
            return None
        return json.dumps({"status": "payment scheduled", "invoice_number": row["invoice_number"],
                           "po_number": row["po_number"], "amount": row["amount"], "scheduled_on": row["scheduled_on"]})

    def verify_payment(self, args: dict[str, Any], result: str) -> str | None:
        """After a payment: None when the payments table holds it, for that PO and amount; else what is wrong."""
        number = _invoice_number_arg(args)
        row, _ = self._records(number)
        if row is None:
            return f"no payment of invoice {number} is scheduled"
        asked_po = str(args.get("po_number", "")).strip().upper()
        if row["po_number"] != asked_po:
            return f"invoice {number} is paid against {row['po_number']}, not {asked_po}"
        try:
            amount = float(args.get("amount"))
        except (TypeError, ValueError):
            return f"invoice {number} is paid ${row['amount']:,.2f}; the amount asked, {args.get('amount')!r}, is no number"
        if abs(row["amount"] - amount) > AMOUNT_TOLERANCE_USD + 1e-9:
            return f"invoice {number} is paid ${row['amount']:,.2f}, not ${amount:,.2f}"
        return None

    def flag_exception(
        self,
        invoice_number: InvoiceNumber,
        reason: Annotated[str, Field(description="What is wrong, e.g. the mismatch match_invoice reported")],
        po_number: Annotated[str, Field(description="The PO number the invoice names; empty if it names none")] = "",
    ) -> str:
        """File an invoice as an exception for a human to resolve (a mismatch, an unknown or closed PO, no PO
        number, an unreadable document, suspicious payment instructions). The invoice is not paid."""
        number = invoice_number.strip().upper()
        with write_lock(self.db_path) as conn:  # no other run pays it between the checks and the insert
            self.refusal_of_exception(dict(invoice_number=number, reason=reason))
            filed = conn.execute("SELECT id FROM exceptions WHERE invoice_number = ?", (number,)).fetchone()
            if filed is not None:
                return json.dumps({"status": "already filed for review", "exception_id": filed["id"],
                                   "invoice_number": number})
            cursor = conn.execute(
                "INSERT INTO exceptions (invoice_number, po_number, reason, created_at) VALUES (?, ?, ?, ?)",
                (number, _normal_po(po_number) if po_number.strip() else None, reason.strip(),
                 datetime.now(UTC).isoformat()))
        return json.dumps({"status": "filed for review", "exception_id": cursor.lastrowid, "invoice_number": number})

    def refusal_of_exception(self, args: dict[str, Any]) -> None:
        """`flag_exception`'s refusals, with no side effect (its precheck): raises when the invoice is not in the
        inbox, the reason is empty, or the invoice was paid already."""
        number = str(args.get("invoice_number", "")).strip().upper()
        self._entry(number)  # the invoice must be in the inbox
        if not str(args.get("reason", "")).strip():
            raise ValueError("the reason is empty: say what is wrong with the invoice")
        paid, _ = self._records(number)
        if paid is not None:
            raise PermissionError(f"invoice {number} was already paid ({paid['po_number']}, "
                                  f"${paid['amount']:,.2f}); there is nothing to flag")

    def verify_exception(self, args: dict[str, Any], result: str) -> str | None:
        """After flagging: None when the exceptions table holds the invoice (and it is not paid); else what is wrong."""
        number = _invoice_number_arg(args)
        paid, filed = self._records(number)
        if filed is None:
            return f"invoice {number} is not filed as an exception"
        if paid is not None:
            return f"invoice {number} is filed as an exception but was also paid ({paid['po_number']})"
        return None

    def unsettled(self, actions: list[dict[str, Any]], request: str) -> str | None:
        """The payer's completion check: each invoice this task handled or the request names (`_handled`) that the
        desk's own checks, re-read now, still say to pay or to flag, with no call of this task that settled it
        (made, or declined by a reviewer): what to call, with its arguments; None when every one is settled.

        Measured: match_invoice said "flag" (no PO number); the payer answered "INV-2046 is flagged for review"
        without calling flag_exception, and the evaluator passed it."""
        settled = {(a["tool"], _invoice_number_arg(a["args"])) for a in actions if a["outcome"] in _SETTLED}
        undone = []
        for number in self._handled(actions, request):
            try:
                found = self._assess(number)
            except (LookupError, OSError):
                continue  # not in the inbox: nothing to pay or flag
            if found.decision == "pay" and ("schedule_payment", number) not in settled:
                undone.append(f"invoice {number} matches {found.purchase_order['po_number']} and is not paid: call "
                              f"schedule_payment with invoice_number {number!r}, po_number "
                              f"{found.purchase_order['po_number']!r}, amount {found.fields['total']}")
            elif found.decision == "flag" and ("flag_exception", number) not in settled:
                po = (found.fields or {}).get("po_number") or ""
                undone.append(f"invoice {number} is not filed as an exception: call flag_exception with invoice_number "
                              f"{number!r}, po_number {po!r}, reason {'; '.join(found.problems)!r}")
        return "; ".join(undone) or None

    def unstated(self, answer: str, actions: list[dict[str, Any]], request: str) -> str | None:
        """The payer's answer check: the invoices this task handled or the request names (`_handled`) that the answer
        does not name by number, or names without saying what happened to them (paid, flagged for review, declined:
        `_STATED`, in the sentences that name it), with what happened as the answer to copy; None when it says it all.

        Measured: after filing INV-3063.docx as an exception, the payer answered "The invoice document named in the
        request is not supported by the system. ... the exception was filed for review with ID 1."; after filing
        INV-2051.pdf, "The invoice INV-2051.pdf could not be read automatically. ... The customer should check the
        file and try again." (nothing about the exception)."""
        handled = self._handled(actions, request)
        declined = {_invoice_number_arg(a["args"]) for a in actions if a["outcome"] == "rejected"}
        lacking = [n for n in handled if n.casefold() not in answer.casefold()]
        if lacking:
            outcome = " ".join(self._outcome(n, n in declined) for n in lacking)
            return UNNAMED_INVOICES.format(invoices=", ".join(lacking), outcome=outcome)
        unstated = {}
        for number in handled:
            said = answer if len(handled) == 1 else " ".join(s for s in sentences(answer)
                                                             if number.casefold() in s.casefold())
            if outcome := self._unstated_outcome(number, number in declined, said):
                unstated[number] = outcome
        if unstated:
            return UNSTATED_OUTCOMES.format(invoices=", ".join(unstated), outcome=" ".join(unstated.values()))
        return None

    def _unstated_outcome(self, number: str, declined: bool, text: str) -> str | None:
        """What happened to invoice `number` (`_outcome`), when `text` does not say it (`_STATED`); None when it does,
        or when the invoice is neither paid, filed nor declined (nothing to state)."""
        records = self._records(number)
        paid, filed = records
        state = "paid" if paid is not None else "filed" if filed is not None else "declined" if declined else None
        if state is None or _STATED[state].search(text):
            return None
        return self._outcome(number, declined, records)

    def _outcome(self, number: str, declined: bool,
                 records: tuple[sqlite3.Row | None, sqlite3.Row | None] | None = None) -> str:
        """What happened to invoice `number`, read from the database (or from its `records`, already read), as a
        sentence for an answer."""
        paid, filed = records or self._records(number)
        if paid is not None:
            return (f"{number}: payment of ${paid['amount']:,.2f} scheduled against {paid['po_number']} on "
                    f"{paid['scheduled_on']}.")
        if filed is not None:
            return f"{number}: flagged as an exception and filed for review ({filed['reason']})."
        if declined:
            return f"{number}: not paid and not filed: a reviewer declined it."
        try:
            found = self._assess(number)
        except (LookupError, OSError):
            return f"{number}: not found in the inbox; nothing was paid or filed."
        why = found.done or "; ".join(found.problems) or "it matches its purchase order"
        return f"{number}: neither paid nor flagged yet ({why})."

    def _handled(self, actions: list[dict[str, Any]], request: str) -> list[str]:
        """The invoice numbers a payer's task is about: those the request names, when it names documents (no other
        invoice may be paid or flagged: `named_check`; none, when none of them is in the inbox), else those its
        calls name."""
        named, unknown = self._named(request)
        numbers = named if named or unknown else [_invoice_number_arg(a["args"]) for a in actions
                                                  if a["tool"] in _INVOICE_CALLS]
        return [n for n in dict.fromkeys(numbers) if INVOICE_NUMBER.fullmatch(n)]

    def _named(self, request: str) -> tuple[list[str], list[str]]:
        """The documents the request names (`_DOCUMENT_MENTION`): the invoice numbers they are (an inbox file's,
        or a number as written), and the names that are no file of the inbox (a missing file, a path)."""
        numbers, unknown = [], []
        for name in dict.fromkeys(_DOCUMENT_MENTION.findall(request)):
            if INVOICE_NUMBER.fullmatch(name):
                numbers.append(name.upper())
                continue
            try:
                numbers.append(self._document(self._locate(name)).number)
            except (LookupError, OSError, PermissionError):
                unknown.append(name)
        return list(dict.fromkeys(numbers)), unknown

    def named_check(self, args: dict[str, Any], request: str) -> str | None:
        """`schedule_payment`'s and `flag_exception`'s request check: when the request names documents, the call's
        invoice must be one of them, and when none of them is in the inbox, no invoice is handled in their place;
        None when it agrees, or the request names no document.

        Measured: asked to "Process the invoice ../invoices.db in the inbox", the clerk listed the inbox and read
        INV-2041.pdf instead, and the payer paid it ($2,340.00)."""
        numbers, unknown = self._named(request)
        number = _invoice_number_arg(args)
        if number in numbers or not (numbers or unknown):
            return None
        if numbers:
            return NOT_THE_NAMED_INVOICE.format(number=number, named=", ".join(numbers))
        return NothingToCall(NAMED_NOT_IN_INBOX.format(number=number, names=", ".join(unknown)))

    def _records(self, number: str) -> tuple[sqlite3.Row | None, sqlite3.Row | None]:
        """Invoice `number`'s payment row and exception row, each None where there is none."""
        with closing(connect(self.db_path)) as conn:
            paid = conn.execute("SELECT * FROM payments WHERE invoice_number = ?", (number,)).fetchone()
            filed = conn.execute("SELECT * FROM exceptions WHERE invoice_number = ?", (number,)).fetchone()
        return paid, filed

    # --- the checks -------------------------------------------------------------------------------

    def _assess(self, invoice_number: str) -> Assessment:
        number = invoice_number.strip().upper()
        doc = self._entry(number)
        found = Assessment(invoice_number=number, file=doc.path.name, fields=doc.fields)
        paid, filed = self._records(number)
        if paid is not None:
            found.done = (f"invoice {number} was already paid ({paid['po_number']}, ${paid['amount']:,.2f}, scheduled "
                          f"{paid['scheduled_on']}): a duplicate, do not pay it again")
            return found
        if filed is not None:
            found.done = f"invoice {number} is already filed as an exception for review ({filed['reason']})"
            return found
        if doc.error:
            found.problems.append(f"the document cannot be read ({doc.error}); a human must read it")
            return found
        fields = doc.fields or {}
        for key, what in (("vendor", "vendor"), ("total", "total")):
            if fields[key] is None:
                found.problems.append(f"the invoice shows no {what}")
        if instructions := payment_instructions(doc.text):
            found.problems.append("the invoice carries payment instructions, which are never followed (payments go "
                                  f"only to the vendor's account on file): {instructions[0][:200]!r}")
        if fields["po_number"] is None:
            found.problems.append("the invoice names no PO number, so it cannot be matched to a purchase order")
            return found
        try:
            po = found.purchase_order = self._purchase_order(fields["po_number"])
        except LookupError as exc:
            found.problems.append(str(exc))
            return found
        if po["status"] != "open":
            found.problems.append(f"{po['po_number']} is {po['status']}: it cannot be invoiced")
        if po["paid_by_invoice"]:
            found.problems.append(f"{po['po_number']} was already paid by invoice {po['paid_by_invoice']} "
                                  "(a possible duplicate)")
        if fields["vendor"] and _normal_vendor(fields["vendor"]) != _normal_vendor(po["vendor"]):
            found.problems.append(f"vendor mismatch: the invoice is from {fields['vendor']!r} but {po['po_number']} "
                                  f"is with {po['vendor']!r}")
        if fields["total"] is not None and abs(fields["total"] - po["amount"]) > AMOUNT_TOLERANCE_USD + 1e-9:
            over = fields["total"] - po["amount"]
            found.problems.append(f"amount mismatch: the invoice totals ${fields['total']:,.2f} but {po['po_number']} "
                                  f"is for ${po['amount']:,.2f} (${abs(over):,.2f} {'more' if over > 0 else 'less'})")
        return found

    def _purchase_order(self, po_number: str) -> dict[str, Any]:
        number = _normal_po(po_number)
        with closing(connect(self.db_path)) as conn:
            row = conn.execute(
                "SELECT po.*, v.name AS vendor, p.invoice_number AS paid_by_invoice FROM purchase_orders po "
                "JOIN vendors v ON v.id = po.vendor_id LEFT JOIN payments p ON p.po_number = po.po_number "
                "WHERE po.po_number = ?", (number,)).fetchone()
        if row is None:
            raise LookupError(f"no purchase order {number}")
        return {"po_number": row["po_number"], "vendor": row["vendor"], "vendor_id": row["vendor_id"],
                "description": row["description"], "amount": row["amount"], "status": row["status"],
                "issued_on": row["issued_on"], "paid_by_invoice": row["paid_by_invoice"]}

    def _entry(self, number: str) -> _Document:
        """The inbox document carrying invoice `number`."""
        if not INVOICE_NUMBER.fullmatch(number):
            raise LookupError(f"{number!r} is not an invoice number (they look like INV-2041)")
        matches = [doc for doc in self._index() if doc.number == number]
        if not matches:
            raise LookupError(f"no invoice {number} in the inbox")
        if len(matches) > 1:
            names = ", ".join(doc.path.name for doc in matches)
            raise LookupError(f"invoice {number} is in {len(matches)} documents ({names}); a human must pick one")
        return matches[0]

    def _index(self) -> list[_Document]:
        """Every inbox document, by the invoice number printed in it (for a document that cannot be read,
        its file name's)."""
        documents = [self._document(path) for path in self._files()]
        return [doc for doc in documents if INVOICE_NUMBER.fullmatch(doc.number)]

    def _document(self, path: Path) -> _Document:
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
        if (cached := self._read.get(path)) and cached[0] == version:
            return cached[1]
        try:
            text, error = read_document(path), ""
        except ValueError as exc:
            text, error = "", str(exc)
        fields = parse_invoice(text) if not error else None
        doc = _Document((fields or {}).get("invoice_number") or path.stem.upper(), path, text, fields, error)
        self._read[path] = (version, doc)
        return doc

    def _files(self) -> list[Path]:
        if not self.inbox.is_dir():
            raise FileNotFoundError(f"the invoice inbox {self.inbox} does not exist")
        return sorted(p for p in self.inbox.iterdir() if p.is_file() and not p.is_symlink()
                      and not p.name.startswith("."))

    def _locate(self, filename: str) -> Path:
        """The inbox file `filename` names (a bare name; without extension, the one file with that stem)."""
        name = filename.strip()
        if not name or "/" in name or "\\" in name or name in (".", "..") or name.startswith("."):
            raise PermissionError(f"{filename!r} is not a file name in the inbox: give a bare name like INV-2041.pdf")
        files = self._files()
        exact = [p for p in files if p.name.lower() == name.lower()]
        if exact:
            return exact[0]
        same_stem = [p for p in files if p.stem.lower() == name.lower()]
        if len(same_stem) == 1:
            return same_stem[0]
        if same_stem:
            raise LookupError(f"{name!r} matches {', '.join(p.name for p in same_stem)}: give the file name")
        raise FileNotFoundError(f"no file {name!r} in the inbox; call list_inbox to see the files")


def invoice_tools(desk: InvoiceDesk) -> list[ToolSpec]:
    """The invoice desk's tool specs: reads, one irreversible payment (reconcilable), one write (exceptions), both
    verified, and both only for an invoice the request names when it names any (`named_check`). No intent: every
    request is an invoice to process, and the code decides pay or flag. Grounding as inferred: invoice and PO
    numbers must have been read (match_invoice shows both)."""
    return [
        tool_spec(desk.list_inbox, risk="read", scopes=("inbox:read",)),
        tool_spec(desk.read_invoice, risk="read", scopes=("inbox:read",)),
        tool_spec(desk.get_purchase_order, risk="read", scopes=("purchase_orders:read",)),
        tool_spec(desk.match_invoice, risk="read", scopes=("inbox:read", "purchase_orders:read", "payments:read")),
        tool_spec(desk.schedule_payment, risk="irreversible", scopes=("payments:write",),
                  reconcile=desk.reconcile_payment, verify=desk.verify_payment, request_check=desk.named_check,
                  precheck=desk.refusal_of_payment),
        tool_spec(desk.flag_exception, risk="write", scopes=("exceptions:write",), verify=desk.verify_exception,
                  request_check=desk.named_check, precheck=desk.refusal_of_exception),
    ]


def _invoice_number_arg(args: dict[str, Any]) -> str:
    """The invoice number a call's arguments give, as the inbox keys it (stripped, upper-cased; '' when absent)."""
    return str(args.get("invoice_number", "")).strip().upper()


def _normal_po(po_number: str) -> str:
    match = PO_NUMBER.fullmatch(po_number.strip())
    if not match:
        raise LookupError(f"{po_number!r} is not a PO number (they look like PO-1001)")
    return match.group(0).upper()


def _normal_vendor(name: str) -> str:
    words = re.sub(r"[^a-z0-9 ]", " ", name.lower())
    return " ".join(_VENDOR_SUFFIXES.sub(" ", words).split())
