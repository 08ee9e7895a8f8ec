"""Re-embed a store's memory with another embedding model, without mixing vectors of two models.

Every live item is embedded again into a staging collection (``<name>-items-reembed``) in store order;
only when it is complete does it replace the old collection, so an interrupted run leaves the old
memory intact (and a run interrupted between the drop and the rename is finished on the next open).
"""

from __future__ import annotations

from typing import Any

from langchain_core.embeddings import Embeddings

from taskwarden.memory import layout as L
from taskwarden.memory.store import ChromaStore, resolve_embeddings, texts_for


def reembed(store: ChromaStore, embeddings: Embeddings | str | None = None, *, dims: int | None = None,
            fields: list[str] | None = None, batch_size: int = 256) -> int:
    """Re-embed every item of `store` with `embeddings` (default MiniLM); returns how many items.

    `store` may have been opened without an index (so no mismatch check); afterwards it searches with
    the new model. `fields` defaults to the store's configured fields, else the whole value.
    """
    model = resolve_embeddings(embeddings)
    index = {"dims": dims or getattr(model, "dims", None) or len(model.embed_query("dimension probe")),
             "embed": model, "fields": fields or (store.index_config or {}).get("fields") or ["$"]}
    target = ChromaStore.__new__(ChromaStore)
    target._configure(index)
    name = f"{store.name}-items"
    staged_name = f"{name}-reembed"
    if staged_name in {c.name if hasattr(c, "name") else c for c in store.client.list_collections()}:
        store.client.delete_collection(staged_name)
    staged = L.create_items_collection(store.client, staged_name, _metadata(target))
    count = 0
    now = store.clock()
    while True:
        page = store._items.get(where=L.alive(now), offset=count, limit=batch_size,
                                include=["documents"])
        if not page["ids"]:
            break
        _copy(staged, target, page["ids"], [L.decode(doc) for doc in page["documents"]])
        count += len(page["ids"])
    staged.modify(metadata={**_metadata(target), "tw_complete": True})
    store.client.delete_collection(name)
    staged.modify(name=name, metadata=_metadata(target))
    store.index_config, store.embeddings, store.fields = index, target.embeddings, target.fields
    store.model, store.dims = target.model, target.dims
    store._items = store._reader.items = store.client.get_collection(name, embedding_function=None)
    return count


def _metadata(target: ChromaStore) -> dict[str, Any]:
    return {"tw_layout": L.LAYOUT_VERSION, "tw_model": target.model, "tw_dims": target.dims}


def _copy(staged: Any, target: ChromaStore, ids: list[str], records: list[L.Record]) -> None:
    per_item = [texts_for(r["value"], r.get("idx"), target.fields) for r in records]
    unique = list(dict.fromkeys(t for texts in per_item for t in texts))
    vectors = dict(zip(unique, target.embeddings.embed_documents(unique), strict=True)) if unique else {}
    items: dict[str, list[Any]] = {"ids": [], "embeddings": [], "metadatas": [], "documents": []}
    extras: dict[str, list[Any]] = {"ids": [], "embeddings": [], "metadatas": [], "documents": []}
    for rid, record, texts in zip(ids, records, per_item, strict=True):
        own, more = L.records(rid, record, [vectors[t] for t in texts], target.dims)
        for columns, new in ((items, own), (extras, more)):
            for name, cells in new.items():
                columns[name] += cells
    if extras["ids"]:
        staged.upsert(**extras)
    staged.upsert(**items)
