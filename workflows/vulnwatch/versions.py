"""Version numbers and affected ranges as advisories write them (``>=3.0.0,<3.0.14``), without dependencies.

Versions are dotted numbers compared number by number (``4.2.10`` is above ``4.2.9``); trailing zeros do
not count (``1.0`` equals ``1.0.0``). Anything else (``1.0-rc1``, ``latest``) is refused, so a feed entry
that cannot be compared is reported, never guessed.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

Version = tuple[int, ...]

_VERSION = re.compile(r"\d+(\.\d+)*")
_CLAUSE = re.compile(r"(<=|>=|==|!=|<|>)\s*(\S+)")
_OPERATORS: dict[str, Callable[[Version, Version], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne}


def parse_version(text: str) -> Version:
    """``"4.2.10"`` -> ``(4, 2, 10)``; ValueError for anything but dotted numbers."""
    raw = str(text).strip()
    if not _VERSION.fullmatch(raw):
        raise ValueError(f"{text!r} is not a version (dotted numbers like 3.0.14)")
    parts = [int(part) for part in raw.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


@dataclass(frozen=True)
class VersionRange:
    """Comma-separated clauses that must all hold, e.g. ``>=4.2.0,<4.2.11``."""

    text: str
    clauses: tuple[tuple[str, Version], ...]

    @classmethod
    def parse(cls, text: str) -> VersionRange:
        clauses = []
        for part in str(text).split(","):
            match = _CLAUSE.fullmatch(part.strip())
            if match is None:
                raise ValueError(f"affected range {text!r}: {part.strip()!r} is not a clause like '<3.0.14' "
                                 "or '>=3.0.0' (clauses are separated by commas)")
            clauses.append((match[1], parse_version(match[2])))
        return cls(str(text).strip(), tuple(clauses))

    def __contains__(self, version: object) -> bool:
        parsed = parse_version(version) if isinstance(version, str) else version
        return all(_OPERATORS[op](parsed, bound) for op, bound in self.clauses)  # type: ignore[arg-type]
