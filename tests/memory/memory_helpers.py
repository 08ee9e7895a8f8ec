"""Test helpers for the memory suite: a cheap deterministic embedding model and the shared corpus."""

from __future__ import annotations

import hashlib
import math
import random
import re

from langchain_core.embeddings import Embeddings


class HashEmbeddings(Embeddings):
    """Bag-of-words hashed into `dims` buckets plus a little per-text noise (so scores rarely tie),
    L2-normalised: deterministic, instant, texts sharing words are similar."""

    def __init__(self, dims: int = 384, model_id: str = "hash-bow-test") -> None:
        self.dims = dims
        self.model_id = model_id

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        vector = [0.0] * self.dims
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dims] += 1.0
        noise = random.Random(hashlib.md5(text.encode()).hexdigest())
        vector = [v + noise.uniform(-0.05, 0.05) for v in vector]
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]


# (namespace, key, value, index) in write order; the conformance suite loads it into every store.
CORPUS = [
    (("docs", "a"), "1", {"text": "Refunds over 100 dollars need a manager's approval before payout",
                          "status": "active", "n": 3, "meta": {"lang": "en"}, "tags": ["refund", "policy"]}, None),
    (("docs", "a"), "2", {"text": "The weekly vulnerability report lists critical CVEs in our servers",
                          "status": "draft", "n": 5}, None),
    (("docs", "b"), "3", {"text": "Route new sales leads by company size: SMB, mid-market or enterprise",
                          "status": "active", "n": 7, "meta": {"lang": "de"}}, None),
    (("docs", "b", "c"), "4", {"text": "Invoices must match a purchase order before they are paid",
                               "status": "archived", "n": 1.5}, None),
    (("other",), "5", {"text": "Lunch menu for Friday: pasta, salad and fruit", "status": "active", "n": 10}, None),
    (("docs", "a"), "6", {"title": "an item without the indexed field", "status": "active", "n": 2}, None),
    (("docs", "b"), "7", {"text": "A customer asked for a refund of a damaged blender", "status": "draft", "n": 4},
     False),
    (("docs", "c"), "8", {"title": "Password rotation", "body": "Rotate service account passwords every 90 days",
                          "status": "active", "n": 6}, ["title", "body"]),
    (("docs", "c"), "9", {"text": "Quarterly budget review for the marketing team", "status": "active",
                          "n": 8, "items": [{"text": "travel"}, {"text": "conference tickets for the sales team"}]},
     ["text", "items[*].text"]),
]
