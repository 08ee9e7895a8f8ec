"""The LangGraph server's store is our ChromaStore (langgraph.json `store.path`): `/store` endpoints use it."""

from __future__ import annotations

import pytest
from langgraph_sdk import get_sync_client
from langgraph_server import langgraph_dev

from taskwarden.memory import default_store

pytestmark = pytest.mark.integration


def test_server_store_endpoints_read_and_write_the_chroma_memory(tmp_path):
    home = tmp_path / "home"
    with langgraph_dev(home) as url:
        client = get_sync_client(url=url)
        client.store.put_item(["notes"], "n1", {"text": "Refunds over $100 need a human's approval."})
        client.store.put_item(["notes"], "n2", {"text": "The cafeteria serves lunch at noon."})
        found = client.store.search_items(["notes"], query="large refund approval", limit=2)["items"]
        assert [item["key"] for item in found] == ["n1", "n2"], "semantic ranking by the MiniLM embeddings"
        assert found[0]["score"] > found[1]["score"]
        assert client.store.list_namespaces(prefix=["notes"])["namespaces"] == [["notes"]]

    # after the server stopped, the same items are in Chroma under the data directory
    store = default_store(home / "memory")
    try:
        item = store.get(("notes",), "n1")
        assert item is not None and item.value["text"].startswith("Refunds over $100")
    finally:
        store.close()
