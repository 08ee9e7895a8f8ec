"""The long-term memory store the LangGraph server uses (``langgraph.json``: ``"store": {"path": ...}``).

The server's ``/store`` endpoints and every graph's `runtime.store` then read and write the same
`ChromaStore` as the CLI and notebooks: Chroma under ``$TASKWARDEN_HOME/memory`` with the packaged
MiniLM embeddings.
"""

from taskwarden.memory import default_store

store = default_store()
