"""A small JSON-schema checker for decoded model output, and schema tightening for the grammar.

The grammar enforces a reply's shape; this catches what grammars do not (numeric
bounds, lengths, patterns, ``$ref`` targets, one-of) so that arguments reaching a
tool always match its schema.  It covers the subset Pydantic and LangChain emit.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from pydantic import BaseModel, ValidationError

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


def schema_errors(
    instance: Any, schema: dict[str, Any], root: dict[str, Any] | None = None, path: str = "$"
) -> list[str]:
    """Every way ``instance`` breaks ``schema``, as ``"<path>: <reason>"`` strings (empty when valid)."""
    root = root if root is not None else schema
    if "$ref" in schema:
        schema = {**_resolve(schema["$ref"], root), **{k: v for k, v in schema.items() if k != "$ref"}}
    errors: list[str] = []
    if "const" in schema and instance != schema["const"]:
        errors.append(f"{path}: must be {schema['const']!r}")
    if "enum" in schema and instance not in schema["enum"]:
        errors.append(f"{path}: must be one of {schema['enum']!r}")
    if "type" in schema and not _type_ok(instance, schema["type"]):
        return [*errors, f"{path}: expected {schema['type']}, got {type(instance).__name__}"]
    for sub in schema.get("allOf", []):
        errors += schema_errors(instance, sub, root, path)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            branch_errors = [schema_errors(instance, sub, root, path) for sub in schema[key]]
            passing = sum(not errs for errs in branch_errors)
            if passing == 0:
                errors.append(f"{path}: matches none of the allowed shapes ({min(branch_errors, key=len)[0]})")
            elif key == "oneOf" and passing > 1:
                errors.append(f"{path}: matches more than one allowed shape")
    if isinstance(instance, dict):
        errors += _object_errors(instance, schema, root, path)
    elif isinstance(instance, list):
        errors += _array_errors(instance, schema, root, path)
    elif isinstance(instance, str):
        errors += _string_errors(instance, schema, path)
    elif isinstance(instance, int | float) and not isinstance(instance, bool):
        errors += _number_errors(instance, schema, path)
    return errors


def pydantic_errors(instance: Any, model: type[BaseModel]) -> list[str]:
    """``model.model_validate(instance)`` failures as ``"<field>: <message>"`` strings."""
    try:
        model.model_validate(instance)
    except ValidationError as exc:
        return [f"{'.'.join(map(str, e['loc'])) or '$'}: {e['msg']}" for e in exc.errors()]
    return []


def grammar_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` that llama.cpp's json-schema-to-grammar handles safely and tightly.

    Objects with ``properties`` get ``additionalProperties: false`` (small models
    otherwise invent keys); ``pattern`` and unsupported ``format`` values are dropped
    (some regexes abort the server; ``schema_errors`` checks them after decoding);
    annotation-only schemas (just a title or description) become ``{}`` (any value).
    """
    return _tighten(copy.deepcopy(schema))


_GRAMMAR_FORMATS = {"date", "time", "date-time", "uuid", "uuid1", "uuid2", "uuid3", "uuid4", "uuid5"}
_ANNOTATIONS = {"title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly"}


def _tighten(node: Any, *, names: bool = False) -> Any:
    if isinstance(node, list):
        return [_tighten(item) for item in node]
    if not isinstance(node, dict):
        return node
    if names:  # a map of property/definition names to schemas
        return {key: _tighten(value) for key, value in node.items()}
    out = {
        key: _tighten(value, names=key in ("properties", "$defs", "definitions"))
        for key, value in node.items()
        if key != "pattern" and not (key == "format" and value not in _GRAMMAR_FORMATS)
    }
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if not set(out) - _ANNOTATIONS:
        return {}
    return out


def _resolve(ref: str, root: dict[str, Any]) -> dict[str, Any]:
    if not ref.startswith("#/"):
        return {}
    node: Any = root
    for part in ref[2:].split("/"):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node if isinstance(node, dict) else {}


def _type_ok(instance: Any, expected: str | list[str]) -> bool:
    names = [expected] if isinstance(expected, str) else expected
    for name in names:
        if isinstance(instance, bool) and name not in ("boolean",):
            continue
        if name == "integer" and isinstance(instance, float) and instance.is_integer():
            return True
        if isinstance(instance, _TYPES.get(name, (object,))):
            return True
    return False


def _object_errors(obj: dict[str, Any], schema: dict[str, Any], root: dict[str, Any], path: str) -> list[str]:
    errors = [f"{path}: missing required field {key!r}" for key in schema.get("required", []) if key not in obj]
    props = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key, value in obj.items():
        if key in props:
            errors += schema_errors(value, props[key], root, f"{path}.{key}")
        elif extra is False:
            errors.append(f"{path}: unexpected field {key!r}")
        elif isinstance(extra, dict):
            errors += schema_errors(value, extra, root, f"{path}.{key}")
    return errors


def _array_errors(items: list[Any], schema: dict[str, Any], root: dict[str, Any], path: str) -> list[str]:
    errors = []
    if "minItems" in schema and len(items) < schema["minItems"]:
        errors.append(f"{path}: needs at least {schema['minItems']} items")
    if "maxItems" in schema and len(items) > schema["maxItems"]:
        errors.append(f"{path}: allows at most {schema['maxItems']} items")
    if isinstance(schema.get("items"), dict):
        for i, item in enumerate(items):
            errors += schema_errors(item, schema["items"], root, f"{path}[{i}]")
    return errors


def _string_errors(text: str, schema: dict[str, Any], path: str) -> list[str]:
    errors = []
    if "minLength" in schema and len(text) < schema["minLength"]:
        errors.append(f"{path}: must be at least {schema['minLength']} characters")
    if "maxLength" in schema and len(text) > schema["maxLength"]:
        errors.append(f"{path}: must be at most {schema['maxLength']} characters")
    if "pattern" in schema and not re.search(schema["pattern"], text):
        errors.append(f"{path}: must match pattern {schema['pattern']!r}")
    return errors


def _number_errors(value: float, schema: dict[str, Any], path: str) -> list[str]:
    checks = (
        ("minimum", lambda bound: value >= bound, ">="),
        ("maximum", lambda bound: value <= bound, "<="),
        ("exclusiveMinimum", lambda bound: value > bound, ">"),
        ("exclusiveMaximum", lambda bound: value < bound, "<"),
    )
    return [
        f"{path}: must be {op} {schema[key]} (got {value})"
        for key, ok, op in checks
        if isinstance(schema.get(key), int | float) and not ok(schema[key])
    ]
