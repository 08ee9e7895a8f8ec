"""How `ChromaStore` lays items out in Chroma: record ids, documents, metadata, ``where`` clauses.

One collection ``<name>-items`` holds one *item record* per stored item. Its **document** is the
record as compact JSON (`encode`/`decode`): namespace labels, key, value, ``seq`` (first-write time in
ns, which is also the creation time), ``updated``, ``nvec`` (embedded texts) and, when set, ``exp``
and ``ttl`` (expiry, minutes) and ``idx`` (the put's own ``index``). Its **metadata** holds only what
Chroma filters on: the namespace ``ns`` (labels joined with ``.``, which labels cannot contain;
prefixes are matched with ``$in`` over the namespaces registered under them), the expiry ``exp``
(item records alone have one), ``p`` on placeholders, and copies of short top-level strings for
filter pushdown (``v:<field>``). Reads parse documents only, and Chroma's full-text index is off
(nothing searches document text), which keeps writes and reads close to raw chromadb.

The item record carries the item's first embedding. Each further embedded text of the item (several
``fields``, ``[*]`` paths) is a *vector record* ``<item id>#<n>`` (document: item id and namespace;
no ``exp``). An item with nothing to embed carries a deterministic pseudo-random placeholder vector
(metadata ``p: true``) that search skips. A second, small collection ``<name>-namespaces`` remembers
each namespace ever written and when (for order and listing).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from langgraph.store.base import Item, SearchItem

from taskwarden.memory.filters import mirrored_fields

FOREVER = 9.0e15
"""The ``exp`` (expiry, epoch seconds) of an item without TTL."""
LAYOUT_VERSION = 1
PLACEHOLDERS = {"p": True}
VECTORS = {"p": {"$ne": True}}
"""Records with a real vector (Chroma's ``$ne`` also matches records without the key)."""
Record = dict[str, Any]
"""A parsed item document: ns (list), key, value, seq, updated, nvec, and optionally exp, ttl, idx
(the put's own ``index``: a list of paths or False). A further vector's document: item, ns."""


def join(namespace: tuple[str, ...] | list[str]) -> str:
    return ".".join(namespace)


def split(ns: str) -> tuple[str, ...]:
    return tuple(ns.split(".")) if ns else ()


def item_id(namespace: tuple[str, ...], key: str) -> str:
    """The record id of an item: a hash, so any key and namespace map to a valid, unique id."""
    return hashlib.sha1(json.dumps([list(namespace), key]).encode()).hexdigest()


def vector_id(item: str, n: int) -> str:
    return f"{item}#{n}"


def namespace_fields(namespace: tuple[str, ...]) -> dict[str, Any]:
    """Registry metadata: the joined namespace and one key per label (for prefix ``where``)."""
    return {"ns": join(namespace), **{f"ns{i}": label for i, label in enumerate(namespace)}}


def in_namespaces(spaces: list[str]) -> dict[str, Any]:
    return {"ns": spaces[0]} if len(spaces) == 1 else {"ns": {"$in": spaces}}


def where(*clauses: dict[str, Any]) -> dict[str, Any] | None:
    """Chroma's ``where`` for the conjunction of `clauses` (``None`` when there are none)."""
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": list(clauses)}


def prefix_clauses(prefix: tuple[str, ...]) -> list[dict[str, Any]]:
    """Registry ``where`` clauses for namespaces under `prefix`."""
    return [{f"ns{i}": label} for i, label in enumerate(prefix)]


def under(namespace: list[str] | tuple[str, ...], prefix: tuple[str, ...]) -> bool:
    return tuple(namespace[: len(prefix)]) == prefix


def alive(now: float) -> dict[str, Any]:
    """Item records (not further vectors) that have not expired."""
    return {"exp": {"$gt": now}}


def placeholder(record_id: str, dims: int) -> list[float]:
    """A fixed pseudo-random unit vector for an item with nothing to embed (never a search hit)."""
    import numpy as np

    vector = np.random.default_rng(int(record_id[:16], 16)).standard_normal(dims)
    return (vector / np.linalg.norm(vector)).tolist()


def expiry(record: Record) -> float:
    return record.get("exp", FOREVER)


def to_item(record: Record, score: float | None = None, *, search: bool = False) -> Item:
    """A LangGraph `Item` (or `SearchItem`) from a parsed item document."""
    fields = {"namespace": tuple(record["ns"]), "key": record["key"], "value": record["value"],
              "created_at": datetime.fromtimestamp(min(record["seq"] / 1e9, record["updated"]), UTC),
              "updated_at": datetime.fromtimestamp(record["updated"], UTC)}
    return SearchItem(**fields, score=score) if search else Item(**fields)


_SHORT = {"ns": "n", "key": "k", "value": "v", "seq": "s", "updated": "u", "nvec": "c", "exp": "e", "ttl": "t",
          "idx": "x", "item": "i"}
_LONG = {short: long for long, short in _SHORT.items()}


def encode(record: Record) -> str:
    """The stored document: compact keys; ``updated`` left out while it equals creation, ``nvec`` while 1."""
    out = {_SHORT[k]: v for k, v in record.items() if v is not None}
    if "u" in out and "s" in out and abs(out["u"] - out["s"] / 1e9) < 1e-6:
        del out["u"]
    if out.get("c") == 1:
        del out["c"]
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def decode(document: str) -> Record:
    """A parsed document with full key names (see `Record`)."""
    record = {_LONG[k]: v for k, v in json.loads(document).items()}
    if "key" in record:
        record.setdefault("updated", record["seq"] / 1e9)
        record.setdefault("nvec", 1)
    return record


def records(rid: str, record: Record, vectors: list[list[float]], dims: int) -> tuple[dict[str, list[Any]], ...]:
    """Upsert columns for an item: its own record, then its further vector records.

    `record` is the item document (``nvec`` is set here from `vectors`).
    """
    namespace, value = tuple(record["ns"]), record["value"]
    record["nvec"] = len(vectors)
    shared = {"ns": join(namespace), **mirrored_fields(value)}
    own = {"ids": [rid], "embeddings": [vectors[0] if vectors else placeholder(rid, dims)],
           "metadatas": [{**shared, "exp": expiry(record), **({} if vectors else PLACEHOLDERS)}],
           "documents": [encode(record)]}
    extra_doc = encode({"item": rid, "ns": list(namespace)})
    extras = {"ids": [vector_id(rid, n) for n in range(1, len(vectors))], "embeddings": vectors[1:],
              "metadatas": [dict(shared) for _ in vectors[1:]],
              "documents": [extra_doc] * (len(vectors) - 1)}
    return own, extras


def create_items_collection(client: Any, name: str, metadata: dict[str, Any]) -> Any:
    """The items collection: cosine HNSW, no embedding function, no full-text index on documents."""
    try:
        from chromadb import FtsIndexConfig, Schema, VectorIndexConfig

        schema = (Schema().create_index(VectorIndexConfig(space="cosine", embedding_function=None))
                  .delete_index(FtsIndexConfig(), key="#document"))
        return client.create_collection(name, metadata=metadata, schema=schema, embedding_function=None)
    except (ImportError, TypeError):  # a chromadb without schemas
        return client.create_collection(name, metadata=metadata, configuration={"hnsw": {"space": "cosine"}},
                                        embedding_function=None)
