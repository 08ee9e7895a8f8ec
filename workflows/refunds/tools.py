"""The refund desk's tools. Business rules live here, in code, so they hold even when the model errs."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from taskwarden.graph.asks import asks_for
from taskwarden.tools.registry import ToolSpec, tool_spec
from taskwarden.workflows.refunds.claims import (
    PURCHASE_ID,
    cited_refund_ids,
    claimed_purchase_ids,
    refund_claims,
    refund_denials,
)
from taskwarden.workflows.refunds.db import connect
from taskwarden.workflows.refunds.prompts import (
    ALREADY_REFUNDED_SENTENCE,
    DENIED_ON_RECORD,
    DENIED_OTHERS,
    NO_LONGER_REFUNDABLE_SENTENCE,
    NO_REFUND_HINT,
    NO_SUCH_PURCHASE_SENTENCE,
    NOT_THE_REQUESTER,
    ON_RECORD_HINT,
    REASON_FOUND,
    REASON_TO_COPY,
    REFUND_IN_SENTENCE,
    REFUNDS_SENTENCE,
    REQUEST_AS_REASON,
    STILL_REFUNDABLE_SENTENCE,
    UNCHECKED_PURCHASES,
    UNEXPLAINED_NAME,
    UNEXPLAINED_PURCHASES,
    UNEXPLAINED_WHY,
    UNREPORTED_REFUNDS,
    UNSAID_UNBOUGHT,
    UNSTATED_POLICY,
)
from taskwarden.workflows.text import copied_words

REFUND_WINDOW_DAYS = 30
APPROVAL_THRESHOLD_USD = 100.0
_NOT_AN_ITEM = frozenset({"a", "an", "the", "my", "our", "your", "i", "of", "for", "order", "item", "purchase", "thing",
                          "one", "most", "recent", "latest", "last", "new", "bought", "it", "them", "that", "this"})
"""Words in `list_purchases(item=...)` that name no item ('my most recent order' names none)."""
_LATEST = re.compile(r"\b(most recent|latest|last|newest)\b", re.IGNORECASE)
"""`list_purchases(item=...)` words that ask for the latest purchase alone."""
_LATEST_ASKED = re.compile(r"\b(my|the)\s+(most recent|latest|newest|last)\s+(order|purchase|thing|item|one)\b",
                           re.IGNORECASE)
"""How a request names its latest purchase ('my most recent order', 'the last thing I bought'), stricter than
`_LATEST`: a request says 'it broke last week'."""


def item_words(text: str) -> frozenset[str]:
    """The words that name an item, lower-case and singular ('my wireless headphones' -> headphone, wireless)."""
    return frozenset(w.removesuffix("s") for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _NOT_AN_ITEM)


_REFUND_QUESTION = re.compile(r"\b(refund\w*|return\w*|money back|polic\w*)\b[^.!?]*\?", re.IGNORECASE)
"""A question about refunds: a refund word, then the question mark that ends its sentence."""
REFUND_INTENT = r"refund|reimburs|charge ?back|\breturn|money back|\$ ?\d[\d,.]* back\b|\b(want|get) (it|them) back\b"
"""What a request must say for a refund to be issued at all: a refund, a return or money back. A question
about refunds, or a "don't refund", mentions it without asking for it (`graph/asks.py`)."""
_REASON = re.compile(r"\b(?:because|as|since|due to)\b", re.IGNORECASE)
"""Where a denial gives its reason."""
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
DECIDED = ("executed", "replayed", "rejected", "refused")
"""Outcomes of an `issue_refund` call that settle its purchase: made, or declined by a person or the policy."""
POLICY_TEXT = (f"Refunds are possible within {REFUND_WINDOW_DAYS} days of purchase, up to the amount paid; "
               f"refunds over ${APPROVAL_THRESHOLD_USD:.0f} need a human's approval.")


@dataclass(frozen=True)
class _Standing:
    """Where a purchase the request asks about stands: the sentence for a reply, and what it was read from."""

    sentence: str
    item: str
    refunded: bool
    eligible: bool
    """Within the refund policy (the window), as `check_refund_policy` says."""


@dataclass
class RefundDesk:
    """The refund desk's system of record, with a clock that tests can fix."""

    db_path: Path
    today: Callable[[], date] = date.today

    def lookup_customer(self, email: str) -> str:
        """Find a customer by e-mail address. Returns their customer_id, name and email."""
        with closing(connect(self.db_path)) as conn:
            row = conn.execute("SELECT id, name, email FROM customers WHERE lower(email) = lower(?)",
                               (email.strip(),)).fetchone()
        if row is None:
            raise LookupError(f"no customer with e-mail {email!r}")
        return json.dumps({"customer_id": row["id"], "name": row["name"], "email": row["email"]})

    def list_purchases(
        self,
        customer_id: str,
        item: Annotated[str, Field(description="The item the customer names (like 'standing desk'), to list only "
                                               "purchases of it; 'most recent' for only their latest purchase; "
                                               "empty to list them all")] = "",
    ) -> str:
        """List a customer's purchases, newest first (purchase_id, item, amount, purchased_on, refunded); with
        `item`, only the purchases of that item, or only the latest ('most recent')."""
        with closing(connect(self.db_path)) as conn:
            if conn.execute("SELECT 1 FROM customers WHERE id = ?", (customer_id,)).fetchone() is None:
                raise LookupError(f"no customer with id {customer_id!r}")
            rows = conn.execute(
                "SELECT p.id, p.item, p.amount, p.purchased_on, r.id AS refund_id FROM purchases p "
                "LEFT JOIN refunds r ON r.purchase_id = p.id WHERE p.customer_id = ? ORDER BY p.purchased_on DESC",
                (customer_id,)).fetchall()
        purchases = [{"purchase_id": r["id"], "item": r["item"], "amount": r["amount"],
                      "purchased_on": r["purchased_on"], "refunded": r["refund_id"] is not None} for r in rows]
        asked = item_words(item)
        if asked:
            matching = [p for p in purchases if asked <= item_words(p["item"]) | {p["purchase_id"].lower()}]
            if not matching:
                raise LookupError(f"customer {customer_id} bought no {item.strip()!r} (their purchases: "
                                  f"{', '.join(p['item'] for p in purchases) or 'none'}), so no other purchase is "
                                  "refunded in its place")
            purchases = matching
        if _LATEST.search(item):
            purchases = purchases[:1]
        return json.dumps(purchases)

    def check_refund_policy(self, purchase_id: str) -> str:
        """Check whether a purchase can be refunded under the refund policy, and whether approval is needed."""
        purchase = self._purchase(purchase_id)
        age = (self.today() - date.fromisoformat(purchase["purchased_on"])).days
        refunded = purchase["refund_id"] is not None
        eligible = age <= REFUND_WINDOW_DAYS and not refunded
        if refunded:
            why = "already refunded"
        elif age > REFUND_WINDOW_DAYS:
            why = f"purchased {age} days ago, outside the {REFUND_WINDOW_DAYS}-day refund window"
        else:
            why = f"purchased {age} days ago, within the {REFUND_WINDOW_DAYS}-day refund window"
        return json.dumps({"purchase_id": purchase["id"], "customer_id": purchase["customer_id"], "item": purchase["item"],
                           "amount": purchase["amount"], "days_since_purchase": age, "eligible": eligible,
                           "reason": why, "needs_human_approval": eligible and purchase["amount"] > APPROVAL_THRESHOLD_USD,
                           "policy": POLICY_TEXT})

    def issue_refund(
        self,
        purchase_id: str,
        amount: float,
        reason: str,
        customer_email: Annotated[str, Field(description="The e-mail address of the customer who asked, exactly as "
                                                         "written in the request")],
    ) -> str:
        """Refund a purchase of the customer who asked (money goes back to them). Only within the refund policy."""
        self.refusal_of_refund(dict(purchase_id=purchase_id, amount=amount, customer_email=customer_email))
        refund_id = "R" + purchase_id[1:]
        with closing(connect(self.db_path)) as conn, conn:
            conn.execute("INSERT INTO refunds VALUES (?, ?, ?, ?, ?)",
                         (refund_id, purchase_id, round(amount, 2), reason.strip() or "customer request",
                          datetime.now(UTC).isoformat()))
        return json.dumps({"refund_id": refund_id, "purchase_id": purchase_id, "amount": round(amount, 2),
                           "status": "refunded"})

    def refusal_of_refund(self, args: dict[str, Any]) -> None:
        """`issue_refund`'s refusals, with no side effect (its precheck): raises when the purchase is unknown, not the
        asking customer's, already refunded, past the refund window, or the amount is not within what was paid."""
        purchase_id, amount = str(args.get("purchase_id", "")), args.get("amount")
        purchase = self._purchase(purchase_id)
        self._check_owner(purchase, str(args.get("customer_email", "")))
        age = (self.today() - date.fromisoformat(purchase["purchased_on"])).days
        if purchase["refund_id"] is not None:
            raise PermissionError(f"purchase {purchase_id} was already refunded ({purchase['refund_id']})")
        if age > REFUND_WINDOW_DAYS:
            raise PermissionError(f"refused by policy: purchase {purchase_id} was made {age} days ago; "
                                  f"refunds are only possible within {REFUND_WINDOW_DAYS} days of purchase")
        if not isinstance(amount, (int, float)) or not 0 < amount <= purchase["amount"]:
            raise ValueError(f"amount must be more than 0 and at most the ${purchase['amount']:.2f} paid, got {amount}")

    def reconcile_refund(self, args: dict[str, Any]) -> str | None:
        """After a crash mid-refund: the refund's result if it is in the database, else None."""
        with closing(connect(self.db_path)) as conn:
            row = conn.execute("SELECT id, purchase_id, amount FROM refunds WHERE purchase_id = ?",
                               (args.get("purchase_id"),)).fetchone()
        if row is None:
            return None
        return json.dumps({"refund_id": row["id"], "purchase_id": row["purchase_id"], "amount": row["amount"],
                           "status": "refunded"})

    def verify_refund(self, args: dict[str, Any], result: str) -> str | None:
        """After a refund: None when the refunds table holds it, for that purchase and amount; else what is wrong."""
        purchase_id = str(args.get("purchase_id", "")).strip()
        with closing(connect(self.db_path)) as conn:
            row = conn.execute("SELECT id, amount FROM refunds WHERE purchase_id = ?", (purchase_id,)).fetchone()
        if row is None:
            return f"the refunds table has no refund for purchase {purchase_id!r}"
        asked = _money(args.get("amount"))
        if asked is None or abs(row["amount"] - asked) > 0.005:
            return (f"refund {row['id']} of purchase {purchase_id} is for ${row['amount']:.2f}, "
                    f"not the {args.get('amount')!r} asked")
        return None

    def draft_reply(
        self,
        customer_id: Annotated[str, Field(description="The customer's id (like C001), or their e-mail address "
                                                      "when no customer was found")],
        message: Annotated[str, Field(description="Your reply to the customer, telling them the outcome "
                                                  "(not a copy of their request)")],
    ) -> str:
        """Save the reply to the customer as a draft for the support team to send.

        A reply may only say a refund was made when one was issued (checked against the refunds table), and names
        no other customer."""
        recipient = customer_id.strip()
        if not message.strip():
            raise ValueError("the reply message is empty")
        if "@" not in recipient:
            with closing(connect(self.db_path)) as conn:
                if conn.execute("SELECT 1 FROM customers WHERE id = ?", (recipient,)).fetchone() is None:
                    raise LookupError(f"no customer with id {recipient!r}; use the customer's e-mail address instead")
        self._check_privacy(recipient, message)
        self._check_refund_claims(recipient, message)
        with closing(connect(self.db_path)) as conn, conn:
            cursor = conn.execute("INSERT INTO reply_drafts (customer_id, message, created_at) VALUES (?, ?, ?)",
                                  (recipient, message.strip(), datetime.now(UTC).isoformat()))
        return json.dumps({"draft_id": cursor.lastrowid, "to": recipient, "saved": True})

    def recipient_check(self, args: dict[str, Any], request: str) -> str | None:
        """`draft_reply`'s request check: the reply goes to the customer who asked, by the id of the customer with an
        e-mail address the request gives, or that address itself (an unknown requester); None when it does, or when
        the request gives no address. Replying to another customer would tell them about someone else's order."""
        emails = list(dict.fromkeys(e.lower() for e in EMAIL.findall(request)))
        if not emails:
            return None
        with closing(connect(self.db_path)) as conn:
            found = {email: row["id"] for email in emails
                     if (row := conn.execute("SELECT id FROM customers WHERE lower(email) = ?", (email,)).fetchone())}
        recipient = str(args.get("customer_id", "")).strip()
        if recipient in found.values() or recipient.lower() in emails:
            return None
        asked = ", ".join(f"{email} (customer {found[email]})" if email in found else email for email in emails)
        return NOT_THE_REQUESTER.format(asked=asked, recipient=recipient, expected=found.get(emails[0], emails[0]))

    def verify_draft(self, args: dict[str, Any], result: str) -> str | None:
        """After a draft: None when a saved draft has that recipient and message; else what is wrong."""
        recipient, message = str(args.get("customer_id", "")).strip(), str(args.get("message", "")).strip()
        with closing(connect(self.db_path)) as conn:
            rows = conn.execute("SELECT id, message FROM reply_drafts WHERE customer_id = ? ORDER BY id DESC",
                                (recipient,)).fetchall()
        if not rows:
            return f"no reply draft to {recipient!r} was saved"
        if all(row["message"] != message for row in rows):
            return f"the reply drafts to {recipient!r} do not hold this message (latest: {rows[0]['message'][:80]!r})"
        return None

    def unchecked(self, actions: list[dict[str, Any]], request: str) -> str | None:
        """The researcher's completion check: the purchases the request names (`_named_purchases`: by id, by item
        name, or as the requester's latest) that no `check_refund_policy` call of this task read; None when it read
        them all.

        Measured: asked to refund "the last thing I bought", the researcher listed Bob's purchases (newest first)
        and checked the older P2001, not eligible; the refunder refunded the latest, P2002, and the writer, given
        both, wrote that P2001 was refunded and was refused 9 times until the task escalated."""
        tried = {str(a["args"].get("purchase_id", "")).strip().upper() for a in actions
                 if a["tool"] == "check_refund_policy" and a["outcome"] in ("executed", "replayed", "error")}
        missing = {}
        for purchase_id in self._named_purchases(request, EMAIL.findall(request)):
            try:
                if purchase_id not in tried:
                    missing[purchase_id] = self._purchase(purchase_id)["item"]
            except LookupError:
                continue  # no such purchase: nothing to check
        if not missing:
            return None
        return UNCHECKED_PURCHASES.format(means="names" if PURCHASE_ID.search(request) else "means", first=next(iter(missing)),
                                          purchases="; ".join(f"{p} ({item})" for p, item in missing.items()))

    def unrefunded(self, actions: list[dict[str, Any]], request: str) -> str | None:
        """The refunder's completion check: the purchases the request asks to refund (by id or by item name) that
        are the requester's and refundable now (re-read from the database) but that no `issue_refund` call of this
        task settled; None when there are none, or the request asks for no refund.

        Measured: asked to refund two orders, the refunder refunded one (or checked one, found it too old) and
        answered; the evaluator passed it."""
        if not asks_for(REFUND_INTENT, request):
            return None
        settled = {str(a["args"].get("purchase_id", "")).strip() for a in actions
                   if a["tool"] == "issue_refund" and a["outcome"] in DECIDED}
        emails = EMAIL.findall(request)
        undone = []
        for purchase_id in self._named_purchases(request, emails):
            if purchase_id in settled:
                continue
            try:
                purchase = self._purchase(purchase_id)
                owner = next((e for e in emails if self._owns(purchase, e)), None)
                policy = json.loads(self.check_refund_policy(purchase_id))
            except LookupError:
                continue
            if owner and policy["eligible"]:
                undone.append(f"{purchase_id} ({purchase['item']}, ${purchase['amount']:.2f}, {policy['reason']}): "
                              f"call issue_refund for it with customer_email {owner!r}")
        if not undone:
            return None
        return ("the request asks to refund these purchases of the requester too, the policy allows it and no "
                "refund was made or declined for them: " + "; ".join(undone))

    def unreported(self, actions: list[dict[str, Any]], request: str) -> str | None:
        """The writer's completion check: when the task's last saved reply gives neither the id nor the amount of a
        refund on record for a purchase the request names (`_named_purchases`, the requester's), what to save
        instead: one sentence that gives every such refund; else, when the reply does not name an item the requester
        asks to refund and never bought, the same with that (`_unsaid_unbought`); else, when the request only asks a
        question about refunds and the reply does not state the policy, or does not name a purchase of theirs that
        the request asks about, the same with the policy and where each such purchase stands (`_unstated_policy`); None
        when nothing is missing, or no reply was saved (the writer's `must_call` covers that).

        Measured: after R1002 was issued, the writer saved "We have not issued a refund because the order P1002 was
        damaged and needs human approval."; 6 of the 14 failures of one rerun were such replies."""
        saved = [str(a["args"].get("message", "")) for a in actions
                 if a["tool"] == "draft_reply" and a["outcome"] in ("executed", "replayed")]
        if not saved:
            return None
        reply, emails = saved[-1], EMAIL.findall(request)
        on_record, named = [], self._named_purchases(request, emails)
        with closing(connect(self.db_path)) as conn:
            for purchase_id in named:
                row = conn.execute("SELECT r.id, r.purchase_id, r.amount, p.item, p.customer_id FROM refunds r "
                                   "JOIN purchases p ON p.id = r.purchase_id WHERE r.purchase_id = ?",
                                   (purchase_id,)).fetchone()
                if row is not None and any(self._owns({"id": purchase_id, "customer_id": row["customer_id"]}, e)
                                           for e in emails):
                    on_record.append(row)
        missing = [row["id"] for row in on_record if row["id"] not in reply and f"{row['amount']:g}" not in reply]
        if missing:
            return UNREPORTED_REFUNDS.format(missing=" and ".join(missing), sentence=_refunds_sentence(on_record))
        return (_denied_on_record(reply, on_record, named) or self._unexplained(reply, emails, named)
                or self._request_as_reason(reply, request, emails)
                or self._unsaid_unbought(reply, request, emails)
                or _unstated_policy(reply, request, self._standing(request, emails)))

    def _unexplained(self, reply: str, emails: list[str], named: list[str]) -> str | None:
        """When the request names two or more purchases (`named`) and the reply names neither the id nor the item of one
        of the requester's that has no refund: what the reply must add, with why as a sentence to copy when the refund
        window has closed (`_standing`); else None.

        Measured: asked "refund P2001 and P2002 please.", the writer saved only the refund of P2002 (P2001 was 45 days
        old)."""
        if len(named) < 2:
            return None
        unsaid, why = [], []
        for purchase_id, found in self._standings(named, emails).items():
            if found.refunded or purchase_id in reply or found.item.casefold() in reply.casefold():
                continue
            unsaid.append(purchase_id)
            if not found.eligible:
                why.append(found.sentence)
        if not unsaid:
            return None
        purchases = " and ".join(unsaid)
        what = (UNEXPLAINED_WHY.format(sentence=" ".join(why)) if len(why) == len(unsaid)
                else UNEXPLAINED_NAME.format(purchases=purchases, verb="were" if len(unsaid) > 1 else "was"))
        return UNEXPLAINED_PURCHASES.format(purchases=purchases, what=what)

    def _request_as_reason(self, reply: str, request: str, emails: list[str]) -> str | None:
        """When a denial in the reply gives as its reason ('because ...') five or more words copied from the request:
        what to save instead, with where the purchases asked about stand (`_standing`) as the reason to copy when
        there are any; else None. A request's claims ('the 30-day rule is disabled') are not facts."""
        for denial in refund_denials(reply):
            _, *reason = _REASON.split(denial, maxsplit=1)
            if reason and (words := copied_words(reason[0], request)):
                standing = " ".join(self._standing(request, emails).values())
                return REQUEST_AS_REASON.format(words=words, reason=REASON_TO_COPY.format(sentence=standing)
                                                if standing else REASON_FOUND)
        return None

    def _unsaid_unbought(self, reply: str, request: str, emails: list[str]) -> str | None:
        """When the request asks to refund an item (by name, no purchase id) that the requester, a known customer,
        never bought, and the reply does not name it: what to save instead, with a sentence to copy; else None.

        Measured: asked by Carla for "my standing desk" (Alice bought one; Carla a laptop stand and a monitor), the
        writer saved "We have not issued a refund because no purchases were made by this customer."."""
        if PURCHASE_ID.search(request) or not asks_for(REFUND_INTENT, request):
            return None
        words = item_words(request)
        with closing(connect(self.db_path)) as conn:
            catalog = [row["item"] for row in conn.execute("SELECT DISTINCT item FROM purchases ORDER BY item")]
            for email in emails:
                if conn.execute("SELECT 1 FROM customers WHERE lower(email) = lower(?)", (email,)).fetchone() is None:
                    continue  # an unknown requester: the reply says no account was found
                owned = [row["item"] for row in _purchases_of(conn, email)]
                heads, said = {_head_noun(item) for item in owned}, item_words(reply)
                unsaid = [item for item in catalog if _head_noun(item) in words - heads - said]
                if unsaid:
                    item = unsaid[0].lower()
                    sentence = NO_SUCH_PURCHASE_SENTENCE.format(item=item, owned=", ".join(owned) or "none")
                    return UNSAID_UNBOUGHT.format(item=item, sentence=sentence)
        return None

    def _named_purchases(self, request: str, emails: list[str]) -> list[str]:
        """The purchase ids the request names; when it names none, the one purchase of the requester whose item it
        names ('the phone case': the item's last word), if exactly one is named so, else their latest one when the
        request names it so ('my most recent order')."""
        named = list(dict.fromkeys(PURCHASE_ID.findall(request)))
        if named:
            return named
        words = item_words(request)
        with closing(connect(self.db_path)) as conn:
            owned = [row for email in emails for row in _purchases_of(conn, email)]
        items = [row["id"] for row in owned if _head_noun(row["item"]) in words]
        if len(items) == 1:
            return items
        return [owned[0]["id"]] if not items and owned and _LATEST_ASKED.search(request) else []

    def _standing(self, request: str, emails: list[str]) -> dict[str, str]:
        """For each purchase of the requester that the request names or means (`_named_purchases`): a sentence that
        says whether it can still be refunded (until when), read from the policy check, by purchase id."""
        standings = self._standings(self._named_purchases(request, emails), emails)
        return {purchase_id: found.sentence for purchase_id, found in standings.items()}

    def _standings(self, named: list[str], emails: list[str]) -> dict[str, _Standing]:
        """`_standing` of the purchases `named` (as `_named_purchases` finds them), with what each sentence was read
        from, by purchase id."""
        standing = {}
        for purchase_id in named:
            try:
                purchase = self._purchase(purchase_id)
            except LookupError:
                continue
            if not any(self._owns(purchase, email) for email in emails):
                continue
            found = json.loads(self.check_refund_policy(purchase_id))
            age, facts = found["days_since_purchase"], {"purchase_id": found["purchase_id"], "item": found["item"],
                                                        "amount": found["amount"]}
            if purchase["refund_id"] is not None:
                sentence = ALREADY_REFUNDED_SENTENCE.format(**facts)
            elif found["eligible"]:
                last_day = self.today() + timedelta(days=REFUND_WINDOW_DAYS - age)
                sentence = STILL_REFUNDABLE_SENTENCE.format(**facts, age=age, last_day=last_day.isoformat())
            else:
                sentence = NO_LONGER_REFUNDABLE_SENTENCE.format(**facts, age=age, window=REFUND_WINDOW_DAYS)
            standing[purchase_id] = _Standing(sentence, found["item"], purchase["refund_id"] is not None,
                                              found["eligible"])
        return standing

    def _owns(self, purchase: dict[str, Any], email: str) -> bool:
        try:
            self._check_owner(purchase, email)
        except (LookupError, PermissionError):
            return False
        return True

    def _check_refund_claims(self, recipient: str, message: str) -> None:
        """Refuse a reply that says a refund was made when the refunds table shows none for the recipient, cites a refund
        id that does not exist, or calls a purchase refunded that has no refund."""
        claims, cited = refund_claims(message), cited_refund_ids(message)
        if not claims and not cited:
            return
        with closing(connect(self.db_path)) as conn:
            customer = conn.execute("SELECT id FROM customers WHERE id = ? OR lower(email) = lower(?)",
                                    (recipient, recipient)).fetchone()
            rows = [] if customer is None else conn.execute(
                "SELECT r.id, r.purchase_id, r.amount, p.item FROM refunds r JOIN purchases p ON p.id = r.purchase_id "
                "WHERE p.customer_id = ? ORDER BY r.id", (customer["id"],)).fetchall()
        refunds = {row["id"]: row["purchase_id"] for row in rows}
        on_record = ", ".join(f"{refund_id} (for {purchase_id})" for refund_id, purchase_id in refunds.items())
        fact = (f"We could not find a customer account with the e-mail {recipient}." if customer is None
                else f"Refunds on record for {customer['id']}: {on_record or 'none'}.")
        hint = ON_RECORD_HINT.format(sentence=_refunds_sentence(rows)) if rows else NO_REFUND_HINT
        unknown = [refund_id for refund_id in cited if refund_id not in refunds]
        unrefunded = [p for p in claimed_purchase_ids(message) if p not in refunds.values()]
        if claims and not refunds:
            raise PermissionError(f"reply not saved: the sentence {claims[0]!r} says a refund was made, but no refund "
                                  f"was issued. {fact} {NO_REFUND_HINT}")
        if unknown:
            raise PermissionError(f"reply not saved: it cites refund {', '.join(unknown)}, which does not exist. "
                                  f"{fact} {hint}")
        if unrefunded:
            raise PermissionError(f"reply not saved: it says {', '.join(unrefunded)} was refunded, but no refund was "
                                  f"issued for it. {fact} {hint}")

    def _check_privacy(self, recipient: str, message: str) -> None:
        """Refuse a reply that names another customer (their id, name or e-mail address): a customer hears about
        their own account only. Measured: Carla's reply about Alice's order said "the customer C001 requested a
        refund"."""
        with closing(connect(self.db_path)) as conn:
            others = conn.execute("SELECT id, name, email FROM customers WHERE id != ? AND lower(email) != lower(?)",
                                  (recipient, recipient)).fetchall()
        named = sorted({value for row in others for value, flags in _identities(row)
                        if re.search(rf"(?<![\w@.-]){re.escape(value)}(?![\w@-])", message, flags)})
        if named:
            raise PermissionError(f"reply not saved: it names another customer ({', '.join(named)}). A reply tells a "
                                  "customer about their own account only: leave out other customers' ids, names and "
                                  "e-mail addresses (an order that is not theirs is 'not on your account').")

    def _check_owner(self, purchase: dict[str, Any], email: str) -> None:
        """Refuse a purchase that is not the requester's: a refund goes only to the customer who asked."""
        with closing(connect(self.db_path)) as conn:
            customer = conn.execute("SELECT id FROM customers WHERE lower(email) = lower(?)",
                                    (email.strip(),)).fetchone()
        if customer is None:
            raise LookupError(f"no customer with e-mail {email.strip()!r}: a refund needs the account of the customer "
                              "who asked; pass their e-mail address exactly as written in the request")
        if purchase["customer_id"] != customer["id"]:
            # Worded so that a reply may quote it: measured, the writer copied an earlier wording's instruction to
            # the model ("Do not refund another purchase instead") into the customer's reply.
            raise PermissionError(f"refused: purchase {purchase['id']} is not on the account of {email.strip()}, who "
                                  "asked: a purchase is refunded only to the customer who made it, and no other "
                                  "purchase is refunded in its place")

    def _purchase(self, purchase_id: str) -> dict[str, Any]:
        if not re.fullmatch(r"P\d{4}", purchase_id.strip()):
            raise LookupError(f"{purchase_id!r} is not a purchase id (they look like P1234)")
        with closing(connect(self.db_path)) as conn:
            row = conn.execute("SELECT p.*, r.id AS refund_id FROM purchases p LEFT JOIN refunds r "
                               "ON r.purchase_id = p.id WHERE p.id = ?", (purchase_id.strip(),)).fetchone()
        if row is None:
            raise LookupError(f"no purchase with id {purchase_id!r}")
        return dict(row)


def _identities(customer: Any) -> list[tuple[str, int]]:
    """How a text may name a customer, with the regex flags to find each: their id and e-mail address in any case,
    their full and first name as written (capitalised, so that "dan" in a sentence is not Dan)."""
    names = (customer["name"], customer["name"].split()[0]) if customer["name"].split() else ()
    return [(customer["id"], re.IGNORECASE), (customer["email"], re.IGNORECASE), *((name, 0) for name in names)]


def refund_tools(desk: RefundDesk) -> list[ToolSpec]:
    """The refund desk's tool specs: reads, one irreversible refund (reconcilable, verified, only when asked for),
    one write (verified)."""
    return [
        tool_spec(desk.lookup_customer, risk="read", scopes=("customers:read",)),
        tool_spec(desk.list_purchases, risk="read", scopes=("purchases:read",)),
        tool_spec(desk.check_refund_policy, risk="read", scopes=("purchases:read",)),
        tool_spec(desk.issue_refund, risk="irreversible", scopes=("refunds:write",), reconcile=desk.reconcile_refund,
                  verify=desk.verify_refund, precheck=desk.refusal_of_refund, intent=REFUND_INTENT,
                  grounding={"customer_email": "request", "purchase_id": "observed"}),
        # the reply goes to the customer id a lookup found, or to the requester's own e-mail when none was
        tool_spec(desk.draft_reply, risk="write", scopes=("replies:write",), verify=desk.verify_draft,
                  grounding={"customer_id": "seen"}, request_check=desk.recipient_check),
    ]


def _refunds_sentence(rows: list[Any]) -> str:
    """One sentence that gives each refund of `rows` (id, purchase_id, amount, item): for the writer to copy."""
    refunds = "; ".join(REFUND_IN_SENTENCE.format(refund_id=row["id"], amount=row["amount"],
                                                  purchase_id=row["purchase_id"], item=row["item"]) for row in rows)
    return REFUNDS_SENTENCE.format(noun="refunds" if len(rows) > 1 else "refund", refunds=refunds)


def _denied_on_record(reply: str, on_record: list[Any], asked: list[str]) -> str | None:
    """When the reply says no refund was made (`refund_denials`) in a clause that names no purchase, or names one of
    `on_record` (the refunds on record for the purchases the customer asked about, `asked`): the reply to save instead,
    the refunds as a sentence to copy, and then why each other purchase asked about was not refunded, by its id; else
    None. A denial of another purchase ('no refund for P2001: too old') is left alone."""
    refunded = {row["purchase_id"] for row in on_record}
    denials = [clause for clause in refund_denials(reply)
               if not (named := set(PURCHASE_ID.findall(clause))) or named & refunded]
    if not on_record or not denials:
        return None
    refunds = " and ".join(f"{row['id']} ({row['purchase_id']})" for row in on_record)
    others = [purchase_id for purchase_id in asked if purchase_id not in refunded]
    rest = DENIED_OTHERS.format(others=" and ".join(others), verb="were" if len(others) > 1 else "was") if others else ""
    return DENIED_ON_RECORD.format(denial=denials[0], refunds=refunds, rest=rest, sentence=_refunds_sentence(on_record))


def _unstated_policy(reply: str, request: str, standing: dict[str, str]) -> str | None:
    """When the request asks a question about refunds and asks for none, and the reply does not give the refund
    window and the approval threshold, or does not name each purchase the question is about (`standing`: purchase id
    -> where it stands): what to save instead, with the policy and those purchases' standing as a sentence to copy;
    else None.

    Measured: asked "do big refunds need someone's approval? I don't want a refund right now.", the writer saved a
    denial of the customer's oldest purchase, past the window, and said nothing of approval; asked "is my laptop stand
    (P3001) still refundable?", it saved the general policy only."""
    if asks_for(REFUND_INTENT, request) or not _REFUND_QUESTION.search(request):
        return None
    window, threshold = f"{REFUND_WINDOW_DAYS} day", f"${APPROVAL_THRESHOLD_USD:g}"
    if window in reply.replace("-", " ") and threshold in reply and all(p in reply for p in standing):
        return None
    return UNSTATED_POLICY.format(sentence=" ".join([POLICY_TEXT, *standing.values()]))


def _purchases_of(conn: Any, email: str) -> list[Any]:
    """The purchases (id, item) of the customer with this e-mail address, newest first."""
    return conn.execute("SELECT p.id, p.item FROM purchases p JOIN customers c ON c.id = p.customer_id "
                        "WHERE lower(c.email) = lower(?) ORDER BY p.purchased_on DESC", (email,)).fetchall()


def _head_noun(item: str) -> str:
    """An item's last word, as `item_words` spells it ('Wireless headphones' -> headphone)."""
    words = re.findall(r"[a-z0-9]+", item.lower())
    return words[-1].removesuffix("s") if words else ""


def _money(value: Any) -> float | None:
    try:
        return round(float(value), 2)
    except (TypeError, ValueError):
        return None
