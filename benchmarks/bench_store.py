"""`ChromaStore` next to raw chromadb and LangGraph's `InMemoryStore`, on the same data, in the same run.

Throughput and latency compare *store overhead*, so every side gets the same precomputed vectors: a
deterministic synthetic corpus (seeded), one random unit vector per item and, for queries, a noisy copy
of an item's vector; the "embedding model" is a dictionary lookup. Raw chromadb upserts the same ids,
vectors, JSON documents and a small metadata dict, in the same batch size, interleaved batch by batch
with the store (so background load hits both alike), and queries with the same vectors, alternating.
Real MiniLM throughput (texts/s) is measured separately, on realistic sentences.

    .venv/bin/python benchmarks/bench_store.py [--quick] [--queries 200] [--batch 1000]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings
from langgraph.store.base import PutOp
from langgraph.store.memory import InMemoryStore

from taskwarden.memory import ChromaStore, MiniLMEmbeddings
from taskwarden.memory.embeddings import cpu_count

DIMS = 384
NAMESPACE = ("bench", "tickets")
WORDS = ("refund", "order", "invoice", "customer", "payment", "delivery", "damaged", "late", "broken",
         "replacement", "approval", "manager", "policy", "weekly", "report", "lead", "company", "vendor",
         "purchase", "shipping", "address", "email", "reply", "discount")
STATUSES = ("open", "closed", "pending", "escalated")


class Lookup(Embeddings):
    """Precomputed vectors by text: the same "model" for every side, costing (almost) nothing."""

    model_id = "bench-lookup"
    dims = DIMS

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = table

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.table[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.table[text]


def corpus(n: int, queries: int, seed: int = 0) -> tuple[list[dict], np.ndarray, list[str], np.ndarray]:
    rng, pick = np.random.default_rng(seed), random.Random(seed)
    values = [{"text": f"#{i} " + " ".join(pick.choices(WORDS, k=12)), "status": STATUSES[i % 4], "n": i}
              for i in range(n)]
    vectors = rng.standard_normal((n, DIMS)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    targets = rng.integers(0, n, queries)
    qvecs = vectors[targets] + 0.05 * rng.standard_normal((queries, DIMS)).astype(np.float32)
    qvecs /= np.linalg.norm(qvecs, axis=1, keepdims=True)
    return values, vectors, [f"query {q} (item {t})" for q, t in enumerate(targets)], qvecs


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000


def bench_size(n: int, queries: int, batch: int, root: Path) -> list[tuple]:
    import chromadb
    from chromadb.config import Settings

    values, vectors, qtexts, qvecs = corpus(n, queries)
    table = {v["text"]: vectors[i].tolist() for i, v in enumerate(values)}
    table.update({t: qvecs[i].tolist() for i, t in enumerate(qtexts)})
    index = {"dims": DIMS, "embed": Lookup(table), "fields": ["text"]}
    store = ChromaStore.from_path(root / f"store-{n}", index=index, name="bench")
    raw = chromadb.PersistentClient(path=str(root / f"raw-{n}"), settings=Settings(anonymized_telemetry=False))
    col = raw.create_collection("raw-bench", configuration={"hnsw": {"space": "cosine"}}, embedding_function=None)
    memory = InMemoryStore(index=index)

    t_store = t_raw = t_mem = 0.0
    for start in range(0, n, batch):
        chunk = range(start, min(n, start + batch))
        ops = [PutOp(NAMESPACE, f"k{i}", values[i]) for i in chunk]
        t0 = time.perf_counter()
        col.upsert(ids=[f"k{i}" for i in chunk], embeddings=vectors[start : chunk.stop],
                   metadatas=[{"ns": "bench.tickets", "status": values[i]["status"]} for i in chunk],
                   documents=[json.dumps(values[i]) for i in chunk])
        t1 = time.perf_counter()
        store.batch(ops)
        t2 = time.perf_counter()
        memory.batch(ops)
        t_raw, t_store, t_mem = t_raw + t1 - t0, t_store + t2 - t1, t_mem + time.perf_counter() - t2

    lat: dict[str, list[float]] = {k: [] for k in ("raw", "store", "raw_f", "store_f", "mem")}
    full = ["documents", "metadatas", "distances"]
    for q, text in enumerate(qtexts):
        vec = qvecs[q]
        pairs = [("raw", lambda v=vec: col.query(query_embeddings=[v], n_results=10, include=full)),
                 ("store", lambda t=text: store.search(NAMESPACE, query=t, limit=10)),
                 ("raw_f", lambda v=vec: col.query(query_embeddings=[v], n_results=10, where={"status": "open"},
                                                   include=full)),
                 ("store_f", lambda t=text: store.search(NAMESPACE, query=t, filter={"status": "open"}, limit=10))]
        for name, call in (pairs if q % 2 == 0 else [pairs[1], pairs[0], pairs[3], pairs[2]]):
            t0 = time.perf_counter()
            call()
            lat[name].append(time.perf_counter() - t0)
    mem_queries = qtexts[: max(5, queries // (20 if n > 20_000 else 4))]
    for text in mem_queries:
        t0 = time.perf_counter()
        memory.search(NAMESPACE, query=text, limit=10)
        lat["mem"].append(time.perf_counter() - t0)
    sources = [int(t.split("item ")[1][:-1]) for t in qtexts[:50]]
    hit = sum(store.search(NAMESPACE, query=t, limit=1)[0].value["n"] == i for t, i in zip(qtexts, sources))
    raw_hit = sum(col.query(query_embeddings=[qvecs[q]], n_results=1, include=[])["ids"][0][0] == f"k{i}"
                  for q, i in enumerate(sources))

    rows = [(n, "put items/s", n / t_raw, n / t_store, n / t_mem, t_store / t_raw)]
    for label, a, b in (("search p50 ms", "raw", "store"), ("search p99 ms", "raw", "store"),
                        ("filtered p50 ms", "raw_f", "store_f"), ("filtered p99 ms", "raw_f", "store_f")):
        which = 0 if "p50" in label else 1
        ra, sb = percentiles(lat[a])[which], percentiles(lat[b])[which]
        mem = percentiles(lat["mem"])[which] if label.startswith("search") else float("nan")
        rows.append((n, label, ra, sb, mem, sb / ra))
    print(f"  [{n}] the query's source item comes first in {hit}/50 store and {raw_hit}/50 raw searches "
          "(HNSW is approximate); "
          f"InMemoryStore timed on {len(mem_queries)} queries", flush=True)
    return rows


MINILM_SAMPLES = {"4-12 words (goals, lessons)": (4, 12), "8-40 words (sentences, short chunks)": (8, 40)}


def bench_minilm(words: tuple[int, int], texts: int = 1000) -> tuple[float, float]:
    """MiniLM texts/s (wall clock, and per CPU-second of this process) on texts of `words` words."""
    pick = random.Random(1)
    sample = [" ".join(pick.choices(WORDS, k=pick.randint(*words))) for _ in range(texts)]
    model = MiniLMEmbeddings()
    model.embed_documents(sample[:32])  # load the session
    wall, cpu = time.perf_counter(), time.process_time()
    model.embed_documents(sample)
    return texts / (time.perf_counter() - wall), texts / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k items only")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--skip-minilm", action="store_true")
    parser.add_argument("--minilm-only", action="store_true", help="only measure MiniLM throughput")
    args = parser.parse_args()
    sizes = [] if args.minilm_only else [10_000] if args.quick else [10_000, 100_000]
    print(f"cores: {cpu_count()} (of {os.cpu_count()}), batch {args.batch}, {args.queries} queries, dims {DIMS}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        for n in sizes:
            rows += bench_size(n, args.queries, args.batch, Path(tmp))
    if rows:
        print_table(rows)
    if not args.skip_minilm:
        print(f"\nMiniLM (int8 ONNX, {cpu_count()} threads):")
        for label, words in MINILM_SAMPLES.items():
            (rate, per_cpu), load = bench_minilm(words), os.getloadavg()[0]
            print(f"  {label}: {rate:,.0f} texts/s, {per_cpu:,.0f} per CPU-second (load average {load:.1f})")


def print_table(rows: list[tuple]) -> None:
    print("\n| items | metric | raw chromadb | ChromaStore | InMemoryStore | store / raw (time) |")
    print("|---:|---|---:|---:|---:|---:|")
    for n, label, raw, store, mem, ratio in rows:
        mem_text = "-" if math.isnan(mem) else f"{mem:,.1f}"
        print(f"| {n:,} | {label} | {raw:,.1f} | {store:,.1f} | {mem_text} | {ratio:.2f} |")
    print("\nstore / raw is a time ratio (lower is better); for puts, store seconds / raw seconds.")


if __name__ == "__main__":
    main()
