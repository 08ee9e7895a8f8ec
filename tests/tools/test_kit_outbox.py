"""The notification outbox: what was "sent" can be read back, and never changed."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import pytest

from taskwarden.tools.kits import Outbox, OutboxMessage
from taskwarden.tools.ledger import Ledger
from taskwarden.tools.policy import PolicyGate, forbid


@pytest.fixture
def outbox(tmp_path):
    return Outbox(tmp_path / "outbox.db")


def test_sent_notifications_are_read_back_in_order(outbox, tmp_path):
    assert json.loads(outbox.send_email("dana@example.com", "Refund  issued", "Your refund of $20 is on its way.")) == {
        "id": 1, "kind": "email", "to": "dana@example.com", "status": "sent"}
    assert json.loads(outbox.send_message("#support", "Refunded P1001")) == {
        "id": 2, "kind": "message", "channel": "#support", "status": "sent"}
    email, message = Outbox(tmp_path / "outbox.db").messages()  # a second reader sees the same
    assert email == OutboxMessage(1, "email", "dana@example.com", "Refund issued", "Your refund of $20 is on its way.",
                                  email.created_at)
    assert (message.kind, message.recipient, message.subject, message.body) == ("message", "#support", None,
                                                                                  "Refunded P1001")
    assert email.created_at <= message.created_at and email.created_at.endswith("+00:00")
    assert outbox.messages(kind="message") == [message]


def test_the_outbox_is_append_only(outbox):
    outbox.send_email("dana@example.com", "Hello", "Hi Dana")
    with closing(sqlite3.connect(outbox.path)) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="append-only: sent notifications cannot be changed"):
            conn.execute("UPDATE outbox SET body = 'something else'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only: sent notifications cannot be deleted"):
            conn.execute("DELETE FROM outbox")
    assert [m.body for m in outbox.messages()] == ["Hi Dana"]


@pytest.mark.parametrize(("to", "subject", "body", "error"), [
    ("dana@example.com, lee@example.com", "Hi", "text", "is not one e-mail address"),
    ("not-an-address", "Hi", "text", "is not one e-mail address"),
    ("dana@example.com", "  ", "text", "the subject is empty"),
    ("dana@example.com", "Hi", "   ", "the message is empty"),
])
def test_invalid_emails_are_refused_and_not_recorded(outbox, to, subject, body, error):
    with pytest.raises(ValueError, match=error):
        outbox.send_email(to, subject, body)
    assert outbox.messages() == []


def test_invalid_channels_and_long_messages_are_refused(tmp_path):
    outbox = Outbox(tmp_path / "outbox.db", max_body_chars=10)
    with pytest.raises(ValueError, match="is not a channel name"):
        outbox.send_message("#two words", "hi")
    with pytest.raises(ValueError, match="the limit is 10"):
        outbox.send_message("@dana", "x" * 11)
    assert outbox.messages() == []


def test_argument_names_make_recipient_policies_one_line(outbox):
    gate = PolicyGate((forbid("send_email", "to not in ['ops@example.com']", reason="not an allowed recipient"),))
    assert gate.check("send_email", {"to": "ops@example.com", "subject": "s", "body": "b"}).outcome == "allow"
    assert gate.check("send_email", {"to": "ceo@rival.example", "subject": "s", "body": "b"}).outcome == "forbid"


def test_reconcile_tells_whether_a_notification_was_sent(outbox):
    args = {"to": "dana@example.com", "subject": "Hello", "body": "Hi Dana"}
    assert outbox.reconcile_email(args) is None
    receipt = outbox.send_email(**args)
    assert outbox.reconcile_email(args) == receipt
    assert outbox.reconcile_message({"channel": "#ops", "text": "Hi Dana"}) is None


def test_through_the_ledger_a_replayed_call_sends_once(outbox, tmp_path):
    ledger = Ledger(tmp_path / "ledger.db")
    spec = outbox.tools()[0]
    args = {"to": "dana@example.com", "subject": "Hello", "body": "Hi Dana"}
    results = [ledger.run_once("run/task/send_email", spec.name, args, lambda: spec.tool.invoke(args), spec.reconcile)
               for _ in range(2)]
    assert results[0].result == results[1].result and results[1].replayed
    assert len(outbox.messages()) == 1


def test_tools_declare_irreversible_risk(outbox):
    specs = outbox.tools()
    assert [(spec.name, spec.risk, spec.scopes) for spec in specs] == [
        ("send_email", "irreversible", ("email:send",)), ("send_message", "irreversible", ("messages:send",))]
    assert all(spec.reconcile is not None for spec in specs)
