"""The redactor: what it masks, what it must leave alone, pseudonyms that round-trip, log redaction."""

from __future__ import annotations

import logging
import re

import pytest

from taskwarden.tools.redact import (
    KINDS,
    ModelRedaction,
    Pseudonyms,
    RedactingFilter,
    Redactor,
    luhn_valid,
    pseudonym,
    redact,
    redact_for_model,
    redact_value,
)

CONTACTS = Redactor(kinds=("EMAIL", "PHONE"))


@pytest.mark.parametrize("text, expected", [
    ("card 4111 1111 1111 1111, exp 12/28", "card [CARD], exp 12/28"),
    ("card 4111-1111-1111-1111", "card [CARD]"),
    ("card 4111 1111 1111 1111 12/28 cvc 123", "card [CARD] 12/28 cvc 123"),  # an expiry after the number
    ("card 4111 1111 1111 1111 123", "card [CARD] 123"),
    ("paid with 5555555555554444.", "paid with [CARD]."),
    ("amex 3782 822463 10005", "amex [CARD]"),
    ("mail Alice.M+refunds@example.co.uk.", "mail [EMAIL]."),
    ("from alice@example.com: refund P1002", "from [EMAIL]: refund P1002"),
    ("call +44 20 7946 0958 now", "call [PHONE] now"),
    ("call +1 (415) 555-0132", "call [PHONE]"),
    ("tel +33 6 12 34 56 78", "tel [PHONE]"),
    ("(415) 555-0132, 415-555-0132 or 415.555.0132", "[PHONE], [PHONE] or [PHONE]"),
    ("+44 20 7946 0958 - 12 items", "[PHONE] - 12 items"),
    ("key sk-proj-abcDEF1234567890abcdefXYZ", "key [SECRET]"),
    ("aws AKIAIOSFODNN7EXAMPLE", "aws [SECRET]"),
    ("gh ghp_" + "a1B2" * 9, "gh [SECRET]"),
    ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe [SECRET]"),
    ("Authorization: Bearer abc.DEF-123_xyz", "Authorization: Bearer [SECRET]"),
    ("GET /x?api_key=9f86d081884c7d659a2feaa0c55ad015&page=2", "GET /x?api_key=[SECRET]&page=2"),
    ("token: dGhpcyBpcyBhIHNlY3JldCB0b2tlbg==", "token: [SECRET]"),
    ('{"client_secret": "Zm9vYmFyYmF6cXV4MTIzNDU2"}', '{"client_secret": "[SECRET]"}'),
    ("login password=hunter2&user=bob", "login password=[SECRET]&user=bob"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0", "jwt [SECRET]"),
])
def test_secrets_and_personal_data_are_masked(text, expected):
    assert redact(text).text == expected


@pytest.mark.parametrize("text", [
    "refund order P1002 for 249.00 (customer C001, refund R1002)",
    "purchased 2026-11-21, reviewed 11/21/2026 at 10:15",
    "at 2026-11-21T10:15:30.123Z and 2026-11-21T10:15:30+01:00",
    "4111 1111 1111 1112",  # Luhn-invalid
    "4111111111111112",
    "1234567812345670",  # Luhn-valid, but no card starts with 1
    "ids 4155550132 and 20261121101530 and 1763700000000",  # bare digit runs: ids, timestamps
    "amounts 1,249.99 USD and $12,000.00, +12 points",
    "version 1.2.3.4, host 192.168.100.200, port 8080",
    "sort key=created_at_timestamp_field, token=aaaaaaaaaaaaaaaaaaaa",  # not random-looking
    "the task-runner and monkey=business",
    # the engine's own ids, as models see them in prompts and tool results
    "thread 3f9c0a12d4e1, task t1, call call_4111111111111111, draft_id 4111111111111111x",
    "run 41111111-1111-1111-4444-555555555555 and 11111111-2222-3333-4444-555555555555",  # UUIDs of digits only
    "uuids 30394588-9604-4640-a59d-34fcc60d2c80, 49430346-8138-4088-8104-ac6ed2a38b58",
    "idempotency key 9f86d081884c7d659a2feaa0c55ad015b3bf4f1b2b0b822cd15d6c15b0f00a08",
    '{"refund_id": "R1002", "purchase_id": "P1002", "amount": 249.0, "purchased_on": "2026-11-09"}',
    "<EMAIL_3f2a9c> and <PHONE_1>",  # placeholders are not data
])
def test_ids_dates_amounts_and_timestamps_are_left_alone(text):
    assert redact(text).text == text
    assert redact(text).counts == {}


def test_counts_by_kind():
    result = redact("alice@example.com, bob@example.org, 4111 1111 1111 1111, +1 415 555 0132")
    assert result.counts == {"EMAIL": 2, "CARD": 1, "PHONE": 1} and result.total == 4


def test_luhn():
    assert luhn_valid("4111111111111111") and luhn_valid("378282246310005")
    assert not luhn_valid("4111111111111112") and not luhn_valid("41111x11")


def test_overlapping_matches_resolve_by_precedence():
    """SECRET before CARD before EMAIL before PHONE: a card number used as a password is one secret."""
    findings = Redactor().find("pwd=4111111111111111 and 4111 1111 1111 1111")
    assert [(f.kind, f.text) for f in findings] == [("SECRET", "4111111111111111"), ("CARD", "4111 1111 1111 1111")]
    assert KINDS == ("SECRET", "CARD", "EMAIL", "PHONE")


def test_values_are_redacted_recursively_and_secret_named_keys_whole():
    value = {"email": "alice@example.com", "password": "hunter2", "api_key": "short", "card": 4111111111111111,
             "amount": 249.0, "input_tokens": 10, "notes": ["call +44 20 7946 0958"], "ok": True}
    assert redact_value(value) == {"email": "[EMAIL]", "password": "[SECRET]", "api_key": "[SECRET]", "card": "[CARD]",
                                   "amount": 249.0, "input_tokens": 10, "notes": ["call [PHONE]"], "ok": True}


def test_pseudonyms_are_stable_and_restore_tool_arguments():
    names = Pseudonyms()
    redactor = Redactor()
    first = redactor.pseudonymize("Alice is alice@example.com, Bob is bob@example.org", names)
    again = redactor.pseudonymize("write to ALICE@example.com, card 4111 1111 1111 1111", names)
    assert first.text == "Alice is <EMAIL_1>, Bob is <EMAIL_2>"
    assert again.text == "write to <EMAIL_1>, card <CARD_1>"
    args = {"email": "<EMAIL_2>", "cc": ["<EMAIL_1>", "<EMAIL_9>"], "amount": 80}
    assert names.restore_value(args) == {"email": "bob@example.org", "cc": ["alice@example.com", "<EMAIL_9>"],
                                         "amount": 80}, "an unknown placeholder (made up by a model) stays"
    stored = Pseudonyms.from_dict(names.to_dict())
    assert stored.restore("<CARD_1>") == "4111 1111 1111 1111" and len(stored) == 3 and "<EMAIL_2>" in stored
    assert redactor.pseudonymize("bob@example.org", stored).text == "<EMAIL_2>"


def test_pseudonymize_a_tool_result():
    names = Pseudonyms()
    value, counts = Redactor().pseudonymize_value({"customer": {"email": "alice@example.com", "id": "C001"}}, names)
    assert value == {"customer": {"email": "<EMAIL_1>", "id": "C001"}} and counts == {"EMAIL": 1}


def test_redact_for_model_keeps_contact_details_and_masks_cards_and_keys():
    text = "alice@example.com, +1 415 555 0132, card 4111111111111111, key sk-abcdefghijklmnopqrstuvwx"
    result = redact_for_model(text)
    assert result.text == "alice@example.com, +1 415 555 0132, card [CARD], key [SECRET]"
    assert result.counts == {"CARD": 1, "SECRET": 1}


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown redaction kinds"):
        Redactor(kinds=("SSN",))


def test_log_records_are_redacted(capsys):
    from taskwarden.cli.logs import configure_logging

    logger = logging.getLogger("taskwarden.test_redact")
    logger.propagate = False
    configure_logging(logger)
    configure_logging(logger)  # once only
    try:
        logger.warning("refund for %s, card %s", "alice@example.com", "4111 1111 1111 1111")
        try:
            raise ValueError("bad token=dGhpcyBpcyBhIHNlY3JldCB0b2tlbg==")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.handlers.clear()
    err = capsys.readouterr().err
    assert "refund for [EMAIL], card [CARD]" in err and "token=[SECRET]" in err
    assert "alice@example.com" not in err and "dGhpcyBp" not in err
    assert err.count("taskwarden: WARNING") == 1


def test_the_filter_leaves_clean_records_untouched():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "order %s: %s", ("P1002", 249.0), None)
    assert RedactingFilter().filter(record) and record.getMessage() == "order P1002: 249.0" and record.args


def test_derived_pseudonyms_are_keyed_and_normalised():
    key = b"k" * 32
    token = pseudonym("EMAIL", "alice@example.com", key)
    assert re.fullmatch(r"<EMAIL_[0-9a-f]{6}>", token)
    assert pseudonym("EMAIL", "ALICE@example.com", key) == token, "the same address in other case"
    assert pseudonym("PHONE", "+1 (415) 555-0132", key) == pseudonym("PHONE", "+1 415 555 0132", key)
    assert pseudonym("EMAIL", "alice@example.com", b"other key") != token
    assert pseudonym("EMAIL", "bob@example.com", key) != token
    with pytest.raises(ValueError, match="unknown redaction kind"):
        pseudonym("SSN", "123", key)


def test_keyed_pseudonyms_agree_across_mappings_and_restore():
    key = b"k" * 32
    first, second = Pseudonyms(key=key), Pseudonyms(key=key)
    text = "write to alice@example.com or +44 20 7946 0958"
    hidden = CONTACTS.pseudonymize(text, first).text
    assert hidden == CONTACTS.pseudonymize(text, second).text == (
        f"write to {pseudonym('EMAIL', 'alice@example.com', key)} or {pseudonym('PHONE', '+44 20 7946 0958', key)}")
    assert second.restore(hidden) == text
    assert Pseudonyms.from_dict(first.to_dict(), key=key).restore(hidden) == text


def test_two_values_with_the_same_short_digest_get_distinct_placeholders():
    key, seen = b"collide", {}
    for i in range(200_000):  # a 24-bit digest: a collision comes after a few thousand values
        value = f"user{i}@example.com"
        token = pseudonym("EMAIL", value, key)
        if token in seen:
            break
        seen[token] = value
    else:
        pytest.fail("no collision found")
    names = Pseudonyms(key=key)
    hidden = CONTACTS.pseudonymize(f"{seen[token]} and {value}", names).text
    first, second = hidden.split(" and ")
    assert first == token and second == pseudonym("EMAIL", value, key, digits=16)
    assert names.restore(hidden) == f"{seen[token]} and {value}"


@pytest.mark.parametrize("level, expected", [
    ("secrets", "alice@example.com, +1 415 555 0132, card [CARD], key [SECRET]"),
    ("pii", "{email}, {phone}, card [CARD], key [SECRET]"),
    ("off", "alice@example.com, +1 415 555 0132, card 4111111111111111, key sk-abcdefghijklmnopqrstuvwx"),
])
def test_model_redaction_levels(level, expected):
    key = b"k" * 32
    text = "alice@example.com, +1 415 555 0132, card 4111111111111111, key sk-abcdefghijklmnopqrstuvwx"
    call = ModelRedaction(level, key)
    hidden = call.hide(text)
    assert hidden == expected.format(email=pseudonym("EMAIL", "alice@example.com", key),
                                     phone=pseudonym("PHONE", "+1 415 555 0132", key))
    restored = call.restore(hidden)
    assert restored == (text.replace("4111111111111111", "[CARD]").replace("sk-abcdefghijklmnopqrstuvwx", "[SECRET]")
                        if level != "off" else text), "contact details come back; cards and secrets never do"


def test_model_redaction_of_values_masks_secret_named_keys_and_restores_placeholders():
    call = ModelRedaction("pii", b"k" * 32)
    hidden = call.hide({"email": "alice@example.com", "password": "hunter2", "amount": 249.0, "ids": ["P1002"]})
    token = pseudonym("EMAIL", "alice@example.com", b"k" * 32)
    assert hidden == {"email": token, "password": "[SECRET]", "amount": 249.0, "ids": ["P1002"]}
    assert call.restore({"to": [token], "note": f"mail {token}, not <EMAIL_000000>"}) == {
        "to": ["alice@example.com"], "note": "mail alice@example.com, not <EMAIL_000000>"}
    with pytest.raises(ValueError, match="unknown redaction level"):
        ModelRedaction("everything")
