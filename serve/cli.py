"""``taskwarden serve``: the LangGraph server (`langgraph dev`, offline) with Taskwarden's store,
checkpointer, webhooks, folder watch and browser UI, and a summary of where everything is.

The server runs as a child process in ``<data dir>/server`` (see `taskwarden.serve.config`); Ctrl-C
(or SIGTERM) stops it gracefully: running runs stop at their last checkpoint, paused ones wait for
the next start.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from taskwarden.cli.errors import UsageError
from taskwarden.paths import HOME_ENV, data_home
from taskwarden.serve.config import served_config
from taskwarden.serve.paths import checkpoint_path, memory_path, server_home, triggers_path
from taskwarden.serve.signatures import secret_for
from taskwarden.serve.watch import watched_folders

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8123
STARTUP_SECONDS = 300
STOP_SECONDS = 30


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``serve`` command to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "serve", help="run the LangGraph server: API, webhooks, folder watch, playground, review queue, dashboard")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"interface to listen on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--config", help="a langgraph.json to serve (default: the checkout's, else one generated "
                                         "for the installed package)")
    parser.set_defaults(func=serve)
    return parser


def port_problem(host: str, port: int) -> str | None:
    """Why the server cannot listen on (host, port), or None. (`langgraph dev` would silently pick another.)"""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            return f"cannot listen on {host}:{port} ({exc.strerror}): choose another port with --port"
    return None


def server_command(config: Path, host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "langgraph_cli", "dev", "--host", host, "--port", str(port), "--no-browser",
            "--no-reload", "--config", str(config)]


TRACING_VARIABLES = ("LANGSMITH_TRACING", "LANGSMITH_TRACING_V2", "LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING")
"""Any of these set (to anything) is the user's choice about LangSmith tracing, and is left as it is."""


def server_env() -> dict[str, str]:
    """The child's environment: the data directory made absolute (the child runs elsewhere), offline defaults.

    LangSmith tracing stays off unless the environment asks for it: the LangGraph server would turn it on
    by itself whenever ``LANGSMITH_API_KEY`` is set, so ``LANGSMITH_TRACING=false`` is added when no
    tracing variable is set (docs/observability.md)."""
    env = {**os.environ, HOME_ENV: str(data_home().resolve())}
    env.setdefault("LANGGRAPH_CLI_NO_ANALYTICS", "1")
    if not any(env.get(name, "").strip() for name in TRACING_VARIABLES):
        env["LANGSMITH_TRACING"] = "false"
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def server_environ(config: dict[str, Any]) -> dict[str, str]:
    """The environment the server sees: ours, overridden by the configuration's ``env`` (a mapping or a .env file)."""
    env = config.get("env")
    if isinstance(env, dict):
        return {**os.environ, **{k: str(v) for k, v in env.items()}}
    if isinstance(env, str) and Path(env).is_file():
        try:
            from dotenv import dotenv_values
        except ImportError:
            return dict(os.environ)
        return {**os.environ, **{k: v for k, v in dotenv_values(env).items() if v is not None}}
    return dict(os.environ)


def summary(url: str, config: dict[str, Any], served: Path, origin: str) -> list[str]:
    """Where everything is, for the terminal."""
    graphs = sorted(config.get("graphs") or {})
    environ = server_environ(config)
    lines = [f"Taskwarden is serving {', '.join(graphs) or 'no graphs'} at {url}",
             f"  API (LangGraph)   {url}    graph ids: {', '.join(graphs)}",
             f"  API docs          {url}/docs"]
    if importlib.util.find_spec("taskwarden.serve.ui") is not None:
        lines += [f"  playground        {url}/playground",
                  f"  review queue      {url}/review",
                  f"  dashboard         {url}/dashboard"]
    for name in graphs:
        signed = "signed (HMAC-SHA256)" if secret_for(name, environ) else "unsigned: set TASKWARDEN_WEBHOOK_SECRET"
        lines.append(f"  webhook           POST {url}/webhooks/{name}    {signed}")
    folders = watched_folders(graphs, environ)
    lines += [f"  folder watch      {folder.path} -> {folder.workflow}" for folder in folders] or [
        "  folder watch      off (set TASKWARDEN_WATCH_<WORKFLOW>=/folder)"]
    lines += [f"  data directory    {data_home()}",
              f"  memory store      {memory_path()} (Chroma)",
              f"  checkpoints       {checkpoint_path()} (SQLite)",
              f"  trigger log       {triggers_path()} (SQLite)",
              f"  configuration     {origin} (served as {served})",
              f"  Agent Chat UI     deployment URL {url}, graph id {graphs[0] if graphs else '-'}",
              "Ctrl-C stops the server (paused runs wait for the next start)."]
    return lines


def wait_until_up(proc: subprocess.Popen, url: str, timeout: float) -> bool:
    """Poll ``/ok`` until the server answers; False if it exited or did not answer in time."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def stop(proc: subprocess.Popen) -> int:
    """Stop the server gracefully (SIGTERM: a second signal would not force it), then for good."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def serve(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("langgraph_cli") is None or importlib.util.find_spec("langgraph_api") is None:
        raise UsageError("the server needs langgraph-cli[inmem]: pip install 'taskwarden[serve]'")
    problem = port_problem(args.host, args.port)
    if problem:
        raise UsageError(problem)
    try:
        served, origin = served_config(args.config)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the server configuration: {exc}") from None
    config = json.loads(served.read_text())
    host = DEFAULT_HOST if args.host in ("0.0.0.0", "::") else args.host
    url = f"http://{f'[{host}]' if ':' in host else host}:{args.port}"
    previous = signal.signal(signal.SIGTERM, _interrupt)
    proc = subprocess.Popen(server_command(served, args.host, args.port), cwd=server_home(), env=server_env())
    try:
        if wait_until_up(proc, url, STARTUP_SECONDS):
            print("\n".join(summary(url, config, served, origin)), flush=True)
        elif proc.poll() is None:
            print(f"taskwarden: the server did not answer at {url}/ok in {STARTUP_SECONDS} s; still waiting",
                  file=sys.stderr, flush=True)
        code = proc.wait()
        if code:
            print(f"taskwarden: the server exited with code {code}", file=sys.stderr)
        return 1 if code else 0
    except KeyboardInterrupt:
        stop(proc)
        print("taskwarden: server stopped", flush=True)
        return 0
    finally:
        stop(proc)
        signal.signal(signal.SIGTERM, previous)
