"""What only `ChromaStore` does: TTL, persistence across clients and processes, the model check, re-embedding."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from memory_helpers import HashEmbeddings

from taskwarden.memory import ChromaStore, EmbeddingMismatchError, default_store, reembed

REPO = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ttl_store(tmp_path):
    store = ChromaStore.from_path(tmp_path / "ttl", index={"dims": 64, "embed": HashEmbeddings(64)},
                                  ttl={"default_ttl": 1, "refresh_on_read": True})
    store.clock = Clock()
    return store


# TTL


def test_expired_items_are_invisible_then_swept(ttl_store):
    ttl_store.put(("n",), "short", {"text": "short lived note"})
    ttl_store.put(("n",), "forever", {"text": "long lived note"}, ttl=None)
    ttl_store.put(("m",), "gone", {"text": "another short note"})
    ttl_store.clock.now += 61
    assert ttl_store.get(("n",), "short") is None
    assert ttl_store.get(("n",), "forever") is not None
    assert [r.key for r in ttl_store.search(("n",))] == ["forever"]
    assert [r.key for r in ttl_store.search((), query="short lived note")] == ["forever"]
    assert ttl_store.list_namespaces() == [("n",)]
    assert ttl_store.count() == 1
    assert ttl_store._items.count() == 3  # still stored...
    assert ttl_store.sweep_ttl() == 2  # ...until a sweep
    assert ttl_store._items.count() == 1


def test_sweep_deletes_expired_items_and_their_vectors(tmp_path):
    store = ChromaStore.from_path(tmp_path / "sweep", index={"dims": 64, "embed": HashEmbeddings(64),
                                                               "fields": ["a", "b"]})
    store.put(("n",), "k", {"a": "first text", "b": "second text"}, ttl=0.005)  # 300 ms
    store.put(("n",), "keep", {"a": "kept"})
    assert store._items.count() == 3  # two records for "k" (one per field), one for "keep"
    import time

    time.sleep(0.4)
    assert store.sweep_ttl() == 1
    assert store._items.count() == 1
    assert store.get(("n",), "keep") is not None


def test_reads_refresh_the_ttl(ttl_store):
    ttl_store.put(("n",), "k", {"text": "note"})
    ttl_store.clock.now += 50
    assert ttl_store.get(("n",), "k") is not None  # refreshes: expires 60 s from now
    ttl_store.clock.now += 50
    assert ttl_store.search(("n",))[0].key == "k"  # refreshes again
    ttl_store.clock.now += 50
    assert ttl_store.get(("n",), "k", refresh_ttl=False) is not None
    ttl_store.clock.now += 15
    assert ttl_store.get(("n",), "k") is None


def test_a_put_restarts_the_ttl_and_can_remove_it(ttl_store):
    ttl_store.put(("n",), "k", {"text": "v1"})
    ttl_store.clock.now += 50
    ttl_store.put(("n",), "k", {"text": "v2"}, ttl=None)
    ttl_store.clock.now += 500
    assert ttl_store.get(("n",), "k").value == {"text": "v2"}


def test_a_batch_starts_a_background_sweep_every_interval(tmp_path):
    import time

    store = ChromaStore.from_path(tmp_path / "bg", ttl={"default_ttl": 1, "sweep_interval_minutes": 1})
    store.clock = Clock(time.time())
    store.put(("n",), "old", {"v": 1})
    store.clock.now += 61
    store.put(("n",), "new", {"v": 2})  # over a minute since the store opened: sweeps in the background
    deadline = time.monotonic() + 10
    while store._items.count() > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store._items.count() == 1 and store.get(("n",), "new") is not None


def test_sweeper_thread_starts_and_stops(ttl_store):
    future = ttl_store.start_ttl_sweeper(sweep_interval_minutes=0.001)
    assert ttl_store.stop_ttl_sweeper(timeout=5)
    assert future.result(timeout=5) is None


# Persistence


def test_memory_survives_a_new_client(tmp_path):
    index = {"dims": 64, "embed": HashEmbeddings(64)}
    first = ChromaStore.from_path(tmp_path / "db", index=index)
    first.put(("episodes", "w"), "e1", {"text": "refund rejected: over limit"})
    first.put(("episodes", "w"), "e2", {"text": "lead routed to SMB"})
    again = ChromaStore.from_path(tmp_path / "db", index=index)
    assert again.get(("episodes", "w"), "e1").value == {"text": "refund rejected: over limit"}
    assert again.search(("episodes",), query="refund over limit", limit=1)[0].key == "e1"
    assert again.list_namespaces() == [("episodes", "w")]


def test_one_process_writes_another_reads(tmp_path):
    home = tmp_path / "home"
    script = textwrap.dedent("""
        import json, sys
        from taskwarden.memory import default_store
        store = default_store()
        if sys.argv[1] == "write":
            store.put(("notes",), "n1", {"text": "Refunds over 100 dollars need a manager"})
            store.put(("notes",), "n2", {"text": "The cafeteria opens at eight"})
        else:
            hits = store.search(("notes",), query="who signs off large refunds?", limit=2)
            print(json.dumps([[h.key, h.score] for h in hits] + [store.get(("notes",), "n2").value]))
    """)
    env = {"TASKWARDEN_HOME": str(home), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    run = [sys.executable, "-c", script]
    subprocess.run([*run, "write"], check=True, env=env, cwd=REPO, timeout=120)
    out = subprocess.run([*run, "read"], check=True, env=env, cwd=REPO, timeout=120, capture_output=True, text=True)
    hits = json.loads(out.stdout.strip().splitlines()[-1])
    assert hits[0][0] == "n1" and hits[0][1] > hits[1][1]
    assert hits[2] == {"text": "The cafeteria opens at eight"}
    assert (home / "memory").is_dir()


def test_default_store_lives_under_data_home(home):
    store = default_store()
    store.put(("x",), "k", {"text": "hello"})
    assert (home / "memory" / "chroma.sqlite3").exists()
    assert store.model == "all-MiniLM-L6-v2-onnx-int8" and store.dims == 384


# The embedding model check and re-embedding


def test_another_model_is_refused_with_a_clear_message(tmp_path, minilm):
    path = tmp_path / "db"
    ChromaStore.from_path(path, index={"dims": 384, "embed": minilm}).put(("n",), "k", {"text": "hello"})
    with pytest.raises(EmbeddingMismatchError) as caught:
        ChromaStore.from_path(path, index={"dims": 384, "embed": HashEmbeddings(384)})
    message = str(caught.value)
    assert "all-MiniLM-L6-v2-onnx-int8 (384 dims)" in message and "hash-bow-test (384 dims)" in message
    assert "taskwarden memory reembed" in message
    with pytest.raises(EmbeddingMismatchError):
        same_name = HashEmbeddings(64, model_id="all-MiniLM-L6-v2-onnx-int8")  # same name, other dims
        ChromaStore.from_path(path, index={"dims": 64, "embed": same_name})


def test_reembed_switches_models_and_keeps_everything(tmp_path, minilm):
    path = tmp_path / "db"
    old = ChromaStore.from_path(path, index={"dims": 384, "embed": minilm, "fields": ["text"]})
    old.put(("a",), "1", {"text": "refund policy for damaged goods", "n": 1})
    old.put(("a",), "2", {"text": "weekly vulnerability report", "n": 2})
    old.put(("b",), "3", {"title": "rotate passwords", "body": "every 90 days"}, index=["title", "body"])
    old.put(("b",), "4", {"text": "not indexed"}, index=False)
    created = old.get(("a",), "1").created_at
    store = ChromaStore.from_path(path)  # no index: opens whatever model the collection has
    assert reembed(store, HashEmbeddings(64), fields=["text"]) == 4
    assert store.model == "hash-bow-test" and store.dims == 64
    assert [r.key for r in store.search(("a",), query="weekly report", limit=1)] == ["2"]
    assert store.search(("b",), query="rotate passwords", limit=1)[0].key == "3"
    assert [r.key for r in store.search(())] == ["1", "2", "3", "4"]
    assert store.get(("a",), "1").created_at == created
    reopened = ChromaStore.from_path(path, index={"dims": 64, "embed": HashEmbeddings(64), "fields": ["text"]})
    assert reopened.search((), query="damaged goods refund", limit=1)[0].key == "1"
    with pytest.raises(EmbeddingMismatchError):
        ChromaStore.from_path(path, index={"dims": 384, "embed": minilm})


def test_a_key_value_memory_needs_reembedding_before_search(tmp_path):
    ChromaStore.from_path(tmp_path / "db").put(("n",), "k", {"text": "stored without an index"})
    with pytest.raises(EmbeddingMismatchError, match="items stored without embeddings"):
        ChromaStore.from_path(tmp_path / "db", index={"dims": 64, "embed": HashEmbeddings(64)})
    assert reembed(ChromaStore.from_path(tmp_path / "db"), HashEmbeddings(64)) == 1
    store = ChromaStore.from_path(tmp_path / "db", index={"dims": 64, "embed": HashEmbeddings(64)})
    assert store.search(("n",), query="stored without an index")[0].score > 0.9


def test_interrupted_reembed_is_finished_on_open(tmp_path):
    index = {"dims": 64, "embed": HashEmbeddings(64)}
    store = ChromaStore.from_path(tmp_path / "db", index=index)
    store.put(("a",), "1", {"text": "hello"})
    staged = store.client.get_collection("taskwarden-items").modify  # simulate: renamed to staging, then crash
    staged(name="taskwarden-items-reembed", metadata={**store._items.metadata, "tw_complete": True})
    again = ChromaStore.from_path(tmp_path / "db", index=index)
    assert again.get(("a",), "1").value == {"text": "hello"}


# Key-value use, odd sizes


def test_store_without_index_is_a_key_value_store(tmp_path):
    store = ChromaStore.from_path(tmp_path / "kv")
    store.put(("n",), "k", {"text": "hello"})
    assert store.get(("n",), "k").value == {"text": "hello"}
    hits = store.search(("n",), query="hello")
    assert [(h.key, h.score) for h in hits] == [("k", None)]
    indexed = ChromaStore.from_path(tmp_path / "empty", index={"dims": 64, "embed": HashEmbeddings(64)})
    assert indexed.model == "hash-bow-test"


def test_emptied_namespaces_are_not_listed(tmp_path):
    store = ChromaStore.from_path(tmp_path / "db")
    store.put(("a",), "k", {"v": 1})
    store.put(("b",), "k", {"v": 1})
    store.delete(("a",), "k")
    assert store.list_namespaces() == [("b",)]
    store.put(("a",), "k2", {"v": 2})
    assert store.list_namespaces() == [("a",), ("b",)]
    assert [r.namespace for r in store.search(())] == [("a",), ("b",)]  # "a" keeps its first-write place


def test_large_batches_are_chunked(tmp_path):
    store = ChromaStore.from_path(tmp_path / "db", index={"dims": 64, "embed": HashEmbeddings(64),
                                                            "fields": ["a", "b"]})
    store._max_batch = store._reader.max_batch = 7
    from langgraph.store.base import PutOp

    store.batch([PutOp(("n",), f"k{i:02d}", {"a": f"alpha {i}", "b": f"beta {i}"}) for i in range(30)])
    assert [r.key for r in store.search(("n",), limit=100)] == [f"k{i:02d}" for i in range(30)]
    store.batch([PutOp(("n",), f"k{i:02d}", {"a": f"alpha {i}"}) for i in range(30)])  # drops the "b" vectors
    assert store._items.count() == 30
    store.batch([PutOp(("n",), f"k{i:02d}", None) for i in range(30)])
    assert store._items.count() == 0


def test_filter_on_long_strings_and_odd_field_names(tmp_path):
    store = ChromaStore.from_path(tmp_path / "db")
    long = "x" * 1000
    store.put(("n",), "1", {"body": long, "we ird.key": "v", "$x": "y"})
    store.put(("n",), "2", {"body": "short", "we ird.key": "w"})
    assert [r.key for r in store.search(("n",), filter={"body": long})] == ["1"]
    assert [r.key for r in store.search(("n",), filter={"we ird.key": "w"})] == ["2"]
    assert [r.key for r in store.search(("n",), filter={"$x": "y"})] == ["1"]


def test_a_probe_that_comes_back_short_is_ranked_exactly(tmp_path):
    """HNSW can lose a record after many updates; a short answer means a small scope, ranked by brute force."""
    store = ChromaStore.from_path(tmp_path / "db", index={"dims": 64, "embed": HashEmbeddings(64)})
    for i in range(20):
        store.put(("n",), f"k{i}", {"text": f"note number {i} about topic {i % 3}"})

    class Lossy:  # answers like an HNSW index that lost the best match
        def __init__(self, collection):
            self.collection = collection

        def query(self, **kwargs):
            got = self.collection.query(**kwargs)
            return {name: [column[0][1:]] if column else column for name, column in got.items()}

        def __getattr__(self, name):
            return getattr(self.collection, name)

    store._reader.items = Lossy(store._items)
    assert store.search(("n",), query="note number 7 about topic 1", limit=1)[0].key == "k7"
