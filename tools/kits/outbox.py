"""The notification outbox: e-mails and chat messages a workflow "sends", kept in an append-only table.

Nothing leaves the machine: a delivery service (or a test, or a reviewer) reads the outbox with
`Outbox(path).messages()`. For the model and the engine a notification counts as sent the moment
it is recorded, which is why the tools are ``irreversible``.
"""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from taskwarden.tools.kits.spec import kit_spec
from taskwarden.tools.registry import ToolSpec

Kind = Literal["email", "message"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('email', 'message')),
    recipient TEXT NOT NULL,
    subject TEXT,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS outbox_no_update BEFORE UPDATE ON outbox
BEGIN SELECT RAISE(ABORT, 'the outbox is append-only: sent notifications cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS outbox_no_delete BEFORE DELETE ON outbox
BEGIN SELECT RAISE(ABORT, 'the outbox is append-only: sent notifications cannot be deleted'); END;
"""
EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")
CHANNEL = re.compile(r"[#@]?[\w.-]{1,80}")


@dataclass(frozen=True)
class OutboxMessage:
    """One recorded notification."""

    id: int
    kind: Kind
    recipient: str
    """The e-mail address (`to`) or the channel."""
    subject: str | None
    """The e-mail's subject; None for chat messages."""
    body: str
    created_at: str
    """UTC, ISO 8601."""


@dataclass(frozen=True)
class Outbox:
    """An SQLite outbox at `path` (created on first use). UPDATE and DELETE are refused by triggers.

    One recipient per call and plain argument names (`to`, `subject`, `body`, `channel`, `text`)
    keep policies simple, e.g. ``forbid("send_email", "to not in ['ops@example.com']")``.
    """

    path: Path
    max_body_chars: int = 20_000

    def __post_init__(self) -> None:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path)) as conn:
            conn.executescript(_SCHEMA)

    def send_email(
        self,
        to: Annotated[str, Field(description="One recipient's e-mail address")],
        subject: Annotated[str, Field(description="The subject line")],
        body: Annotated[str, Field(description="The message, as plain text")],
    ) -> str:
        """Send an e-mail to one recipient. It cannot be unsent."""
        to, subject = to.strip(), " ".join(subject.split())
        if not EMAIL.fullmatch(to):
            raise ValueError(f"{to!r} is not one e-mail address (send one e-mail per recipient)")
        if not subject:
            raise ValueError("the subject is empty")
        return self._record("email", to, subject, self._checked_body(body))

    def send_message(
        self,
        channel: Annotated[str, Field(description="The chat channel (like #ops) or person (like @dana)")],
        text: Annotated[str, Field(description="The message")],
    ) -> str:
        """Post a chat message to a channel or a person. It cannot be unsent."""
        channel = channel.strip()
        if not CHANNEL.fullmatch(channel):
            raise ValueError(f"{channel!r} is not a channel name (like #ops) or a person (like @dana)")
        return self._record("message", channel, None, self._checked_body(text))

    def messages(self, kind: Kind | None = None) -> list[OutboxMessage]:
        """Everything sent, oldest first; only e-mails or only chat messages with `kind`."""
        with closing(sqlite3.connect(self.path)) as conn:
            rows = conn.execute("SELECT id, kind, recipient, subject, body, created_at FROM outbox "
                                "WHERE ? IS NULL OR kind = ? ORDER BY id", (kind, kind)).fetchall()
        return [OutboxMessage(*row) for row in rows]

    def reconcile_email(self, args: dict[str, Any]) -> str | None:
        """After a crash mid-send: the result if this e-mail is in the outbox, else None."""
        return self._find("email", str(args.get("to", "")).strip(), " ".join(str(args.get("subject", "")).split()),
                          str(args.get("body", "")).strip())

    def reconcile_message(self, args: dict[str, Any]) -> str | None:
        """After a crash mid-send: the result if this message is in the outbox, else None."""
        return self._find("message", str(args.get("channel", "")).strip(), None, str(args.get("text", "")).strip())

    def tools(self) -> list[ToolSpec]:
        return [kit_spec(self.send_email, risk="irreversible", scopes=("email:send",), reconcile=self.reconcile_email),
                kit_spec(self.send_message, risk="irreversible", scopes=("messages:send",),
                         reconcile=self.reconcile_message)]

    def _checked_body(self, body: str) -> str:
        body = body.strip()
        if not body:
            raise ValueError("the message is empty")
        if len(body) > self.max_body_chars:
            raise ValueError(f"the message is {len(body)} characters; the limit is {self.max_body_chars}")
        return body

    def _record(self, kind: Kind, recipient: str, subject: str | None, body: str) -> str:
        with closing(sqlite3.connect(self.path)) as conn, conn:
            cursor = conn.execute(
                "INSERT INTO outbox (kind, recipient, subject, body, created_at) VALUES (?, ?, ?, ?, ?)",
                (kind, recipient, subject, body, datetime.now(UTC).isoformat()))
        return _receipt(cursor.lastrowid, kind, recipient)

    def _find(self, kind: Kind, recipient: str, subject: str | None, body: str) -> str | None:
        with closing(sqlite3.connect(self.path)) as conn:
            row = conn.execute("SELECT id FROM outbox WHERE kind = ? AND recipient = ? AND subject IS ? AND body = ? "
                               "ORDER BY id DESC LIMIT 1", (kind, recipient, subject, body)).fetchone()
        return None if row is None else _receipt(row[0], kind, recipient)


def _receipt(message_id: int, kind: Kind, recipient: str) -> str:
    key = "to" if kind == "email" else "channel"
    return json.dumps({"id": message_id, "kind": kind, key: recipient, "status": "sent"})
