"""The LangGraph server's checkpointer: SQLite (WAL) under the data directory.

``langgraph.json``: ``"checkpointer": {"path": "./serve/checkpointer.py:checkpointer"}``. It replaces
the in-memory checkpointer of `langgraph dev`, so a run paused for a human review is still there,
and can be resumed, after the server restarts. The server enters `checkpointer()` once per event loop
and closes it on shutdown. At scale, a Postgres checkpointer takes its place (see docs/serving.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from taskwarden.serve.paths import checkpoint_path


@asynccontextmanager
async def checkpointer(path: str | Path | None = None) -> AsyncIterator[AsyncSqliteSaver]:
    """An `AsyncSqliteSaver` on `path` (default: ``<data dir>/server/checkpoints.db``) in WAL mode."""
    target = Path(path) if path else await asyncio.to_thread(checkpoint_path)
    async with aiosqlite.connect(str(target), timeout=30) as conn:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        saver = AsyncSqliteSaver(conn)
        await saver.setup()
        yield saver
