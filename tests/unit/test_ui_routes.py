"""The UI router (taskwarden.serve.ui) in-process: pages, static files, /api routes, the alert watcher."""

from __future__ import annotations

import re
import threading

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from taskwarden.serve import alerts, ui


@pytest.fixture
def client(home):
    app = FastAPI()
    app.include_router(ui.router)
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize("page", ["playground", "review", "dashboard"])
def test_pages_load_their_local_assets(client, page):
    response = client.get(f"/{page}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assets = re.findall(r'(?:src|href)="(ui/static/[^"]+)"', response.text)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    assert "http://" not in response.text and "https://" not in response.text, "nothing from a CDN"
    for asset in assets:
        served = client.get(f"/{asset}")
        assert served.status_code == 200, asset
    for module in (a for a in assets if a.endswith(".js")):  # every module a page imports is served too
        for imported in re.findall(r'from "\./([\w-]+\.js)"', client.get(f"/{module}").text):
            assert client.get(f"/ui/static/{imported}").headers["content-type"].startswith("text/javascript")


def test_ui_redirects_to_the_playground(client):
    response = client.get("/ui", follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"] == "playground"


@pytest.mark.parametrize("path", ["../ui.py", "..%2Fui.py", "%2e%2e/metrics.py", "nope.js", ".hidden", ""])
def test_static_files_stay_inside_the_static_folder(client, path):
    assert client.get(f"/ui/static/{path}").status_code == 404


def test_metrics_route(client):
    board = client.get("/api/metrics", params={"days": 7, "utc_offset_minutes": 60}).json()
    assert board["totals"]["runs"] == 0 and len(board["days"]) == 7
    assert board["window"]["utc_offset_minutes"] == 60
    assert client.get("/api/metrics", params={"days": 0}).status_code == 422
    assert client.get("/api/metrics", params={"utc_offset_minutes": 5000}).status_code == 422


def test_alert_routes(client, monkeypatch):
    listed = client.get("/api/alerts").json()
    assert listed["active"] is False and listed["alerts"] == [] and listed["config_error"] is None
    assert client.post("/api/alerts/check").json()["fired"] == []

    monkeypatch.setenv("TASKWARDEN_ALERT_ERROR_RATE", "lots")
    listed = client.get("/api/alerts").json()
    assert "TASKWARDEN_ALERT_ERROR_RATE='lots'" in listed["config_error"]
    refused = client.post("/api/alerts/check")
    assert refused.status_code == 400 and "TASKWARDEN_ALERT_ERROR_RATE" in refused.json()["detail"]

    monkeypatch.setenv("TASKWARDEN_ALERT_ERROR_RATE", "0.1")
    monkeypatch.setenv("TASKWARDEN_ALERT_WEBHOOK", "https://hooks.example/secret-token")
    listed = client.get("/api/alerts").json()
    assert listed["active"] and listed["rules"]["error_rate"] == 0.1
    assert "secret-token" not in str(listed), "the webhook URL is not shown"


def test_workflows_route_describes_the_shipped_workflows(client):
    listed = {w["name"]: w for w in client.get("/api/workflows").json()}
    assert sorted(listed) == ["invoices", "leads", "refunds", "vulnwatch"]
    assert all(w["sample_requests"] and w["roles"] for w in listed.values())
    refunds = listed["refunds"]
    assert refunds["budgets"]["max_steps"] == 30
    assert refunds["sample_requests"] and {r["name"] for r in refunds["roles"]} == {"researcher", "refunder", "writer"}


def test_the_router_checks_thresholds_while_the_server_runs(home, monkeypatch):
    checked = threading.Event()
    monkeypatch.setattr(alerts, "check_alerts", lambda rules, **_: checked.set() or [])
    monkeypatch.setenv("TASKWARDEN_ALERT_COST_PER_RUN", "0.5")
    monkeypatch.setenv("TASKWARDEN_ALERT_INTERVAL", "0.01")
    app = FastAPI()
    app.include_router(ui.router)
    with TestClient(app):
        assert checked.wait(5), "the watcher ran a check"


def test_no_watcher_without_thresholds(home, monkeypatch):
    monkeypatch.setattr(alerts, "check_alerts", lambda rules, **_: pytest.fail("no rule is on"))
    app = FastAPI()
    app.include_router(ui.router)
    with TestClient(app) as client:
        assert client.get("/playground").status_code == 200
