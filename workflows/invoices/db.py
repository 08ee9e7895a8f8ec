"""The accounts-payable database: vendors, purchase orders, scheduled payments and exceptions, seeded."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path

from taskwarden.workflows.sqlite_data import connect, seed_database

SCHEMA = """
CREATE TABLE IF NOT EXISTS vendors (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS purchase_orders (
    po_number TEXT PRIMARY KEY, vendor_id TEXT NOT NULL REFERENCES vendors(id), description TEXT NOT NULL,
    amount REAL NOT NULL CHECK (amount > 0), status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    issued_on TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS payments (
    invoice_number TEXT NOT NULL UNIQUE, po_number TEXT NOT NULL UNIQUE REFERENCES purchase_orders(po_number),
    vendor_id TEXT NOT NULL REFERENCES vendors(id), amount REAL NOT NULL CHECK (amount > 0),
    scheduled_on TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS exceptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, invoice_number TEXT NOT NULL UNIQUE, po_number TEXT,
    reason TEXT NOT NULL, created_at TEXT NOT NULL);
"""

VENDORS = [
    ("V01", "Acme Office Supply"),
    ("V02", "Northwind Traders"),
    ("V03", "Globex Logistics"),
    ("V04", "Initech Software"),
    ("V05", "Umbrella Facility Services"),
]

# (po number, vendor id, description, amount in USD, status, days before the seeding date)
PURCHASE_ORDERS = [
    ("PO-1001", "V01", "Ergonomic office chairs (12)", 2340.00, "open", 40),
    ("PO-1002", "V02", "Coffee beans, monthly supply", 486.50, "open", 35),
    ("PO-1003", "V03", "Freight, March shipments", 1275.00, "open", 33),
    ("PO-1004", "V04", "Software licences, annual", 14800.00, "open", 30),
    ("PO-1005", "V05", "Office cleaning, Q2", 3150.00, "closed", 120),
    ("PO-1006", "V01", "Printer toner cartridges", 312.40, "open", 28),
    ("PO-1007", "V02", "Catering, all-hands meeting", 1920.00, "open", 25),
    ("PO-1008", "V03", "Courier services", 640.00, "open", 60),
    ("PO-1009", "V04", "Consulting, 40 hours", 6000.00, "open", 21),
    ("PO-1010", "V05", "Window cleaning", 980.00, "open", 20),
    ("PO-1011", "V03", "Warehouse racking", 22500.00, "open", 18),
    ("PO-1012", "V01", "Desk lamps (25)", 455.25, "closed", 90),
    ("PO-1013", "V02", "Kitchen supplies", 1208.75, "open", 14),
    ("PO-1014", "V05", "Carpet cleaning", 725.00, "open", 12),
    ("PO-1015", "V04", "Training workshop", 9999.99, "open", 10),
]

# Already scheduled: (invoice number, po number, amount, days before the seeding date)
PAYMENTS = [
    ("INV-1990", "PO-1008", 640.00, 20),
]


def seed(path: str | Path, today: date | None = None, *, reset: bool = False) -> Path:
    """Create the database with its demo data (dates relative to `today`).

    An existing database is left as it is unless `reset` is true.
    """
    day = today or date.today()
    vendor_of = {po: vendor for po, vendor, *_ in PURCHASE_ORDERS}

    def fill(conn: sqlite3.Connection) -> None:
        conn.executescript(SCHEMA)
        conn.executemany("INSERT INTO vendors VALUES (?, ?)", VENDORS)
        conn.executemany("INSERT INTO purchase_orders VALUES (?, ?, ?, ?, ?, ?)",
                         [(po, vendor, what, amount, status, (day - timedelta(days=days)).isoformat())
                          for po, vendor, what, amount, status, days in PURCHASE_ORDERS])
        conn.executemany("INSERT INTO payments VALUES (?, ?, ?, ?, ?)",
                         [(invoice, po, vendor_of[po], amount, (day - timedelta(days=days)).isoformat())
                          for invoice, po, amount, days in PAYMENTS])

    return seed_database(path, fill, reset=reset)


def payments(path: str | Path) -> list[dict]:
    """Scheduled payments, oldest first: what tests and evaluations compare against."""
    with closing(connect(path)) as conn:
        return [dict(row) for row in conn.execute("SELECT * FROM payments ORDER BY rowid")]


def exceptions(path: str | Path) -> list[dict]:
    """Exceptions filed for review, oldest first."""
    with closing(connect(path)) as conn:
        return [dict(row) for row in conn.execute("SELECT * FROM exceptions ORDER BY id")]
