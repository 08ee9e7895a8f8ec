"""Grounded arguments: a side-effecting call may only use identifiers that came from somewhere real.

Small models invent ids and e-mail addresses, or swap the record the request named for one they
saw. Before a `write`/`irreversible` call runs, each identifier-like argument is traced to its
source, by rule (declared per argument in `ToolSpec.grounding`, else inferred from the name):

- ``request``: the request or the conversation (e.g. the requester's own e-mail address);
- ``observed``: an earlier tool result in this run (look before you act: ids are read, not typed);
- ``seen``: either of them;
- ``free``: not checked (free text, amounts, values the model legitimately makes up).

And when the request itself names values of the argument's shape (``P9999``), the argument must be
one of them: a model may not act on a different record than the one asked for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from taskwarden.tools.registry import GroundRule, ToolSpec

_EMAIL_NAME = re.compile(r"(^|_)e?-?mail(_address)?$|email", re.IGNORECASE)
_ID_NAME = re.compile(r"(^|_)(id|ids|number|num|no|code|sku|ref|reference|iban|account)$|[a-z]Id$", re.IGNORECASE)
_EMAIL_VALUE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EMAIL_IN_TEXT = re.compile(r"[^@\s,;:<>()\[\]\"']+@[^@\s,;:<>()\[\]\"']+\.[A-Za-z]{2,}")
"""An e-mail address written in a text (a request), without the punctuation around it."""


@dataclass(frozen=True)
class Evidence:
    """What a run has seen so far: the request (and conversation), and successful tool results."""

    request: str = ""
    observations: tuple[str, ...] = ()

    def with_observations(self, more: Iterable[str]) -> Evidence:
        return Evidence(self.request, (*self.observations, *more))


@dataclass(frozen=True)
class Ungrounded:
    """One argument that could not be traced, and why."""

    argument: str
    value: str
    reason: str
    mechanism: str = "grounding"
    """``grounding`` (not traceable, or not the record asked for) or ``look_before_act`` (not read first)."""

    def describe(self) -> str:
        return f"ungrounded {self.argument} {self.value!r}: {self.reason}"


def rules_for(spec: ToolSpec) -> dict[str, GroundRule]:
    """Each argument's rule: declared ones win, the rest inferred from names and schema."""
    declared = dict(spec.grounding or {})
    return {name: declared.get(name) or infer_rule(name, schema) for name, schema in _arg_schemas(spec).items()}


def infer_rule(name: str, schema: dict[str, Any] | None = None) -> GroundRule:
    """E-mail addresses: ``seen``; ids, numbers, codes and references: ``observed``; anything else: ``free``."""
    schema = schema or {}
    if schema.get("format") == "email" or _EMAIL_NAME.search(name):
        return "seen"
    if _ID_NAME.search(name) and schema.get("type") in (None, "string", "integer"):
        return "observed"
    return "free"


def check_grounding(spec: ToolSpec, args: dict[str, Any], evidence: Evidence, *, grounding: bool = True,
                    look_before_act: bool = True) -> list[Ungrounded]:
    """The arguments of a call to `spec` that the evidence does not support (empty: all grounded).

    A write's every argument is checked (declared rules, else inferred ones); a read's only where its
    tool declares a rule (the week a report is announced for must be the week that was read).

    `grounding` checks ``request``/``seen`` rules and that the named record is the one asked for;
    `look_before_act` checks ``observed`` rules (with it off they are checked as ``seen``, when
    `grounding` is on)."""
    if not (grounding or look_before_act):
        return []
    # a read's arguments are lookups by nature: only the rules its tool declares are checked
    rules = rules_for(spec) if spec.has_side_effects else dict(spec.grounding or {})
    problems = []
    for name, rule in rules.items():
        value = args.get(name)
        if rule == "free" or value is None or isinstance(value, bool) or not str(value).strip():
            continue
        for item in value if isinstance(value, list) else [value]:
            problem = _check_value(name, str(item).strip(), rule, evidence, grounding, look_before_act)
            if problem:
                problems.append(problem)
    return problems


def _check_value(name: str, value: str, rule: GroundRule, evidence: Evidence, grounding: bool,
                 look_before_act: bool) -> Ungrounded | None:
    if rule == "observed" and not look_before_act:
        rule = "seen"
        if not grounding:
            return None
    if rule in ("request", "seen") and not grounding:
        return None
    if grounding:
        named = named_in_request(value, evidence.request)
        if named and value.lower() not in {n.lower() for n in named}:
            return Ungrounded(name, value, f"the request names {', '.join(named)}, not {value}")
    in_request, observed = mentions(evidence.request, value), any(mentions(o, value) for o in evidence.observations)
    if rule == "request" and not in_request:
        return Ungrounded(name, value, "it is not in the request")
    if rule == "observed" and not observed:
        where = "it is only in the request" if in_request else "it is not in the request"
        return Ungrounded(name, value, f"no tool result in this run shows it ({where}); read the record first",
                          "look_before_act")
    if rule == "seen" and not (in_request or observed):
        return Ungrounded(name, value, "it is neither in the request nor in any tool result in this run")
    return None


def substituted_lookup(spec: ToolSpec, args: dict[str, Any], request: str,
                       tried: Iterable[str]) -> tuple[str, str, list[str]] | None:
    """A read of another record than the one the request names, before the named one was looked at.

    Returns (argument, value, the request's values of that shape) or None. `tried` are the argument
    values of the run's earlier calls and its tool results: once the named record has been looked
    up (found or not), other reads are allowed (a list of the customer's orders, say)."""
    tried = [t for t in tried if t]
    for name, rule in rules_for(spec).items():
        value = str(args.get(name) or "").strip()
        if rule == "free" or not value:
            continue
        named = named_in_request(value, request)
        if not named or value.lower() in {n.lower() for n in named}:
            continue
        if not any(mentions(text, n) for n in named for text in tried):
            return name, value, named
    return None


def mentions(text: str, value: str) -> bool:
    """Whether `value` occurs in `text` as a whole token (case-insensitive)."""
    if not value or not text:
        return False
    return re.search(rf"(?<![\w@.-]){re.escape(value)}(?![\w@-])", text, re.IGNORECASE) is not None if \
        _needs_boundary(value) else value.lower() in text.lower()


def named_in_request(value: str, request: str) -> list[str]:
    """Values in the request of the same shape as `value` (``P1001`` -> ids like ``P9999``), in order.

    Only distinctive shapes count (e-mail addresses, and tokens mixing letters and digits); plain
    numbers and words are too common to say which record was meant."""
    if _EMAIL_VALUE.match(value):
        found = _EMAIL_IN_TEXT.findall(request)
    else:
        if not (re.search(r"[A-Za-z]", value) and re.search(r"\d", value)):
            return []
        shape = "".join(r"\d" if c.isdigit() else "[A-Za-z]" if c.isascii() and c.isalpha() else re.escape(c)
                        for c in value)
        found = re.findall(rf"(?<![\w-]){shape}(?![\w-])", request)
    return list(dict.fromkeys(f.rstrip(".") for f in found))


_PROPER_NAME = re.compile(r"[A-Z][\w&-]*(?:'s)?(?:\s+[A-Z][\w&-]*(?:'s)?)*")
_NOT_NAMES = frozenset("route please find refund send put assign check look enrich process pay move can could would "
                       "hi hello dear the a an new our my i we".split())
"""Capitalized words that start requests, not names."""
_DOMAIN = re.compile(r"(?<![\w@.-])[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?![\w-])", re.IGNORECASE)


def request_values(request: str) -> list[str]:
    """What a request gives to search by, in order: e-mail addresses, domains, ids (letters and digits) and names
    (capitalized words; a lone one starting a sentence, like "Route", is a verb more often than a name)."""
    emails = _EMAIL_IN_TEXT.findall(request)
    rest = request
    for email in emails:
        rest = rest.replace(email, " ")
    values = [*emails, *_DOMAIN.findall(rest)]
    values += [t for t in re.findall(r"(?<![\w-])[A-Za-z]*\d[\w-]*", rest)
               if re.search(r"[A-Za-z]", t) and re.search(r"\d", t)]
    for match in _PROPER_NAME.finditer(rest):
        words = re.sub(r"'s\b", "", match.group()).split()
        while words and words[0].lower() in _NOT_NAMES:
            words.pop(0)
        name = " ".join(words)
        if not name:
            continue
        starts_sentence = not rest[: match.start()].strip() or rest[: match.start()].rstrip()[-1] in ".!?;:"
        if " " in name or not starts_sentence:
            values.append(name)
    return list(dict.fromkeys(v.rstrip(".") for v in values))


def _needs_boundary(value: str) -> bool:
    return bool(re.match(r"^[\w@.+-]+$", value))


def _arg_schemas(spec: ToolSpec) -> dict[str, dict[str, Any]]:
    # a tool without a usable schema: only declared rules apply
    return spec.arg_schemas or {name: {} for name in spec.grounding or {}}
