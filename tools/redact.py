"""Redaction of secrets and personal data: plain masks for logs, reversible pseudonyms for models.

What is recognised (`KINDS`, also the precedence when two matches overlap):

- ``SECRET``: API keys and tokens by their shape: OpenAI ``sk-...``, Stripe ``sk_live_...``, AWS
  ``AKIA...`` / ``ASIA...``, GitHub ``ghp_...`` / ``github_pat_...``, Slack ``xoxb-...``, JWTs; the
  token after ``Bearer``; a long (16+) high-entropy hex or base64 value after a key name such as
  ``api_key=``, ``token:``, ``client_secret=``; any value after ``password=`` / ``pwd:``. Only the
  value is masked (``token=[SECRET]``).
- ``CARD``: 13 to 19 digits, optionally grouped by spaces or dashes, that start like a card in use
  (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro) and pass the Luhn check.
- ``EMAIL``: ``name@domain.tld``.
- ``PHONE``: international numbers written with ``+`` and a country code (8 to 15 digits), and
  North-American numbers with separators: ``(415) 555-0132``, ``415-555-0132``, ``415.555.0132``.

Not redacted, on purpose: bare digit runs (order and customer ids, ``P1002``, ``4155550132``), dates
and ISO timestamps, amounts (``249.00``), Luhn-invalid or unissued card-like numbers, national
phone formats without a country code (``020 7946 0958``).

Two ways to redact, with the same detection:

- masking, for logs and the audit trail: ``redact("mail alice@example.com")`` gives
  ``Redacted(text="mail [EMAIL]", counts={"EMAIL": 1})``;
- pseudonyms, to keep personal data away from a model that must still refer to it:
  ``Redactor().pseudonymize(text, names)`` replaces each distinct value with a placeholder recorded
  in `names` (a `Pseudonyms`), and ``names.restore_value(args)`` puts the values back into a tool
  call's arguments before the tool runs. ``Pseudonyms()`` numbers the values of one conversation
  (``<EMAIL_1>``; store it to restore later); ``Pseudonyms(key=...)`` derives each placeholder from
  the value (``<EMAIL_3f2a9c>``, `pseudonym`), so the same value gets the same placeholder in every
  call, process and restart and nothing needs storing.

What a model sees is decided per call by `ModelRedaction` at a level (`REDACTION_LEVELS`):
``secrets`` masks card numbers and secrets (a model never needs them; one it cannot see, it cannot
leak through a tool) and keeps e-mail addresses and phone numbers, which tools look customers up by
(that is `redact_for_model`); ``pii`` also replaces e-mail addresses and phone numbers with derived
pseudonyms and restores them in what the model wrote; ``off`` changes nothing. The engine applies
it to every model call (taskwarden.graph.redacting_model).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, get_args

KINDS = ("SECRET", "CARD", "EMAIL", "PHONE")

_SECRET_SHAPES = [re.compile(p) for p in (
    r"(?<![\w-])sk-(?:proj-|ant-|live-)?[A-Za-z0-9_-]{20,}",
    r"(?<!\w)(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}",
    r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])",
    r"(?<!\w)gh[pousr]_[A-Za-z0-9]{36,}",
    r"(?<!\w)github_pat_[A-Za-z0-9_]{22,}",
    r"(?<!\w)xox[abprs]-[A-Za-z0-9-]{10,}",
    r"(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
)]
_BEARER = re.compile(r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{8,}=*)")
_KEY_NAME = r"(?:[A-Za-z0-9]+[_-])*(?:api[_-]?key|apikey|key|token|secret|credentials?|auth)"
_KEYED_VALUE = re.compile(rf"(?i)(?<![A-Za-z0-9]){_KEY_NAME}[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9+/_\-.~]{{16,}}=*)")
_PASSWORD = re.compile(r"(?i)(?<![A-Za-z0-9])(?:[A-Za-z0-9]+[_-])*(?:password|passwd|pwd)[\"']?\s*[:=]\s*[\"']?([^\s\"',;&]+)")
_SECRET_KEY = re.compile(r"(?i)(?:^|[_-])(?:api[_-]?key|apikey|secret|password|passwd|pwd|token|access[_-]?key|"
                         r"private[_-]?key|authorization|credentials?)$")
"""A mapping key whose (text) value is a secret whatever it looks like: ``{"password": "hunter2"}``."""

_CARD = re.compile(r"\d(?<!\w\d)(?:[ -]?\d){12,18}(?!\w)")
"""A digit not after a word character, then 12 to 18 more (the lookbehind comes after the first digit
so that the regex engine only tries positions holding a digit: same matches, a third of the time)."""
_ISSUER = re.compile(r"4|5|6|3(?:0[0-59]|[4-9])|2(?:22[1-9]|2[3-9]|[3-6]|7[01]|720)")
_ID_GROUP_BEFORE = re.compile(r"[0-9A-Fa-f]{4}-$")
_ID_GROUP_AFTER = re.compile(r"-[0-9A-Fa-f]{4}")
"""A hex group joined by a dash: the digits are part of a UUID-like id, not a card number."""
_EMAIL = re.compile(r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}(?![\w-])")
_PHONE_INTL = re.compile(r"(?<![\w+])\+[1-9][\d ().-]{6,22}\d(?!\w)")
_PHONE_INTL_SHAPE = re.compile(r"\+\d{1,3}(?:[ .-]?(?:\(\d{1,4}\)|\d{1,5}))+")
_PHONE_NANP = re.compile(r"(?<![\w+.-])(?:1[ .-]?)?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4}(?![\w]|[.-]\d)")
_PSEUDONYM = re.compile(r"<(SECRET|CARD|EMAIL|PHONE)_([0-9a-f]+)>")
"""A placeholder: numbered (``<EMAIL_1>``) or derived (``<EMAIL_3f2a9c>``)."""
PSEUDONYM_DIGITS = 6
"""Hex digits of a derived placeholder (24 bits); two values of one call that share them get 16."""


@dataclass(frozen=True)
class Finding:
    """One recognised value: its kind and where it is in the text."""

    kind: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Redacted:
    """Redacted text and how many values of each kind were replaced."""

    text: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum card numbers carry (``4111111111111111`` passes, ``...1112`` does not)."""
    if not digits.isdigit():
        return False
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(c / len(text) * math.log2(c / len(text)) for c in counts.values())


def _random_looking(value: str) -> bool:
    """Hex or base64 that looks generated (a key), not a word or a name (``created_at_timestamp``)."""
    core = value.rstrip("=")
    if len(core) < 16:
        return False
    if re.fullmatch(r"[0-9a-fA-F]+", core):
        return any(c.isdigit() for c in core) and any(c.isalpha() for c in core) and _entropy(core) >= 3.0
    classes = sum(bool(re.search(p, core)) for p in ("[a-z]", "[A-Z]", "[0-9]"))
    return classes >= 2 and _entropy(core) >= 3.5


_SHAPE_HINT = re.compile(r"sk-|_live_|_test_|AKIA|ASIA|gh[pousr]_|github_pat_|xox[abprs]-|eyJ")
"""A literal every `_SECRET_SHAPES` match contains: one cheap search skips them all on ordinary text."""
_KEY_HINTS = ("key", "token", "secret", "credential", "auth")


def _secrets(text: str) -> Iterable[tuple[int, int]]:
    # Each pattern runs only when the literal it needs is present (same results, a fraction of the
    # cost: redaction runs on every message of every model call and every audit event).
    if _SHAPE_HINT.search(text):
        for pattern in _SECRET_SHAPES:
            yield from (m.span() for m in pattern.finditer(text))
    lower = text.lower()
    if "bearer" in lower:
        yield from (m.span(1) for m in _BEARER.finditer(text))
    if "passw" in lower or "pwd" in lower:  # password / passwd / pwd
        yield from (m.span(1) for m in _PASSWORD.finditer(text))
    if any(hint in lower for hint in _KEY_HINTS):
        yield from (m.span(1) for m in _KEYED_VALUE.finditer(text) if _random_looking(m.group(1)))


def _cards(text: str) -> Iterable[tuple[int, int]]:
    for match in _CARD.finditer(text):
        start, candidate = match.start(), match.group()
        if _ID_GROUP_BEFORE.search(text, max(0, start - 5), start):
            continue
        while candidate:  # a trailing group may be an expiry or a code ("4111 1111 1111 1111 12/28")
            digits = re.sub(r"\D", "", candidate)
            if len(digits) < 13:
                break
            if _ISSUER.match(digits) and luhn_valid(digits) and not _ID_GROUP_AFTER.match(text, start + len(candidate)):
                yield start, start + len(candidate)
                break
            shorter = re.sub(r"[ -]\d+$", "", candidate)
            candidate = shorter if shorter != candidate else ""


def _emails(text: str) -> Iterable[tuple[int, int]]:
    return (m.span() for m in _EMAIL.finditer(text))


def _phones(text: str) -> Iterable[tuple[int, int]]:
    for match in _PHONE_INTL.finditer(text):
        candidate = match.group()
        while candidate:  # a trailing group may belong to the text ("+44 20 7946 0958 - 12 items")
            if _PHONE_INTL_SHAPE.fullmatch(candidate) and 8 <= sum(c.isdigit() for c in candidate) <= 15:
                yield match.start(), match.start() + len(candidate)
                break
            shorter = re.sub(r"[ ().-]+\(?\d+\)?$", "", candidate)
            candidate = shorter if shorter != candidate else ""
    yield from (m.span() for m in _PHONE_NANP.finditer(text))


_DETECTORS: dict[str, Callable[[str], Iterable[tuple[int, int]]]] = {
    "SECRET": _secrets, "CARD": _cards, "EMAIL": _emails, "PHONE": _phones,
}


def pseudonym(kind: str, value: str, key: bytes = b"", *, digits: int = PSEUDONYM_DIGITS) -> str:
    """The derived placeholder of a value: ``<EMAIL_3f2a9c>``, the first `digits` hex digits of the
    HMAC-SHA256 (under `key`) of the kind and the normalised value (e-mails in lower case, card and
    phone numbers as digits only). Without the key, nobody can test a guessed value against it."""
    if kind not in KINDS:
        raise ValueError(f"unknown redaction kind {kind!r}; known: {list(KINDS)}")
    digest = hmac.new(key, f"{kind}:{_normalise(kind, value)}".encode(), hashlib.sha256).hexdigest()
    return f"<{kind}_{digest[:digits]}>"


class Pseudonyms:
    """A reversible mapping between values and placeholders.

    The same value always gets the same placeholder, so a model can refer to it across turns;
    `restore` / `restore_value` put the values back (placeholders it does not know, e.g. one a model
    made up, stay as they are). Without a `key` placeholders are numbered per mapping (``<EMAIL_1>``):
    keep one per conversation and store it (`to_dict` / `from_dict`). With a `key` they are derived
    from the value (`pseudonym`): every mapping under the same key agrees, so one per model call is
    enough and nothing needs storing.
    """

    def __init__(self, key: bytes | None = None) -> None:
        self.key = key
        self._values: dict[str, str] = {}
        """placeholder -> original text"""
        self._placeholders: dict[tuple[str, str], str] = {}
        """(kind, normalised value) -> placeholder"""

    def placeholder(self, kind: str, value: str) -> str:
        key = (kind, _normalise(kind, value))
        if key not in self._placeholders:
            if self.key is None:
                token = f"<{kind}_{1 + sum(1 for k, _ in self._placeholders if k == kind)}>"
            else:
                token = pseudonym(kind, value, self.key)
                if token in self._values:  # another value of this mapping has the same short digest
                    token = pseudonym(kind, value, self.key, digits=16)
            self._placeholders[key] = token
            self._values[token] = value
        return self._placeholders[key]

    def restore(self, text: str) -> str:
        if not self._values:
            return text
        return _PSEUDONYM.sub(lambda m: self._values.get(m.group(), m.group()), text)

    def restore_value(self, value: Any) -> Any:
        """`restore` every string in a JSON-like value (a tool call's arguments)."""
        return _walk(value, self.restore)

    def to_dict(self) -> dict[str, str]:
        return dict(self._values)

    @classmethod
    def from_dict(cls, values: dict[str, str], key: bytes | None = None) -> Pseudonyms:
        names = cls(key=key)
        for token, value in values.items():
            match = _PSEUDONYM.fullmatch(token)
            if not match:
                raise ValueError(f"not a pseudonym: {token!r}")
            names._values[token] = value
            names._placeholders[(match.group(1), _normalise(match.group(1), value))] = token
        return names

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, token: object) -> bool:
        return token in self._values


def _normalise(kind: str, value: str) -> str:
    if kind == "EMAIL":
        return value.lower()
    if kind in ("CARD", "PHONE"):
        return re.sub(r"\D", "", value)
    return value


class Redactor:
    """Finds secrets and personal data of the given `kinds` and masks or pseudonymises them."""

    def __init__(self, kinds: Iterable[str] = KINDS) -> None:
        self.kinds = tuple(kinds)
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown:
            raise ValueError(f"unknown redaction kinds {unknown}; known: {list(KINDS)}")

    def find(self, text: str) -> list[Finding]:
        """Non-overlapping findings in text order; on overlap the earlier kind in `KINDS` wins."""
        if len(text) > _FIND_CACHE_CHARS:
            return _find(self.kinds, text)
        return list(_find_cached(self.kinds, text))

    def mask(self, text: str) -> Redacted:
        """Replace each finding with ``[KIND]``."""
        return self._replace(text, lambda f: f"[{f.kind}]")

    def pseudonymize(self, text: str, names: Pseudonyms) -> Redacted:
        """Replace each finding with its placeholder in `names` (added there if new)."""
        return self._replace(text, lambda f: names.placeholder(f.kind, f.text))

    def mask_value(self, value: Any) -> tuple[Any, dict[str, int]]:
        """Mask every string in a JSON-like value; a text value under a secret-named key
        (``password``, ``api_key``, ``token``...) is masked whole. Returns the value and the counts."""
        return self._walk_counting(value, self.mask, lambda text: "[SECRET]")

    def pseudonymize_value(self, value: Any, names: Pseudonyms) -> tuple[Any, dict[str, int]]:
        """`pseudonymize` every string in a JSON-like value (e.g. a tool's result)."""
        return self._walk_counting(value, lambda text: self.pseudonymize(text, names),
                                   lambda text: names.placeholder("SECRET", text))

    def _replace(self, text: str, replacement: Callable[[Finding], str]) -> Redacted:
        findings = self.find(text)
        if not findings:
            return Redacted(text, {})
        parts, position = [], 0
        for finding in findings:
            parts += [text[position:finding.start], replacement(finding)]
            position = finding.end
        parts.append(text[position:])
        return Redacted("".join(parts), dict(Counter(f.kind for f in findings)))

    def _walk_counting(self, value: Any, on_text: Callable[[str], Redacted],
                       on_secret: Callable[[str], str]) -> tuple[Any, dict[str, int]]:
        counts: Counter[str] = Counter()

        def text(item: str) -> str:
            done = on_text(item)
            counts.update(done.counts)
            return done.text

        def walk(item: Any) -> Any:
            if isinstance(item, dict):
                out = {}
                for key, inner in item.items():
                    if "SECRET" in self.kinds and isinstance(inner, str) and inner and _SECRET_KEY.search(str(key)):
                        counts["SECRET"] += 1
                        out[key] = on_secret(inner)
                    else:
                        out[key] = walk(inner)
                return out
            if isinstance(item, (list, tuple)):
                return [walk(inner) for inner in item]
            if isinstance(item, str):
                return text(item)
            if isinstance(item, int) and not isinstance(item, bool) and len(str(abs(item))) >= 13:
                redacted = text(str(item))  # a card number passed as a number
                return item if redacted == str(item) else redacted
            return item

        return walk(value), dict(counts)


def _find(kinds: tuple[str, ...], text: str) -> list[Finding]:
    taken: list[Finding] = []
    for kind in KINDS:
        if kind not in kinds:
            continue
        for start, end in sorted(set(_DETECTORS[kind](text))):
            if all(end <= f.start or start >= f.end for f in taken):
                taken.append(Finding(kind, start, end, text[start:end]))
    return sorted(taken, key=lambda f: f.start)


@lru_cache(maxsize=512)
def _find_cached(kinds: tuple[str, ...], text: str) -> tuple[Finding, ...]:
    # The same texts are redacted again and again: every model call of a run resends the system
    # prompt, the request and the conversation so far, and the audit trail records them too.
    return tuple(_find(kinds, text))


_FIND_CACHE_CHARS = 8192
"""Longer texts are searched every time (the cache holds at most 512 texts of up to this length)."""


def _walk(value: Any, on_text: Callable[[str], str]) -> Any:
    if isinstance(value, dict):
        return {key: _walk(inner, on_text) for key, inner in value.items()}
    if isinstance(value, (list, tuple)):
        return [_walk(inner, on_text) for inner in value]
    return on_text(value) if isinstance(value, str) else value


DEFAULT_REDACTOR = Redactor()
MODEL_REDACTOR = Redactor(kinds=("SECRET", "CARD"))
CONTACT_REDACTOR = Redactor(kinds=("EMAIL", "PHONE"))

RedactionLevel = Literal["secrets", "pii", "off"]
REDACTION_LEVELS: tuple[str, ...] = get_args(RedactionLevel)


def redact(text: str) -> Redacted:
    """Mask every kind: ``[SECRET]``, ``[CARD]``, ``[EMAIL]``, ``[PHONE]``."""
    return DEFAULT_REDACTOR.mask(text)


def redact_value(value: Any) -> Any:
    """`redact` every string in a JSON-like value (secret-named keys masked whole)."""
    return DEFAULT_REDACTOR.mask_value(value)[0]


def redact_for_model(text: str) -> Redacted:
    """Mask card numbers and secrets only: what a model never needs (the ``secrets`` level). E-mail
    addresses and phone numbers stay, because tools look people up by them; the ``pii`` level
    (`ModelRedaction`) pseudonymises those too."""
    return MODEL_REDACTOR.mask(text)


def check_level(level: str) -> RedactionLevel:
    """`level` if it is one of `REDACTION_LEVELS`, else ValueError."""
    if level not in REDACTION_LEVELS:
        raise ValueError(f"unknown redaction level {level!r}; known: {list(REDACTION_LEVELS)}")
    return level  # type: ignore[return-value]


class ModelRedaction:
    """What one model call sees at a redaction level, and how its output gets the values back.

    - ``secrets``: card numbers and secrets are masked (``[CARD]``, ``[SECRET]``; secret-named keys
      of a value whole); nothing is restored, so a model can neither read nor pass one on.
    - ``pii``: the same, and e-mail addresses and phone numbers become placeholders derived under
      `key` (`pseudonym`); `restore` puts the values back into what the model wrote.
    - ``off``: nothing changes.

    Use one per model call: `hide` its inputs, then `restore` its output. The mapping holds only the
    values that call's inputs contained, so a placeholder the model did not get stays as it is.
    """

    def __init__(self, level: str = "secrets", key: bytes = b"") -> None:
        self.level = check_level(level)
        self.names = Pseudonyms(key=key)

    def hide(self, value: Any) -> Any:
        """The text, or every string of a JSON-like value, as the model may see it."""
        if self.level == "off":
            return value
        value = MODEL_REDACTOR.mask(value).text if isinstance(value, str) else MODEL_REDACTOR.mask_value(value)[0]
        if self.level == "pii":
            value = (CONTACT_REDACTOR.pseudonymize(value, self.names).text if isinstance(value, str)
                     else CONTACT_REDACTOR.pseudonymize_value(value, self.names)[0])
        return value

    def restore(self, value: Any) -> Any:
        """The text, or every string of a JSON-like value, with this call's placeholders put back."""
        return self.names.restore_value(value) if len(self.names) else value


class RedactingFilter(logging.Filter):
    """A logging filter that masks log messages (and tracebacks) before any handler writes them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message).text
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info)).text
        return True
