"""The LangGraph server API on a real `taskwarden serve` subprocess, with the refund desk on scripted
models (tests/fixtures/server): threads, streamed runs and their custom events, the review interrupt
and its resume, state history, through `langgraph_sdk` and `RemoteGraph`; webhooks (one run per
event, 422, 401), schedules (the server's cron API), folder watch, and a paused run surviving a
restart of the server (the SQLite checkpointer)."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from langgraph.pregel.remote import RemoteGraph
from langgraph.types import Command
from langgraph_sdk import get_sync_client
from langgraph_server import taskwarden_serve

from taskwarden.serve.signatures import SIGNATURE_HEADER, sign
from taskwarden.workflows.refunds.db import refunds_for, seed

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

SECRET = "test-webhook-secret"
REQUEST = "Hi, this is alice@example.com. Please refund my standing desk, order P1002: it arrived damaged."
APPROVAL = {"name": "issue_refund", "args": {"purchase_id": "P1002", "amount": 249.0, "reason": "damaged",
                                             "customer_email": "alice@example.com"},
            "description": "Refunds over $100 need a human's approval. Task t2: Issue the refund if allowed"}
APPROVE = {"decisions": [{"type": "approve"}]}


@dataclass
class Server:
    url: str
    home: Path
    inbox: Path

    def reset_refunds(self) -> None:
        """A fresh refund desk database: P1002 refundable again, so a run for it pauses for approval (a refund the
        tool would refuse, one already made, is refused before anyone is asked)."""
        seed(self.home / "refunds.db", reset=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server for the module: webhooks need a signature, ``inbox/`` is watched for refunds."""
    home = tmp_path_factory.mktemp("served")
    inbox = home / "inbox"
    env = {"TASKWARDEN_WEBHOOK_SECRET": SECRET, "TASKWARDEN_WATCH_REFUNDS": str(inbox),
           "TASKWARDEN_POLL_INTERVAL": "0.5"}
    with taskwarden_serve(home, env=env) as url:
        yield Server(url, home, inbox)


def wait_for(predicate, timeout=60.0, every=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"gave up waiting after {timeout:.0f} s")


def user_message(text=REQUEST):
    return {"messages": [{"role": "user", "content": text}]}


def signed_post(url, workflow, payload, secret=SECRET, **headers):
    body = json.dumps(payload).encode()
    return httpx.post(f"{url}/webhooks/{workflow}", content=body, timeout=30,
                      headers={"content-type": "application/json", SIGNATURE_HEADER: sign(body, secret), **headers})


def test_the_server_serves_the_refund_desk_and_says_where_everything_is(server):
    client = get_sync_client(url=server.url)
    assert [a["graph_id"] for a in client.assistants.search(graph_id="refunds")] == ["refunds"]
    serving = f"Taskwarden is serving refunds at {server.url}"
    log = wait_for(lambda: next((text for text in [(server.home / "serve.log").read_text()] if serving in text), ""),
                   timeout=10)
    for where in (f"{server.url}/docs", f"POST {server.url}/webhooks/refunds", str(server.home / "server" / "checkpoints.db"),
                  f"{server.inbox} -> refunds"):
        assert where in log


def test_a_run_streams_its_events_pauses_for_review_and_resumes_through_the_sdk(server):
    server.reset_refunds()
    client = get_sync_client(url=server.url)
    thread_id = client.threads.create(metadata={"test": "sdk"})["thread_id"]
    events, updates = [], []
    for part in client.runs.stream(thread_id, "refunds", input=user_message(), stream_mode=["custom", "updates"],
                                   stream_subgraphs=True):  # workers are subgraphs: their tool calls too
        mode, _, namespace = part.event.partition("|")
        if mode == "custom":
            events.append(part.data)
        elif mode == "updates" and not namespace:
            updates.append(part.data)
    kinds = [event["event"] for event in events]
    assert kinds[0] == "run_started" and {"plan", "tool_call", "evaluation", "review_requested"} <= set(kinds)
    plan = next(event for event in events if event["event"] == "plan")
    assert [task["id"] for task in plan["tasks"]] == ["t1", "t2", "t3"], "the desk adds the writer's task"
    calls = [event["tool"] for event in events if event["event"] == "tool_call"]
    assert calls[:2] == ["lookup_customer", "check_refund_policy"] and "issue_refund" in calls
    (interrupt,) = next(update["__interrupt__"] for update in updates if "__interrupt__" in update)
    assert interrupt["value"]["action_requests"] == [APPROVAL]
    assert interrupt["value"]["review_configs"] == [{"action_name": "issue_refund",
                                                     "allowed_decisions": ["approve", "edit", "reject", "response"]}]
    assert client.threads.get(thread_id)["status"] == "interrupted"
    assert refunds_for(server.home / "refunds.db") == [], "nothing is refunded before the decision"

    final = client.runs.wait(thread_id, "refunds", command={"resume": APPROVE})
    assert final["status"] == "completed"
    assert final["tasks"]["t2"]["actions"][0]["outcome"] == "executed"
    assert [(r["purchase_id"], r["amount"]) for r in refunds_for(server.home / "refunds.db")] == [("P1002", 249.0)]
    assert client.threads.get(thread_id)["status"] == "idle"
    history = client.threads.get_history(thread_id, limit=100)
    assert history[0]["values"]["status"] == "completed" and history[0]["values"]["reviews"][0]["decision"] == "approve"
    assert history[-1]["metadata"]["source"] == "input"
    assert any(snapshot["interrupts"] for snapshot in history), "the paused checkpoint is in the history"


def test_remote_graph_drives_the_same_review(server):
    server.reset_refunds()
    remote = RemoteGraph("refunds", url=server.url)
    config = {"configurable": {"thread_id": str(uuid.uuid4())}}
    chunks = list(remote.stream(user_message(), config, stream_mode=["updates", "custom"]))  # (mode, data, ...)
    updates = [chunk[1] for chunk in chunks if chunk[0] == "updates"]
    assert "plan" in [chunk[1]["event"] for chunk in chunks if chunk[0] == "custom"]
    assert any("__interrupt__" in update for update in updates)
    (pending,) = remote.get_state(config).interrupts
    assert pending.value["action_requests"] == [APPROVAL]

    out = remote.invoke(Command(resume={"decisions": [{"type": "reject", "message": "sent a replacement"}]}), config)
    assert out["status"] == "completed"
    assert out["tasks"]["t2"]["actions"][0]["outcome"] == "rejected"
    assert out["reviews"][0]["decision"] == "reject"
    history = list(remote.get_state_history(config))
    assert history[0].values["status"] == "completed" and len(history) > 5


def test_a_webhook_event_starts_one_run_even_when_delivered_twice(server):
    server.reset_refunds()
    client = get_sync_client(url=server.url)
    payload = {"request": REQUEST, "event_id": f"evt-{uuid.uuid4().hex[:8]}", "source": "web form"}
    first = signed_post(server.url, "refunds", payload)
    again = signed_post(server.url, "refunds", payload)
    assert first.status_code == 202, first.text
    started = first.json()
    assert started["started"] and started["workflow"] == "refunds"
    assert again.status_code == 200 and again.json()["duplicate"]
    assert (again.json()["thread_id"], again.json()["run_id"]) == (started["thread_id"], started["run_id"])
    runs = client.runs.list(started["thread_id"])
    assert [run["run_id"] for run in runs] == [started["run_id"]]
    client.runs.join(started["thread_id"], started["run_id"])
    thread = client.threads.get(started["thread_id"])
    assert thread["status"] == "interrupted", "the webhook's run pauses for the refund's approval"
    assert thread["metadata"]["trigger"] == "webhook" and thread["metadata"]["event_id"] == payload["event_id"]


def test_a_webhook_with_an_invalid_payload_or_signature_starts_nothing(server):
    client = get_sync_client(url=server.url)
    before = len(client.threads.search(limit=1000))
    invalid = signed_post(server.url, "refunds", {"text": "no request", "event_id": "evt-invalid"})
    assert invalid.status_code == 422
    assert invalid.json()["error"] == "invalid payload for refunds: request: Field required"
    empty = signed_post(server.url, "refunds", {"request": "   "})
    assert empty.status_code == 422 and "the request is empty" in empty.json()["error"]
    forged = signed_post(server.url, "refunds", {"request": REQUEST}, secret="not-the-secret")
    assert forged.status_code == 401 and forged.json()["error"] == "signature does not match the body"
    unsigned = httpx.post(f"{server.url}/webhooks/refunds", json={"request": REQUEST}, timeout=30)
    assert unsigned.status_code == 401
    assert signed_post(server.url, "nope", {"request": REQUEST}).status_code == 404
    assert len(client.threads.search(limit=1000)) == before


def test_a_schedule_is_the_servers_cron_api(server):
    server.reset_refunds()
    client = get_sync_client(url=server.url)
    marker = uuid.uuid4().hex[:8]
    cron = client.crons.create("refunds", schedule="* * * * * */2", input=user_message(),
                               metadata={"schedule": marker}, on_run_completed="keep")
    try:
        threads = wait_for(lambda: [t for t in client.threads.search(limit=1000)
                                    if t["metadata"].get("schedule") == marker])
    finally:
        client.crons.delete(cron["cron_id"])
    thread_id = threads[0]["thread_id"]
    run = client.runs.list(thread_id)[0]
    client.runs.join(thread_id, run["run_id"])
    assert client.threads.get(thread_id)["status"] == "interrupted"
    assert cron["cron_id"] not in [c["cron_id"] for c in client.crons.search()], "deleted"


def test_a_file_dropped_in_a_watched_folder_starts_one_run(server):
    client = get_sync_client(url=server.url)
    server.inbox.mkdir(exist_ok=True)
    name = f"request-{uuid.uuid4().hex[:6]}.txt"
    (server.inbox / name).write_text(REQUEST)
    threads = wait_for(lambda: [t for t in client.threads.search(metadata={"trigger": "folder"}, limit=1000)
                                if name in json.dumps(t.get("values") or {})])
    time.sleep(2)  # more polls: the same file starts nothing more
    assert len([t for t in client.threads.search(metadata={"trigger": "folder"}, limit=1000)
                if name in json.dumps(t.get("values") or {})]) == 1
    (thread,) = threads
    runs = client.runs.list(thread["thread_id"])
    assert len(runs) == 1
    client.runs.join(thread["thread_id"], runs[0]["run_id"])
    request = client.threads.get_state(thread["thread_id"])["values"]["request"]
    assert name in request and "order P1002" in request


def test_a_paused_run_survives_a_server_restart(tmp_path):
    home = tmp_path / "home"
    with taskwarden_serve(home) as url:
        client = get_sync_client(url=url)
        thread_id = client.threads.create()["thread_id"]
        client.runs.wait(thread_id, "refunds", input=user_message())
        assert client.threads.get(thread_id)["status"] == "interrupted"

    with taskwarden_serve(home) as url:  # same data directory, a new server process
        client = get_sync_client(url=url)
        assert client.threads.get(thread_id)["status"] == "interrupted"
        (pending,) = client.threads.get_state(thread_id)["interrupts"]
        assert pending["value"]["action_requests"] == [APPROVAL]
        final = client.runs.wait(thread_id, "refunds", command={"resume": APPROVE})
        assert final["status"] == "completed"
    assert [(r["purchase_id"], r["amount"]) for r in refunds_for(home / "refunds.db")] == [("P1002", 249.0)]
    assert (home / "server" / "checkpoints.db").is_file()
