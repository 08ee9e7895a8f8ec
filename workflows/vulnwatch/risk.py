"""Risk, decided in code: CVSS severity bands, and whether a version we run is affected.

An advisory is *affected* for an install whose version is inside its affected range and below its
fixed version (when there is one). The risk is ``not-affected`` when no install is affected, else the
CVSS v3 severity band of its score: critical >= 9.0, high >= 7.0, medium >= 4.0, low below.
Affected critical and high advisories must be in the week's report and announced to the owning team;
a critical one also pages the team's on-call (with a human's approval, see the workflow's policies).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taskwarden.workflows.vulnwatch.feed import Advisory, Install, package_key
from taskwarden.workflows.vulnwatch.versions import parse_version

SEVERITY_BANDS: tuple[tuple[float, str], ...] = ((9.0, "critical"), (7.0, "high"), (4.0, "medium"), (0.0, "low"))
REPORTABLE = ("critical", "high")
"""Risks a report may not omit."""
RISK_RULE = ("risk = not-affected unless a version we run is inside the affected range and below the fixed "
             "version; otherwise by CVSS: critical >= 9.0, high >= 7.0, medium >= 4.0, low below 4.0")


def severity(cvss: float) -> str:
    """The CVSS v3 severity band of a score (0.0 counts as low)."""
    return next(name for floor, name in SEVERITY_BANDS if cvss >= floor)


def is_affected(advisory: Advisory, version: str) -> bool:
    parsed = parse_version(version)
    fixed = advisory.fixed_version
    return parsed in advisory.affected and (fixed is None or parsed < fixed)


@dataclass(frozen=True)
class Assessment:
    """An advisory against our inventory: which installs it affects, its risk, and why."""

    advisory: Advisory
    installs: tuple[Install, ...]
    """Every install of the advisory's package."""
    affected: tuple[Install, ...]
    risk: str

    @property
    def must_report(self) -> bool:
        return self.risk in REPORTABLE

    @property
    def why(self) -> str:
        a = self.advisory
        if not self.installs:
            return f"we do not run {a.package}"
        fix = f"fixed in {a.fixed}" if a.fixed else "no fixed version yet"
        if not self.affected:
            runs = ", ".join(f"{i.version} in {i.service}" for i in self.installs)
            return f"we run {a.package} {runs}: outside the affected range {a.affected.text} or already fixed ({fix})"
        runs = ", ".join(f"{i.version} in {i.service}" for i in self.affected)
        return (f"we run {a.package} {runs}, inside the affected range {a.affected.text} ({fix}); "
                f"CVSS {a.cvss:.1f} is {self.risk}")

    def as_dict(self) -> dict[str, Any]:
        return {"advisory_id": self.advisory.id, "package": self.advisory.package, "cvss": self.advisory.cvss,
                "severity": severity(self.advisory.cvss), "affected": bool(self.affected), "risk": self.risk,
                "must_report": self.must_report, "why": self.why, "fixed": self.advisory.fixed,
                "published": self.advisory.published.isoformat(),
                "affected_installs": [i.as_dict() for i in self.affected]}


def assess(advisory: Advisory, inventory: list[Install]) -> Assessment:
    installs = tuple(i for i in inventory if package_key(i.package) == package_key(advisory.package))
    affected = tuple(i for i in installs if is_affected(advisory, i.version))
    return Assessment(advisory, installs, affected, severity(advisory.cvss) if affected else "not-affected")
