"""The browser UIs, served by the server's custom app: ``app.include_router(router)``.

    /playground        chat with a workflow: streamed tokens and events, task board, inline reviews, threads
    /review            every run waiting for a human, decided in one click
    /dashboard         run volume, outcome rates, execution time, tokens and cost; alerts
    /ui/static/...     the pages' CSS and JavaScript modules (no build step, nothing from a CDN)
    /api/metrics       the dashboard's numbers (`taskwarden.serve.metrics`, from the audit log)
    /api/alerts        threshold alerts that fired, and the rules (`taskwarden.serve.alerts`)
    /api/workflows     the shipped workflows' descriptions, sample requests and budgets

The pages talk to the LangGraph server's own API from the browser (threads, runs, SSE streams,
``Command`` resume), on the same origin; the ``/api`` routes add only what that API does not have.
The router's lifespan checks alert thresholds periodically when any ``TASKWARDEN_ALERT_*`` is set.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from taskwarden.serve import alerts, metrics

STATIC = Path(__file__).resolve().parent / "static"
PAGES = {"playground": "playground.html", "review": "review.html", "dashboard": "dashboard.html"}
NO_CACHE = {"Cache-Control": "no-cache"}
"""Pages and assets are revalidated on each load (ETag), so an upgrade never serves stale modules."""

router = APIRouter(lifespan=alerts.alerts_lifespan)


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC / PAGES[name], media_type="text/html; charset=utf-8", headers=NO_CACHE)


@router.get("/ui", include_in_schema=False)
async def ui_home() -> RedirectResponse:
    return RedirectResponse("playground")


@router.get("/playground", include_in_schema=False)
async def playground() -> FileResponse:
    return _page("playground")


@router.get("/review", include_in_schema=False)
async def review() -> FileResponse:
    return _page("review")


@router.get("/dashboard", include_in_schema=False)
async def dashboard() -> FileResponse:
    return _page("dashboard")


MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
               ".html": "text/html; charset=utf-8", ".svg": "image/svg+xml", ".json": "application/json"}


@router.get("/ui/static/{name:path}", include_in_schema=False)
async def static_file(name: str) -> FileResponse:
    """A file of ``serve/static`` (nothing outside it: no ``..``, no hidden files)."""
    path = (STATIC / name).resolve()
    if not path.is_relative_to(STATIC) or not path.is_file() or any(p.startswith(".") for p in Path(name).parts):
        raise HTTPException(status_code=404, detail=f"no such file: {name}")
    return FileResponse(path, media_type=MEDIA_TYPES.get(path.suffix), headers=NO_CACHE)


@router.get("/api/metrics", tags=["taskwarden"])
async def get_metrics(days: int = Query(14, ge=1, le=366), workflow: str | None = None,
                      utc_offset_minutes: int = Query(0, ge=-840, le=840)) -> dict[str, Any]:
    """Run volume, outcome rates, p50/p95 execution time, tokens and cost per run: in total, per
    workflow and per day, for the runs started in the last `days` days (computed from the audit log)."""
    return await run_in_threadpool(metrics.compute_metrics, days=days, workflow=workflow or None,
                                   utc_offset_minutes=utc_offset_minutes)


def _rules() -> tuple[alerts.AlertRules, str | None]:
    try:
        return alerts.AlertRules.from_env(), None
    except alerts.AlertConfigError as exc:
        return alerts.AlertRules(), str(exc)


@router.get("/api/alerts", tags=["taskwarden"])
async def get_alerts(limit: int = Query(50, ge=1, le=500)) -> dict[str, Any]:
    """The latest alerts (newest first) and the rules in force."""
    rules, problem = _rules()
    recent = await run_in_threadpool(lambda: alerts.AlertLog().recent(limit))
    return {"rules": rules.describe(), "active": rules.active, "config_error": problem, "alerts": recent}


@router.post("/api/alerts/check", tags=["taskwarden"])
async def post_alerts_check() -> dict[str, Any]:
    """Judge the thresholds now (the server also does it every ``TASKWARDEN_ALERT_INTERVAL`` seconds)."""
    rules, problem = _rules()
    if problem:
        raise HTTPException(status_code=400, detail=problem)
    fired = await run_in_threadpool(alerts.check_alerts, rules)
    return {"checked_at": time.time(), "active": rules.active, "fired": fired}


@router.get("/api/workflows", tags=["taskwarden"])
async def get_workflows() -> list[dict[str, Any]]:
    """The shipped workflows: name, description, sample requests, roles and default budgets (the
    playground shows budgets next to a run's usage and offers the samples on an empty thread)."""
    return await run_in_threadpool(_workflows)


def _workflows() -> list[dict[str, Any]]:
    from taskwarden.workflows import get_workflow, workflow_names

    found = []
    for name in workflow_names():
        workflow = get_workflow(name)
        found.append({"name": workflow.name, "description": workflow.description,
                      "sample_requests": list(workflow.sample_requests or []),
                      "roles": [{"name": r.name, "description": r.description, "tools": list(r.tools)}
                                for r in workflow.roles],
                      "budgets": dataclasses.asdict(workflow.budgets)})
    return found
