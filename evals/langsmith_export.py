"""Evaluation results in LangSmith's shapes: a dataset of examples and one experiment per system.

Written to a file always (``langsmith.json``: import it with the LangSmith SDK later, or inspect it),
uploaded with `langsmith.Client` only when the user configured LangSmith (``LANGSMITH_API_KEY``)."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from taskwarden.evals.runner import CaseResult


def export_records(results: list[CaseResult], workflow: str) -> dict[str, Any]:
    """``{"dataset": {name, examples}, "experiments": {system: [run rows with feedback]}}``."""
    examples: dict[str, dict[str, Any]] = {}
    experiments: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        examples.setdefault(r.case.id, {
            "inputs": r.case.input,
            "outputs": r.case.expect.model_dump(mode="json"),
            "metadata": {"case_id": r.case.id, "tags": r.case.tags, "reviewer": r.case.reviewer.model_dump()},
        })
        experiments.setdefault(r.system, []).append({
            "case_id": r.case.id,
            "inputs": r.case.input,
            "outputs": {"answer": r.outcome.answer, "end": r.outcome.end, "added": r.diff.added,
                        "removed": r.diff.removed, "error": r.outcome.error},
            "seconds": r.outcome.seconds,
            "feedback": {
                "success": r.score.score,
                "effects_ok": int(r.score.effects_ok),
                "answer_ok": int(r.score.answer_ok),
                "unwanted_side_effects": len(r.score.unwanted),
                "review_correct": int(r.score.review_asked == r.score.review_expected),
                "model_calls": r.outcome.model_calls,
                "tokens": r.outcome.input_tokens + r.outcome.output_tokens,
            },
            "comment": "; ".join(r.score.reasons),
        })
    return {"dataset": {"name": f"taskwarden-{workflow}", "examples": list(examples.values())},
            "experiments": experiments}


def write_export(records: dict[str, Any], out: Path) -> Path:
    path = Path(out) / "langsmith.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=2, default=str))
    return path


def upload_configured(records: dict[str, Any]) -> dict[str, Any] | None:
    """Upload when ``LANGSMITH_API_KEY`` is set (the endpoint from ``LANGSMITH_ENDPOINT``); else None."""
    if not os.environ.get("LANGSMITH_API_KEY"):
        return None
    from langsmith import Client

    return upload(records, Client())


def upload(records: dict[str, Any], client: Any) -> dict[str, Any]:
    """Create (or reuse) the dataset, add its examples once, and log each system's runs as an experiment
    on it, with one feedback score per metric."""
    spec = records["dataset"]
    name = spec["name"]
    if client.has_dataset(dataset_name=name):
        dataset = client.read_dataset(dataset_name=name)
        known = {(e.metadata or {}).get("case_id"): e.id for e in client.list_examples(dataset_id=dataset.id)}
    else:
        dataset = client.create_dataset(name, description="Taskwarden evaluation cases")
        known = {}
    fresh = [e for e in spec["examples"] if e["metadata"]["case_id"] not in known]
    if fresh:
        client.create_examples(inputs=[e["inputs"] for e in fresh], outputs=[e["outputs"] for e in fresh],
                               metadata=[e["metadata"] for e in fresh], dataset_id=dataset.id)
        known = {(e.metadata or {}).get("case_id"): e.id for e in client.list_examples(dataset_id=dataset.id)}
    stamp = datetime.now(UTC)
    experiments = []
    for system, rows in records["experiments"].items():
        project = f"{name}-{system}-{stamp:%Y%m%d-%H%M%S}"
        client.create_project(project, reference_dataset_id=dataset.id, metadata={"system": system})
        for row in rows:
            run_id = uuid.uuid4()
            client.create_run(name=system, inputs=row["inputs"], outputs=row["outputs"], run_type="chain",
                              project_name=project, id=run_id, reference_example_id=known.get(row["case_id"]),
                              start_time=stamp, end_time=stamp + timedelta(seconds=row["seconds"]))
            for key, score in row["feedback"].items():
                client.create_feedback(run_id, key, score=score, comment=row["comment"] if key == "success" else None)
        experiments.append(project)
    return {"dataset": name, "experiments": experiments}
