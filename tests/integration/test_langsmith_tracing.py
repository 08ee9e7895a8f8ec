"""LangSmith tracing is opt-in with the standard variables, and off by default.

A capture server on a free loopback port stands in for LangSmith (``LANGSMITH_ENDPOINT``; the API key
is a dummy). Runs happen in child processes so that each sees exactly the environment a user would
set: the refund desk on scripted models (tests/fixtures/traced_run.py), and `taskwarden serve` on the
scripted refund desk (tests/fixtures/server). The runs are parsed from what arrived: multipart
(``POST /runs/multipart``, zstd-compressed or not) or JSON batches (``POST /runs/batch``).
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from langgraph_sdk import get_sync_client
from langgraph_server import ROOT, SERVER_FIXTURES, free_port, langgraph_cli, running_server

from taskwarden.serve import cli as serve_cli

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

TRACED_RUN = ROOT / "tests" / "fixtures" / "traced_run.py"
API_KEY = "lsv2-dummy-capture-key"
PROJECT = "taskwarden-capture"
REQUEST = "Hi, this is alice@example.com. Please refund my standing desk, order P1002: it arrived damaged."
TRACING_VARIABLES = ("LANGSMITH_TRACING", "LANGSMITH_TRACING_V2", "LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING",
                     "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY", "LANGSMITH_ENDPOINT", "LANGCHAIN_ENDPOINT",
                     "LANGSMITH_PROJECT", "LANGCHAIN_PROJECT")


@dataclass
class Capture:
    """What the stand-in LangSmith received: every request, and the runs parsed from the ingest ones."""

    url: str
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    runs: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def names(self) -> set[str]:
        with self.lock:
            return {run["name"] for run in self.runs if run.get("name")}

    def ingest_paths(self) -> list[str]:
        with self.lock:
            return [path for method, path, _ in self.requests if method == "POST" and path.startswith("/runs")]


def parse_runs(path: str, headers: dict[str, str], body: bytes) -> list[dict]:
    """The run records (creates and updates) in one ingest request."""
    if headers.get("content-encoding") == "zstd":
        import zstandard

        body = zstandard.ZstdDecompressor().decompressobj().decompress(body)
    if path.startswith("/runs/multipart"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + headers["content-type"].encode() + b"\r\n\r\n" + body)
        runs: dict[tuple[str, str], dict] = {}
        for part in message.iter_parts():
            # post.<id> is the run itself; post.<id>.inputs / .outputs / .extra / .events its larger fields
            kind, _, rest = (part.get_param("name", header="content-disposition") or "").partition(".")
            run_id, _, extra_field = rest.partition(".")
            if kind in ("post", "patch") and part.get_content_type() == "application/json":
                value = json.loads(part.get_payload(decode=True))
                run = runs.setdefault((kind, run_id), {})
                run.update({extra_field: value} if extra_field else value)
        return list(runs.values())
    if path.startswith("/runs/batch"):
        batch = json.loads(body)
        return [*batch.get("post", []), *batch.get("patch", [])]
    if path == "/runs" and body:
        return [json.loads(body)]
    return []


@contextlib.contextmanager
def capture_server() -> Iterator[Capture]:
    capture = Capture(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self, status: int, payload: object) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            with capture.lock:
                capture.requests.append(("GET", self.path, {k.lower(): v for k, v in self.headers.items()}))
            if self.path.startswith("/info"):
                self._answer(200, {"version": "0.0.0-capture", "batch_ingest_config": {}})
            else:
                self._answer(200, [])

        def do_POST(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            body = self.rfile.read(int(headers.get("content-length") or 0))
            runs = parse_runs(self.path, headers, body)
            with capture.lock:
                capture.requests.append(("POST", self.path, headers))
                capture.runs += runs
            self._answer(202, {})

        do_PATCH = do_POST

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    capture.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield capture
    finally:
        server.shutdown()
        server.server_close()


def clean_env(home: Path, **variables: str) -> dict[str, str]:
    """This process's environment without any LangSmith/LangChain tracing variable, plus `variables`."""
    env = {k: v for k, v in os.environ.items() if k not in TRACING_VARIABLES}
    return {**env, "TASKWARDEN_HOME": str(home), "PYTHONUNBUFFERED": "1", "LANGGRAPH_CLI_NO_ANALYTICS": "1",
            **variables}


def traced_run(home: Path, env: dict[str, str]) -> dict:
    done = subprocess.run([sys.executable, str(TRACED_RUN), str(home)], env=env, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting after {timeout:.0f} s")
        time.sleep(0.5)


def test_with_the_standard_variables_a_run_is_traced_to_the_endpoint(tmp_path):
    with capture_server() as capture:
        env = clean_env(tmp_path, LANGSMITH_TRACING="true", LANGSMITH_API_KEY=API_KEY,
                        LANGSMITH_ENDPOINT=capture.url, LANGSMITH_PROJECT=PROJECT)
        result = traced_run(tmp_path, env)
    assert result == {"status": "completed", "tracing": True}
    assert capture.ingest_paths(), f"no runs were sent: {capture.requests}"
    assert all(headers.get("x-api-key") == API_KEY for method, _, headers in capture.requests if method == "POST")
    names = capture.names()
    assert "refunds" in names, names  # the graph, named after its workflow
    assert {"intake", "recall", "orchestrate", "work", "evaluate", "finalize", "remember"} <= names, names  # nodes
    assert {"lookup_customer", "check_refund_policy", "issue_refund"} <= names, names  # tool calls
    assert "ScriptedChatModel" in names, names  # model calls
    roots = [run for run in capture.runs if run.get("name") == "refunds" and not run.get("parent_run_id")]
    assert roots and {run.get("session_name") for run in roots} == {PROJECT}
    assert "traced" in {((run.get("extra") or {}).get("metadata") or {}).get("thread_id") for run in roots}


def test_without_langsmith_tracing_nothing_is_sent_even_with_a_key(tmp_path):
    """An API key and an endpoint in the environment do not turn tracing on: LANGSMITH_TRACING does."""
    with capture_server() as capture:
        env = clean_env(tmp_path, LANGSMITH_API_KEY=API_KEY, LANGSMITH_ENDPOINT=capture.url)
        result = traced_run(tmp_path, env)
        time.sleep(1)
    assert result == {"status": "completed", "tracing": False}
    assert capture.requests == []


def test_server_env_leaves_tracing_off_unless_the_user_sets_a_tracing_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("TASKWARDEN_HOME", str(tmp_path))
    for name in TRACING_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANGSMITH_API_KEY", API_KEY)
    assert serve_cli.server_env()["LANGSMITH_TRACING"] == "false"
    monkeypatch.setenv("LANGSMITH_TRACING", "true")
    assert serve_cli.server_env()["LANGSMITH_TRACING"] == "true"
    monkeypatch.delenv("LANGSMITH_TRACING")
    monkeypatch.setenv("LANGCHAIN_TRACING_V2", "true")  # the older name is a choice too
    env = serve_cli.server_env()
    assert "LANGSMITH_TRACING" not in env and env["LANGCHAIN_TRACING_V2"] == "true"


def served_run(url: str) -> dict:
    client = get_sync_client(url=url)
    thread_id = client.threads.create()["thread_id"]
    client.runs.wait(thread_id, "refunds", input={"messages": [{"role": "user", "content": REQUEST}]})
    return client.runs.wait(thread_id, "refunds", command={"resume": {"decisions": [{"type": "approve"}]}})


@contextlib.contextmanager
def taskwarden_serve(home: Path, env: dict[str, str]) -> Iterator[str]:
    """`taskwarden serve` on the scripted refund desk with exactly `env` (no test defaults added)."""
    langgraph_cli()  # skips when the server is not installed
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "taskwarden.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--config", str(SERVER_FIXTURES / "langgraph.json")]
    with running_server(command, cwd=home, env=env, url=url, log_path=home / "serve.log"):
        yield url


@pytest.mark.parametrize("tracing", [None, "true"], ids=["key-only", "tracing-true"])
def test_taskwarden_serve_traces_only_when_asked(tmp_path, tracing):
    """With a key in the environment the LangGraph server would trace on its own; `taskwarden serve` keeps
    it off unless LANGSMITH_TRACING says otherwise, and then the served runs arrive at the endpoint."""
    with capture_server() as capture:
        variables = {"LANGSMITH_API_KEY": API_KEY, "LANGSMITH_ENDPOINT": capture.url, "LANGSMITH_PROJECT": PROJECT}
        env = clean_env(tmp_path, **variables, **({"LANGSMITH_TRACING": tracing} if tracing else {}))
        with taskwarden_serve(tmp_path, env) as url:
            assert served_run(url)["status"] == "completed"
            if tracing:
                wait_for(lambda: "refunds" in capture.names() and "issue_refund" in capture.names())
            else:
                time.sleep(3)  # the tracer sends in the background, within about a second
        if tracing:
            assert capture.ingest_paths()
        else:
            assert capture.ingest_paths() == [], capture.requests
