"""Webhook signatures: HMAC-SHA256 over the raw request body with a shared secret.

A sender signs ``X-Taskwarden-Signature: sha256=<hex digest>``; the secret comes from
``TASKWARDEN_WEBHOOK_SECRET_<WORKFLOW>`` (the workflow's name in upper case, ``-`` as ``_``), else
``TASKWARDEN_WEBHOOK_SECRET``. Without a secret webhooks are accepted unsigned: keep such a server on
loopback.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping

SIGNATURE_HEADER = "X-Taskwarden-Signature"
SECRET_ENV = "TASKWARDEN_WEBHOOK_SECRET"
PREFIX = "sha256="


def secret_env(workflow: str) -> str:
    """The environment variable holding `workflow`'s own secret."""
    return f"{SECRET_ENV}_{workflow.upper().replace('-', '_')}"


def secret_for(workflow: str, environ: Mapping[str, str] | None = None) -> str | None:
    """`workflow`'s webhook secret: its own, else the shared one, else None (unsigned)."""
    environ = os.environ if environ is None else environ
    return environ.get(secret_env(workflow)) or environ.get(SECRET_ENV) or None


def sign(body: bytes, secret: str) -> str:
    """The header value a sender puts on `body`: ``sha256=<hex>``."""
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_problem(body: bytes, header: str | None, secret: str) -> str | None:
    """Why `header` does not sign `body` with `secret`, or None when it does (constant-time compare)."""
    if not header:
        return f"missing {SIGNATURE_HEADER} header: this webhook requires a signature"
    if not header.startswith(PREFIX):
        return f"{SIGNATURE_HEADER} must be 'sha256=<hex digest of the body>'"
    if not hmac.compare_digest(header.strip().encode(), sign(body, secret).encode()):
        return "signature does not match the body"
    return None
