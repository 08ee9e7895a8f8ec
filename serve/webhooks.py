"""``POST /webhooks/<workflow>``: an outside system starts a run.

    202 {"started": true, "thread_id", "run_id", "event_key"}     a run was started
    200 {"started": false, "duplicate": true, "thread_id", ...}   the event was already received
    200 {"started": false, "reason"}                              the workflow's trigger filter said no
    401 {"error"}       a secret is set and the signature is missing or wrong
    404 {"error"}       no such workflow
    413 {"error"}       the body is over 1 MB
    422 {"error", "details"}   the payload does not fit the workflow's input (no run is started)
    503 {"error"}       the run could not be started (the event is not recorded: send it again)

The body is a JSON object (see `taskwarden.serve.triggers.WebhookInput`); ``Idempotency-Key``, else
the payload's ``event_id``, else the payload itself identifies the event. ``GET /webhooks`` lists
the workflows that take webhooks.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from taskwarden.serve.signatures import SIGNATURE_HEADER, secret_for, signature_problem
from taskwarden.serve.triggers import Triggers, event_key

router = APIRouter(tags=["triggers"])
MAX_BODY_BYTES = 1_000_000
IDEMPOTENCY_HEADER = "Idempotency-Key"


def triggers_of(request: Request) -> Triggers:
    return request.app.state.triggers


@router.get("/webhooks")
async def list_webhooks(request: Request) -> dict:
    """The workflows that take webhooks, their URL and whether they require a signature."""
    base = str(request.base_url).rstrip("/")
    return {"webhooks": [{"workflow": name, "url": f"{base}/webhooks/{name}", "signed": secret_for(name) is not None}
                         for name in triggers_of(request).names()]}


@router.post("/webhooks/{workflow}")
async def receive_webhook(workflow: str, request: Request) -> JSONResponse:
    """Start a run of `workflow` for the event in the body (see the module's docstring for the answers)."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return JSONResponse({"started": False, "error": f"the body is over {MAX_BODY_BYTES} bytes"}, 413)
    secret = secret_for(workflow)
    if secret is not None:
        problem = signature_problem(body, request.headers.get(SIGNATURE_HEADER), secret)
        if problem:
            return JSONResponse({"started": False, "error": problem}, 401)
    try:
        payload = json.loads(body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return JSONResponse({"started": False, "error": f"the body is not JSON: {exc}"}, 422)
    if not isinstance(payload, dict):
        return JSONResponse({"started": False, "error": "the body must be a JSON object, e.g. {\"request\": \"...\"}"},
                            422)
    key = event_key(workflow, payload, request.headers.get(IDEMPOTENCY_HEADER))
    outcome = await triggers_of(request).submit(workflow, payload, key=key, trigger="webhook")
    return JSONResponse(outcome.body, outcome.status)
