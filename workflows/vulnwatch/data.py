"""The vulnerability watch's files: the feed, the inventory, the reports folder and the outbox, seeded.

Advisories are specified relative to the seeding day (``weeks_ago``: 0 this ISO week, 1 last week;
``weekday``: 1 Monday to 7 Sunday), so last week's report always has the same advisories to cover.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from taskwarden.workflows.vulnwatch.weeks import week_of, week_start

FEED_FILE = "feed.json"
INVENTORY_FILE = "inventory.json"
REPORTS_DIR = "reports"
OUTBOX_FILE = "outbox.db"

INVENTORY: list[dict[str, str]] = [
    {"package": "openssl", "version": "3.0.13", "service": "edge-proxy", "channel": "#platform-team",
     "oncall": "@platform-oncall"},
    {"package": "nginx", "version": "1.24.0", "service": "edge-proxy", "channel": "#platform-team",
     "oncall": "@platform-oncall"},
    {"package": "django", "version": "4.2.10", "service": "shop-web", "channel": "#web-team", "oncall": "@web-oncall"},
    {"package": "requests", "version": "2.31.0", "service": "shop-web", "channel": "#web-team",
     "oncall": "@web-oncall"},
    {"package": "pillow", "version": "10.2.0", "service": "media-service", "channel": "#media-team",
     "oncall": "@media-oncall"},
    {"package": "log4j-core", "version": "2.17.1", "service": "search-indexer", "channel": "#search-team",
     "oncall": "@search-oncall"},
    {"package": "lodash", "version": "4.17.21", "service": "storefront-ui", "channel": "#frontend-team",
     "oncall": "@frontend-oncall"},
    {"package": "postgresql", "version": "15.5", "service": "orders-db", "channel": "#data-team",
     "oncall": "@data-oncall"},
]


def advisory(number: int, package: str, affected: str, fixed: str | None, cvss: float, *, weeks_ago: int = 1,
             weekday: int = 3, summary: str = "") -> dict[str, Any]:
    """A feed entry spec (published date relative to the seeding day; see `feed_entries`)."""
    return {"id": f"CVE-2026-{number:04d}", "package": package, "affected": affected, "fixed": fixed, "cvss": cvss,
            "weeks_ago": weeks_ago, "weekday": weekday,
            "summary": summary or f"A vulnerability in {package} ({affected})."}


FEED: list[dict[str, Any]] = [
    advisory(8, "postgresql", ">=15.0,<15.6", "15.6", 8.8, weeks_ago=2, weekday=2,
             summary="Privilege escalation through crafted extension scripts."),
    advisory(7, "log4j-core", ">=2.0.0,<2.17.1", "2.17.1", 10.0, weeks_ago=2, weekday=4,
             summary="Remote code execution through JNDI lookups in logged messages."),
    advisory(1, "openssl", ">=3.0.0,<3.0.14", "3.0.14", 9.8, weekday=1,
             summary="Heap overflow in the TLS handshake allows remote code execution."),
    advisory(2, "django", ">=4.2.0,<4.2.11", "4.2.11", 7.5, weekday=2,
             summary="SQL injection through crafted JSONField key lookups."),
    advisory(3, "pillow", "<10.3.0", "10.3.0", 5.3, weekday=3,
             summary="Denial of service when decoding crafted TIFF images."),
    advisory(4, "struts2", "<6.3.0.2", "6.3.0.2", 9.8, weekday=4,
             summary="Remote code execution through file upload parameters."),
    advisory(5, "requests", "<2.31.0", "2.31.0", 6.1, weekday=5,
             summary="Proxy-Authorization header leaked to the destination on HTTPS redirects."),
    advisory(6, "nginx", ">=1.25.0,<1.25.4", "1.25.4", 7.5, weekday=6,
             summary="HTTP/3 worker crash on crafted QUIC sessions."),
    advisory(9, "lodash", "<4.17.22", "4.17.22", 4.3, weeks_ago=0, weekday=1,
             summary="Prototype pollution in zipObjectDeep."),
]
"""The demo feed: last week has a critical and a high advisory affecting us, a medium one, and three that
do not (a package we do not run, a version at the fix, a version outside the range)."""


def published_on(today: date, weeks_ago: int, weekday: int) -> date:
    return week_start(week_of(today - timedelta(weeks=weeks_ago))) + timedelta(days=weekday - 1)


def feed_entries(specs: Iterable[dict[str, Any]], today: date) -> list[dict[str, Any]]:
    """Feed entries from specs: ``weeks_ago`` / ``weekday`` become the ``published`` date (an explicit
    ``published`` is kept as it is); every other field is copied unchanged, valid or not."""
    entries = []
    for spec in specs:
        entry = {key: value for key, value in spec.items() if key not in ("weeks_ago", "weekday")}
        if "published" not in spec:
            entry["published"] = published_on(today, spec.get("weeks_ago", 1), spec.get("weekday", 3)).isoformat()
        entries.append(entry)
    return entries


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".seeding")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def seed(data_dir: str | Path, today: date | None = None, *, reset: bool = False) -> Path:
    """Create the demo feed, inventory and (empty) reports folder under `data_dir`.

    Once seeded (the inventory exists) the files are left as they are unless `reset` is true, which
    also discards the reports and the outbox."""
    data_dir = Path(data_dir)
    (data_dir / REPORTS_DIR).mkdir(parents=True, exist_ok=True)
    if (data_dir / INVENTORY_FILE).exists() and not reset:
        return data_dir  # seeded before: a feed file gone missing since stays missing
    today = today or date.today()
    if reset:
        for report in (data_dir / REPORTS_DIR).glob("*.md"):
            report.unlink()
        (data_dir / OUTBOX_FILE).unlink(missing_ok=True)
    write_json(data_dir / FEED_FILE, feed_entries(FEED, today))
    write_json(data_dir / INVENTORY_FILE, INVENTORY)
    return data_dir
