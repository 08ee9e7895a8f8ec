"""Search filters with LangGraph `InMemoryStore` semantics, and the part Chroma can evaluate itself.

A filter maps top-level value fields to a value (JSON equality, nested dicts compared field by field)
or to operators (``$eq``, ``$ne``, ``$gt``, ``$gte``, ``$lt``, ``$lte``). Every candidate is checked
with `matches` in Python, so results are exact; `pushdown` picks the conditions that Chroma's metadata
index can pre-select exactly (string equality on short top-level fields, mirrored as ``v:<field>``).
"""

from __future__ import annotations

import re
from typing import Any

OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte")
MIRROR_PREFIX = "v:"
MIRROR_MAX_CHARS = 64
_SAFE_FIELD = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


def matches(value: dict[str, Any], filter: dict[str, Any] | None) -> bool:
    """Whether a stored value passes `filter` (all conditions must hold)."""
    return not filter or all(_compare(value.get(k), expected) for k, expected in filter.items())


def _compare(actual: Any, expected: Any) -> bool:
    if isinstance(expected, dict):
        if any(k.startswith("$") for k in expected):
            return all(_apply(actual, op, operand) for op, operand in expected.items())
        return isinstance(actual, dict) and all(_compare(actual.get(k), v) for k, v in expected.items())
    if isinstance(expected, (list, tuple)):
        return (isinstance(actual, (list, tuple)) and len(actual) == len(expected)
                and all(_compare(a, e) for a, e in zip(actual, expected, strict=True)))
    return actual == expected


def _apply(actual: Any, op: str, operand: Any) -> bool:
    if op == "$eq":
        return actual == operand
    if op == "$ne":
        return actual != operand
    if op not in OPERATORS:
        raise ValueError(f"unsupported filter operator {op!r}; use one of {', '.join(OPERATORS)}")
    try:
        a, b = float(actual), float(operand)
    except (TypeError, ValueError):
        return False  # InMemoryStore raises here; a missing or non-numeric field simply does not match
    return {"$gt": a > b, "$gte": a >= b, "$lt": a < b, "$lte": a <= b}[op]


def mirrored_fields(value: dict[str, Any]) -> dict[str, str]:
    """The metadata copies of a value's short top-level strings, which `pushdown` may filter on."""
    return {MIRROR_PREFIX + k: v for k, v in value.items()
            if isinstance(v, str) and len(v) <= MIRROR_MAX_CHARS and _SAFE_FIELD.match(k)}


def pushdown(filter: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Chroma ``where`` clauses implied by `filter`: exact pre-selection, never dropping a match."""
    clauses = []
    for field, expected in (filter or {}).items():
        if isinstance(expected, dict) and set(expected) == {"$eq"}:
            expected = expected["$eq"]
        if isinstance(expected, str) and len(expected) <= MIRROR_MAX_CHARS and _SAFE_FIELD.match(field):
            clauses.append({MIRROR_PREFIX + field: expected})
    return clauses


def fully_pushed(filter: dict[str, Any] | None) -> bool:
    """Whether `pushdown` alone decides `filter` (no Python check needed)."""
    return len(pushdown(filter)) == len(filter or {})
