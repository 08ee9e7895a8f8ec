"""`taskwarden memory ...` handlers, driven through an argparse parser like the real CLI."""

from __future__ import annotations

import argparse

import pytest

from taskwarden.memory import ChromaStore, default_store
from taskwarden.memory.cli import parse_namespace, register


def run(*argv: str) -> int:
    top = argparse.ArgumentParser(prog="taskwarden")
    register(top.add_subparsers(dest="command", required=True))
    args = top.parse_args(list(argv))
    return args.func(args)


def test_add_search_list_forget(home, tmp_path, capsys):
    doc = tmp_path / "refunds.md"
    doc.write_text("# Refunds\n\nRefunds over $100 need a human reviewer.\n\n## Window\n\nWithin 30 days.\n")
    assert run("memory", "add", str(doc)) == 0
    assert "added 2 chunk(s)" in capsys.readouterr().out
    assert run("memory", "search", "who approves big refunds", "--limit", "1") == 0
    out = capsys.readouterr().out
    assert "knowledge/" in out and "Refunds over $100" in out
    assert run("memory", "list") == 0
    assert capsys.readouterr().out.strip() == "knowledge"
    assert run("memory", "list", "--namespace", "knowledge") == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2
    key = default_store().search(("knowledge",), limit=1)[0].key
    assert run("memory", "forget", "knowledge", key) == 0
    assert f"forgot knowledge/{key}" in capsys.readouterr().out
    assert run("memory", "forget", "knowledge") == 0
    assert "forgot 1 item(s)" in capsys.readouterr().out
    assert run("memory", "list") == 0
    assert "memory is empty" in capsys.readouterr().out


def test_errors_are_one_line_and_exit_2(home, tmp_path, capsys):
    assert run("memory", "add", str(tmp_path / "missing.md")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no such file") and err.count("\n") == 1
    assert run("memory", "forget", "/") == 2
    assert run("memory", "--embed", "nonsense", "search", "x") == 2
    assert "unknown embeddings spec" in capsys.readouterr().err


def test_model_mismatch_then_reembed(home, capsys):
    from memory_helpers import HashEmbeddings

    other = ChromaStore.from_path(index={"dims": 64, "embed": HashEmbeddings(64)})
    other.put(("notes",), "n1", {"text": "Refunds over 100 dollars need a manager"})
    assert run("memory", "search", "refund approval") == 2
    err = capsys.readouterr().err
    assert "hash-bow-test" in err and "taskwarden memory reembed" in err
    assert run("memory", "reembed") == 0
    assert "re-embedded 1 item(s) with all-MiniLM-L6-v2-onnx-int8 (384 dims)" in capsys.readouterr().out
    assert run("memory", "search", "who signs off on refunds", "--namespace", "notes") == 0
    assert "notes/n1" in capsys.readouterr().out


@pytest.mark.parametrize(("text", "expected"), [("episodes/refund_desk", ("episodes", "refund_desk")),
                                                ("episodes.refund_desk", ("episodes", "refund_desk")),
                                                ("/knowledge/", ("knowledge",)), ("", ())])
def test_parse_namespace(text, expected):
    assert parse_namespace(text) == expected
