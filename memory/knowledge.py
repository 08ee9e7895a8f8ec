"""Knowledge ingestion: Markdown, text and (with ``pypdf``) PDF files, chunked into ``("knowledge",)``.

Markdown is split at headings, then paragraphs are packed into chunks of about `MAX_CHARS`; each chunk
keeps its heading so it reads (and embeds) on its own. Each chunk is an item keyed ``<file hash>-<n>``
with ``text``, ``source``, ``chunk``, ``section`` and ``title``; adding a file again replaces its chunks.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from langgraph.store.base import BaseStore, PutOp

from taskwarden.tools.registry import ToolSpec, tool_spec

NAMESPACE = ("knowledge",)
MAX_CHARS = 1200
TEXT_SUFFIXES = {".md", ".markdown", ".txt", ".rst", ".text"}
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def add_documents(store: BaseStore, paths: Iterable[str | Path], *, namespace: tuple[str, ...] = NAMESPACE,
                  max_chars: int = MAX_CHARS) -> int:
    """Chunk and store every file (directories: their text, Markdown and PDF files); returns the chunk count."""
    count = 0
    for path in _files(paths):
        source = str(path.resolve())
        _forget_source(store, namespace, source)
        title, chunks = chunk_text(read_text(path), max_chars=max_chars, default_title=path.stem)
        prefix = hashlib.sha1(source.encode()).hexdigest()[:12]
        store.batch([PutOp(namespace, f"{prefix}-{n:04d}",
                           {"text": text, "source": source, "chunk": n, "section": section, "title": title},
                           index=["text"]) for n, (section, text) in enumerate(chunks)])
        count += len(chunks)
    return count


def search_knowledge(store: BaseStore, query: str, limit: int = 4, *,
                     namespace: tuple[str, ...] = NAMESPACE) -> list[dict[str, Any]]:
    """The chunks most relevant to `query`: ``{"text", "source", "chunk", "section", "title", "score"}``."""
    return [{**hit.value, "score": hit.score} for hit in store.search(namespace, query=query, limit=limit)]


def knowledge_tool(store: BaseStore, *, limit: int = 4, namespace: tuple[str, ...] = NAMESPACE) -> BaseTool:
    """A LangChain tool ``search_knowledge(query: str) -> str`` over the ingested documents."""

    def run(query: str) -> str:
        """Search the knowledge base (policies, manuals, notes) for passages relevant to the query."""
        hits = search_knowledge(store, query, limit, namespace=namespace)
        if not hits:
            return "No relevant passages found in the knowledge base."
        return "\n\n".join(f"[{i}] {Path(h['source']).name} #{h['chunk']} ({h['section'] or h['title']})\n{h['text']}"
                           for i, h in enumerate(hits, start=1))

    return StructuredTool.from_function(run, name="search_knowledge")


class _DefaultMemory(BaseStore):
    """The default memory store, opened on first use (building a workflow does not open Chroma)."""

    def __init__(self) -> None:
        self._store: BaseStore | None = None

    def _open(self) -> BaseStore:
        if self._store is None:
            from taskwarden.memory import default_store

            self._store = default_store()
        return self._store

    def batch(self, ops: Iterable[Any]) -> list[Any]:
        return self._open().batch(ops)

    async def abatch(self, ops: Iterable[Any]) -> list[Any]:
        return await self._open().abatch(ops)


def knowledge_tools(store: BaseStore | None = None, *, limit: int = 4,
                    namespace: tuple[str, ...] = NAMESPACE) -> list[ToolSpec]:
    """`search_knowledge` as a read-only `ToolSpec` for a workflow's roles (in YAML:
    ``import: taskwarden.memory.knowledge:knowledge_tools()``); without `store`, the default memory."""
    tool = knowledge_tool(store if store is not None else _DefaultMemory(), limit=limit, namespace=namespace)
    return [tool_spec(tool, risk="read", scopes=("knowledge:read",))]


def read_text(path: Path) -> str:
    """A file's text; PDFs need the optional ``pypdf`` package."""
    if path.suffix.lower() == ".pdf":
        try:
            from pypdf import PdfReader
        except ImportError as exc:
            raise RuntimeError(f"{path}: reading PDF needs pypdf (pip install pypdf)") from exc
        return "\n\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)
    return path.read_text(encoding="utf-8", errors="replace")


def chunk_text(text: str, *, max_chars: int = MAX_CHARS, default_title: str = "") -> tuple[str, list[tuple[str, str]]]:
    """``(title, [(section, chunk)])``: split at Markdown headings, pack paragraphs up to `max_chars`."""
    title = default_title
    sections: list[tuple[str, list[str]]] = [("", [])]
    for line in text.splitlines():
        if match := _HEADING.match(line):
            if match.group(1) == "#" and title == default_title:
                title = match.group(2)
            sections.append((match.group(2), [line]))
        else:
            sections[-1][1].append(line)
    chunks: list[tuple[str, str]] = []
    for section, lines in sections:
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", "\n".join(lines)) if p.strip()]
        if not paragraphs or (len(paragraphs) == 1 and _HEADING.match(paragraphs[0])):
            continue
        chunks += [(section, c) for c in _pack(paragraphs, max_chars)]
    return title, chunks


def _pack(paragraphs: list[str], max_chars: int) -> list[str]:
    pieces = [piece for p in paragraphs for piece in _split_long(p, max_chars)]
    chunks: list[str] = []
    for piece in pieces:
        if chunks and len(chunks[-1]) + 2 + len(piece) <= max_chars:
            chunks[-1] += "\n\n" + piece
        else:
            chunks.append(piece)
    return chunks


def _split_long(paragraph: str, max_chars: int) -> list[str]:
    if len(paragraph) <= max_chars:
        return [paragraph]
    out, current = [], ""
    for sentence in re.split(r"(?<=[.!?])\s+", paragraph):
        while len(sentence) > max_chars:
            out.append(sentence[:max_chars])
            sentence = sentence[max_chars:]
        if current and len(current) + 1 + len(sentence) > max_chars:
            out.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    return [*out, current] if current else out


def _files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES | {".pdf"})
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"no such file or directory: {path}")
    return files


def _forget_source(store: BaseStore, namespace: tuple[str, ...], source: str) -> None:
    while old := store.search(namespace, filter={"source": source}, limit=500):
        store.batch([PutOp(item.namespace, item.key, None) for item in old])
