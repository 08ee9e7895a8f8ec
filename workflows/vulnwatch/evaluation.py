"""Evaluation support for the vulnerability watch: the labelled cases, and a fresh set of files per case.

`case.setup` (all keys optional) replaces parts of the seeded demo data:

- ``feed``: a list of feed entries; ``weeks_ago`` (0 this ISO week, 1 last week; default 1) and ``weekday``
  (1 Monday to 7 Sunday; default 3) give the publication date relative to the run's day, other fields are
  written as they are (malformed entries on purpose included). ``weeks_ago: 0`` needs ``weekday: 1``,
  the only day of this week that is never in the future;
- ``feed_file``: the feed file's raw text instead, or null for no feed file at all;
- ``inventory``: the packages we run ({package, version, service, channel, oncall});
- ``reports``: reports saved earlier, [{weeks_ago, markdown}];
- ``sent``: messages sent earlier about a week's report, [{channel, weeks_ago}].

`observe` reports ``reports`` [{week, weeks_ago, mentions}] (mentions: the advisory ids the report names,
sorted) and ``outbox`` [{kind, recipient}]. Cases expect ``weeks_ago`` rather than a week, so they hold
whatever day the evaluation runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from taskwarden.evals.dataset import Case, Record, dump_cases
from taskwarden.evals.workspace import EvalWorkspace
from taskwarden.tools.kits.outbox import Outbox
from taskwarden.workflows.vulnwatch.cases import generate_cases
from taskwarden.workflows.vulnwatch.data import (
    FEED_FILE,
    INVENTORY_FILE,
    OUTBOX_FILE,
    REPORTS_DIR,
    feed_entries,
    seed,
    write_json,
)
from taskwarden.workflows.vulnwatch.feed import parse_install
from taskwarden.workflows.vulnwatch.report import mentioned_ids
from taskwarden.workflows.vulnwatch.weeks import week_of, weeks_ago
from taskwarden.workflows.vulnwatch.workflow import vulnerability_watch

DATASET = Path(__file__).with_name("dataset.jsonl")
SETUP_KEYS = ("feed", "feed_file", "inventory", "reports", "sent")
__all__ = ["DATASET", "apply_setup", "eval_workspace", "generate_cases", "observer"]


def eval_workspace(workdir: Path, today: date, case: Case) -> EvalWorkspace:
    """Seed the demo files under `workdir`, apply `case.setup`, and bind the workflow to them."""
    data_dir = seed(Path(workdir) / "vulnwatch", today, reset=True)
    apply_setup(data_dir, today, case.setup)
    workflow = vulnerability_watch(data_dir, today=lambda: today)
    return EvalWorkspace(workflow=workflow, observe=observer(data_dir, today), workdir=Path(workdir))


def observer(data_dir: Path, today: date) -> Callable[[], dict[str, list[Record]]]:
    """The saved reports (week, weeks_ago, mentions) and the outbox's messages (kind, recipient)."""
    outbox = Outbox(data_dir / OUTBOX_FILE)

    def observe() -> dict[str, list[Record]]:
        reports = [{"week": path.stem, "weeks_ago": weeks_ago(path.stem, today),
                    "mentions": mentioned_ids(path.read_text(encoding="utf-8"))}
                   for path in sorted((data_dir / REPORTS_DIR).glob("*.md"))]
        return {"reports": reports, "outbox": [{"kind": m.kind, "recipient": m.recipient} for m in outbox.messages()]}

    return observe


def apply_setup(data_dir: Path, today: date, setup: dict[str, Any]) -> None:
    """Apply a case's setup (see the module's docstring); ValueError saying what is wrong with it."""
    unknown = sorted(set(setup) - set(SETUP_KEYS))
    if unknown:
        raise ValueError(f"setup: unknown keys {unknown}; known: {list(SETUP_KEYS)}")
    if "feed" in setup and "feed_file" in setup:
        raise ValueError("setup: give either feed or feed_file, not both")
    if "feed" in setup:
        write_json(data_dir / FEED_FILE, feed_entries(_checked_feed(setup["feed"]), today))
    if "feed_file" in setup:
        raw = setup["feed_file"]
        if raw is None:
            (data_dir / FEED_FILE).unlink()
        elif isinstance(raw, str):
            (data_dir / FEED_FILE).write_text(raw, encoding="utf-8")
        else:
            raise ValueError("setup: feed_file must be the file's text, or null for no feed file")
    if "inventory" in setup:
        entries = _list_of_objects(setup["inventory"], "inventory")
        for number, entry in enumerate(entries, start=1):
            try:
                parse_install(entry)
            except ValueError as exc:
                raise ValueError(f"setup: inventory entry {number}: {exc}") from None
        write_json(data_dir / INVENTORY_FILE, entries)
    for report in _list_of_objects(setup.get("reports", []), "reports"):
        if set(report) != {"weeks_ago", "markdown"} or not isinstance(report["markdown"], str):
            raise ValueError("setup: a report is {weeks_ago, markdown}")
        week = week_of(today - timedelta(weeks=_weeks_ago(report, "reports", minimum=1)))
        (data_dir / REPORTS_DIR / f"{week}.md").write_text(report["markdown"].strip() + "\n", encoding="utf-8")
    for message in _list_of_objects(setup.get("sent", []), "sent"):
        if set(message) != {"channel", "weeks_ago"}:
            raise ValueError("setup: a sent message is {channel, weeks_ago}")
        week = week_of(today - timedelta(weeks=_weeks_ago(message, "sent", minimum=0)))
        Outbox(data_dir / OUTBOX_FILE).send_message(message["channel"], f"Vulnerability report {week}: announced earlier.")


def _checked_feed(entries: Any) -> list[dict[str, Any]]:
    entries = _list_of_objects(entries, "feed")
    for number, entry in enumerate(entries, start=1):
        if "published" in entry:
            continue
        ago, weekday = _weeks_ago(entry, f"feed entry {number}", minimum=0), entry.get("weekday", 3)
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 1 <= weekday <= 7:
            raise ValueError(f"setup: feed entry {number}: weekday must be 1 (Monday) to 7 (Sunday), not {weekday!r}")
        if ago == 0 and weekday != 1:
            raise ValueError(f"setup: feed entry {number}: this week's advisories need weekday 1 (Monday), "
                             "the only day of the week never in the future")
    return entries


def _weeks_ago(spec: dict[str, Any], where: str, *, minimum: int) -> int:
    value = spec.get("weeks_ago", 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"setup: {where}: weeks_ago must be a whole number of at least {minimum}, not {value!r}")
    return value


def _list_of_objects(value: Any, key: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError(f"setup: {key} must be a list of objects")
    return value


if __name__ == "__main__":
    DATASET.write_text(dump_cases(generate_cases()), encoding="utf-8")
    print(f"wrote {len(generate_cases())} cases to {DATASET}")
