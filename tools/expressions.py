"""A tiny, safe expression language for policy conditions, e.g. ``amount > 100 and currency == 'USD'``.

Only literals, argument names, comparisons, boolean operators, ``in``/``not in``, arithmetic and
``len()`` are allowed; anything else is rejected when the rule is defined, not when it runs.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Mapping
from typing import Any

_COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_ALLOWED = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.Compare, ast.Name,
            ast.Load, ast.Constant, ast.BinOp, ast.List, ast.Tuple, ast.Call, *_COMPARE, *_BINARY)


class ExpressionError(ValueError):
    """The expression is not valid in the policy language."""


def compile_expression(source: str) -> ast.Expression:
    """Parse and check `source`; raise `ExpressionError` with the reason when it is not allowed."""
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"invalid policy condition {source!r}: {exc.msg}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ExpressionError(f"invalid policy condition {source!r}: {type(node).__name__} is not allowed")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id == "len"):
            raise ExpressionError(f"invalid policy condition {source!r}: only len() may be called")
    return tree


def evaluate(tree: ast.Expression, names: Mapping[str, Any], constants: Mapping[str, Any] | None = None) -> Any:
    """Evaluate a compiled expression over `names` (a tool call's arguments); unknown names are None.

    `constants` are values the rule's author declared (e.g. an ``allowlist``); a name in both
    resolves to the constant, so a call's arguments can never shadow what the author declared.
    Raises `ExpressionError` when a comparison cannot be made (a missing or mistyped argument).
    """
    return _eval(tree.body, {**names, **constants} if constants else names)


def names_in(tree: ast.Expression) -> set[str]:
    """The names an expression reads (``len`` excluded), e.g. to check them against a tool's arguments."""
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and id(node) not in called}


def _eval(node: ast.AST, names: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_eval(item, names) for item in node.elts]
    if isinstance(node, ast.BoolOp):
        values = (_eval(v, names) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, names)
        return (not value) if isinstance(node.op, ast.Not) else -value
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_eval(node.left, names), _eval(node.right, names))
    if isinstance(node, ast.Call):
        return len(_eval(node.args[0], names))
    if isinstance(node, ast.Compare):
        left = _eval(node.left, names)
        for op, comparator in zip(node.ops, node.comparators):
            right = _eval(comparator, names)
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError as exc:  # e.g. None > 100: the caller decides (policies fail closed)
                raise ExpressionError(f"cannot compare {left!r} and {right!r}: {exc}") from None
            left = right
        return True
    raise ExpressionError(f"unsupported expression node {type(node).__name__}")
