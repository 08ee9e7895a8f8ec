"""Triggers without a server (sockets blocked): signatures, the delivery log, input validation, trigger
filters, the webhook endpoint and the folder watcher, on a fake LangGraph client."""

from __future__ import annotations

import asyncio
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from taskwarden.graph.workflow import Workflow
from taskwarden.serve.app import create_app
from taskwarden.serve.deliveries import DeliveryLog
from taskwarden.serve.signatures import SIGNATURE_HEADER, secret_for, sign, signature_problem
from taskwarden.serve.triggers import Rejected, Triggers, event_key, filter_problem, thread_for, validate_event
from taskwarden.serve.watch import FolderWatcher, WatchedFolder, watched_folders
from taskwarden.tools.registry import Role


class Ticket(BaseModel):
    """A custom input schema: a help-desk ticket, turned into the run's request."""

    customer: str
    subject: str
    source: str = "email"

    def to_request(self) -> str:
        return f"{self.customer} asks: {self.subject}"


def make_workflow(**changes) -> Workflow:
    return Workflow(name="tickets", description="Answer tickets.", instructions="Answer the ticket.",
                    roles=[Role("agent", "answers tickets")], **changes)


class FakeClient:
    """The parts of `langgraph_sdk`'s async client the triggers use; records every call."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.threads = self
        self.runs = _Runs(self, fail)
        self.created_threads: list[dict] = []

    async def create(self, **kwargs):  # threads.create
        self.created_threads.append(kwargs)
        return {"thread_id": kwargs["thread_id"]}


class _Runs:
    def __init__(self, client: FakeClient, fail: Exception | None) -> None:
        self.client, self.fail, self.created = client, fail, []

    async def create(self, thread_id, assistant_id, **kwargs):
        if self.fail:
            raise self.fail
        run = {"run_id": f"run-{len(self.created) + 1}", "thread_id": thread_id, "assistant_id": assistant_id,
               **kwargs}
        self.created.append(run)
        return run

    async def list(self, thread_id, limit=10):
        return [run for run in self.created if run["thread_id"] == thread_id][:limit]


@pytest.fixture(autouse=True)
def _no_trigger_env(monkeypatch):
    for key in list(os.environ):
        if key.startswith(("TASKWARDEN_WATCH_", "TASKWARDEN_WEBHOOK_SECRET")):
            monkeypatch.delenv(key)


@pytest.fixture
def log(tmp_path):
    return DeliveryLog(tmp_path / "triggers.db")


def triggers_for(log, client=None, **workflows) -> Triggers:
    client = client or FakeClient()
    return Triggers(client=lambda: client, deliveries=log, workflows=workflows or {"tickets": make_workflow()})


# --- signatures -------------------------------------------------------------------------------------

def test_a_signature_is_hmac_sha256_of_the_raw_body():
    body = b'{"request": "refund P1002"}'
    header = sign(body, "s3cret")
    assert header.startswith("sha256=") and len(header) == len("sha256=") + 64
    assert signature_problem(body, header, "s3cret") is None
    assert "does not match" in signature_problem(body + b" ", header, "s3cret")
    assert "does not match" in signature_problem(body, header, "other")
    assert "missing" in signature_problem(body, None, "s3cret")
    assert "sha256=" in signature_problem(body, header.removeprefix("sha256="), "s3cret")


def test_a_workflow_secret_takes_precedence_over_the_shared_one():
    env = {"TASKWARDEN_WEBHOOK_SECRET": "shared", "TASKWARDEN_WEBHOOK_SECRET_LEAD_ROUTING": "own"}
    assert secret_for("lead-routing", env) == "own"
    assert secret_for("refunds", env) == "shared"
    assert secret_for("refunds", {}) is None


# --- the delivery log -------------------------------------------------------------------------------

def test_an_event_is_claimed_once(log):
    first = log.claim("k1", "tickets", "webhook", "thread-1")
    again = log.claim("k1", "tickets", "webhook", "thread-other")
    assert first.won and not again.won
    assert again.delivery.thread_id == "thread-1" and again.delivery.run_id is None
    log.started("k1", "run-1")
    assert log.claim("k1", "tickets", "webhook", "thread-1").delivery.run_id == "run-1"
    assert [d.key for d in log.recent()] == ["k1"]


def test_racing_deliveries_have_exactly_one_winner(tmp_path):
    path = tmp_path / "triggers.db"
    DeliveryLog(path)

    def deliver(i):  # a log per thread, as separate server processes would have
        return DeliveryLog(path).claim("same-event", "tickets", "webhook", f"thread-{i}").won

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(deliver, range(16)))
    assert results.count(True) == 1


def test_a_released_claim_can_be_claimed_again_and_a_stale_one_is_retried(log):
    assert log.claim("k", "tickets", "webhook", "t").won
    log.release("k")
    assert log.claim("k", "tickets", "webhook", "t").won
    assert not log.claim("k", "tickets", "webhook", "t").won, "a fresh claim in progress is not taken over"
    stale = DeliveryLog(log.path, stale_after=0.0)
    time.sleep(0.01)
    takeover = stale.claim("k", "tickets", "webhook", "t")
    assert takeover.won and takeover.retry
    log.started("k", "run-1")
    assert not stale.claim("k", "tickets", "webhook", "t").won, "a started event is never taken over"


# --- dedup keys, validation, filters ----------------------------------------------------------------

def test_the_dedup_key_is_the_idempotency_key_else_the_event_id_else_the_payload():
    payload = {"request": "refund P1002", "event_id": "evt-7", "n": 1}
    assert event_key("refunds", payload, "abc") == "refunds/idempotency-key:abc"
    assert event_key("refunds", payload) == "refunds/event-id:evt-7"
    same = event_key("refunds", {"n": 1, "request": "refund P1002"})
    assert same == event_key("refunds", {"request": "refund P1002", "n": 1}), "key order does not matter"
    assert same.startswith("refunds/payload-sha256:")
    assert thread_for(same) == thread_for(same) != thread_for(event_key("refunds", payload))


def test_the_default_schema_needs_a_request_and_keeps_other_fields():
    workflow = make_workflow()
    request, fields = validate_event(workflow, {"request": "  Where is my order?  ", "source": "web form"})
    assert request == "Where is my order?"
    assert fields["source"] == "web form"
    with pytest.raises(Rejected) as missing:
        validate_event(workflow, {"text": "hello"})
    assert missing.value.details == [{"loc": "request", "msg": "Field required"}]
    with pytest.raises(Rejected, match="the request is empty"):
        validate_event(workflow, {"request": "   "})


def test_a_workflow_schema_and_request_check_apply():
    workflow = make_workflow(input_schema=Ticket,
                             validate_request=lambda text: "no tickets about billing" if "billing" in text else None)
    request, fields = validate_event(workflow, {"customer": "ada@example.com", "subject": "reset my password"})
    assert request == "ada@example.com asks: reset my password"
    assert fields == {"customer": "ada@example.com", "subject": "reset my password", "source": "email"}
    with pytest.raises(Rejected, match="subject: Field required"):
        validate_event(workflow, {"customer": "ada@example.com"})
    with pytest.raises(Rejected, match="no tickets about billing"):
        validate_event(workflow, {"customer": "ada@example.com", "subject": "billing"})
    # events the trigger builds itself (a watched file) are checked against the default schema
    assert validate_event(workflow, {"request": "a file arrived"}, use_schema=False)[0] == "a file arrived"


def test_trigger_filters_use_the_policy_expression_language():
    workflow = make_workflow(trigger_filter="source == 'web form' and trigger == 'webhook'")
    assert filter_problem(workflow, {"source": "web form", "trigger": "webhook"}) is None
    assert "is false" in filter_problem(workflow, {"source": "email", "trigger": "webhook"})
    assert filter_problem(make_workflow(), {"anything": 1}) is None
    numeric = make_workflow(trigger_filter="amount > 100")
    assert "could not be evaluated" in filter_problem(numeric, {})
    with pytest.raises(ValueError, match="trigger_filter"):
        make_workflow(trigger_filter="__import__('os')")


# --- the webhook endpoint ---------------------------------------------------------------------------

def post(client, workflow, payload, **headers):
    body = json.dumps(payload).encode()
    return client.post(f"/webhooks/{workflow}", content=body, headers={"content-type": "application/json", **headers})


def test_a_webhook_starts_one_run_per_event(log):
    fake = FakeClient()
    client = TestClient(create_app(triggers_for(log, fake)))
    first = post(client, "tickets", {"request": "Where is my order?", "event_id": "evt-1"})
    again = post(client, "tickets", {"request": "Where is my order?", "event_id": "evt-1"})
    assert first.status_code == 202
    assert first.json()["started"] and first.json()["run_id"] == "run-1"
    assert again.status_code == 200
    assert again.json()["duplicate"] and again.json()["run_id"] == "run-1"
    assert again.json()["thread_id"] == first.json()["thread_id"]
    (run,) = fake.runs.created
    assert run["assistant_id"] == "tickets"
    assert run["input"] == {"messages": [{"role": "user", "content": "Where is my order?"}]}
    assert run["metadata"] == {"workflow": "tickets", "trigger": "webhook", "event_key": "tickets/event-id:evt-1",
                               "event_id": "evt-1"}
    assert fake.created_threads[0]["thread_id"] == first.json()["thread_id"]
    other = post(client, "tickets", {"request": "Where is my order?"}, **{"Idempotency-Key": "delivery-2"})
    assert other.status_code == 202 and len(fake.runs.created) == 2


def test_an_invalid_payload_is_422_with_the_reason_and_starts_nothing(log):
    fake = FakeClient()
    client = TestClient(create_app(triggers_for(log, fake)))
    missing = post(client, "tickets", {"text": "no request field"})
    assert missing.status_code == 422
    assert missing.json()["error"] == "invalid payload for tickets: request: Field required"
    not_json = client.post("/webhooks/tickets", content=b"{nope", headers={"content-type": "application/json"})
    assert not_json.status_code == 422 and "not JSON" in not_json.json()["error"]
    assert post(client, "tickets", ["a", "list"]).status_code == 422
    assert fake.runs.created == [] and log.recent() == []


def test_a_secret_requires_a_valid_signature(log, monkeypatch):
    monkeypatch.setenv("TASKWARDEN_WEBHOOK_SECRET", "s3cret")
    fake = FakeClient()
    client = TestClient(create_app(triggers_for(log, fake)))
    body = json.dumps({"request": "Where is my order?"}).encode()
    headers = {"content-type": "application/json"}
    assert client.post("/webhooks/tickets", content=body, headers=headers).status_code == 401
    bad = client.post("/webhooks/tickets", content=body, headers={**headers, SIGNATURE_HEADER: sign(body, "wrong")})
    assert bad.status_code == 401 and bad.json()["error"] == "signature does not match the body"
    assert fake.runs.created == []
    good = client.post("/webhooks/tickets", content=body, headers={**headers, SIGNATURE_HEADER: sign(body, "s3cret")})
    assert good.status_code == 202


def test_filtered_unknown_and_failed_events(log):
    workflow = make_workflow(input_schema=Ticket, trigger_filter="source == 'web form'")
    fake = FakeClient()
    client = TestClient(create_app(triggers_for(log, fake, tickets=workflow)))
    filtered = post(client, "tickets", {"customer": "ada@example.com", "subject": "hi"})
    assert filtered.status_code == 200 and not filtered.json()["started"]
    assert "source == 'web form'" in filtered.json()["reason"]
    assert post(client, "tickets", {"customer": "a", "subject": "hi", "source": "web form"}).status_code == 202
    unknown = post(client, "nope", {"request": "x"})
    assert unknown.status_code == 404 and "available: tickets" in unknown.json()["error"]
    assert client.get("/webhooks").json()["webhooks"][0]["workflow"] == "tickets"

    failing = TestClient(create_app(triggers_for(log, FakeClient(fail=RuntimeError("server busy")))))
    down = post(failing, "tickets", {"request": "Where is my order?", "event_id": "evt-9"})
    assert down.status_code == 503 and "server busy" in down.json()["error"]
    assert not log.seen("tickets/event-id:evt-9"), "a failed start is not recorded: the sender may retry"
    assert post(client, "tickets", {"customer": "a", "subject": "hi", "source": "web form",
                                    "event_id": "evt-9"}).status_code == 202


# --- folder watch -----------------------------------------------------------------------------------

def test_watched_folders_come_from_the_environment(tmp_path):
    env = {"TASKWARDEN_WATCH_LEAD_ROUTING": str(tmp_path / "leads"), "TASKWARDEN_WATCH_REFUNDS": "",
           "TASKWARDEN_WATCH_OTHER": str(tmp_path)}
    assert watched_folders(["lead-routing", "refunds"], env) == [
        WatchedFolder("lead-routing", (tmp_path / "leads").resolve()), WatchedFolder("other", tmp_path.resolve())]


def test_a_new_file_starts_one_run_once_it_has_settled(log, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "old.txt").write_text("there before the watcher started")
    fake = FakeClient()
    triggers = triggers_for(log, fake)
    folder = WatchedFolder("tickets", inbox)

    async def polls(watcher, n):
        return [await watcher.poll() for _ in range(n)]

    watcher = FolderWatcher(folder, triggers)
    first_poll, second_poll, third_poll = asyncio.run(polls(watcher, 3))
    assert (first_poll, third_poll) == ([], []), "a file runs once it held still between two polls, and once"
    assert second_poll == [log.recent()[0].key] and len(fake.runs.created) == 1
    (inbox / "order.csv").write_text("id,amount\nP1002,249\n")
    (inbox / ".hidden").write_text("x")
    (inbox / "upload.part").write_text("half")
    asyncio.run(polls(watcher, 2))
    assert len(fake.runs.created) == 2
    request = fake.runs.created[-1]["input"]["messages"][0]["content"]
    assert "order.csv" in request and "P1002,249" in request
    assert fake.runs.created[-1]["metadata"]["trigger"] == "folder"

    restarted = FolderWatcher(folder, triggers_for(log, fake))
    asyncio.run(polls(restarted, 3))
    assert len(fake.runs.created) == 2, "files recorded in the delivery log never run again"
    (inbox / "order.csv").write_text("id,amount\nP1002,249\nP1003,10\n")
    os.utime(inbox / "order.csv", ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    asyncio.run(polls(restarted, 2))
    assert len(fake.runs.created) == 3, "a changed file is a new event"


def test_a_workflow_file_declares_its_input_schema_and_trigger_filter(tmp_path):
    from taskwarden.graph.workflow_file import WorkflowFileError, load_workflow

    (tmp_path / "schemas.py").write_text("from pydantic import BaseModel\n\n"
                                         "class Lead(BaseModel):\n    company: str\n    size: int\n")
    spec = ("name: leads\ndescription: Route leads.\ninstructions: Route the lead.\n"
            "roles: [{name: router, description: routes leads}]\n"
            "input_schema: ./schemas.py:Lead\ntrigger_filter: size > 10\n")
    (tmp_path / "leads.yaml").write_text(spec)
    workflow = load_workflow(tmp_path / "leads.yaml")
    request, fields = validate_event(workflow, {"company": "Acme", "size": 42})
    assert json.loads(request) == {"company": "Acme", "size": 42}, "no request field: the payload is the request"
    assert filter_problem(workflow, fields) is None
    assert "is false" in filter_problem(workflow, {"company": "Tiny", "size": 3})
    (tmp_path / "bad.yaml").write_text(spec.replace("size > 10", "size >"))
    with pytest.raises(WorkflowFileError, match="trigger_filter"):
        load_workflow(tmp_path / "bad.yaml")
