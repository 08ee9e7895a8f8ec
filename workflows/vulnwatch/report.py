"""What a weekly report must say: its week, every affected critical and high advisory of that week with its
risk, and no advisory that does not affect us (so nothing is reported as affecting us that does not); and a
draft that says exactly that, rendered from the week's assessments."""

from __future__ import annotations

from collections.abc import Collection

from taskwarden.workflows.vulnwatch.feed import ADVISORY_ID
from taskwarden.workflows.vulnwatch.risk import SEVERITY_BANDS, Assessment

RISK_ORDER = tuple(name for _, name in SEVERITY_BANDS)
"""critical, high, medium, low: the order of a report's sections."""


def mentioned_ids(markdown: str) -> list[str]:
    """The advisory ids a report mentions, upper-cased, sorted, once each."""
    return sorted({match.upper() for match in ADVISORY_ID.findall(markdown)})


def report_problems(markdown: str, week: str, assessments: list[Assessment], elsewhere: dict[str, str],
                    malformed: Collection[str] = ()) -> list[str]:
    """Why the report for `week` cannot be saved (empty list: it can).

    `assessments` are the advisories published in `week`; `elsewhere` maps the feed's other advisory
    ids to the week they were published in; `malformed` are the ids of feed entries that were skipped.
    """
    mentioned = set(mentioned_ids(markdown))
    problems = []
    if week not in markdown:
        problems.append(f"it does not name its week: give it a title like '# Vulnerability report {week}'")
    missing = [a for a in assessments if a.must_report and a.advisory.id not in mentioned]
    if missing:
        problems.append("it omits affected advisories that must be reported: " + "; ".join(
            f"{a.advisory.id} ({a.risk}, {a.advisory.package} in "
            f"{', '.join(sorted({i.service for i in a.affected}))})" for a in missing))
    unrated = [a for a in assessments if a.must_report and a.advisory.id in mentioned
               and a.risk not in _context(markdown, a.advisory.id).lower()]
    if unrated:
        problems.append("it does not give the risk of each affected advisory (on its line or in the heading "
                        "above it): " + "; ".join(f"{a.advisory.id} is {a.risk}" for a in unrated))
    by_id = {a.advisory.id: a for a in assessments}
    wrong = []
    for advisory_id in sorted(mentioned):
        if advisory_id in by_id and not by_id[advisory_id].affected:
            wrong.append(f"{advisory_id} does not affect us ({by_id[advisory_id].why})")
        elif advisory_id in malformed:
            wrong.append(f"{advisory_id} is a malformed feed entry, which cannot be classified")
        elif advisory_id in elsewhere:
            wrong.append(f"{advisory_id} was published in {elsewhere[advisory_id]}, not in {week}")
        elif advisory_id not in by_id:
            wrong.append(f"{advisory_id} is not in the feed")
    if wrong:
        problems.append("it mentions advisories that do not belong in it (leave them out): " + "; ".join(wrong))
    return problems


def draft_report(week: str, assessments: list[Assessment], malformed: int = 0) -> str:
    """The week's report as the rules want it: a title with the week, then each advisory that affects us under
    a heading for its risk (critical first), with the services and versions it affects and the version that
    fixes it; a quiet week says so. Feed text (summaries) is left out: it is not ours to repeat."""
    affected = [a for a in assessments if a.affected]
    lines = [f"# Vulnerability report {week}", ""]
    if not affected:
        published = f"none of the {_advisories(len(assessments))} published in {week} affects" if assessments \
            else f"no advisory was published in {week} for"
        lines.append(f"A quiet week: {published} the packages we run.")
    else:
        counts = ", ".join(f"{n} {risk}" for risk in RISK_ORDER if (n := sum(a.risk == risk for a in affected)))
        urgent = "" if any(a.must_report for a in affected) else "; none of them is critical or high"
        lines.append(f"{len(affected)} of the {_advisories(len(assessments))} published in {week} "
                     f"affect{'s' if len(affected) == 1 else ''} the packages we run ({counts}){urgent}.")
        for risk in RISK_ORDER:
            group = [a for a in affected if a.risk == risk]
            if group:
                lines += ["", f"## {risk.capitalize()}", "", *(_draft_line(a) for a in group)]
    if malformed:
        lines += ["", f"{malformed} malformed feed entr{'y was' if malformed == 1 else 'ies were'} skipped: "
                      "they could not be classified."]
    return "\n".join(lines)


def _advisories(count: int) -> str:
    return f"{count} advisor{'y' if count == 1 else 'ies'}"


def _draft_line(assessment: Assessment) -> str:
    advisory = assessment.advisory
    where = ", ".join(f"{i.version} in {i.service}" for i in assessment.affected)
    fix = f"upgrade to {advisory.fixed}" if advisory.fixed else "no fixed version yet"
    return f"- {advisory.id} ({assessment.risk}, CVSS {advisory.cvss:.1f}): {advisory.package} {where}; {fix}."


def _context(markdown: str, advisory_id: str) -> str:
    """Where a report says something about an advisory: each line naming it, the lines that follow it up to
    the next heading, blank line or other advisory, and the nearest heading above it ("### Critical")."""
    lines, found = markdown.splitlines(), []
    for index, line in enumerate(lines):
        if advisory_id not in line.upper():
            continue
        heading = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].lstrip().startswith("#")), "")
        block = [heading, line]
        for following in lines[index + 1:]:
            if not following.strip() or following.lstrip().startswith("#") or \
                    set(mentioned_ids(following)) - {advisory_id}:
                break
            block.append(following)
        found.append("\n".join(block))
    return "\n".join(found)
