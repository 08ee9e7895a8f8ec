"""Workspace files: list, read, write and (optionally) delete files under one root directory."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from pydantic import Field

from taskwarden.tools.kits.spec import kit_spec
from taskwarden.tools.registry import ToolSpec

PathArg = Annotated[str, Field(description="A path relative to the workspace root, like 'notes/todo.txt'")]


@dataclass(frozen=True, kw_only=True)
class FilesKit:
    """Tools over the files under `root`, and nothing outside it.

    Every path is relative to the root: absolute paths and ``..`` are refused, and a path whose
    real location (after symbolic links) lies outside the root is refused too. Writes create
    parent directories and never follow a symbolic link in the last component. A link swapped
    in between the check and the open is the remaining gap (do not share the root with an
    adversary). Reads are ``read``; writes ``write``; `delete_file`, only with
    `allow_delete=True`, is ``irreversible`` (there is no trash).
    """

    root: Path
    max_read_bytes: int = 20_000
    """Per `read_file` call; longer files are read in pieces with `offset`."""
    max_write_bytes: int = 1_000_000
    max_entries: int = 200
    """Entries per `list_files` call."""
    allow_delete: bool = False

    def __post_init__(self) -> None:
        if not Path(self.root).is_dir():
            raise NotADirectoryError(f"FilesKit: workspace root {self.root} is not a directory")
        if self.max_read_bytes < 4 or self.max_write_bytes <= 0 or self.max_entries <= 0:
            raise ValueError("FilesKit: max_read_bytes must be at least 4; max_write_bytes and max_entries positive")
        object.__setattr__(self, "root", Path(self.root).resolve())

    def list_files(
        self,
        path: Annotated[str, Field(description="A directory relative to the workspace root; '.' is the root")] = ".",
        recursive: Annotated[bool, Field(description="Also list the contents of subdirectories")] = False,
    ) -> str:
        """List the files and directories in a workspace directory as JSON (path, type, size in bytes)."""
        directory = self.resolve(path)
        if not directory.is_dir():
            raise NotADirectoryError(f"{path!r} is not a directory in the workspace")
        entries: list[dict[str, Any]] = []
        for current, dirs, files in os.walk(directory):  # never descends into symbolic links
            dirs.sort()
            for name in [*dirs, *sorted(files)]:
                full = Path(current, name)
                kind = "link" if full.is_symlink() else "dir" if full.is_dir() else "file"
                entry: dict[str, Any] = {"path": full.relative_to(self.root).as_posix(), "type": kind}
                if kind == "file":
                    entry["size"] = full.stat().st_size
                entries.append(entry)
            if not recursive or len(entries) > self.max_entries:
                break
        result: dict[str, Any] = {"entries": entries[:self.max_entries]}
        if len(entries) > self.max_entries:
            result["note"] = f"only the first {self.max_entries} entries are shown; list a subdirectory"
        return json.dumps(result, ensure_ascii=False)

    def read_file(
        self,
        path: PathArg,
        offset: Annotated[int, Field(ge=0, description="Byte offset to start reading at")] = 0,
    ) -> str:
        """Read a text file from the workspace. Long files come in pieces: the end of the text says
        which offset to pass to read the next piece."""
        file = self.resolve(path)
        if not file.is_file():
            raise FileNotFoundError(f"no file {path!r} in the workspace")
        size = file.stat().st_size
        with open(file, "rb") as handle:
            handle.seek(offset)
            data = handle.read(self.max_read_bytes)
        if b"\0" in data:
            raise ValueError(f"{path!r} is a binary file ({size} bytes); only text files can be read")
        if offset + len(data) < size:
            data = _whole_characters(data)
        text = data.decode("utf-8", errors="replace")
        end = offset + len(data)
        if end < size:
            text += f"\n[... truncated: bytes {offset}-{end} of {size} shown; read_file with offset={end} for more]"
        return text

    def write_file(
        self,
        path: PathArg,
        content: Annotated[str, Field(description="The text to write")],
        append: Annotated[bool, Field(description="Add to the end of the file instead of replacing it")] = False,
    ) -> str:
        """Write a text file in the workspace (creating it and its directories, or replacing its content)."""
        data = content.encode("utf-8")
        if len(data) > self.max_write_bytes:
            raise ValueError(f"content is {len(data)} bytes; the limit is {self.max_write_bytes} bytes per write")
        file = self.resolve(path)
        if file == self.root or file.is_dir():
            raise IsADirectoryError(f"{path!r} is a directory")
        created = not file.exists()
        file.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_APPEND if append else os.O_TRUNC)
        with os.fdopen(os.open(file, flags, 0o644), "wb") as handle:
            handle.write(data)
        return json.dumps({"path": file.relative_to(self.root).as_posix(), "bytes_written": len(data),
                           "created": created, "size": file.stat().st_size})

    def delete_file(self, path: PathArg) -> str:
        """Delete a file from the workspace. This cannot be undone."""
        relative = _relative(path)
        file = self.resolve(str(relative.parent)) / relative.name  # a link itself, not what it points to
        if not relative.name or not (file.is_symlink() or file.is_file()):
            raise FileNotFoundError(f"no file {path!r} in the workspace")
        file.unlink()
        return json.dumps({"path": file.relative_to(self.root).as_posix(), "deleted": True})

    def resolve(self, path: str) -> Path:
        """The real location of `path` under the root; `PermissionError` if it is, or leads, outside."""
        full = (self.root / _relative(path)).resolve()
        if full != self.root and not full.is_relative_to(self.root):
            raise PermissionError(f"{path!r} leads outside the workspace (through a symbolic link)")
        return full

    def reconcile_write(self, args: dict[str, Any]) -> str | None:
        """After a crash mid-write: the write's result if the file holds exactly that content."""
        if args.get("append"):
            return None  # an append cannot be told apart from earlier content
        try:
            file = self.resolve(args["path"])
            data = args["content"].encode("utf-8")
            if not file.is_file() or file.read_bytes() != data:
                return None
        except (OSError, KeyError, ValueError):
            return None
        return json.dumps({"path": file.relative_to(self.root).as_posix(), "bytes_written": len(data),
                           "created": None, "size": len(data)})

    def tools(self) -> list[ToolSpec]:
        specs = [
            kit_spec(self.list_files, risk="read", scopes=("files:read",)),
            kit_spec(self.read_file, risk="read", scopes=("files:read",),
                     limits=f"Up to {self.max_read_bytes} bytes per call."),
            kit_spec(self.write_file, risk="write", scopes=("files:write",), reconcile=self.reconcile_write,
                     limits=f"Up to {self.max_write_bytes} bytes per call."),
        ]
        if self.allow_delete:
            specs.append(kit_spec(self.delete_file, risk="irreversible", scopes=("files:delete",)))
        return specs


def _relative(path: str) -> PurePosixPath:
    """`path` as a relative path that stays below its starting point, or `PermissionError`."""
    if "\0" in path:
        raise ValueError("a path cannot contain a NUL character")
    relative = PurePosixPath(path.strip() or ".")
    if relative.is_absolute():
        raise PermissionError(f"{path!r} is not a workspace path: use a path relative to the workspace root")
    if ".." in relative.parts:
        raise PermissionError(f"{path!r} is not a workspace path: '..' is not allowed")
    return relative


def _whole_characters(data: bytes) -> bytes:
    """`data` without a UTF-8 character cut off at its end (the next piece starts with it)."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 != 0x80:  # the last character's first byte
            length = 1 if byte < 0x80 else 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return data[:-back] if back < length else data
    return data
