"""Decoding grammar-constrained replies into tool calls, final answers, or precise errors."""

from __future__ import annotations

import json

from langchain_core.tools import tool
from pydantic import BaseModel, Field, field_validator

from taskwarden.models.decode import decode_structured_reply, decode_tool_reply
from taskwarden.models.toolspec import args_model_of, resolve_choice, specs_from_openai, to_openai_tools


@tool
def issue_refund(purchase_id: str, amount: float = Field(gt=0), reason: str = "") -> str:
    """Issue a refund."""
    return "ok"


@tool
def send_email(to: str, subject: str, body: str) -> str:
    """Send an email."""
    return "sent"


class Email(BaseModel):
    to: str

    @field_validator("to")
    @classmethod
    def has_at(cls, value: str) -> str:
        if "@" not in value:
            raise ValueError("not an email address")
        return value


def _setup(choice=None, with_models=True):
    tools = [issue_refund, send_email]
    models = {"issue_refund": args_model_of(issue_refund), "send_email": Email} if with_models else None
    specs = specs_from_openai(to_openai_tools(tools), models)
    return specs, resolve_choice(specs, choice)


def test_tool_reply_becomes_a_tool_call_with_a_fresh_id():
    specs, choice = _setup()
    text = json.dumps({"tool": "issue_refund", "args": {"purchase_id": "P-1", "amount": 12.5}})
    first, second = decode_tool_reply(text, specs, choice), decode_tool_reply(text, specs, choice)
    assert first.error is None
    call = first.tool_calls[0]
    assert call["name"] == "issue_refund"
    assert call["args"] == {"purchase_id": "P-1", "amount": 12.5}
    assert call["type"] == "tool_call"
    assert call["id"].startswith("call_") and call["id"] != second.tool_calls[0]["id"]


def test_final_answer_becomes_plain_content():
    specs, choice = _setup()
    decoded = decode_tool_reply('{"tool": "final_answer", "answer": "Done."}', specs, choice)
    assert (decoded.content, decoded.tool_calls, decoded.error) == ("Done.", [], None)


def test_final_answer_with_schema_is_checked_and_serialized():
    specs, choice = _setup()
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    good = decode_tool_reply('{"tool": "final_answer", "answer": {"ok": true}}', specs, choice, schema)
    bad = decode_tool_reply('{"tool": "final_answer", "answer": {}}', specs, choice, schema)
    assert json.loads(good.content) == {"ok": True}
    assert "missing required field 'ok'" in bad.error


def test_schema_violation_is_rejected_and_never_becomes_a_tool_call():
    specs, choice = _setup()
    decoded = decode_tool_reply('{"tool": "issue_refund", "args": {"purchase_id": "P-1", "amount": -3}}', specs, choice)
    assert decoded.tool_calls == []
    assert "invalid arguments for issue_refund" in decoded.error and "must be > 0" in decoded.error
    assert decoded.rejected["name"] == "issue_refund"
    assert json.loads(decoded.rejected["args"]) == {"purchase_id": "P-1", "amount": -3}


def test_pydantic_validators_run_after_the_json_schema():
    specs, choice = _setup()
    decoded = decode_tool_reply(
        '{"tool": "send_email", "args": {"to": "bob", "subject": "s", "body": "b"}}', specs, choice
    )
    assert "not an email address" in decoded.error


def test_without_pydantic_models_the_json_schema_still_guards():
    specs, choice = _setup(with_models=False)
    decoded = decode_tool_reply('{"tool": "send_email", "args": {"to": "bob"}}', specs, choice)
    assert "missing required field 'subject'" in decoded.error


def test_invalid_json_unknown_tool_and_forbidden_finish_are_errors():
    specs, choice = _setup()
    assert "not valid JSON" in decode_tool_reply('{"tool": "issue_ref', specs, choice).error
    assert "not an allowed tool" in decode_tool_reply('{"tool": "rm_rf", "args": {}}', specs, choice).error
    specs, forced = _setup("send_email")
    assert (
        "must call one of the tools"
        in decode_tool_reply('{"tool": "final_answer", "answer": "x"}', specs, forced).error
    )
    refund = '{"tool": "issue_refund", "args": {"purchase_id": "P", "amount": 1}}'
    assert "not an allowed tool" in decode_tool_reply(refund, specs, forced).error


def test_structured_reply_checks_schema_and_model():
    class Person(BaseModel):
        name: str
        age: int = Field(ge=0)

    schema = Person.model_json_schema()
    assert decode_structured_reply('{"name": "A", "age": 3}', schema, Person).error is None
    assert "must be >= 0" in decode_structured_reply('{"name": "A", "age": -1}', schema, Person).error
    assert "not valid JSON" in decode_structured_reply("{", schema, Person).error
