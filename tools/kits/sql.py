"""SQL over one SQLite database: read-only unless the kit is built to write."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from taskwarden.tools.kits.spec import kit_spec
from taskwarden.tools.registry import ToolSpec

ACTIONS = {
    1: "CREATE INDEX", 2: "CREATE TABLE", 3: "CREATE TEMP INDEX", 4: "CREATE TEMP TABLE", 5: "CREATE TEMP TRIGGER",
    6: "CREATE TEMP VIEW", 7: "CREATE TRIGGER", 8: "CREATE VIEW", 9: "DELETE", 10: "DROP INDEX", 11: "DROP TABLE",
    12: "DROP TEMP INDEX", 13: "DROP TEMP TABLE", 14: "DROP TEMP TRIGGER", 15: "DROP TEMP VIEW", 16: "DROP TRIGGER",
    17: "DROP VIEW", 18: "INSERT", 19: "PRAGMA", 20: "READ", 21: "SELECT", 22: "BEGIN/COMMIT", 23: "UPDATE",
    24: "ATTACH", 25: "DETACH", 26: "ALTER TABLE", 27: "REINDEX", 28: "ANALYZE", 29: "CREATE VIRTUAL TABLE",
    30: "DROP VIRTUAL TABLE", 31: "FUNCTION", 32: "SAVEPOINT", 33: "WITH RECURSIVE",
}
"""SQLite authorizer action codes (sqlite3.h), named for error messages."""
READ_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE})
READ_PRAGMAS = frozenset({"table_info", "table_xinfo", "table_list", "index_list", "index_info", "foreign_key_list"})
WRITE_DENIED = frozenset({sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH, sqlite3.SQLITE_PRAGMA})
"""Refused even to `sql_execute`: other files (ATTACH, VACUUM INTO) and connection settings (PRAGMA)."""


class _Authorizer:
    """Allows only what `allowed` says, remembering what it refused so the error can name it."""

    def __init__(self, allowed: Callable[[int, str | None, str | None], bool]) -> None:
        self.allowed, self.refused = allowed, []

    def __call__(self, action: int, arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None) -> int:
        if self.allowed(action, arg1, arg2):
            return sqlite3.SQLITE_OK
        self.refused.append((ACTIONS.get(action, f"action {action}"), arg1))
        return sqlite3.SQLITE_DENY

    def statement(self, sql: str) -> str:
        """What was refused: the statement's own verb (DROP, INSERT ...), else the refused operation
        (SQLite stops at the first refusal, often an internal update of its schema table)."""
        verb = _verb(sql)
        if verb not in ("SELECT", "WITH", "VALUES", ""):
            return verb
        return self.refused[0][0] if self.refused else "this statement"


def _verb(sql: str) -> str:
    """The first keyword of `sql`, after comments."""
    match = re.match(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*([A-Za-z]+)", sql, re.DOTALL)
    return match.group(1).upper() if match else ""


def _read_only(action: int, arg1: str | None, arg2: str | None) -> bool:
    if action in READ_ACTIONS:
        return True
    if action == sqlite3.SQLITE_PRAGMA:
        return arg1 in READ_PRAGMAS and arg2 is not None  # pragma_table_info('t'), never a setting
    # Table-valued pragmas load the schema, which the authorizer reports as updates of sqlite_master;
    # nothing is written (the connection itself is read-only).
    return action == sqlite3.SQLITE_UPDATE and arg1 == "sqlite_master"


def _writable(action: int, arg1: str | None, arg2: str | None) -> bool:
    return action not in WRITE_DENIED or _read_only(action, arg1, arg2)


@dataclass(frozen=True, kw_only=True)
class SqlKit:
    """Tools over one SQLite database file.

    Read-only by default, twice over: the connection is opened with ``mode=ro`` and an authorizer
    accepts only SELECT (and schema pragmas like ``table_info``). `allow_write=True` adds
    `sql_execute` (risk ``write``) for INSERT, UPDATE, DELETE and DDL; ATTACH, VACUUM INTO and
    PRAGMA settings are refused even then. Gate destructive statements with a policy, e.g.
    ``require_approval("sql_execute", lambda args: args["statement"].lstrip().upper().startswith("DROP"))``.
    """

    path: Path
    allow_write: bool = False
    max_rows: int = 50
    """Rows returned per query; the result says when there were more."""
    max_cell_chars: int = 200
    timeout_s: float = 5.0
    """A statement running longer is interrupted (also the wait for a locked database)."""

    def __post_init__(self) -> None:
        if not Path(self.path).is_file():
            raise FileNotFoundError(f"SqlKit: no SQLite database at {self.path}")
        if self.max_rows <= 0 or self.max_cell_chars <= 0 or self.timeout_s <= 0:
            raise ValueError("SqlKit: max_rows, max_cell_chars and timeout_s must be positive")

    def sql_query(self, query: Annotated[str, Field(description="One SELECT statement")]) -> str:
        """Run one read-only SQL SELECT on the database (SQLite dialect) and return the rows as JSON:
        columns, rows, and truncated=true when more rows matched than were returned. Use sql_schema
        first to see the tables and columns."""
        authorizer = _Authorizer(_read_only)
        with closing(self._connect("ro", authorizer)) as conn:
            cursor = self._run(conn, query, (), authorizer, "sql_query")
            return json.dumps(self._rows(cursor), ensure_ascii=False, default=str)

    def sql_schema(self, table: Annotated[str, Field(description="A table name, or empty for all tables")] = "") -> str:
        """List the database's tables and views with their columns, or show one table's CREATE statement."""
        with closing(self._connect("ro", None)) as conn:
            names = [row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' "
                "ORDER BY name")]
            if table:
                if table not in names:
                    raise LookupError(f"no table named {table!r}; tables: {', '.join(names) or 'none'}")
                sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
                return json.dumps({"table": table, "sql": sql, "columns": self._columns(conn, table)})
            return json.dumps([{"table": name, "columns": ", ".join(self._columns(conn, name))} for name in names])

    def sql_execute(
        self,
        statement: Annotated[str, Field(description="One SQL statement (INSERT, UPDATE, DELETE, CREATE ...)")],
        params: Annotated[list[str | int | float | None] | None,
                          Field(description="Values for ? placeholders in the statement")] = None,
    ) -> str:
        """Run one SQL statement that changes the database (SQLite dialect) and commit it. Returns
        rows_affected and last_row_id as JSON. Use sql_query for reading."""
        if not self.allow_write:
            raise PermissionError("this database is read-only")
        authorizer = _Authorizer(_writable)
        with closing(self._connect("rw", authorizer)) as conn:
            with conn:  # commits, or rolls back on an error
                cursor = self._run(conn, statement, tuple(params or ()), authorizer, "sql_execute")
                result: dict[str, Any] = {"rows_affected": max(cursor.rowcount, 0), "last_row_id": cursor.lastrowid}
                if cursor.description:
                    result.update(self._rows(cursor))
            return json.dumps(result, ensure_ascii=False, default=str)

    def tools(self) -> list[ToolSpec]:
        limits = f"At most {self.max_rows} rows are returned; statements are stopped after {self.timeout_s:g} s."
        specs = [kit_spec(self.sql_schema, risk="read", scopes=("sql:read",)),
                 kit_spec(self.sql_query, risk="read", scopes=("sql:read",), limits=limits)]
        if self.allow_write:
            specs.append(kit_spec(self.sql_execute, risk="write", scopes=("sql:write",), limits=limits))
        return specs

    def _connect(self, mode: str, authorizer: _Authorizer | None) -> sqlite3.Connection:
        uri = f"{Path(self.path).resolve().as_uri()}?mode={mode}"  # rw never creates a missing file
        conn = sqlite3.connect(uri, uri=True, timeout=self.timeout_s)
        deadline = time.monotonic() + self.timeout_s
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        if authorizer is not None:
            conn.set_authorizer(authorizer)
        return conn

    def _run(self, conn: sqlite3.Connection, sql: str, params: tuple, authorizer: _Authorizer,
             tool: str) -> sqlite3.Cursor:
        try:
            return conn.execute(sql, params)
        except (sqlite3.ProgrammingError, sqlite3.Warning) as exc:  # several statements, wrong parameters
            raise ValueError(f"{exc} (send one statement per call)" if "one statement" in str(exc) else str(exc)) from None
        except sqlite3.DatabaseError as exc:
            message = str(exc)
            if "not authorized" in message or "authorization denied" in message:
                raise PermissionError(self._refusal(authorizer.statement(sql), tool)) from None
            if message == "interrupted":
                # Not a TimeoutError: the same statement would be just as slow again, so it is not worth a retry.
                raise ValueError(f"the statement ran longer than {self.timeout_s:g} s and was stopped; make it "
                                 "cheaper (a WHERE clause, a LIMIT, no unbounded recursion)") from None
            raise ValueError(f"SQLite error: {message}") from None

    def _refusal(self, statement: str, tool: str) -> str:
        if tool == "sql_execute":
            return f"{statement} is not allowed (other database files and PRAGMA settings are off limits)"
        if self.allow_write:
            return f"sql_query only reads: {statement} is not allowed here; use sql_execute to change data"
        return f"this database is read-only: {statement} is not allowed, only SELECT queries are"

    def _rows(self, cursor: sqlite3.Cursor) -> dict[str, Any]:
        rows = cursor.fetchmany(self.max_rows + 1)
        result: dict[str, Any] = {"columns": [column[0] for column in cursor.description],
                                  "rows": [[self._cell(value) for value in row] for row in rows[:self.max_rows]],
                                  "truncated": len(rows) > self.max_rows}
        if result["truncated"]:
            result["note"] = (f"only the first {self.max_rows} rows are shown; "
                              "narrow the query (WHERE, LIMIT) or aggregate (COUNT, GROUP BY)")
        return result

    def _cell(self, value: Any) -> Any:
        if isinstance(value, bytes):
            return f"<{len(value)} bytes>"
        if isinstance(value, str) and len(value) > self.max_cell_chars:
            return value[:self.max_cell_chars] + "..."
        return value

    @staticmethod
    def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
        rows = conn.execute("SELECT name, type, pk FROM pragma_table_info(?)", (table,)).fetchall()
        return [f"{name} {kind or 'ANY'}{' PRIMARY KEY' if pk else ''}".strip() for name, kind, pk in rows]
