"""Long-term memory: a LangGraph store on Chroma with offline MiniLM embeddings, episodes and knowledge.

    from taskwarden.memory import default_store
    store = default_store()            # Chroma under data_home()/memory, MiniLM embeddings
    store.put(("notes",), "n1", {"text": "refunds over $100 need a human"})
    store.search(("notes",), query="large refund approval")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from taskwarden.memory.embeddings import (
    EmbeddingsUnavailable,
    MiniLMEmbeddings,
    embedding_identity,
    embeddings_from_spec,
)
from taskwarden.memory.reembed import reembed
from taskwarden.memory.store import ChromaStore, EmbeddingMismatchError, default_index


def default_store(path: str | Path | None = None, *, embed: str | Any = "minilm", ttl: Any = None) -> ChromaStore:
    """The embedded store: Chroma under ``data_home()/memory`` (or `path`), `embed` (MiniLM) over whole values."""
    return ChromaStore.from_path(path, index=default_index(embed), ttl=ttl)


__all__ = ["ChromaStore", "EmbeddingMismatchError", "EmbeddingsUnavailable", "MiniLMEmbeddings", "default_index",
           "default_store", "embedding_identity", "embeddings_from_spec", "reembed"]
