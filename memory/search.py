"""Reads for `ChromaStore`: semantic ranking, filter-only listing and namespace listing.

Order follows LangGraph's `InMemoryStore`: a listing returns namespaces in the order they were first
written and, within one, items in the order they were first put (an update keeps its place; Chroma
returns records in insertion order). Ranked search returns items by their best-matching vector
(max-pooling over an item's vectors), equal scores in store order, then fills up with items that have
no vector, unscored.

Ranking first asks Chroma for the nearest neighbours without a ``where`` (cheap, and right when the
prefix holds most of the collection), filters in Python, and widens the probe; when few hits fall in
scope it lets Chroma filter by namespace and pushed-down fields instead. A probe that comes back with
fewer records than it asked for has seen the whole scope, which is then small: it is ranked exactly
(brute force, like `InMemoryStore`), since HNSW can miss a few records after many updates. Large
scopes are ranked by HNSW, which is approximate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from langgraph.store.base import ListNamespacesOp, SearchItem, SearchOp

from taskwarden.memory import filters
from taskwarden.memory import layout as L
from taskwarden.memory.layout import Record

PER_NAMESPACE_PAGING = 8
"""Up to this many namespaces under a prefix, listing pages inside Chroma one namespace at a time."""
UNFILTERED_MAX = 2000
"""Largest unfiltered nearest-neighbour probe before the search asks Chroma to filter by namespace."""


class Reader:
    """Read queries over the items and namespaces collections of one store."""

    def __init__(self, items: Any, namespaces: Any, max_batch: int) -> None:
        self.items = items
        self.namespaces = namespaces
        self.max_batch = max_batch

    def fetch(self, ids: Sequence[str]) -> dict[str, Record]:
        """Parsed documents by id (absent ids are left out)."""
        out: dict[str, Record] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), self.max_batch):
            got = self.items.get(ids=unique[start : start + self.max_batch], include=["documents"])
            out.update((rid, L.decode(doc)) for rid, doc in zip(got["ids"], got["documents"], strict=True))
        return out

    def _get(self, where: dict[str, Any] | None, **page: Any) -> list[Record]:
        got = self.items.get(where=where, include=["documents"], **page)
        return [L.decode(doc) for doc in got["documents"]]

    # Namespaces

    def namespaces_under(self, prefix: tuple[str, ...]) -> list[str]:
        """Joined namespaces ever written under `prefix`, in first-write order."""
        got = self.namespaces.get(where=L.where(*L.prefix_clauses(prefix)), include=["metadatas"])
        return [m["ns"] for m in sorted(got["metadatas"], key=lambda m: (m["seq"], m["ns"]))]

    def has_items(self, ns: str, now: float) -> bool:
        return bool(self.items.get(where=L.where({"ns": ns}, L.alive(now)), limit=1, include=[])["ids"])

    def list_namespaces(self, op: ListNamespacesOp, now: float) -> list[tuple[str, ...]]:
        """Namespaces holding live items that match every condition, sorted, truncated, paged."""
        fixed: tuple[str, ...] = ()
        for condition in op.match_conditions or ():
            if condition.match_type == "prefix":
                path = tuple(condition.path)
                fixed = path[: path.index("*")] if "*" in path else path
                break
        candidates = [L.split(ns) for ns in self.namespaces_under(fixed)]
        candidates = [ns for ns in candidates if all(_does_match(c, ns) for c in op.match_conditions or ())]
        groups: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        for ns in candidates:
            groups.setdefault(ns[: op.max_depth] if op.max_depth is not None else ns, []).append(ns)
        live: list[tuple[str, ...]] = []
        for head in sorted(groups):
            if any(self.has_items(L.join(ns), now) for ns in groups[head]):
                live.append(head)
                if len(live) >= op.offset + op.limit:
                    break
        return live[op.offset : op.offset + op.limit]

    # Filter-only listing

    def listing(self, prefix: tuple[str, ...], filter: dict[str, Any] | None, offset: int, limit: int, now: float,
                *extra: dict[str, Any]) -> list[Record]:
        """Item records under `prefix` passing `filter`, in store order, ``[offset:offset + limit]``."""
        if limit <= 0 or offset < 0:
            return []
        clauses = [L.alive(now), *filters.pushdown(filter), *extra]
        spaces = self.namespaces_under(prefix)
        if len(spaces) > PER_NAMESPACE_PAGING:
            rank = {ns: i for i, ns in enumerate(spaces)}
            found = self._get(L.where(*([L.in_namespaces(spaces)] if prefix else []), *clauses))
            found.sort(key=lambda r: rank.get(L.join(r["ns"]), -1))  # stable: insertion order within a namespace
            return [r for r in found if filters.matches(r["value"], filter)][offset : offset + limit]
        exact = filters.fully_pushed(filter)
        out: list[Record] = []
        skip = offset
        for ns in spaces:
            w = L.where({"ns": ns}, *clauses)
            if exact:
                if skip:
                    count = len(self.items.get(where=w, include=[])["ids"])
                    if count <= skip:
                        skip -= count
                        continue
                out += self._get(w, offset=skip or None, limit=limit - len(out))
                skip = 0
            else:
                passing = [r for r in self._get(w) if filters.matches(r["value"], filter)]
                out += passing[skip:][: limit - len(out)]
                skip = max(0, skip - len(passing))
            if len(out) >= limit:
                break
        return out

    # Semantic ranking

    def rank(self, op: SearchOp, query: list[float], now: float) -> list[tuple[float | None, Record]]:
        """Items under the prefix passing the filter, best first by cosine similarity, paged, then unscored fill."""
        if op.limit <= 0 or op.offset < 0:
            return []
        need = op.offset + op.limit
        records: dict[str, Record] = {}
        k, unfiltered, passing = need, True, []
        scope: list[dict[str, Any]] | None = None
        while True:
            if not unfiltered and scope is None:
                spaces = self.namespaces_under(op.namespace_prefix) if op.namespace_prefix else None
                if spaces == []:
                    break
                scope = [*([L.in_namespaces(spaces)] if spaces else []), *filters.pushdown(op.filter)]
            scores, in_scope, returned = self._probe(query, k, None if unfiltered else scope, op, records)
            if returned < k:  # the probe saw all there is: small enough to rank exactly (HNSW may miss some)
                scores = self._exact(query, scope or [*filters.pushdown(op.filter)], op, records)
            passing = [(s, rid) for rid, s in scores.items() if _passes(records.get(rid), op.filter, now)]
            if len(passing) >= need or returned < k:
                break
            share = in_scope / max(returned, 1)
            if unfiltered and share >= 0.2 and k < UNFILTERED_MAX:
                k = min(UNFILTERED_MAX, max(k * 2, math.ceil(need / share * 1.5)))
            elif unfiltered:
                k, unfiltered = max(need * 2, 10), False
            else:
                k *= 4
        passing = self._order(passing, records, op.namespace_prefix)
        page: list[tuple[float | None, Record]] = [(s, records[rid]) for s, rid in passing[op.offset : need]]
        if len(page) < op.limit:
            fill = self.listing(op.namespace_prefix, op.filter, 0, op.limit - len(page), now,
                                L.PLACEHOLDERS)
            page += [(None, r) for r in fill]
        return page

    def _exact(self, query: list[float], scope: list[dict[str, Any]], op: SearchOp,
               records: dict[str, Record]) -> dict[str, float]:
        """Cosine similarity of every vector in scope (a small scope: the last probe came back short)."""
        import numpy as np

        got = self.items.get(where=L.where(*scope, L.VECTORS), include=["embeddings", "documents"])
        if not got["ids"]:
            return {}
        vectors, q = np.asarray(got["embeddings"], dtype=np.float64), np.asarray(query, dtype=np.float64)
        norms = np.linalg.norm(vectors, axis=1) * (np.linalg.norm(q) or 1.0)
        sims = np.divide(vectors @ q, norms, out=np.zeros(len(norms)), where=norms > 0)
        scores: dict[str, float] = {}
        for rid, doc, sim in zip(got["ids"], got["documents"], sims.tolist(), strict=True):
            record = L.decode(doc)
            if not L.under(record["ns"], op.namespace_prefix) or record.get("nvec") == 0:
                continue
            if "item" in record:
                rid = record["item"]
            else:
                records[rid] = record
            scores[rid] = max(scores.get(rid, -math.inf), sim)
        if missing := [rid for rid in scores if rid not in records]:
            records.update(self.fetch(missing))
        return scores

    def _probe(self, query: list[float], k: int, scope: list[dict[str, Any]] | None, op: SearchOp,
               records: dict[str, Record]) -> tuple[dict[str, float], int, int]:
        """One nearest-neighbour query: best score per item in scope, hits in scope, records returned."""
        w = None if scope is None else L.where(*scope, L.VECTORS)
        got = self.items.query(query_embeddings=[query], n_results=k, where=w, include=["documents", "distances"])
        ids, docs, dists = got["ids"][0], got["documents"][0], got["distances"][0]
        scores: dict[str, float] = {}
        in_scope = 0
        for rid, doc, dist in zip(ids, docs, dists, strict=True):
            record = L.decode(doc)
            if not L.under(record["ns"], op.namespace_prefix) or record.get("nvec") == 0:
                continue  # out of scope, or a placeholder
            if "item" in record:  # a further vector of an item
                rid = record["item"]
            else:
                records[rid] = record
            in_scope += 1
            scores[rid] = max(scores.get(rid, -math.inf), 1.0 - dist)
        if missing := [rid for rid in scores if rid not in records]:
            records.update(self.fetch(missing))
        return scores, in_scope, len(ids)

    def _order(self, passing: list[tuple[float, str]], records: dict[str, Record],
               prefix: tuple[str, ...]) -> list[tuple[float, str]]:
        """Best score first; equal scores (to 6 places) in store order, as `InMemoryStore`'s stable sort."""
        passing.sort(key=lambda pair: -round(pair[0], 6))
        rounded = [round(s, 6) for s, _ in passing]
        if len(set(rounded)) == len(rounded):
            return passing
        rank = {ns: i for i, ns in enumerate(self.namespaces_under(prefix))}
        return sorted(passing, key=lambda p: (-round(p[0], 6), rank.get(L.join(records[p[1]]["ns"]), -1),
                                              records[p[1]]["seq"]))


def _passes(record: Record | None, filter: dict[str, Any] | None, now: float) -> bool:
    return record is not None and L.expiry(record) > now and filters.matches(record["value"], filter)


def _does_match(condition: Any, ns: tuple[str, ...]) -> bool:
    if condition.match_type not in ("prefix", "suffix"):
        raise ValueError(f"unsupported match type {condition.match_type!r}")
    path = tuple(condition.path)
    if len(ns) < len(path):
        return False
    pairs = zip(ns, path) if condition.match_type == "prefix" else zip(reversed(ns), reversed(path))
    return all(p == "*" or k == p for k, p in pairs)


def search_items(page: list[tuple[float | None, Record]]) -> list[SearchItem]:
    return [L.to_item(record, None if score is None else float(score), search=True)  # type: ignore[misc]
            for score, record in page]
