"""The JSON-schema checker and grammar-schema tightening."""

from __future__ import annotations

import pytest

from taskwarden.models.validation import grammar_schema, schema_errors

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "pattern": "^P-\\d+$"},
        "amount": {"type": "number", "exclusiveMinimum": 0, "maximum": 1000},
        "qty": {"type": "integer", "minimum": 1},
        "mode": {"enum": ["full", "partial"]},
        "note": {"anyOf": [{"type": "string", "maxLength": 5}, {"type": "null"}]},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
        "addr": {"$ref": "#/$defs/Addr"},
    },
    "required": ["id", "amount"],
    "additionalProperties": False,
    "$defs": {"Addr": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
}


def test_valid_instance_has_no_errors():
    ok = {"id": "P-1", "amount": 5, "qty": 2.0, "mode": "full", "note": None, "tags": ["a"], "addr": {"city": "X"}}
    assert schema_errors(ok, SCHEMA) == []


@pytest.mark.parametrize(
    ("instance", "fragment"),
    [
        ({"amount": 1}, "missing required field 'id'"),
        ({"id": "X", "amount": 1}, "must match pattern"),
        ({"id": "P-1", "amount": 0}, "must be > 0"),
        ({"id": "P-1", "amount": 5000}, "must be <= 1000"),
        ({"id": "P-1", "amount": "5"}, "expected number, got str"),
        ({"id": "P-1", "amount": True}, "expected number, got bool"),
        ({"id": "P-1", "amount": 1, "qty": 0}, "must be >= 1"),
        ({"id": "P-1", "amount": 1, "qty": 1.5}, "expected integer"),
        ({"id": "P-1", "amount": 1, "mode": "half"}, "must be one of"),
        ({"id": "P-1", "amount": 1, "note": "toolong"}, "matches none of the allowed shapes"),
        ({"id": "P-1", "amount": 1, "tags": ["a", "b", "c"]}, "at most 2 items"),
        ({"id": "P-1", "amount": 1, "addr": {}}, "$.addr: missing required field 'city'"),
        ({"id": "P-1", "amount": 1, "extra": 1}, "unexpected field 'extra'"),
    ],
)
def test_each_violation_is_reported_with_its_path(instance, fragment):
    errors = schema_errors(instance, SCHEMA)
    assert any(fragment in e for e in errors), errors


def test_grammar_schema_is_safe_and_closed_but_leaves_the_original_alone():
    tightened = grammar_schema(SCHEMA)
    props = tightened["properties"]
    assert "pattern" not in props["id"]
    assert tightened["$defs"]["Addr"]["additionalProperties"] is False
    assert "pattern" in SCHEMA["properties"]["id"]
    assert "additionalProperties" not in SCHEMA["$defs"]["Addr"]


def test_grammar_schema_drops_unknown_formats_and_loosens_annotation_only_schemas():
    schema = {
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date"},
            "email": {"type": "string", "format": "email"},
            "anything": {"title": "Anything", "description": "free-form"},
            "pattern": {"type": "string"},
        },
    }
    props = grammar_schema(schema)["properties"]
    assert props["when"]["format"] == "date"
    assert "format" not in props["email"]
    assert props["anything"] == {}
    assert props["pattern"] == {"type": "string"}  # a property *named* pattern is kept
