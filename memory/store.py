"""`ChromaStore`: LangGraph's `BaseStore` on Chroma, embedded (`PersistentClient`) or a server (`HttpClient`).

Semantics follow LangGraph's `InMemoryStore` (see `taskwarden.memory.search` for result order), with
TTL support and exact get/list. The layout is in `taskwarden.memory.layout`. The collection records the
embedding model (name and dims); opening it with another model raises `EmbeddingMismatchError`.

    store = ChromaStore.from_path(index={"dims": 384, "embed": "minilm", "fields": ["text"]})
    store.put(("notes",), "a", {"text": "refunds over $100 need approval"})
    store.search(("notes",), query="who approves large refunds?")
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings
from langgraph.store.base import (
    BaseStore,
    GetOp,
    IndexConfig,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchOp,
    TTLConfig,
    ensure_embeddings,
    get_text_at_path,
    tokenize_path,
    validate_op_namespace,
)

from taskwarden.memory import layout as L
from taskwarden.memory.embeddings import MiniLMEmbeddings, embedding_identity, embeddings_from_spec
from taskwarden.memory.search import Reader, search_items

logger = logging.getLogger(__name__)
DEFAULT_NAME = "taskwarden"
REEMBED_HINT = "taskwarden memory reembed"


class EmbeddingMismatchError(RuntimeError):
    """The collection's vectors come from another embedding model than the one this store was given."""


def resolve_embeddings(embed: Any) -> Embeddings:
    """An index's ``embed``: `Embeddings`, a function, ``"minilm"``, ``"openai:<model>"`` or a LangChain spec."""
    if embed is None or embed == "minilm" or (isinstance(embed, str) and embed.startswith("openai:")):
        return embeddings_from_spec(embed)
    return ensure_embeddings(embed)


def texts_for(value: dict[str, Any], index: Any, fields: list[tuple[str, Any]]) -> list[str]:
    """The texts of `value` to embed: the store's `fields`, or the put's own ``index`` paths."""
    if index is False:
        return []
    paths = fields if index is None else [(p, p if p == "$" else tokenize_path(p)) for p in index]
    return [text for _, path in paths for text in get_text_at_path(value, path)]


class ChromaStore(BaseStore):
    """Long-term memory on Chroma with LangGraph's store API, semantic search and TTL."""

    supports_ttl = True

    def __init__(self, *, client: Any, index: IndexConfig | dict[str, Any] | None = None,
                 ttl: TTLConfig | None = None, name: str = DEFAULT_NAME) -> None:
        self.client = client
        self.name = name
        self.ttl_config = ttl
        self.clock = time.time
        """Seconds since the epoch; TTL expiry reads it (tests replace it)."""
        self.index_config: dict[str, Any] | None = dict(index) if index else None
        self.embeddings: Embeddings | None = None
        self.fields: list[tuple[str, Any]] = []
        self.model: str | None = None
        self.dims: int = 1
        if self.index_config:
            self._configure(self.index_config)
        self._max_batch = client.get_max_batch_size()
        self._items = self._open_items()
        self._namespaces = client.get_or_create_collection(f"{name}-namespaces", embedding_function=None)
        self._reader = Reader(self._items, self._namespaces, self._max_batch)
        self._ns_seen: set[str] = set()
        self._seq = 0
        self._last_sweep = self.clock()
        self._sweeper: threading.Thread | None = None
        self._stop_sweeper = threading.Event()

    @classmethod
    def from_path(cls, path: str | Path | None = None, *, index: IndexConfig | dict[str, Any] | None = None,
                  ttl: TTLConfig | None = None, name: str = DEFAULT_NAME) -> ChromaStore:
        """Embedded Chroma at `path` (default ``data_home()/memory``)."""
        import chromadb

        from taskwarden.paths import data_home

        target = Path(path) if path is not None else data_home() / "memory"
        target.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(target), settings=_settings())
        return cls(client=client, index=index, ttl=ttl, name=name)

    @classmethod
    def from_http(cls, host: str = "localhost", port: int = 8000, *, index: IndexConfig | dict[str, Any] | None = None,
                  ttl: TTLConfig | None = None, name: str = DEFAULT_NAME, ssl: bool = False,
                  headers: dict[str, str] | None = None) -> ChromaStore:
        """A Chroma server (``chroma run``) at `host`:`port`."""
        import chromadb

        client = chromadb.HttpClient(host=host, port=port, ssl=ssl, headers=headers, settings=_settings())
        return cls(client=client, index=index, ttl=ttl, name=name)

    # Setup

    def _configure(self, index: dict[str, Any]) -> None:
        self.embeddings = resolve_embeddings(index.get("embed"))
        self.fields = [(p, p if p == "$" else tokenize_path(p)) for p in (index.get("fields") or ["$"])]
        dims = index.get("dims") or getattr(self.embeddings, "dims", None)
        if not isinstance(dims, int) or dims <= 0:
            raise ValueError("index needs 'dims', the size of the embedding vectors (384 for MiniLM)")
        self.dims = dims
        self.model = embedding_identity(self.embeddings)

    def _collection_metadata(self) -> dict[str, Any]:
        return {"tw_layout": L.LAYOUT_VERSION, "tw_model": self.model or "none", "tw_dims": self.dims}

    def _open_items(self) -> Any:
        from chromadb.errors import NotFoundError

        name = f"{self.name}-items"
        _finish_interrupted_reembed(self.client, name)
        try:
            items = self.client.get_collection(name, embedding_function=None)
        except (NotFoundError, ValueError):
            items = _create(self.client, name, self._collection_metadata())
        meta = items.metadata or {}
        stored, stored_dims = meta.get("tw_model", "none"), int(meta.get("tw_dims", 1))
        if self.embeddings is None:
            self.dims = stored_dims  # key-value use of an indexed collection: placeholders of its size
        elif (stored, stored_dims) != (self.model, self.dims):
            if stored == "none" and items.count() == 0:
                items.modify(metadata=self._collection_metadata())
            else:
                held = ("items stored without embeddings" if stored == "none"
                        else f"vectors from {stored} ({stored_dims} dims)")
                raise EmbeddingMismatchError(
                    f"memory collection {name!r} holds {held}, but this store embeds with {self.model} "
                    f"({self.dims} dims); searching one with the other would return nonsense. Re-embed everything "
                    f"with `{REEMBED_HINT}` (or taskwarden.memory.reembed(store, embeddings))"
                    + ("." if stored == "none" else f", or open the store with {stored}."))
        return items

    # Batches

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        plan = _Plan(list(ops), self)
        queries = {q: self.embeddings.embed_query(q) for q in plan.queries} if self.embeddings else {}
        vectors = self.embeddings.embed_documents(plan.texts) if plan.texts and self.embeddings else []
        return self._execute(plan, queries, vectors)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        plan = _Plan(list(ops), self)
        queries: dict[str, list[float]] = {}
        vectors: list[list[float]] = []
        if self.embeddings:
            embedded = await asyncio.gather(*(self.embeddings.aembed_query(q) for q in plan.queries))
            queries = dict(zip(plan.queries, embedded, strict=True))
            vectors = await self.embeddings.aembed_documents(plan.texts) if plan.texts else []
        return await asyncio.to_thread(self._execute, plan, queries, vectors)

    def _execute(self, plan: _Plan, queries: dict[str, list[float]], vectors: list[list[float]]) -> list[Result]:
        """Reads see the state before the batch (as in `InMemoryStore`); then the puts apply."""
        now = self.clock()
        results: list[Result] = [None] * len(plan.ops)
        refresh: dict[str, L.Record] = {}
        gets = {i: L.item_id(op.namespace, op.key) for i, op in enumerate(plan.ops) if isinstance(op, GetOp)}
        found = self._reader.fetch(list(gets.values())) if gets else {}
        for i, rid in gets.items():
            record = found.get(rid)
            if record and L.expiry(record) > now:
                results[i] = L.to_item(record)
                _note_refresh(refresh, rid, record, plan.ops[i])
        for i, op in enumerate(plan.ops):
            if isinstance(op, SearchOp):
                if op.query and self.embeddings:
                    page = self._reader.rank(op, queries[op.query], now)
                else:
                    listed = self._reader.listing(op.namespace_prefix, op.filter, op.offset, op.limit, now)
                    page = [(None, r) for r in listed]
                results[i] = search_items(page)
                for _, record in page:
                    if record.get("ttl") is not None:
                        _note_refresh(refresh, L.item_id(tuple(record["ns"]), record["key"]), record, op)
            elif isinstance(op, ListNamespacesOp):
                results[i] = self._reader.list_namespaces(op, now)
        written = {L.item_id(ns, key) for ns, key in plan.puts}
        if refresh := {rid: r for rid, r in refresh.items() if rid not in written}:
            self._refresh(refresh, now)
        if plan.puts:
            self._write(plan, vectors, now)
        if self.ttl_config and now - self._last_sweep > 60 * float(self.ttl_config.get("sweep_interval_minutes") or 5):
            self._last_sweep = now
            threading.Thread(target=self._quiet_sweep, name="taskwarden-memory-sweep", daemon=True).start()
        return results

    def _quiet_sweep(self) -> None:
        """An opportunistic sweep, off the caller's path; a failure is logged, never raised."""
        try:
            self.sweep_ttl()
        except Exception:
            logger.exception("memory: TTL sweep failed")

    def _refresh(self, records: dict[str, L.Record], now: float) -> None:
        """Push back the expiry of items just read (metadata and document; Chroma wants the vector too)."""
        ids = list(records)
        for start in range(0, len(ids), self._max_batch):
            chunk = ids[start : start + self._max_batch]
            got = self._items.get(ids=chunk, include=["embeddings"])
            for rid in got["ids"]:
                records[rid]["exp"] = now + records[rid]["ttl"] * 60
            self._items.update(ids=got["ids"], embeddings=got["embeddings"],
                               metadatas=[{"exp": records[rid]["exp"]} for rid in got["ids"]],
                               documents=[L.encode(records[rid]) for rid in got["ids"]])

    def _write(self, plan: _Plan, vectors: list[list[float]], now: float) -> None:
        """Upsert item records (one call per chunk) and vector records; delete removed items and stale vectors."""
        ids = {pk: L.item_id(*pk) for pk in plan.puts}
        old = self._reader.fetch(list(ids.values()))
        items: dict[str, list[Any]] = {"ids": [], "embeddings": [], "metadatas": [], "documents": []}
        extras: dict[str, list[Any]] = {"ids": [], "embeddings": [], "metadatas": [], "documents": []}
        gone: list[str] = []
        stale: list[str] = []
        for (ns, key), op in plan.puts.items():
            rid = ids[(ns, key)]
            prev = old.get(rid)
            had = prev["nvec"] if prev else 0
            if op.value is None:
                gone += [rid] if prev else []
                stale += [L.vector_id(rid, n) for n in range(1, had)]
                continue
            live = prev is not None and L.expiry(prev) > now
            record = {"ns": list(ns), "key": key, "value": dict(op.value),
                      "seq": prev["seq"] if live else self._next_seq(now), "updated": now}
            if op.ttl is not None:
                record.update(exp=now + op.ttl * 60, ttl=op.ttl)
            if op.index is not None:
                record["idx"] = op.index if op.index is False else list(op.index)
            own, more = L.records(rid, record, [vectors[j] for j in plan.slots.get((ns, key), [])], self.dims)
            for columns, new in ((items, own), (extras, more)):
                for name, cells in new.items():
                    columns[name] += cells
            stale += [L.vector_id(rid, n) for n in range(max(record["nvec"], 1), had)]
        self._register([L.join(ns) for (ns, _), op in plan.puts.items() if op.value is not None])
        for columns in (extras, items):
            if columns["ids"]:
                columns["embeddings"] = np.asarray(columns["embeddings"], dtype=np.float32)
                self._chunked(self._items.upsert, **columns)
        for doomed in (gone, stale):
            if doomed:
                self._chunked(self._items.delete, ids=doomed)

    def _next_seq(self, now: float) -> int:
        """Creation time in ns, kept increasing: orders equal search scores like first-put order."""
        self._seq = max(int(now * 1e9), self._seq + 1)
        return self._seq

    def _register(self, namespaces: list[str]) -> None:
        """Remember the first-write order of new namespaces (the first writer wins)."""
        new = [ns for ns in dict.fromkeys(namespaces) if ns not in self._ns_seen]
        if not new:
            return
        known = set(self._namespaces.get(ids=new, include=[])["ids"])
        missing = [ns for ns in new if ns not in known]
        if missing:
            seq = time.time_ns()
            self._namespaces.add(ids=missing, embeddings=[[1.0]] * len(missing),
                                 metadatas=[{**L.namespace_fields(L.split(ns)), "seq": seq + i}
                                            for i, ns in enumerate(missing)])
        self._ns_seen.update(new)

    def _chunked(self, method: Any, **columns: list[Any]) -> None:
        size = len(columns["ids"])
        for start in range(0, size, self._max_batch):
            method(**{name: col[start : start + self._max_batch] for name, col in columns.items()})

    # TTL

    def sweep_ttl(self) -> int:
        """Delete expired items (and their vectors) now; returns how many items were removed."""
        now = self.clock()
        got = self._items.get(where={"exp": {"$lte": now}}, include=["documents"])
        ids = list(got["ids"])
        extras = [L.vector_id(rid, n) for rid, doc in zip(ids, got["documents"], strict=True)
                  for n in range(1, L.decode(doc)["nvec"])]
        for batch in (ids, extras):
            if batch:
                self._chunked(self._items.delete, ids=batch)
        if ids:
            logger.info("memory: swept %d expired items", len(ids))
        return len(ids)

    def start_ttl_sweeper(self, sweep_interval_minutes: float | None = None) -> concurrent.futures.Future[None]:
        """Sweep expired items every `sweep_interval_minutes` (default: the TTL config's, else 5) in a thread."""
        interval = 60 * float(sweep_interval_minutes or (self.ttl_config or {}).get("sweep_interval_minutes") or 5)
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._stop_sweeper.clear()

        def loop() -> None:
            while not self._stop_sweeper.wait(interval):
                self._quiet_sweep()
            future.set_result(None)

        if not (self._sweeper and self._sweeper.is_alive()):
            self._sweeper = threading.Thread(target=loop, name="taskwarden-memory-sweeper", daemon=True)
            self._sweeper.start()
        return future

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        """Stop the sweeper thread; True once it has stopped."""
        self._stop_sweeper.set()
        if self._sweeper:
            self._sweeper.join(timeout)
            if self._sweeper.is_alive():
                return False
            self._sweeper = None
        return True

    def close(self) -> None:
        self.stop_ttl_sweeper(timeout=5)

    def count(self) -> int:
        """How many live items the store holds."""
        return len(self._items.get(where=L.alive(self.clock()), include=[])["ids"])


class _Plan:
    """A batch, validated: puts deduplicated (last wins), texts to embed (each once), queries to embed."""

    def __init__(self, ops: list[Op], store: ChromaStore) -> None:
        self.ops = ops
        self.puts: dict[tuple[tuple[str, ...], str], PutOp] = {}
        for op in ops:
            validate_op_namespace(op)
            if isinstance(op, PutOp):
                self.puts[(tuple(op.namespace), op.key)] = op
            elif not isinstance(op, (GetOp, SearchOp, ListNamespacesOp)):
                raise ValueError(f"unknown operation type: {type(op).__name__}")  # noqa: TRY004 - as InMemoryStore
        self.queries = sorted({op.query for op in ops if isinstance(op, SearchOp) and op.query})
        self.texts: list[str] = []
        self.slots: dict[tuple[tuple[str, ...], str], list[int]] = {}
        if store.embeddings is None:
            return
        position: dict[str, int] = {}
        for pk, op in self.puts.items():
            if op.value is not None:
                for text in texts_for(dict(op.value), op.index, store.fields):
                    self.slots.setdefault(pk, []).append(position.setdefault(text, len(position)))
        self.texts = list(position)


def _note_refresh(refresh: dict[str, L.Record], rid: str, record: L.Record, op: GetOp | SearchOp) -> None:
    if op.refresh_ttl and record.get("ttl") is not None:
        refresh[rid] = record


def _settings() -> Any:
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False)


def _create(client: Any, name: str, metadata: dict[str, Any]) -> Any:
    from chromadb.errors import ChromaError

    try:
        return L.create_items_collection(client, name, metadata)
    except ChromaError:  # created meanwhile by another process
        return client.get_collection(name, embedding_function=None)


def _finish_interrupted_reembed(client: Any, name: str) -> None:
    """A re-embed that stopped after dropping the old collection but before renaming the new one: finish it."""
    from chromadb.errors import NotFoundError

    names = {c.name if hasattr(c, "name") else c for c in client.list_collections()}
    if name not in names and f"{name}-reembed" in names:
        try:
            staged = client.get_collection(f"{name}-reembed", embedding_function=None)
        except NotFoundError:
            return
        if (staged.metadata or {}).get("tw_complete"):
            staged.modify(name=name)


KNOWN_DIMS = {"openai:text-embedding-3-small": 1536, "openai:text-embedding-3-large": 3072,
              "openai:text-embedding-ada-002": 1536, MiniLMEmbeddings.model_id: MiniLMEmbeddings.dims}


def default_index(embed: str | Embeddings | None = "minilm") -> dict[str, Any]:
    """An index over whole values with `embed` (default MiniLM); dims known, else measured once."""
    embeddings = embeddings_from_spec(embed)
    dims = getattr(embeddings, "dims", None) or KNOWN_DIMS.get(embedding_identity(embeddings))
    return {"dims": dims or len(embeddings.embed_query("dimension probe")), "embed": embeddings}
