"""Trigger events to runs: validate, filter, deduplicate, then start the run through the server's API.

Webhooks (`taskwarden.serve.webhooks`) and watched folders (`taskwarden.serve.watch`) hand their
events to `Triggers.submit`. An event is checked against the workflow's input schema (by default
`WebhookInput`: ``{"request": str, "event_id": str?, ...any other fields}``) and its
`validate_request`, then against its `trigger_filter`; it then claims its dedup key in the delivery
log and starts one run, on a thread whose id derives from that key, through the LangGraph server's
own public API (`langgraph_sdk`; inside the server, ``get_client()`` talks to it in process).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from taskwarden.graph.intake import request_problem
from taskwarden.graph.workflow import Workflow
from taskwarden.serve.deliveries import DeliveryLog
from taskwarden.serve.paths import triggers_path
from taskwarden.tools.expressions import ExpressionError, evaluate
from taskwarden.workflows import UnknownWorkflow, get_workflow, workflow_names

log = logging.getLogger(__name__)

THREAD_NAMESPACE = uuid.UUID("6f1c7d43-5a0e-4d0b-9a47-7c3e0f4f2b11")
MAX_KEY_CHARS = 200


class WebhookInput(BaseModel):
    """What a webhook sends when its workflow declares no `input_schema`; other fields are kept (filters
    can read them) and reach the run's metadata."""

    model_config = ConfigDict(extra="allow")
    request: str
    """What the workflow should do, in words (the run's request)."""
    event_id: str | None = None
    """The sender's id for the event: a redelivery with the same id starts no second run."""


@dataclass
class Outcome:
    """What a trigger event came to: an HTTP status and a JSON body."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def started(self) -> bool:
        return bool(self.body.get("started"))


class Rejected(Exception):
    """The event cannot start a run (422 with the reason)."""

    def __init__(self, reason: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details or []


def event_key(workflow: str, payload: Mapping[str, Any], idempotency_key: str | None = None) -> str:
    """The dedup key of a webhook event: its ``Idempotency-Key`` header, else its ``event_id``, else a
    hash of its payload (canonical JSON, so re-serialising the same event gives the same key)."""
    if idempotency_key and idempotency_key.strip():
        kind, value = "idempotency-key", idempotency_key.strip()
    elif payload.get("event_id") not in (None, ""):
        kind, value = "event-id", str(payload["event_id"])
    else:
        kind, value = "payload-sha256", hashlib.sha256(canonical(payload).encode()).hexdigest()
    if len(value) > MAX_KEY_CHARS:
        value = hashlib.sha256(value.encode()).hexdigest()
    return f"{workflow}/{kind}:{value}"


def canonical(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def thread_for(key: str) -> str:
    """The thread an event runs on: derived from its dedup key, so every delivery of it names the same one."""
    return str(uuid.uuid5(THREAD_NAMESPACE, key))


def request_from(model: BaseModel) -> str:
    """The run's request from a validated payload: ``to_request()``, else its ``request``, else its JSON."""
    if callable(getattr(model, "to_request", None)):
        return str(model.to_request())
    if isinstance(getattr(model, "request", None), str):
        return model.request
    return canonical(model.model_dump(mode="json"))


def validate_event(workflow: Workflow, payload: Mapping[str, Any], *, use_schema: bool = True) -> tuple[str, dict[str, Any]]:
    """The run's request and the event's fields (for the filter and metadata), or `Rejected`.

    `use_schema` False checks against `WebhookInput` (events the trigger built itself, e.g. from a
    file) instead of the workflow's own `input_schema`.
    """
    schema = (workflow.input_schema if use_schema else None) or WebhookInput
    try:
        model = schema.model_validate(dict(payload))
    except ValidationError as exc:
        details = [{"loc": ".".join(str(part) for part in error["loc"]) or "(payload)", "msg": error["msg"]}
                   for error in exc.errors()]
        reason = "; ".join(f"{d['loc']}: {d['msg']}" for d in details)
        raise Rejected(f"invalid payload for {workflow.name}: {reason}", details) from None
    request = request_from(model).strip()
    problem = request_problem(request, workflow.validate_request)
    if problem:
        raise Rejected(problem)
    return request, model.model_dump(mode="json")


def filter_problem(workflow: Workflow, fields: Mapping[str, Any]) -> str | None:
    """Why the event does not pass the workflow's `trigger_filter`, or None when it does (or has none)."""
    if workflow.trigger_expression is None:
        return None
    try:
        if evaluate(workflow.trigger_expression, fields):
            return None
    except ExpressionError as exc:
        return f"trigger filter {workflow.trigger_filter!r} could not be evaluated: {exc}"
    return f"trigger filter {workflow.trigger_filter!r} is false for this event"


def default_client() -> Any:
    """The server's own API: inside `langgraph dev` ``get_client()`` connects in process (no socket)."""
    from langgraph_sdk import get_client

    return get_client()


class Triggers:
    """Starts one run per trigger event, through the LangGraph API.

    `client` builds the `langgraph_sdk` client (called once, on first use); `workflows` resolves a
    workflow name (default: the shipped workflows); the served graph of a workflow is the graph with
    its name (``langgraph.json``).
    """

    def __init__(self, *, client: Callable[[], Any] = default_client, deliveries: DeliveryLog | None = None,
                 workflows: Callable[[str], Workflow] | Mapping[str, Workflow] | None = None) -> None:
        self._make_client = client
        self._client: Any = None
        self._deliveries = deliveries
        self._resolve = workflows.__getitem__ if isinstance(workflows, Mapping) else (workflows or get_workflow)
        self._names = (lambda: sorted(workflows)) if isinstance(workflows, Mapping) else workflow_names
        self._workflows: dict[str, Workflow] = {}

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    @property
    def deliveries(self) -> DeliveryLog:
        if self._deliveries is None:
            self._deliveries = DeliveryLog(triggers_path())
        return self._deliveries

    def workflow(self, name: str) -> Workflow | None:
        """The workflow `name` (built once), or None when there is none (blocking: builds it)."""
        if name not in self._workflows:
            try:
                self._workflows[name] = self._resolve(name)
            except (KeyError, UnknownWorkflow):
                return None
        return self._workflows[name]

    def names(self) -> list[str]:
        return list(self._names())

    async def submit(self, name: str, payload: Mapping[str, Any], *, key: str, trigger: str,
                     use_schema: bool = True, extra_fields: Mapping[str, Any] | None = None) -> Outcome:
        """Validate, filter, deduplicate and start the event's run. Never raises for a bad event."""
        workflow = await asyncio.to_thread(self.workflow, name)
        if workflow is None:
            return Outcome(404, {"started": False, "error": f"unknown workflow {name!r}; "
                                                            f"available: {', '.join(self.names())}"})
        try:
            request, fields = await asyncio.to_thread(validate_event, workflow, payload, use_schema=use_schema)
        except Rejected as exc:
            return Outcome(422, {"started": False, "error": exc.reason, "details": exc.details})
        fields = {**fields, **(extra_fields or {}), "trigger": trigger}
        filtered = filter_problem(workflow, fields)
        if filtered:
            return Outcome(200, {"started": False, "workflow": name, "reason": filtered})
        return await self._start_once(name, request, fields, key=key, trigger=trigger)

    async def _start_once(self, name: str, request: str, fields: dict[str, Any], *, key: str,
                          trigger: str) -> Outcome:
        claim = await asyncio.to_thread(lambda: self.deliveries.claim(key, name, trigger, thread_for(key)))
        delivery = claim.delivery
        if not claim.won:
            return Outcome(200, {"started": False, "duplicate": True, "workflow": name, "event_key": key,
                                 "thread_id": delivery.thread_id, "run_id": delivery.run_id,
                                 "reason": "this event was already received" +
                                           ("" if delivery.run_id else "; its run is being started")})
        try:
            run = await self._start_run(name, request, fields, key=key, trigger=trigger,
                                        thread_id=delivery.thread_id, retry=claim.retry)
        except Exception as exc:  # the API refused or failed: give the claim back so a redelivery can retry
            log.exception("could not start a %s run for %s", name, key)
            await asyncio.to_thread(lambda: self.deliveries.release(key))
            return Outcome(503, {"started": False, "workflow": name, "error": f"could not start the run: {exc}"})
        await asyncio.to_thread(lambda: self.deliveries.started(key, run["run_id"]))
        return Outcome(202, {"started": True, "workflow": name, "event_key": key, "thread_id": delivery.thread_id,
                             "run_id": run["run_id"]})

    async def _start_run(self, name: str, request: str, fields: dict[str, Any], *, key: str, trigger: str,
                         thread_id: str, retry: bool) -> dict[str, Any]:
        metadata = {"workflow": name, "trigger": trigger, "event_key": key}
        if fields.get("event_id"):
            metadata["event_id"] = fields["event_id"]
        await self.client.threads.create(thread_id=thread_id, if_exists="do_nothing", graph_id=name,
                                         metadata=metadata)
        if retry:  # an earlier claim may have started the run before it could record it
            existing = await self.client.runs.list(thread_id, limit=1)
            if existing:
                return existing[0]
        return await self.client.runs.create(thread_id, name, input={"messages": [{"role": "user", "content": request}]},
                                             metadata=metadata)
