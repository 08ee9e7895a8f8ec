"""``taskwarden model status|start|stop``: manage the embedded model server from the command line."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from taskwarden.models.errors import ModelServerError, ModelUnavailableError


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``model`` command (with ``status``, ``start``, ``stop``) to an argparse subparsers object."""
    parser = subparsers.add_parser("model", help="manage the embedded local model server")
    actions = parser.add_subparsers(dest="model_action", metavar="{status,start,stop}", required=True)
    actions.add_parser("status", help="show whether the server runs, where, and on which weights").set_defaults(
        func=status
    )
    actions.add_parser("start", help="verify the weights and start (or reuse) the server").set_defaults(func=start)
    actions.add_parser("stop", help="stop the server").set_defaults(func=stop)
    return parser


def status(args: argparse.Namespace) -> int:
    """Print one line describing the server; exit 0 whether or not it runs."""
    from taskwarden.models.server import server_status

    info = server_status()
    if not info["running"]:
        print(f"model server: not running (log: {info['log']})")
        return 0
    verified = {True: "yes", False: "NO", None: "n/a (override)"}[info["verified"]]
    health = "healthy" if info["healthy"] else "NOT responding"
    print(
        f"model server: running, {health}, pid {info['pid']}, port {info['port']}, "
        f"model {info['model_path']}, verified {verified}"
    )
    return 0


def start(args: argparse.Namespace) -> int:
    """Start or reuse the server; print its URL."""
    from taskwarden.models.server import ensure_server, read_state

    return _guarded(lambda: print(f"model server: ready at {ensure_server()} (pid {(read_state() or {}).get('pid')})"))


def stop(args: argparse.Namespace) -> int:
    """Stop the server if one runs."""
    from taskwarden.models.server import stop_server

    return _guarded(lambda: print("model server: stopped" if stop_server() else "model server: was not running"))


def _guarded(action: Any) -> int:
    try:
        action()
    except (ModelServerError, ModelUnavailableError, OSError) as exc:
        from taskwarden.models.server import log_path

        first_line = str(exc).splitlines()[0].rstrip(":; ") if str(exc) else type(exc).__name__
        hint = f" (server log: {log_path()})" if isinstance(exc, ModelServerError) else ""
        print(f"error: {first_line}{hint}", file=sys.stderr)
        return 2
    return 0
