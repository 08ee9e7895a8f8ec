"""The vulnerability feed (a JSON list of advisories) and the inventory of the packages we run, validated.

A feed file that cannot be read at all raises `FeedError`; a single bad entry is skipped and reported
with its position and the reason, so one malformed advisory never hides the others. The inventory is
ours, not an outside feed: any bad entry in it is an error.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from taskwarden.workflows.vulnwatch.versions import Version, VersionRange, parse_version

ADVISORY_ID = re.compile(r"CVE-\d{4}-\d{4,}", re.IGNORECASE)
CHANNEL = re.compile(r"#[\w.-]{1,80}")
PERSON = re.compile(r"@[\w.-]{1,80}")
ADVISORY_FIELDS = ("id", "package", "affected", "fixed", "cvss", "published", "summary")


class FeedError(ValueError):
    """The feed file is missing or is not a JSON list."""


def package_key(name: str) -> str:
    return str(name).strip().lower()


@dataclass(frozen=True)
class Advisory:
    """One advisory of the feed."""

    id: str
    package: str
    affected: VersionRange
    fixed: str | None
    """The first version with the fix; None when there is no fix yet."""
    cvss: float
    published: date
    summary: str

    @property
    def fixed_version(self) -> Version | None:
        return None if self.fixed is None else parse_version(self.fixed)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "package": self.package, "affected": self.affected.text, "fixed": self.fixed,
                "cvss": self.cvss, "published": self.published.isoformat(), "summary": self.summary}


@dataclass(frozen=True)
class Skipped:
    """A feed entry that could not be read."""

    entry: int
    """Its position in the feed, from 1."""
    id: str | None
    problem: str
    published: date | None = None
    """When it says it was published, if that much can be read."""

    def as_dict(self) -> dict[str, Any]:
        return {"entry": self.entry, "id": self.id, "problem": self.problem}


@dataclass(frozen=True)
class Feed:
    advisories: list[Advisory]
    skipped: list[Skipped]

    def find(self, advisory_id: str) -> Advisory | None:
        wanted = str(advisory_id).strip().upper()
        return next((a for a in self.advisories if a.id == wanted), None)


def parse_advisory(entry: Any) -> Advisory:
    """One feed entry as an `Advisory`; ValueError saying what is wrong with it."""
    if not isinstance(entry, dict):
        raise ValueError(f"an advisory must be a JSON object, not {type(entry).__name__}")
    missing = [name for name in ADVISORY_FIELDS if name not in entry and name != "fixed"]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    advisory_id = str(entry["id"]).strip().upper()
    if not ADVISORY_ID.fullmatch(advisory_id):
        raise ValueError(f"id {entry['id']!r} is not a CVE id like CVE-2026-0001")
    package = str(entry["package"]).strip()
    if not package:
        raise ValueError("the package is empty")
    cvss = entry["cvss"]
    if isinstance(cvss, bool) or not isinstance(cvss, int | float) or math.isnan(cvss) or not 0 <= cvss <= 10:
        raise ValueError(f"cvss {cvss!r} is not a score from 0.0 to 10.0")
    fixed = entry.get("fixed")
    if fixed is not None:
        parse_version(fixed)
    try:
        published = date.fromisoformat(str(entry["published"]))
    except ValueError:
        raise ValueError(f"published {entry['published']!r} is not a date like 2026-11-18") from None
    return Advisory(id=advisory_id, package=package, affected=VersionRange.parse(entry["affected"]),
                    fixed=None if fixed is None else str(fixed).strip(), cvss=round(float(cvss), 1),
                    published=published, summary=str(entry["summary"]).strip())


def load_feed(path: Path) -> Feed:
    """The feed at `path`: its valid advisories, and the entries skipped with why."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FeedError(f"the vulnerability feed file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FeedError(f"the vulnerability feed file {path} cannot be read: {exc}") from None
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeedError(f"the vulnerability feed file {path} is not valid JSON: {exc.msg} "
                        f"(line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(entries, list):
        raise FeedError(f"the vulnerability feed file {path} must hold a JSON list of advisories, "
                        f"not a {type(entries).__name__}")
    advisories: list[Advisory] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        try:
            advisory = parse_advisory(entry)
        except ValueError as exc:
            advisory_id, published = _what_is_readable(entry)
            skipped.append(Skipped(number, advisory_id, str(exc), published))
            continue
        if advisory.id in seen:
            skipped.append(Skipped(number, advisory.id, f"duplicate of an earlier entry for {advisory.id}",
                                   advisory.published))
            continue
        seen.add(advisory.id)
        advisories.append(advisory)
    return Feed(advisories, skipped)


def _what_is_readable(entry: Any) -> tuple[str | None, date | None]:
    """The id and publication date of a malformed entry, where they can be read."""
    if not isinstance(entry, dict):
        return None, None
    advisory_id = str(entry["id"]).strip().upper() if entry.get("id") is not None else None
    try:
        return advisory_id, date.fromisoformat(str(entry.get("published")))
    except ValueError:
        return advisory_id, None


@dataclass(frozen=True)
class Install:
    """A package we run: where, at which version, and who owns it."""

    package: str
    version: str
    service: str
    channel: str
    """The owning team's chat channel, like #web-team."""
    oncall: str
    """The owning team's on-call person, like @web-oncall (paged for critical risks)."""

    def as_dict(self) -> dict[str, Any]:
        return {"package": self.package, "version": self.version, "service": self.service,
                "channel": self.channel, "oncall": self.oncall}


def parse_install(entry: Any) -> Install:
    """One inventory entry; ValueError saying what is wrong with it."""
    if not isinstance(entry, dict):
        raise ValueError(f"an inventory entry must be a JSON object, not {type(entry).__name__}")
    missing = [name for name in ("package", "version", "service", "channel", "oncall") if not entry.get(name)]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    parse_version(entry["version"])
    if not CHANNEL.fullmatch(entry["channel"]):
        raise ValueError(f"channel {entry['channel']!r} is not a channel like #web-team")
    if not PERSON.fullmatch(entry["oncall"]):
        raise ValueError(f"oncall {entry['oncall']!r} is not a person like @web-oncall")
    return Install(package=str(entry["package"]).strip(), version=str(entry["version"]).strip(),
                   service=str(entry["service"]).strip(), channel=entry["channel"], oncall=entry["oncall"])


def load_inventory(path: Path) -> list[Install]:
    """The packages we run (a JSON list of {package, version, service, channel, oncall})."""
    try:
        entries = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"the inventory file {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"the inventory file {path} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(entries, list):
        raise ValueError(f"the inventory file {path} must hold a JSON list")
    installs = []
    for number, entry in enumerate(entries, start=1):
        try:
            installs.append(parse_install(entry))
        except ValueError as exc:
            raise ValueError(f"the inventory file {path}, entry {number}: {exc}") from None
    return installs
