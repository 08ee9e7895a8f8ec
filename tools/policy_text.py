"""Policy rules written as text, one per line, parsed into the `PolicyRule`s the gate enforces in code.

Grammar (blank lines and lines starting with ``#`` are ignored)::

    rule        := TOOL [ "when" CONDITION ] "->" ACTION [ REASON ]
    prohibition := "never" [ ":" ] TOOL [ "when" CONDITION ] [ REASON ]      (always forbid)
    ACTION      := "require_approval" | "forbid"
    REASON      := "because" TEXT | ":" TEXT
    TOOL        := a tool name, or "*" for every tool
    CONDITION   := an expression of the policy language (`taskwarden.tools.expressions`)

Examples::

    issue_refund when amount > 100 -> require_approval because refunds over $100 need a human
    send_email when to not in allowlist -> forbid: only allowlisted recipients
    delete_file -> forbid
    never: send_email when "@competitor.com" in to
    never delete_file because files are kept for audits

Keywords (``when``, ``because``, ``->``, ``:``) count only outside quotes and brackets, so a
condition may compare with ``"a:b"`` or ``"x -> y"``. A condition reads the call's arguments and
the named `constants` (a workflow file's ``vars``, e.g. ``allowlist``); a constant wins over an
argument of the same name, and `check_names` refuses rules where the two collide.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from taskwarden.tools.expressions import ExpressionError, compile_expression, names_in
from taskwarden.tools.policy import PolicyRule

ACTIONS = ("require_approval", "forbid")
_TOOL = re.compile(r"\*|[A-Za-z_][\w.\-]*")
_NEVER = re.compile(r"never(?:\s*:\s*|\s+)(?=\S)")
_KEYWORD = re.compile(r"->|:|\bwhen\b|\bbecause\b")


class PolicySyntaxError(ValueError):
    """A rule line that does not follow the grammar; `line` is 1-based."""

    def __init__(self, problem: str, line: int, text: str) -> None:
        super().__init__(f"line {line}: {problem}: {text.strip()!r}")
        self.problem, self.line, self.text = problem, line, text


def parse_policies(text: str, constants: Mapping[str, Any] | None = None) -> list[PolicyRule]:
    """Parse every rule in `text`; raise `PolicySyntaxError` naming the first bad line."""
    check_constants(constants or {})
    rules = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            rules.append(parse_rule(line, constants, line_number=number))
    return rules


def parse_rule(line: str, constants: Mapping[str, Any] | None = None, *, line_number: int = 1) -> PolicyRule:
    """Parse one rule line (see the module docstring for the grammar)."""

    def fail(problem: str) -> PolicySyntaxError:
        return PolicySyntaxError(problem, line_number, line)

    text = line.strip()
    if text.rstrip(":") == "never":
        raise fail("`never` needs a tool name, e.g. `never delete_file`")
    never = _NEVER.match(text)
    if never:
        body = text[never.end():]
        head, reason = _split_reason(body)
        if _find(head, "->") is not None:
            raise fail("a `never` rule always forbids: drop the `-> ...` part")
        action = "forbid"
    else:
        arrow = _find(text, "->")
        if arrow is None:
            raise fail("expected `-> require_approval` or `-> forbid` (or start the line with `never`)")
        head, tail = text[:arrow].strip(), text[arrow + 2:].strip()
        if _find(head, "because") is not None or _find(head, ":") is not None:
            raise fail("the reason goes after the action, e.g. `tool -> forbid because ...`")
        action, reason = _split_reason(tail)
        if action not in ACTIONS:
            raise fail(f"the action must be {' or '.join(ACTIONS)}, not {action or 'nothing'!r} "
                       "(rules only restrict: calls no rule matches are allowed)")
    tool, condition = _split_condition(head, fail)
    try:
        return PolicyRule(tool=tool, action=action, when=condition, reason=reason, constants=constants or {})
    except ExpressionError as exc:
        raise fail(str(exc)) from None


def check_constants(constants: Mapping[str, Any]) -> None:
    """Raise `ValueError` for a constant's name a condition could not read (``len``, keywords...)."""
    bad = [name for name in constants
           if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) or name == "len"]
    if bad:
        raise ValueError(f"vars names must be identifiers (not keywords or `len`): {bad}")


def check_names(rules: Iterable[PolicyRule], arguments: Mapping[str, Iterable[str]]) -> None:
    """Raise `ValueError` for a condition that reads a name that is neither an argument nor a constant,
    or a constant that is also an argument of a tool the rule applies to (which one was meant?).

    `arguments` maps each tool name to its argument names; ``*`` rules check against all tools.
    Rules for tools not in `arguments` are skipped (the workflow reports unknown tools itself).
    """
    for rule in rules:
        if not isinstance(rule.when, str) or (rule.tool != "*" and rule.tool not in arguments):
            continue
        tools = list(arguments) if rule.tool == "*" else [rule.tool]
        args = {name for tool in tools for name in arguments.get(tool, ())}
        read = names_in(compile_expression(rule.when))
        where = f"policy `{rule.tool} when {rule.when}`"
        unknown = sorted(read - args - set(rule.constants))
        if unknown:
            raise ValueError(f"{where} reads {unknown}, which are neither arguments of {rule.tool} "
                             f"({', '.join(sorted(args)) or 'none'}) nor declared vars "
                             f"({', '.join(rule.constants) or 'none'})")
        shadowed = sorted(read & args & set(rule.constants))
        if shadowed:
            raise ValueError(f"{where}: {shadowed} are both vars and arguments of {rule.tool}; rename the vars "
                             "(in a condition a var always wins over an argument)")


def _split_condition(head: str, fail: Callable[[str], PolicySyntaxError]) -> tuple[str, str | None]:
    tool = _TOOL.match(head)
    if not tool or not head:
        raise fail("expected a tool name (or `*`) first")
    rest = head[tool.end():]
    if not rest.strip():
        return tool.group(), None
    when = _find(rest, "when")
    if when is None or rest[:when].strip() or not rest[:when].startswith((" ", "\t")):
        raise fail(f"expected `when <condition>` after the tool name {tool.group()!r}")
    condition = rest[when + 4:].strip()
    if not condition:
        raise fail("`when` needs a condition, e.g. `when amount > 100`")
    return tool.group(), condition


def _split_reason(text: str) -> tuple[str, str]:
    """``"x because why"`` or ``"x: why"`` -> ``("x", "why")``; the first top-level marker wins."""
    cuts = [(at, len(word)) for word in ("because", ":") if (at := _find(text, word)) is not None]
    if not cuts:
        return text.strip(), ""
    at, size = min(cuts)
    return text[:at].strip(), text[at + size:].strip().removeprefix(":").strip()


def _find(text: str, word: str) -> int | None:
    """Index of the first `word` (``->``, ``:``, ``when``, ``because``) outside quotes and brackets."""
    top = _top_level(text)
    for match in _KEYWORD.finditer(text):
        if match.group() == word and top[match.start()]:
            return match.start()
    return None


def _top_level(text: str) -> list[bool]:
    """For each character: whether it is outside string literals and brackets."""
    flags, quote, depth, escaped = [], "", 0, False
    for char in text:
        if quote:
            flags.append(False)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
            continue
        if char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(depth - 1, 0)
        flags.append(not quote and depth == 0 and char not in ")]}")
    return flags
