"""SQLite helpers the shipped workflows share: one way to connect, one way to seed a demo database."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection with rows by name and foreign keys enforced."""
    conn = sqlite3.connect(path, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


@contextmanager
def write_lock(path: str | Path) -> Iterator[sqlite3.Connection]:
    """A connection that holds the database's write lock (``BEGIN IMMEDIATE``) until the block ends: committed when
    it ends, rolled back when it raises. Checks made while it is held, on any connection, stay true until its
    writes commit, since no other writer can commit in between (check, then write, with no window)."""
    with closing(connect(path)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def seed_database(path: str | Path, fill: Callable[[sqlite3.Connection], None], *, reset: bool = False) -> Path:
    """Create the database at `path` with `fill` (schema and rows) on a scratch file renamed into place
    once complete, so a crash never leaves a half-seeded database. An existing database is left as it
    is unless `reset` is true."""
    path = Path(path)
    if path.exists() and not reset:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".seeding")
    tmp.unlink(missing_ok=True)
    with closing(connect(tmp)) as conn, conn:
        conn.execute("PRAGMA synchronous = OFF")  # a scratch file: durability comes from the rename
        fill(conn)
    tmp.replace(path)
    return path
