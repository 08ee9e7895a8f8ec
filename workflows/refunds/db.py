"""The refund desk's own SQLite database: customers, purchases, refunds and reply drafts, seeded."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path

from taskwarden.workflows.sqlite_data import connect, seed_database

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS purchases (
    id TEXT PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES customers(id),
    item TEXT NOT NULL, amount REAL NOT NULL CHECK (amount > 0), purchased_on TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS refunds (
    id TEXT PRIMARY KEY, purchase_id TEXT NOT NULL UNIQUE REFERENCES purchases(id),
    amount REAL NOT NULL CHECK (amount > 0), reason TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reply_drafts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, customer_id TEXT NOT NULL, message TEXT NOT NULL, created_at TEXT NOT NULL);
"""

CUSTOMERS = [
    ("C001", "Alice Martin", "alice@example.com"),
    ("C002", "Bob Chen", "bob@example.com"),
    ("C003", "Carla Diaz", "carla@example.com"),
    ("C004", "Dan Evans", "dan@example.com"),
]

# (purchase id, customer id, item, amount in USD, days before the seeding date)
PURCHASES = [
    ("P1001", "C001", "Wireless headphones", 79.00, 5),
    ("P1002", "C001", "Standing desk", 249.00, 12),
    ("P2001", "C002", "Coffee grinder", 129.00, 45),
    ("P2002", "C002", "Phone case", 19.99, 3),
    ("P3001", "C003", "Laptop stand", 59.00, 29),
    ("P3002", "C003", "27-inch monitor", 189.00, 31),
    ("P4001", "C004", "Mechanical keyboard", 99.00, 10),
    ("P4002", "C004", "Ergonomic mouse", 100.00, 2),
]


def seed(path: str | Path, today: date | None = None, *, reset: bool = False) -> Path:
    """Create the database with its demo data (purchase dates relative to `today`).

    An existing database is left as it is unless `reset` is true.
    """
    day = today or date.today()

    def fill(conn: sqlite3.Connection) -> None:
        conn.executescript(SCHEMA)
        conn.executemany("INSERT INTO customers VALUES (?, ?, ?)", CUSTOMERS)
        conn.executemany("INSERT INTO purchases VALUES (?, ?, ?, ?, ?)",
                         [(pid, cid, item, amount, (day - timedelta(days=days)).isoformat())
                          for pid, cid, item, amount, days in PURCHASES])

    return seed_database(path, fill, reset=reset)


def refunds_for(path: str | Path, purchase_id: str | None = None) -> list[dict]:
    """Refund rows (all, or for one purchase): what tests and audits compare against."""
    with closing(connect(path)) as conn:
        query = "SELECT * FROM refunds" + (" WHERE purchase_id = ?" if purchase_id else "") + " ORDER BY created_at"
        return [dict(row) for row in conn.execute(query, (purchase_id,) if purchase_id else ())]


def reply_drafts(path: str | Path) -> list[dict]:
    with closing(connect(path)) as conn:
        return [dict(row) for row in conn.execute("SELECT * FROM reply_drafts ORDER BY id")]
