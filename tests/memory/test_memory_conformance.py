"""One conformance suite for `ChromaStore` and LangGraph's `InMemoryStore` (same MiniLM embeddings).

Every test runs against both stores with the same expectations; `test_stores_agree_*` also compare the
two directly, op by op. Known, deliberate difference: a namespace whose items were all deleted is not
listed by `ChromaStore` (InMemoryStore keeps listing it).
"""

from __future__ import annotations

import asyncio
import random

import pytest
from langgraph.store.base import GetOp, InvalidNamespaceError, PutOp, SearchOp
from langgraph.store.memory import InMemoryStore
from memory_helpers import CORPUS, HashEmbeddings

from taskwarden.memory import ChromaStore


def keys(results):
    return [r.key for r in results]


def shape(results):
    """What a search returns, scores rounded (Chroma scores in float32)."""
    return [(r.namespace, r.key, r.value, None if r.score is None else round(r.score, 3)) for r in results]


# Put / get / delete


def test_put_get_roundtrip(store):
    value = {"text": "hello", "n": 1.5, "nested": {"list": [1, "two", None], "flag": True}, "unicode": "café ✓"}
    store.put(("users", "u1"), "prefs", value)
    item = store.get(("users", "u1"), "prefs")
    assert (item.namespace, item.key, item.value) == (("users", "u1"), "prefs", value)
    assert item.created_at <= item.updated_at
    assert store.get(("users", "u1"), "missing") is None
    assert store.get(("users",), "prefs") is None


def test_update_replaces_value_and_keeps_position(store):
    for key in "abc":
        store.put(("ns",), key, {"text": f"item {key}"})
    store.put(("ns",), "a", {"text": "item a, updated"})
    assert store.get(("ns",), "a").value == {"text": "item a, updated"}
    assert keys(store.search(("ns",))) == ["a", "b", "c"]


def test_delete_then_put_moves_to_the_end(store):
    for key in "abc":
        store.put(("ns",), key, {"text": f"item {key}"})
    store.delete(("ns",), "a")
    assert store.get(("ns",), "a") is None
    assert keys(store.search(("ns",))) == ["b", "c"]
    store.put(("ns",), "a", {"text": "back"})
    assert keys(store.search(("ns",))) == ["b", "c", "a"]
    store.delete(("ns",), "never-existed")  # no error


def test_keys_and_labels_with_odd_characters(store):
    store.put(("a/b", "c d", "é"), "key/with:odd#chars", {"v": 1})
    store.put(("a/b", "c d"), "é/key", {"v": 2})
    assert store.get(("a/b", "c d", "é"), "key/with:odd#chars").value == {"v": 1}
    assert store.get(("a/b", "c d"), "é/key").value == {"v": 2}
    assert store.get(("a/b", "c d"), "é/key/with:odd#chars") is None


def test_invalid_namespaces_are_refused(store):
    with pytest.raises(InvalidNamespaceError):
        store.put(("a.b",), "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError):
        store.put(("langgraph",), "k", {"v": 1})
    if isinstance(store, ChromaStore):  # InMemoryStore does not check ops given to batch() directly
        with pytest.raises(InvalidNamespaceError):
            store.batch([PutOp(("x.y",), "k", {"v": 1})])


def test_batch_reads_see_the_state_before_its_puts(store):
    store.put(("ns",), "old", {"v": 1})
    got = store.batch([PutOp(("ns",), "new", {"v": 2}), GetOp(("ns",), "new"), GetOp(("ns",), "old"),
                       PutOp(("ns",), "old", None), SearchOp(("ns",))])
    assert got[0] is None and got[1] is None and got[2].value == {"v": 1}
    assert keys(got[4]) == ["old"]
    assert store.get(("ns",), "old") is None and store.get(("ns",), "new").value == {"v": 2}


def test_last_put_of_a_key_in_a_batch_wins(store):
    store.batch([PutOp(("ns",), "k", {"v": 1}), PutOp(("ns",), "k", {"v": 2})])
    assert store.get(("ns",), "k").value == {"v": 2}


# Filter-only search


@pytest.mark.parametrize(("prefix", "kwargs", "expected"), [
    (("docs",), {}, ["1", "2", "6", "3", "7", "4", "8", "9"]),
    ((), {}, ["1", "2", "6", "3", "7", "4", "5", "8", "9"]),
    (("docs", "b"), {}, ["3", "7", "4"]),
    (("docs",), {"filter": {"status": "active"}}, ["1", "6", "3", "8", "9"]),
    (("docs",), {"filter": {"status": {"$eq": "draft"}}}, ["2", "7"]),
    (("docs",), {"filter": {"n": {"$gt": 4}}}, ["2", "3", "8", "9"]),
    (("docs",), {"filter": {"n": {"$gte": 1.5, "$lt": 3}}}, ["6", "4"]),
    (("docs",), {"filter": {"meta": {"lang": "en"}}}, ["1"]),
    (("docs",), {"filter": {"tags": ["refund", "policy"]}}, ["1"]),
    ((), {"filter": {"status": {"$ne": "active"}, "n": {"$lte": 5}}}, ["2", "7", "4"]),
    (("docs",), {"filter": {"status": "active", "n": 2}}, ["6"]),
    (("docs",), {"filter": {"missing": "x"}}, []),
    (("docs",), {"offset": 2, "limit": 3}, ["6", "3", "7"]),
    (("docs",), {"offset": 7, "limit": 3}, ["9"]),
    (("docs",), {"filter": {"status": "active"}, "offset": 1, "limit": 2}, ["6", "3"]),
    (("docs",), {"filter": {"n": {"$gt": 1}}, "offset": 3, "limit": 2}, ["3", "7"]),
    (("nope",), {}, []),
])
def test_filter_search(loaded, prefix, kwargs, expected):
    results = loaded.search(prefix, **kwargs)
    assert keys(results) == expected
    assert all(r.score is None for r in results)


# Semantic search


def test_relevant_item_ranks_first(loaded):
    results = loaded.search(("docs",), query="who approves big refunds?", limit=3)
    assert keys(results)[0] == "1"
    assert results[0].score > 0.5 > results[1].score
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)


def test_each_indexed_text_counts_max_pooling(loaded):
    assert keys(loaded.search(("docs",), query="conference tickets and travel", limit=1)) == ["9"]
    assert keys(loaded.search(("docs",), query="rotate passwords", limit=1)) == ["8"]


def test_query_respects_prefix_filter_and_pages(loaded):
    full = loaded.search(("docs",), query="refund", limit=20)
    assert keys(loaded.search(("docs",), query="refund", offset=2, limit=3)) == keys(full)[2:5]
    active = loaded.search(("docs",), query="team", filter={"status": "active"}, limit=20)
    assert set(keys(active)) == {"1", "3", "6", "8", "9"}
    assert all(r.namespace[:2] == ("docs", "b") for r in loaded.search(("docs", "b"), query="refund"))


def test_items_without_vectors_fill_up_unscored(loaded):
    results = loaded.search(("docs",), query="password", limit=20)
    assert keys(results)[-2:] == ["6", "7"]  # nothing at the index path; index=False
    assert [r.score for r in results[-2:]] == [None, None]
    assert all(r.score is not None for r in results[:-2])


def test_query_without_matches_in_scope_is_empty(loaded):
    assert loaded.search(("nope",), query="anything") == []


# Namespaces


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({}, [("docs", "a"), ("docs", "b"), ("docs", "b", "c"), ("docs", "c"), ("other",)]),
    ({"prefix": ("docs",)}, [("docs", "a"), ("docs", "b"), ("docs", "b", "c"), ("docs", "c")]),
    ({"prefix": ("docs", "b")}, [("docs", "b"), ("docs", "b", "c")]),
    ({"suffix": ("c",)}, [("docs", "b", "c"), ("docs", "c")]),
    ({"prefix": ("docs", "*")}, [("docs", "a"), ("docs", "b"), ("docs", "b", "c"), ("docs", "c")]),
    ({"prefix": ("*", "b"), "suffix": ("c",)}, [("docs", "b", "c")]),
    ({"suffix": ("*", "c")}, [("docs", "b", "c"), ("docs", "c")]),
    ({"suffix": ("b", "*")}, [("docs", "b", "c")]),
    ({"max_depth": 2}, [("docs", "a"), ("docs", "b"), ("docs", "c"), ("other",)]),
    ({"max_depth": 1}, [("docs",), ("other",)]),
    ({"prefix": ("docs",), "max_depth": 1}, [("docs",)]),
    ({"limit": 2, "offset": 1}, [("docs", "b"), ("docs", "b", "c")]),
    ({"prefix": ("zzz",)}, []),
])
def test_list_namespaces(loaded, kwargs, expected):
    assert loaded.list_namespaces(**kwargs) == expected


# Async


def test_async_variants(store):
    async def scenario():
        await store.aput(("a", "b"), "k1", {"text": "refunds need approval over 100 dollars"})
        await store.aput(("a", "c"), "k2", {"text": "weekly security report"})
        item = await store.aget(("a", "b"), "k1")
        hits = await store.asearch(("a",), query="approval for a refund", limit=2)
        spaces = await store.alist_namespaces(prefix=("a",))
        await store.adelete(("a", "b"), "k1")
        gone = await store.aget(("a", "b"), "k1")
        batch = await store.abatch([GetOp(("a", "c"), "k2"),
                                    SearchOp(("a",), filter={"text": "weekly security report"})])
        return item, hits, spaces, gone, batch

    item, hits, spaces, gone, batch = asyncio.run(scenario())
    assert item.value["text"].startswith("refunds")
    assert keys(hits) == ["k1", "k2"] and hits[0].score > hits[1].score
    assert spaces == [("a", "b"), ("a", "c")]
    assert gone is None
    assert batch[0].key == "k2" and keys(batch[1]) == ["k2"]


# The two stores, side by side

CASES = [
    {}, {"limit": 3}, {"offset": 2, "limit": 3}, {"filter": {"status": "active"}}, {"filter": {"n": {"$gt": 4}}},
    {"query": "who approves big refunds"}, {"query": "security patches", "limit": 2},
    {"query": "security patches", "offset": 2, "limit": 3}, {"query": "sales", "filter": {"status": "active"}},
    {"query": "password", "limit": 20}, {"query": "refund", "offset": 5, "limit": 5},
    {"query": "team", "filter": {"status": "active", "n": {"$gte": 6}}},
]


@pytest.fixture
def both(make_store):
    stores = make_store("chroma"), make_store("inmemory")
    for s in stores:
        for namespace, key, value, idx in CORPUS:
            s.put(namespace, key, value, index=idx)
    return stores


@pytest.mark.parametrize("prefix", [("docs",), (), ("docs", "b"), ("other",)])
def test_stores_agree_on_the_corpus(both, prefix):
    chroma, memory = both
    for case in CASES:
        assert shape(chroma.search(prefix, **case)) == shape(memory.search(prefix, **case)), case


def test_stores_agree_after_random_writes(tmp_path):
    """Random puts, updates and deletes over nested namespaces, then every kind of read, in both stores."""
    index = {"dims": 64, "embed": HashEmbeddings(64), "fields": ["text"]}
    chroma, memory = ChromaStore.from_path(tmp_path / "rnd", index=index), InMemoryStore(index=index)
    rng = random.Random(7)
    words = ["refund", "order", "invoice", "lead", "report", "policy", "approval", "customer", "vendor",
             "payment", "risk", "weekly"]
    spaces = [("t", "a"), ("t", "b"), ("t", "a", "x"), ("u",), ("t", "c", "y", "z")]
    for s in (chroma, memory):  # namespaces first written in this order (InMemoryStore also counts deletes)
        s.batch([PutOp(ns, "seed", {"text": f"seed {i}", "n": i, "kind": "a"}) for i, ns in enumerate(spaces)])
    for step in range(30):
        ops = []
        for _ in range(rng.randint(1, 12)):
            ns, key = rng.choice(spaces), f"k{rng.randint(0, 25)}"
            if rng.random() < 0.2:
                ops.append(PutOp(ns, key, None))
            else:
                # unique texts: InMemoryStore fails on a text repeated within one batch
                value = {"text": " ".join([*rng.choices(words, k=5), f"s{step}n{len(ops)}"]), "n": rng.randint(0, 9),
                         "kind": rng.choice(["a", "b"]), "title": f"{rng.choice(words)} {step} {len(ops)}"}
                # a key keeps its index mode: InMemoryStore keeps stale vectors when it changes
                mode = [None, None, False, ["text", "title"]][int(key[1:]) % 4]
                ops.append(PutOp(ns, key, value, index=mode))
        chroma.batch(ops)
        memory.batch(ops)
    for prefix in [(), ("t",), ("t", "a"), ("u",)]:
        for case in [{}, {"limit": 50}, {"offset": 3, "limit": 4}, {"filter": {"kind": "a"}, "limit": 50},
                     {"filter": {"n": {"$gte": 5}}, "offset": 1}, {"query": "refund approval", "limit": 50},
                     {"query": "weekly risk report", "filter": {"kind": "b"}, "offset": 2, "limit": 5}]:
            assert shape(chroma.search(prefix, **case)) == shape(memory.search(prefix, **case)), (prefix, case)
    for ns in spaces:
        for n in range(26):
            a, b = chroma.get(ns, f"k{n}"), memory.get(ns, f"k{n}")
            assert (a and a.value) == (b and b.value)
    listed = [ns for ns in memory.list_namespaces() if memory.search(ns, limit=1)]  # skip emptied namespaces
    assert chroma.list_namespaces() == listed
