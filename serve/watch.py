"""Folder watch: a file dropped in a watched folder starts a run of its workflow.

Configure with ``TASKWARDEN_WATCH_<WORKFLOW>=/path/to/folder`` (the workflow's name in upper case,
``-`` as ``_``); the server's app polls each folder every ``TASKWARDEN_POLL_INTERVAL`` seconds
(default 2; no extra dependencies). A file starts a run once its size and modification time held
still between two polls (so half-written files wait); hidden files and ``*.tmp``, ``*.part``,
``*~`` are ignored, and subfolders are not entered. The run's request names the file and quotes its
first 4,000 characters. The dedup key hashes the file's path, size and modification time: a file
already recorded in the delivery log (in an earlier server life too) starts nothing, a changed file
starts a new run.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from taskwarden.serve.triggers import Triggers

log = logging.getLogger(__name__)

WATCH_PREFIX = "TASKWARDEN_WATCH_"
INTERVAL_ENV = "TASKWARDEN_POLL_INTERVAL"
EXCERPT_CHARS = 4000
IGNORED_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", "~")


@dataclass(frozen=True)
class WatchedFolder:
    workflow: str
    path: Path


def watched_folders(workflow_names: list[str], environ: Mapping[str, str] | None = None) -> list[WatchedFolder]:
    """The folders ``TASKWARDEN_WATCH_<WORKFLOW>`` names, matched to `workflow_names` (else the lower-cased name)."""
    environ = os.environ if environ is None else environ
    by_env = {name.upper().replace("-", "_"): name for name in workflow_names}
    return [WatchedFolder(by_env.get(suffix, suffix.lower()), Path(value).expanduser().resolve())
            for key, value in sorted(environ.items())
            if key.startswith(WATCH_PREFIX) and (suffix := key[len(WATCH_PREFIX):]) and value.strip()]


def poll_interval(environ: Mapping[str, str] | None = None) -> float:
    environ = os.environ if environ is None else environ
    try:
        return max(0.1, float(environ.get(INTERVAL_ENV, "2")))
    except ValueError:
        return 2.0


@dataclass(frozen=True)
class FileEvent:
    path: Path
    size: int
    mtime_ns: int

    def key(self, workflow: str) -> str:
        digest = hashlib.sha256(f"{self.path}\0{self.size}\0{self.mtime_ns}".encode()).hexdigest()
        return f"{workflow}/file:{digest}"

    def request(self) -> str:
        """The run's request: which file arrived, and the start of its content."""
        with open(self.path, "rb") as handle:
            head = handle.read(EXCERPT_CHARS * 4)
        if b"\0" in head[:8192]:
            content = "(binary content, not shown)"
        else:
            text = head.decode("utf-8", errors="replace")
            content = text[:EXCERPT_CHARS] + ("\n[...]" if len(text) > EXCERPT_CHARS or self.size > len(head) else "")
        return (f"A new file arrived in the watched folder {self.path.parent}: {self.path.name} ({self.size} bytes).\n"
                f"Path: {self.path}\n\nContent:\n{content}")


class FolderWatcher:
    """Polls one folder and submits each new, settled file to `triggers` once."""

    def __init__(self, folder: WatchedFolder, triggers: Triggers, interval: float = 2.0) -> None:
        self.folder = folder
        self.triggers = triggers
        self.interval = interval
        self._previous: dict[Path, tuple[int, int]] = {}
        self._handled: set[str] = set()

    def settled_files(self) -> list[FileEvent]:
        """Files unchanged since the last poll and not handled yet (blocking: run it in a thread)."""
        self.folder.path.mkdir(parents=True, exist_ok=True)
        current: dict[Path, tuple[int, int]] = {}
        with os.scandir(self.folder.path) as entries:
            for entry in entries:
                if entry.name.startswith(".") or entry.name.endswith(IGNORED_SUFFIXES) or not entry.is_file():
                    continue
                stat = entry.stat()
                current[Path(entry.path)] = (stat.st_size, stat.st_mtime_ns)
        settled = [FileEvent(path, *signature) for path, signature in current.items()
                   if self._previous.get(path) == signature]
        self._previous = current
        fresh = []
        for event in settled:
            key = event.key(self.folder.workflow)
            if key in self._handled:
                continue
            if self.triggers.deliveries.seen(key):  # recorded earlier, in this server life or another
                self._handled.add(key)
                continue
            fresh.append(event)
        return fresh

    async def poll(self) -> list[str]:
        """One poll: submit every new settled file; returns their dedup keys."""
        submitted = []
        for event in await asyncio.to_thread(self.settled_files):
            key = event.key(self.folder.workflow)
            try:
                request = await asyncio.to_thread(event.request)
            except OSError as exc:  # removed or unreadable since the poll: try again next time
                log.warning("cannot read %s: %s", event.path, exc)
                continue
            outcome = await self.triggers.submit(
                self.folder.workflow, {"request": request}, key=key, trigger="folder", use_schema=False,
                extra_fields={"path": str(event.path), "name": event.path.name, "suffix": event.path.suffix,
                              "size": event.size})
            if outcome.status >= 500:
                log.warning("folder watch: %s: %s (will retry)", event.path, outcome.body.get("error"))
                continue
            if outcome.status >= 400:
                log.warning("folder watch: %s not started: %s", event.path, outcome.body.get("error"))
            self._handled.add(key)
            submitted.append(key)
        return submitted

    async def run(self) -> None:
        log.info("watching %s for %s runs", self.folder.path, self.folder.workflow)
        while True:
            try:
                await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("folder watch on %s failed; trying again", self.folder.path)
            await asyncio.sleep(self.interval)
