"""ISO weeks (``2026-W47``): the unit of the weekly report, parsed strictly."""

from __future__ import annotations

import re
from datetime import date, timedelta

WEEK = re.compile(r"(\d{4})-W(\d{2})")
RELATIVE = {"last": 1, "last week": 1, "previous": 1, "this": 0, "this week": 0, "current": 0}
FORMAT_HINT = "write it like 2026-W47: the year, '-W' and the two-digit week number"


def weeks_in_year(year: int) -> int:
    """52 or 53: the ISO week of 28 December is always the year's last."""
    return date(year, 12, 28).isocalendar().week


def parse_week(text: str) -> tuple[int, int]:
    """``(year, week)`` of an ISO week written exactly like ``2026-W47``; ValueError otherwise."""
    match = WEEK.fullmatch(str(text).strip())
    if match is None:
        raise ValueError(f"{text!r} is not an ISO week: {FORMAT_HINT}")
    year, week = int(match[1]), int(match[2])
    if year < 1:
        raise ValueError(f"{text!r} is not an ISO week: the year must be 0001 or later")
    if not 1 <= week <= weeks_in_year(year):
        raise ValueError(f"{text!r} is not an ISO week: {year} has weeks 01 to {weeks_in_year(year)}")
    return year, week


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def week_start(week: str) -> date:
    """The Monday the ISO week begins on."""
    return date.fromisocalendar(*parse_week(week), 1)


def week_end(week: str) -> date:
    """The Sunday the ISO week ends on."""
    return week_start(week) + timedelta(days=6)


def weeks_ago(week: str, today: date) -> int:
    """How many weeks before today's week `week` is (0: this week, 1: last week, negative: the future)."""
    return (week_start(week_of(today)) - week_start(week)).days // 7


def resolve_week(text: str, today: date) -> str:
    """An ISO week, or ``last`` / ``this`` (week) relative to `today`, as an ISO week."""
    key = " ".join(str(text).lower().split())
    if key in RELATIVE:
        return week_of(today - timedelta(weeks=RELATIVE[key]))
    try:
        parse_week(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a week: give 'last' (last week) or an ISO week; {FORMAT_HINT}") from None
    return str(text).strip()


_WEEKISH = re.compile(r"\b\d{4}\s*-?\s*W\s*\d{1,3}\b", re.IGNORECASE)
_CURRENT = re.compile(r"\b(?:this|the current|current)\s+week\b", re.IGNORECASE)


def request_week_problem(request: str, today: date) -> str | None:
    """Why a request's week cannot be reported on (badly written, not over yet), or None.

    Every week-like token (``2026-W47``, ``2026W47``, ``2026-w7``) must be a well-written ISO week that
    has ended: a weekly report covers a finished week. "This week" or "the current week" has not ended either."""
    current = _CURRENT.search(request)
    if current:
        week = week_of(today)
        return (f"{current.group(0)} ({week}) is not over yet (it ends on {week_end(week).isoformat()}): weekly "
                f"reports cover finished weeks, the latest being last week, {week_of(today - timedelta(weeks=1))}")
    for match in _WEEKISH.finditer(request):
        text = match.group(0)
        try:
            parse_week(text)
        except ValueError as exc:
            return str(exc)
        if weeks_ago(text, today) < 1:
            return (f"{text} is not over yet (it ends on {week_end(text).isoformat()}): weekly reports cover "
                    f"finished weeks, the latest being last week, {week_of(today - timedelta(weeks=1))}")
    return None
