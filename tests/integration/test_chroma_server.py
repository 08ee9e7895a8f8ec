"""`ChromaStore.from_http` against a real Chroma server (``chroma run``) on a free loopback port."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from langgraph.store.memory import InMemoryStore

from taskwarden.memory import ChromaStore, EmbeddingMismatchError, MiniLMEmbeddings, reembed

pytestmark = pytest.mark.integration

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "memory"))
from memory_helpers import CORPUS, HashEmbeddings  # noqa: E402 - after the sys.path insertion above


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def chroma_cli() -> str:
    found = Path(sys.executable).with_name("chroma")
    return str(found) if found.exists() else (shutil.which("chroma") or pytest.skip("the chroma CLI is not installed"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A Chroma server on a free port, its data in a temporary folder; stopped at the end, pass or fail."""
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    log = open(data / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([chroma_cli(), "run", "--host", "127.0.0.1", "--port", str(port), "--path",
                             str(data / "db")], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"chroma server exited: {(data / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("chroma server did not answer its heartbeat within 60 s")
            time.sleep(0.2)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def minilm():
    return MiniLMEmbeddings()


def test_conformance_subset_over_http(server, minilm):
    host, port = server
    index = {"dims": 384, "embed": minilm, "fields": ["text"]}
    remote, local = ChromaStore.from_http(host, port, index=index, name="conformance"), InMemoryStore(index=index)
    for store in (remote, local):
        for namespace, key, value, idx in CORPUS:
            store.put(namespace, key, value, index=idx)

    def shape(results):
        return [(r.namespace, r.key, r.value, None if r.score is None else round(r.score, 3)) for r in results]

    for prefix in [("docs",), ()]:
        for case in [{}, {"offset": 2, "limit": 3}, {"filter": {"status": "active"}}, {"filter": {"n": {"$gt": 4}}},
                     {"query": "who approves big refunds"}, {"query": "password", "limit": 20}]:
            assert shape(remote.search(prefix, **case)) == shape(local.search(prefix, **case)), (prefix, case)
    assert remote.list_namespaces() == local.list_namespaces()
    assert remote.list_namespaces(prefix=("docs",), max_depth=2) == local.list_namespaces(prefix=("docs",), max_depth=2)
    assert remote.get(("docs", "a"), "1").value == local.get(("docs", "a"), "1").value
    remote.delete(("docs", "a"), "1")
    assert remote.get(("docs", "a"), "1") is None
    assert remote.search(("docs",), query="who approves big refunds", limit=1)[0].key != "1"


def test_a_second_client_sees_the_data_and_the_model_check_holds(server, minilm):
    host, port = server
    index = {"dims": 384, "embed": minilm}
    writer = ChromaStore.from_http(host, port, index=index, name="shared")
    writer.put(("episodes", "w"), "e1", {"text": "refund rejected: needs a photo of the damage"})
    reader = ChromaStore.from_http(host, port, index=index, name="shared")
    assert reader.search(("episodes",), query="damaged item refund", limit=1)[0].key == "e1"
    with pytest.raises(EmbeddingMismatchError):
        ChromaStore.from_http(host, port, index={"dims": 64, "embed": HashEmbeddings(64)}, name="shared")
    assert reembed(ChromaStore.from_http(host, port, name="shared"), HashEmbeddings(64)) == 1
    moved = ChromaStore.from_http(host, port, index={"dims": 64, "embed": HashEmbeddings(64)}, name="shared")
    assert moved.get(("episodes", "w"), "e1") is not None
