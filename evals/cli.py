"""``taskwarden eval <workflow> [dataset]``: score a workflow on labelled cases, optionally next to a baseline.

Exit codes: 0 the evaluation ran (whatever the scores, unless ``--fail-under`` is given), 1 success
below ``--fail-under``, 2 bad input (unknown workflow, unreadable dataset, no valid case).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from taskwarden.evals.dataset import DatasetFileError, load_dataset, stratified_sample
from taskwarden.evals.journal import Journal, JournalError
from taskwarden.evals.report import (
    failures,
    render_ablation,
    render_html,
    render_table,
    render_tags,
    summarize,
    to_json,
)
from taskwarden.evals.runner import CaseResult, Progress, run_eval
from taskwarden.evals.systems import BaselineSystem, ModelsFor, System, TaskwardenSystem, without_mechanism
from taskwarden.evals.workspace import eval_support
from taskwarden.graph.context import Context
from taskwarden.graph.reliability import MECHANISMS
from taskwarden.paths import data_home


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("eval", help="score a workflow on labelled cases (and a baseline agent)")
    parser.add_argument("workflow", help="a shipped workflow (see `taskwarden workflows`)")
    parser.add_argument("dataset", nargs="?", help="a JSONL dataset (default: the workflow's shipped dataset)")
    parser.add_argument("--baseline", action="store_true",
                        help="also run LangChain's prebuilt agent on the same model, tools and cases")
    parser.add_argument("--model", help="model spec for every role and the baseline (default: local)")
    parser.add_argument("--ablate", action="append", default=[], metavar="MECH",
                        help="also run Taskwarden with this reliability mechanism switched off, as system "
                             f"taskwarden-no-MECH (repeatable; 'all' = one system per mechanism: {', '.join(MECHANISMS)})")
    parser.add_argument("--disable", action="append", default=[], metavar="MECH[,MECH]",
                        help="run the main Taskwarden system itself with these reliability mechanisms switched off")
    parser.add_argument("--concurrency", type=int,
                        help="cases run at once (default: 1 on the embedded model, which serves one request at a "
                             "time, 4 on other endpoints)")
    parser.add_argument("--limit", type=int, help="run only the first N cases (after --tag / --case)")
    parser.add_argument("--sample", type=int, metavar="N",
                        help="run N cases spread over the dataset's tags (a quick run that still covers every branch)")
    parser.add_argument("--tag", action="append", default=[], help="run only cases with this tag (repeatable)")
    parser.add_argument("--case", action="append", default=[], help="run only this case id (repeatable)")
    parser.add_argument("--out", help="report folder (default: <data dir>/evals/<workflow>-<time>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the evaluation in --out: results its journal (cases.jsonl) already holds for "
                             "the same systems, model and cases are not run again")
    parser.add_argument("--keep-workdirs", action="store_true", help="keep each case's seeded systems for inspection")
    parser.add_argument("--fail-under", type=float, metavar="PCT",
                        help="exit 1 when Taskwarden's task success is below PCT percent (for CI)")
    parser.add_argument("--langsmith", action="store_true",
                        help="also write the cases and results in LangSmith's dataset/experiment format, and upload "
                             "them when LANGSMITH_API_KEY is set")
    parser.set_defaults(func=cmd_eval)
    return parser


def cmd_eval(args: argparse.Namespace, models_for: ModelsFor | None = None) -> int:
    """Run the evaluation; `models_for` lets tests give each case scripted models."""
    try:
        support = eval_support(args.workflow)
    except LookupError as exc:
        return _usage(str(exc))
    path = Path(args.dataset) if args.dataset else support.DATASET
    try:
        dataset = load_dataset(path)
    except DatasetFileError as exc:
        return _usage(str(exc))
    for error in dataset.errors:
        print(f"taskwarden eval: {path}: {error} (skipped)", file=sys.stderr)
    cases = [c for c in dataset.cases if (not args.tag or set(args.tag) & set(c.tags))
             and (not args.case or c.id in args.case)]
    unknown = sorted(set(args.case) - {c.id for c in dataset.cases})
    if unknown:
        return _usage(f"no case with id {', '.join(unknown)} in {path}")
    cases = stratified_sample(cases, args.sample) if args.sample else cases
    cases = cases[: args.limit] if args.limit else cases
    if not cases:
        return _usage(f"no valid case to run in {path}" + (" with those filters" if args.tag or args.case else ""))
    if args.concurrency is not None and args.concurrency < 1:
        return _usage("--concurrency must be at least 1")

    spec = args.model
    try:
        systems = build_systems(spec, models_for, disable=args.disable, ablate=args.ablate, baseline=args.baseline)
    except ValueError as exc:
        return _usage(str(exc))
    concurrency = args.concurrency or (4 if models_for or (spec and spec != "local") else 1)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    if args.resume and not args.out:
        return _usage("--resume needs --out DIR: the folder of the evaluation to continue")
    out = Path(args.out) if args.out else data_home() / "evals" / f"{args.workflow}-{stamp}"
    journal = Journal(out, spec or "default")
    try:
        reuse = _resumed(journal, cases, resume=args.resume)
    except JournalError as exc:
        return _usage(str(exc))
    print(f"evaluating {args.workflow} on {len(cases)} case(s) from {path} with "
          f"{' and '.join(s.name for s in systems)} (model {spec or 'default'}, concurrency {concurrency})",
          file=sys.stderr)
    show = _progress(max(10, *(len(s.name) for s in systems)))

    def progress(result: CaseResult, done: int, total: int) -> None:
        journal.append(result)
        show(result, done, total)

    try:
        results = run_eval(cases, systems, support.eval_workspace, concurrency=concurrency, today=date.today(),
                           workroot=out / "workdirs" if args.keep_workdirs else None, keep=args.keep_workdirs,
                           progress=progress, reuse=reuse)
    except KeyboardInterrupt:
        _print_so_far(journal, cases, [s.name for s in systems])
        print(f"\ntaskwarden eval: interrupted; the finished results are kept in {journal.path}: continue with "
              f"the same command and --out {out} --resume", file=sys.stderr)
        return 130
    summaries = summarize(results)
    meta = {"workflow": args.workflow, "dataset": str(path), "model": spec or "default", "cases": len(cases),
            "skipped_lines": [str(e) for e in dataset.errors], "started": stamp,
            "resumed": sum(key in reuse for key in ((s.name, c.id) for s in systems for c in cases)),
            "code": dict(Counter(r.outcome.detail.get("code", journal.code) for r in results)),
            "systems": [s.name for s in systems],
            "disabled": {s.name: list(s.context.disable or ()) for s in systems if isinstance(s, TaskwardenSystem)}}
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(to_json(results, summaries, meta), indent=2, default=str))
    (out / "report.html").write_text(render_html(summaries, meta))
    print()
    print(render_table(summaries))
    ablation = render_ablation(summaries, systems[0].name)
    if ablation:
        print("\nreliability mechanisms (worth = task success with it minus without it):")
        print(ablation)
    print()
    print(render_tags(summaries))
    failed = failures(results)
    if failed:
        print("\nfailed cases:")
        print("\n".join("  " + line for line in failed))
    if args.langsmith:
        _langsmith(results, args.workflow, out)
    if len(meta["code"]) > 1:
        print(f"\nnote: these results come from {len(meta['code'])} versions of the code (resumed across edits): "
              + ", ".join(f"{code} ({count})" for code, count in meta["code"].items()))
    print(f"\nreports: {out / 'report.json'}  {out / 'report.html'}")
    ours = summaries[systems[0].name].success_rate
    if args.fail_under is not None and 100 * ours < args.fail_under:
        print(f"taskwarden eval: task success {100 * ours:.0f}% is below --fail-under {args.fail_under:g}%",
              file=sys.stderr)
        return 1
    return 0


def _print_so_far(journal: Journal, cases: list, systems: list[str]) -> None:
    """After an interrupt: the table of the cases every system finished (paired, so the columns compare)."""
    if not journal.exists():
        return
    try:
        finished, _ = journal.load(cases)
    except JournalError:
        return
    paired = [c.id for c in cases if all((s, c.id) in finished for s in systems)]
    if not paired:
        return
    results = [finished[(s, case_id)] for case_id in paired for s in systems]
    print(f"\nso far: {len(paired)} of {len(cases)} case(s), finished by every system (not the final table)")
    print(render_table(summarize(results)))


def _resumed(journal: Journal, cases: list, *, resume: bool) -> dict:
    """The journal's results to reuse (empty for a fresh run, which sets an earlier journal aside).
    JournalError: the journal is for another model."""
    if not journal.exists():
        if resume:
            print(f"taskwarden eval: nothing to resume in {journal.path.parent}: running every case", file=sys.stderr)
        return {}
    if not resume:
        kept = journal.set_aside()
        print(f"taskwarden eval: {journal.path.parent} held an earlier evaluation's results: kept as {kept.name} "
              "(pass --resume to continue one instead)", file=sys.stderr)
        return {}
    reuse, skipped = journal.load(cases)
    for reason in skipped:
        print(f"taskwarden eval: {journal.path}: {reason}", file=sys.stderr)
    print(f"taskwarden eval: resuming from {journal.path}: {len(reuse)} result(s) kept", file=sys.stderr)
    return reuse


def build_systems(spec: str | None, models_for: ModelsFor | None, *, disable: Sequence[str] = (),
                  ablate: Sequence[str] = (), baseline: bool = False) -> list[System]:
    """Taskwarden (with `disable`'s mechanisms off: names, comma lists or ``all``), one ablated copy per
    `ablate` mechanism (``all``: every mechanism still on), then the baseline. ValueError naming the known
    mechanisms for an unknown one."""
    off = tuple(part.strip() for item in disable for part in item.split(",") if part.strip())
    off = MECHANISMS if "all" in off else off
    try:
        ours = TaskwardenSystem(model=spec, models_for=models_for, context=Context(disable=off or None))
    except ValueError as exc:
        raise ValueError(f"--disable: {exc}") from None
    wanted = [m for m in MECHANISMS if m not in off] if "all" in ablate else list(dict.fromkeys(ablate))
    unknown = [m for m in wanted if m not in MECHANISMS]
    if unknown:
        raise ValueError(f"--ablate: unknown mechanism(s) {', '.join(unknown)}; known: {', '.join(MECHANISMS)} (or all)")
    try:
        ablated = [without_mechanism(ours, m) for m in wanted]
    except ValueError as exc:
        raise ValueError(f"--ablate: {exc}") from None
    systems: list[System] = [ours, *ablated]
    if baseline:
        systems.append(BaselineSystem(model=spec, models_for=models_for))
    return systems


def _progress(width: int) -> Progress:
    def show(result: CaseResult, done: int, total: int) -> None:
        mark = "pass" if result.score.success else "FAIL"
        why = "" if result.score.success else f"  ({'; '.join(result.score.reasons)[:100]})"
        print(f"[{done:>3}/{total}] {mark} {result.system:<{width}} {result.case.id:<30} "
              f"{result.outcome.seconds:6.1f}s{why}", file=sys.stderr, flush=True)

    return show


def _langsmith(results: list[CaseResult], workflow: str, out: Path) -> None:
    from taskwarden.evals.langsmith_export import export_records, upload_configured, write_export

    records = export_records(results, workflow)
    path = write_export(records, out)
    print(f"LangSmith format: {path}")
    uploaded = upload_configured(records)
    if uploaded:
        print(f"uploaded to LangSmith: dataset {uploaded['dataset']}, experiments {', '.join(uploaded['experiments'])}")
    else:
        print("not uploaded: set LANGSMITH_API_KEY (and LANGSMITH_ENDPOINT) to upload")


def _usage(message: str) -> int:
    print(f"taskwarden eval: error: {message}", file=sys.stderr)
    return 2
