"""The SQL kit on a real SQLite file: read-only by default, writes only when built to write."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import pytest

from taskwarden.tools.kits import SqlKit


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "shop.db"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, total REAL)")
        conn.executemany("INSERT INTO orders (customer, total) VALUES (?, ?)",
                         [(f"c{i % 3}", float(i)) for i in range(1, 31)])
    return path


def query(kit: SqlKit, sql: str) -> dict:
    return json.loads(kit.sql_query(sql))


def test_select_returns_columns_and_rows(db):
    result = query(SqlKit(path=db), "SELECT customer, SUM(total) AS spent FROM orders GROUP BY customer ORDER BY customer")
    assert result == {"columns": ["customer", "spent"], "rows": [["c0", 165.0], ["c1", 145.0], ["c2", 155.0]],
                      "truncated": False}


def test_rows_are_limited_and_the_result_says_so(db):
    result = query(SqlKit(path=db, max_rows=5), "SELECT id FROM orders ORDER BY id")
    assert result["rows"] == [[1], [2], [3], [4], [5]]
    assert result["truncated"] is True and "first 5 rows" in result["note"]


@pytest.mark.parametrize(("statement", "verb"), [
    ("INSERT INTO orders (customer, total) VALUES ('x', 1)", "INSERT"),
    ("UPDATE orders SET total = 0", "UPDATE"),
    ("DELETE FROM orders", "DELETE"),
    ("DROP TABLE orders", "DROP"),
    ("CREATE TEMP TABLE scratch (a)", "CREATE"),
    ("ATTACH DATABASE 'other.db' AS other", "ATTACH"),
    ("PRAGMA journal_mode = WAL", "PRAGMA"),
    ("/* sneaky */ DELETE FROM orders", "DELETE"),
])
def test_read_only_mode_refuses_anything_but_select(db, statement, verb):
    before = db.read_bytes()
    with pytest.raises(PermissionError) as refused:
        SqlKit(path=db).sql_query(statement)
    assert str(refused.value) == f"this database is read-only: {verb} is not allowed, only SELECT queries are"
    assert db.read_bytes() == before


def test_the_connection_itself_is_read_only(db):
    kit = SqlKit(path=db)
    with closing(kit._connect("ro", None)) as conn, pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("DELETE FROM orders")  # even with no authorizer in the way


def test_a_read_only_kit_has_no_execute_tool(db):
    kit = SqlKit(path=db)
    assert [spec.name for spec in kit.tools()] == ["sql_schema", "sql_query"]
    with pytest.raises(PermissionError, match="read-only"):
        kit.sql_execute("DELETE FROM orders")


def test_write_mode_executes_and_commits(db):
    kit = SqlKit(path=db, allow_write=True)
    inserted = json.loads(kit.sql_execute("INSERT INTO orders (customer, total) VALUES (?, ?)", ["dana", 12.5]))
    assert inserted == {"rows_affected": 1, "last_row_id": 31}
    assert json.loads(kit.sql_execute("UPDATE orders SET total = total + 1 WHERE customer = 'c0'"))["rows_affected"] == 10
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT customer, total FROM orders WHERE id = 31").fetchone() == ("dana", 12.5)


def test_write_mode_still_sends_changes_through_sql_execute_only(db):
    with pytest.raises(PermissionError, match="use sql_execute to change data"):
        SqlKit(path=db, allow_write=True).sql_query("DELETE FROM orders")


def test_write_mode_refuses_other_files_and_settings(db, tmp_path):
    kit = SqlKit(path=db, allow_write=True)
    for statement in (f"ATTACH DATABASE '{tmp_path / 'x.db'}' AS x", f"VACUUM INTO '{tmp_path / 'copy.db'}'",
                      "PRAGMA journal_mode = WAL"):
        with pytest.raises(PermissionError, match="is not allowed"):
            kit.sql_execute(statement)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["shop.db"]


def test_a_failed_write_is_rolled_back_and_explained(db):
    kit = SqlKit(path=db, allow_write=True)
    with pytest.raises(ValueError, match="NOT NULL constraint failed: orders.customer"):
        kit.sql_execute("INSERT INTO orders (customer) VALUES (NULL)")
    assert query(kit, "SELECT COUNT(*) FROM orders")["rows"] == [[30]]


def test_one_statement_per_call(db):
    with pytest.raises(ValueError, match="one statement per call"):
        SqlKit(path=db).sql_query("SELECT 1; SELECT 2")


def test_a_runaway_query_is_stopped(db):
    with pytest.raises(ValueError, match="ran longer than 0.2 s"):
        SqlKit(path=db, timeout_s=0.2).sql_query(
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT COUNT(*) FROM n")


def test_schema_lists_tables_and_shows_one(db):
    kit = SqlKit(path=db)
    assert json.loads(kit.sql_schema()) == [{"table": "orders", "columns": "id INTEGER PRIMARY KEY, customer TEXT, "
                                                                          "total REAL"}]
    assert json.loads(kit.sql_schema("orders"))["sql"].startswith("CREATE TABLE orders")
    with pytest.raises(LookupError, match="no table named 'order'; tables: orders"):
        kit.sql_schema("order")


def test_schema_pragmas_are_readable(db):
    rows = query(SqlKit(path=db), "SELECT name FROM pragma_table_info('orders')")["rows"]
    assert rows == [["id"], ["customer"], ["total"]]


def test_a_missing_database_is_an_error_not_a_new_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        SqlKit(path=tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()


def test_tools_declare_their_risks(db):
    specs = SqlKit(path=db, allow_write=True).tools()
    assert [(spec.name, spec.risk, spec.scopes) for spec in specs] == [
        ("sql_schema", "read", ("sql:read",)), ("sql_query", "read", ("sql:read",)),
        ("sql_execute", "write", ("sql:write",))]
    assert json.loads(specs[1].tool.invoke({"query": "SELECT COUNT(*) AS n FROM orders"}))["rows"] == [[30]]
