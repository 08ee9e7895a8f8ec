"""The workspace files kit: confined to its root, whatever the path says."""

from __future__ import annotations

import json
import os

import pytest

from taskwarden.tools.kits import FilesKit


@pytest.fixture
def outside(tmp_path):
    """A directory next to the workspace, with a file the kit must never touch."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret.txt").write_text("top secret")
    return path


@pytest.fixture
def root(tmp_path, outside):
    path = tmp_path / "workspace"
    (path / "notes").mkdir(parents=True)
    (path / "notes" / "todo.txt").write_text("buy milk\n")
    os.symlink(outside / "secret.txt", path / "secret-link")
    os.symlink(outside, path / "outside-dir")
    os.symlink("notes/todo.txt", path / "todo-link")  # stays inside
    return path


def test_write_then_read_back(root):
    kit = FilesKit(root=root)
    written = json.loads(kit.write_file("reports/2024/summary.md", "# Summary\n"))
    assert written == {"path": "reports/2024/summary.md", "bytes_written": 10, "created": True, "size": 10}
    kit.write_file("reports/2024/summary.md", "More.\n", append=True)
    assert kit.read_file("reports/2024/summary.md") == "# Summary\nMore.\n"
    assert (root / "reports" / "2024" / "summary.md").read_text() == "# Summary\nMore.\n"


def test_list_files(root):
    listing = json.loads(FilesKit(root=root).list_files(recursive=True))["entries"]
    assert listing == [{"path": "notes", "type": "dir"}, {"path": "outside-dir", "type": "link"},
                       {"path": "secret-link", "type": "link"}, {"path": "todo-link", "type": "link"},
                       {"path": "notes/todo.txt", "type": "file", "size": 9}]


@pytest.mark.parametrize(("path", "reason"), [
    ("../outside/secret.txt", "'..' is not allowed"),
    ("notes/../../outside/secret.txt", "'..' is not allowed"),
    ("/etc/passwd", "use a path relative to the workspace root"),
    ("secret-link", "leads outside the workspace"),
    ("outside-dir/secret.txt", "leads outside the workspace"),
])
def test_paths_that_escape_the_root_are_refused(root, path, reason):
    kit = FilesKit(root=root, allow_delete=True)
    for attempt in (lambda: kit.read_file(path), lambda: kit.write_file(path, "pwned")):
        with pytest.raises(PermissionError, match=reason):
            attempt()
    if path != "secret-link":  # deleting the link itself is fine: see below
        with pytest.raises(PermissionError, match=reason):
            kit.delete_file(path)


def test_nothing_outside_was_touched_by_refused_writes(root, outside):
    kit = FilesKit(root=root)
    for path in ("secret-link", "outside-dir/new.txt", "../outside/new.txt"):
        with pytest.raises(PermissionError):
            kit.write_file(path, "pwned")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "top secret"


def test_listing_a_linked_directory_outside_is_refused(root):
    with pytest.raises(PermissionError, match="leads outside the workspace"):
        FilesKit(root=root).list_files("outside-dir")


def test_a_symlink_inside_the_root_is_followed(root):
    assert FilesKit(root=root).read_file("todo-link") == "buy milk\n"


def test_long_files_are_read_in_pieces(root):
    (root / "long.txt").write_text("é" * 30)  # 60 bytes, two per character
    kit = FilesKit(root=root, max_read_bytes=25)
    first = kit.read_file("long.txt")
    assert first.startswith("é" * 12 + "\n[... truncated: bytes 0-24 of 60")  # never half a character
    assert first.endswith("read_file with offset=24 for more]")
    assert kit.read_file("long.txt", offset=48) == "é" * 6


def test_binary_files_are_not_read(root):
    (root / "image.bin").write_bytes(b"\x89PNG\0\0\0")
    with pytest.raises(ValueError, match="binary file"):
        FilesKit(root=root).read_file("image.bin")


def test_writes_over_the_size_limit_are_refused(root):
    with pytest.raises(ValueError, match="limit is 10 bytes"):
        FilesKit(root=root, max_write_bytes=10).write_file("big.txt", "x" * 11)
    assert not (root / "big.txt").exists()


def test_a_directory_cannot_be_overwritten(root):
    with pytest.raises(IsADirectoryError):
        FilesKit(root=root).write_file("notes", "x")


def test_delete_only_when_allowed_and_a_link_is_removed_not_its_target(root, outside):
    assert "delete_file" not in [spec.name for spec in FilesKit(root=root).tools()]
    kit = FilesKit(root=root, allow_delete=True)
    kit.delete_file("todo-link")
    assert not (root / "todo-link").exists() and (root / "notes" / "todo.txt").exists()
    kit.delete_file("secret-link")
    assert not (root / "secret-link").is_symlink() and (outside / "secret.txt").read_text() == "top secret"
    kit.delete_file("notes/todo.txt")
    assert not (root / "notes" / "todo.txt").exists()
    with pytest.raises(FileNotFoundError):
        kit.delete_file("notes")


def test_reconcile_recognises_a_write_that_happened(root):
    kit = FilesKit(root=root)
    args = {"path": "a.txt", "content": "hello"}
    assert kit.reconcile_write(args) is None
    kit.write_file(**args)
    assert json.loads(kit.reconcile_write(args))["bytes_written"] == 5
    assert kit.reconcile_write({**args, "content": "other"}) is None


def test_tools_declare_their_risks(root):
    specs = FilesKit(root=root, allow_delete=True).tools()
    assert [(spec.name, spec.risk, spec.scopes) for spec in specs] == [
        ("list_files", "read", ("files:read",)), ("read_file", "read", ("files:read",)),
        ("write_file", "write", ("files:write",)), ("delete_file", "irreversible", ("files:delete",))]
    assert specs[2].reconcile is not None
    assert specs[1].tool.invoke({"path": "notes/todo.txt"}) == "buy milk\n"
