"""Reply-schema construction and the tool prompt."""

from __future__ import annotations

import pytest
from pydantic import BaseModel
from sample_tools import issue_refund, lookup_customer

from taskwarden.models.toolspec import (
    FINAL_ANSWER,
    args_model_of,
    reply_schema,
    resolve_choice,
    specs_from_openai,
    to_openai_tools,
    tools_prompt,
)


def _specs():
    return specs_from_openai(to_openai_tools([lookup_customer, issue_refund]))


def _branch_names(schema):
    return [b["properties"]["tool"]["const"] for b in schema["anyOf"]]


def test_auto_choice_offers_every_tool_then_the_final_answer():
    specs = _specs()
    schema = reply_schema(specs, resolve_choice(specs, None))
    assert _branch_names(schema) == ["lookup_customer", "issue_refund", FINAL_ANSWER]
    refund = schema["anyOf"][1]
    assert refund["required"] == ["tool", "args"]
    assert refund["additionalProperties"] is False
    assert refund["properties"]["args"]["properties"]["amount"]["exclusiveMinimum"] == 0
    assert refund["properties"]["args"]["additionalProperties"] is False
    assert schema["anyOf"][2]["properties"]["answer"] == {"type": "string"}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("any", ["lookup_customer", "issue_refund"]),
        ("required", ["lookup_customer", "issue_refund"]),
        (True, ["lookup_customer", "issue_refund"]),
        ("issue_refund", ["issue_refund"]),
        ({"type": "function", "function": {"name": "lookup_customer"}}, ["lookup_customer"]),
        ("none", [FINAL_ANSWER]),
        ("auto", ["lookup_customer", "issue_refund", FINAL_ANSWER]),
    ],
)
def test_tool_choice_selects_branches(choice, expected):
    specs = _specs()
    assert _branch_names(reply_schema(specs, resolve_choice(specs, choice))) == expected


def test_answer_schema_constrains_the_final_answer_branch():
    specs = _specs()
    answer = {"type": "object", "properties": {"verdict": {"type": "string", "pattern": "^a$"}}}
    schema = reply_schema(specs, resolve_choice(specs, None), answer)
    final = schema["anyOf"][-1]["properties"]["answer"]
    assert final["properties"]["verdict"] == {"type": "string"}  # pattern stripped for the grammar
    assert final["additionalProperties"] is False


def test_unknown_tool_choice_is_rejected_eagerly():
    with pytest.raises(ValueError, match="names no bound tool"):
        resolve_choice(_specs(), "delete_everything")


def test_final_answer_is_a_reserved_tool_name():
    with pytest.raises(ValueError, match="reserved"):
        specs_from_openai([{"type": "function", "function": {"name": FINAL_ANSWER, "parameters": {}}}])


def test_tools_prompt_is_byte_stable_and_lists_every_tool():
    first = tools_prompt(_specs(), resolve_choice(_specs(), None))
    second = tools_prompt(_specs(), resolve_choice(_specs(), None))
    assert first == second
    assert first.startswith("Tools you can call:\n- lookup_customer: Look up a customer by email.")
    assert '"exclusiveMinimum": 0' in first
    assert "title" not in first.split("issue_refund")[1].split("\n")[1].lower()


def test_tools_prompt_names_the_forced_tool():
    specs = _specs()
    assert 'You must call the tool "issue_refund" now.' in tools_prompt(specs, resolve_choice(specs, "issue_refund"))
    assert "final_answer" not in tools_prompt(specs, resolve_choice(specs, "any"))


def test_a_property_named_title_survives_prompt_compaction():
    class Ticket(BaseModel):
        """Open a ticket."""

        title: str
        body: str

    specs = specs_from_openai(to_openai_tools([Ticket]))
    assert '"title": {"type": "string"}' in tools_prompt(specs, resolve_choice(specs, None))


def test_nested_models_are_inlined_so_refs_never_dangle():
    class Address(BaseModel):
        city: str

    class Ship(BaseModel):
        """Ship an order."""

        to: Address

    schema = reply_schema(specs := specs_from_openai(to_openai_tools([Ship])), resolve_choice(specs, None))
    assert "$ref" not in str(schema)
    assert schema["anyOf"][0]["properties"]["args"]["properties"]["to"]["properties"]["city"] == {"type": "string"}


def test_args_model_comes_from_tool_call_schema_or_pydantic_class():
    assert args_model_of(issue_refund) is issue_refund.tool_call_schema

    class Plain(BaseModel):
        x: int

    assert args_model_of(Plain) is Plain
    assert args_model_of({"name": "d", "parameters": {}}) is None
