"""Summaries of an evaluation: per-system metrics, a text table, a JSON report and an HTML chart."""

from __future__ import annotations

import html
import json
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from taskwarden.evals.runner import CaseResult


@dataclass
class Summary:
    """One system's numbers over the cases it ran."""

    system: str
    cases: int
    success_rate: float
    escalation_precision: float | None
    """Of the runs that asked a human, the share that should have (None: none asked)."""
    escalation_recall: float | None
    """Of the cases that should ask a human, the share that did (None: none should)."""
    unwanted_cases: int
    """Cases with at least one unwanted side effect."""
    unwanted_effects: int
    crashes: int
    model_calls_per_case: float
    confirmations_per_case: float
    """Confirmations asked of the requester (not human reviews: not in escalation precision/recall)."""
    tokens_per_case: float
    cost_per_case_usd: float
    latency_p50_s: float
    latency_mean_s: float
    by_tag: dict[str, float]
    """Success rate per tag."""
    interventions_per_case: dict[str, float]
    """How often each reliability mechanism intervened (blocked, corrected, revised...), per case."""


def summarize(results: list[CaseResult]) -> dict[str, Summary]:
    """A `Summary` per system, in the order the systems first appear."""
    by_system: dict[str, list[CaseResult]] = defaultdict(list)
    for result in results:
        by_system[result.system].append(result)
    return {name: _summary(name, rows) for name, rows in by_system.items()}


def _summary(name: str, rows: list[CaseResult]) -> Summary:
    n = len(rows)
    asked = [r for r in rows if r.score.review_asked]
    expected = [r for r in rows if r.score.review_expected]
    tags: dict[str, list[int]] = defaultdict(list)
    for r in rows:
        for tag in r.case.tags or ["untagged"]:
            tags[tag].append(r.score.score)
    seconds = [r.outcome.seconds for r in rows]
    fired: dict[str, int] = defaultdict(int)
    for r in rows:
        for mechanism, count in (r.outcome.detail.get("interventions") or {}).items():
            fired[mechanism] += count
    return Summary(
        system=name, cases=n,
        success_rate=_mean([r.score.score for r in rows]),
        escalation_precision=(sum(r.score.review_expected for r in asked) / len(asked)) if asked else None,
        escalation_recall=(sum(r.score.review_asked for r in expected) / len(expected)) if expected else None,
        unwanted_cases=sum(bool(r.score.unwanted) for r in rows),
        unwanted_effects=sum(len(r.score.unwanted) for r in rows),
        crashes=sum(r.outcome.end == "error" for r in rows),
        model_calls_per_case=_mean([r.outcome.model_calls for r in rows]),
        confirmations_per_case=_mean([r.outcome.confirmations for r in rows]),
        tokens_per_case=_mean([r.outcome.input_tokens + r.outcome.output_tokens for r in rows]),
        cost_per_case_usd=_mean([r.outcome.cost_usd for r in rows]),
        latency_p50_s=statistics.median(seconds) if seconds else 0.0,
        latency_mean_s=_mean(seconds),
        by_tag={tag: _mean(scores) for tag, scores in sorted(tags.items())},
        interventions_per_case={mechanism: count / n for mechanism, count in sorted(fired.items())},
    )


METRICS: list[tuple[str, str, str]] = [
    # (label, Summary attribute, format)
    ("cases", "cases", "{:d}"),
    ("task success", "success_rate", "pct"),
    ("escalation precision", "escalation_precision", "pct"),
    ("escalation recall", "escalation_recall", "pct"),
    ("cases with unwanted side effects", "unwanted_cases", "{:d}"),
    ("unwanted side effects", "unwanted_effects", "{:d}"),
    ("crashed cases", "crashes", "{:d}"),
    ("model calls / case", "model_calls_per_case", "{:.1f}"),
    ("requester confirmations / case", "confirmations_per_case", "{:.1f}"),
    ("tokens / case", "tokens_per_case", "{:,.0f}"),
    ("cost / case (USD)", "cost_per_case_usd", "{:.4f}"),
    ("latency p50 (s)", "latency_p50_s", "{:.1f}"),
    ("latency mean (s)", "latency_mean_s", "{:.1f}"),
]


def render_table(summaries: dict[str, Summary]) -> str:
    """Systems side by side, then the first system compared with each other one (points for rates, a
    ratio for the rest): one "difference" column with two systems, a "vs <name>" column each with more."""
    names = list(summaries)
    heads = ["difference"] if len(names) == 2 else [f"vs {n}" for n in names[1:]]
    rows = [["metric", *names, *heads]]
    for label, attr, fmt in METRICS:
        values = [getattr(summaries[n], attr) for n in names]
        rows.append([label, *(_fmt(v, fmt) for v in values),
                     *("" if attr == "cases" else _compare(values[0], v, fmt) for v in values[1:])])
    return _grid(rows, rule=True)


def render_ablation(summaries: dict[str, Summary], full: str = "taskwarden") -> str:
    """One row per ablated system (``<full>-no-<mechanism>``): what the run did without that mechanism,
    what the mechanism is worth (the full system's success minus the ablated one's) and how often it
    intervened in the full system's runs; "" if none."""
    prefix = f"{full}-no-"
    ablated = [n for n in summaries if n.startswith(prefix)]
    if full not in summaries or not ablated:
        return ""
    base = summaries[full]
    rows = [["switched off", "task success", "worth", "unwanted cases", "escalation recall", "model calls / case",
             "it intervened / case"]]
    rows.append(["(nothing)", _fmt(base.success_rate, "pct"), "", str(base.unwanted_cases),
                 _fmt(base.escalation_recall, "pct"), f"{base.model_calls_per_case:.1f}", ""])
    for name in ablated:
        s = summaries[name]
        ratio = _compare(s.model_calls_per_case, base.model_calls_per_case, "") or "n/a"
        mechanism = name[len(prefix):]
        rows.append([mechanism, _fmt(s.success_rate, "pct"), _compare(base.success_rate, s.success_rate, "pct"),
                     str(s.unwanted_cases), _fmt(s.escalation_recall, "pct"), f"{s.model_calls_per_case:.1f} ({ratio})",
                     f"{base.interventions_per_case.get(mechanism, 0.0):.1f}"])
    return _grid(rows, rule=True)


def _grid(rows: list[list[str]], rule: bool = False) -> str:
    """Rows as aligned text: the first column left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    if rule:
        lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_tags(summaries: dict[str, Summary]) -> str:
    """Success rate per tag and system."""
    names = list(summaries)
    tags = sorted({t for s in summaries.values() for t in s.by_tag})
    rows = [["tag", *names]] + [[t, *(_fmt(summaries[n].by_tag.get(t), "pct") for n in names)] for t in tags]
    return _grid(rows)


def failures(results: list[CaseResult], limit: int = 20) -> list[str]:
    """One line per failed case: system, id and why."""
    width = max([10, *(len(r.system) for r in results)])
    lines = [f"{r.system:<{width}} {r.case.id:<28} {'; '.join(r.score.reasons)[:200]}" for r in results if not r.score.success]
    return lines[:limit] + ([f"... and {len(lines) - limit} more (see the JSON report)"] if len(lines) > limit else [])


def to_json(results: list[CaseResult], summaries: dict[str, Summary], meta: dict[str, Any]) -> dict[str, Any]:
    """The whole evaluation as JSON-ready data: what ran, the summaries, and every case's verdict."""
    return {
        **meta,
        "summaries": {name: asdict(s) for name, s in summaries.items()},
        "cases": [{
            "id": r.case.id, "system": r.system, "tags": r.case.tags, "success": r.score.success,
            "reasons": r.score.reasons, "missing": r.score.missing, "unwanted": r.score.unwanted,
            "review_expected": r.score.review_expected, "review_asked": r.score.review_asked,
            "reviews": r.outcome.reviews, "confirmations": r.outcome.confirmations,
            "end": r.outcome.end, "answer": r.outcome.answer, "error": r.outcome.error,
            "added": r.diff.added, "removed": r.diff.removed,
            "model_calls": r.outcome.model_calls, "input_tokens": r.outcome.input_tokens,
            "output_tokens": r.outcome.output_tokens, "cost_usd": r.outcome.cost_usd,
            "seconds": round(r.outcome.seconds, 3), "detail": r.outcome.detail,
        } for r in results],
    }


def render_html(summaries: dict[str, Summary], meta: dict[str, Any]) -> str:
    """A self-contained HTML page: bar charts (inline SVG, no scripts) and the summary table."""
    names = list(summaries)
    colors = ["#2563eb", "#9ca3af", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2", "#db2777"]
    charts = [
        _bars("Task success", {n: summaries[n].success_rate for n in names}, colors, pct=True),
        _bars("Escalation recall", {n: summaries[n].escalation_recall or 0.0 for n in names}, colors, pct=True),
        _bars("Escalation precision", {n: summaries[n].escalation_precision or 0.0 for n in names}, colors, pct=True),
        _bars("Cases with unwanted side effects", {n: float(summaries[n].unwanted_cases) for n in names}, colors),
        _bars("Tokens per case", {n: summaries[n].tokens_per_case for n in names}, colors),
        _bars("Latency p50 (s)", {n: summaries[n].latency_p50_s for n in names}, colors),
    ]
    tags = sorted({t for s in summaries.values() for t in s.by_tag})
    tag_rows = "".join(f"<tr><td>{html.escape(t)}</td>" + "".join(
        f"<td>{_fmt(summaries[n].by_tag.get(t), 'pct')}</td>" for n in names) + "</tr>" for t in tags)
    table = "".join(f"<tr><td>{html.escape(label)}</td>" + "".join(
        f"<td>{_fmt(getattr(summaries[n], attr), fmt)}</td>" for n in names) + "</tr>" for label, attr, fmt in METRICS)
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    title = f"Taskwarden eval: {meta.get('workflow', '')}"
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font:14px system-ui,sans-serif;margin:2rem;color:#111}}.charts{{display:flex;flex-wrap:wrap;gap:1.5rem}}
table{{border-collapse:collapse;margin-top:1.5rem}}td,th{{border-bottom:1px solid #e5e7eb;padding:.3rem .8rem;text-align:right}}
td:first-child,th:first-child{{text-align:left}}figure{{margin:0}}figcaption{{font-weight:600;margin-bottom:.3rem}}</style></head>
<body><h1>{html.escape(title)}</h1><p>{html.escape(json.dumps({k: v for k, v in meta.items() if k != 'errors'}))}</p>
<div class="charts">{''.join(charts)}</div>
<table><tr><th>metric</th>{head}</tr>{table}</table>
<h2>Success by tag</h2><table><tr><th>tag</th>{head}</tr>{tag_rows}</table></body></html>
"""


def _bars(title: str, values: dict[str, float], colors: list[str], pct: bool = False) -> str:
    left = max([80, *(7 * len(name) + 8 for name in values)])  # room for long names (ablations)
    width, bar, gap, height = left + 180, 26, 10, 20 + len(values) * 36
    top = max([1.0 if pct else 0.0, *values.values()]) or 1.0
    parts = []
    for i, (name, value) in enumerate(values.items()):
        y = 10 + i * (bar + gap)
        w = 0 if value is None else (width - left - 30) * value / top
        label = _fmt(value, "pct") if pct else (f"{value:,.1f}" if value < 1000 else f"{value:,.0f}")
        parts.append(f'<text x="0" y="{y + 17}" font-size="12">{html.escape(name)}</text>'
                     f'<rect class="bar" x="{left}" y="{y}" width="{w:.1f}" height="{bar}" fill="{colors[i % len(colors)]}"/>'
                     f'<text x="{left + 4 + w:.1f}" y="{y + 17}" font-size="12">{label}</text>')
    return (f'<figure><figcaption>{html.escape(title)}</figcaption><svg class="chart" width="{width}" '
            f'height="{height}" role="img" aria-label="{html.escape(title)}">{"".join(parts)}</svg></figure>')


def _fmt(value: Any, fmt: str) -> str:
    if value is None:
        return "n/a"
    if fmt == "pct":
        return f"{100 * value:.0f}%"
    return fmt.format(value)


def _compare(ours: Any, theirs: Any, fmt: str) -> str:
    if ours is None or theirs is None:
        return ""
    if fmt == "pct":
        return f"{100 * (ours - theirs):+.0f} pts"
    if isinstance(ours, int | float) and isinstance(theirs, int | float) and theirs:
        return f"x{ours / theirs:.2f}"
    return ""


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0
