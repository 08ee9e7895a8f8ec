"""The ``langgraph.json`` that `taskwarden serve` runs.

From a checkout it is the repository's own ``langgraph.json``; from a regular install (no checkout)
one is generated that points at the installed package's files. Either way `taskwarden serve` writes
the configuration it runs to ``<data dir>/server/langgraph.json`` with every relative path made
absolute, and starts `langgraph dev` in that folder: `langgraph dev` keeps its own records
(``.langgraph_api/``: threads, runs, crons) in its working directory, so they stay next to the
checkpoints they describe instead of in whatever directory the command was typed in.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from taskwarden.serve.paths import server_home
from taskwarden.workflows import SHIPPED

CHECKOUT_ROOT = Path(__file__).resolve().parents[1]
"""The repository root when this module runs from a checkout (``serve/`` sits at the top level)."""


def repository_config() -> Path | None:
    """The checkout's ``langgraph.json``, or None when Taskwarden runs from a regular install."""
    candidate = CHECKOUT_ROOT / "langgraph.json"
    return candidate if candidate.is_file() and (CHECKOUT_ROOT / "pyproject.toml").is_file() else None


def _module_file(module: str) -> str:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        raise RuntimeError(f"cannot find the installed module {module}")
    return spec.origin


def packaged_config() -> dict[str, Any]:
    """A configuration on the installed package: every shipped workflow, the Chroma store, the SQLite
    checkpointer and the HTTP app. Graphs and the app load as modules; the store and checkpointer as
    files (langgraph-api reads ``a.b:c`` there as module ``a`` and attribute ``b:c``)."""
    return {
        "dependencies": [str(Path(_module_file("taskwarden")).parent.parent)],  # where the package is installed
        "graphs": {name: f"taskwarden.graph.graphs:{name}" for name in SHIPPED},
        "store": {"path": f"{_module_file('taskwarden.memory.served')}:store"},
        "checkpointer": {"path": f"{_module_file('taskwarden.serve.checkpointer')}:checkpointer"},
        "http": {"app": "taskwarden.serve.app:app"},
    }


def _absolute(ref: str, base: Path) -> str:
    """``./x.py:attr`` (or ``./x.py``) relative to `base` made absolute; other references unchanged."""
    path, sep, attr = ref.rpartition(":") if ":" in ref else (ref, "", "")
    if path.startswith(("./", "../")) or path in (".", ".."):
        return f"{(base / path).resolve()}{sep}{attr}"
    return ref


def absolutize(config: dict[str, Any], base: Path) -> dict[str, Any]:
    """A copy of `config` whose relative paths (graphs, store, checkpointer, http app, auth, env,
    dependencies) are absolute, resolved against `base` (the directory of the file it came from)."""
    out = json.loads(json.dumps(config))
    out["dependencies"] = [_absolute(dep, base) for dep in out.get("dependencies", [])]
    for graph_id, spec in (out.get("graphs") or {}).items():
        if isinstance(spec, dict):
            spec["path"] = _absolute(spec["path"], base)
        else:
            out["graphs"][graph_id] = _absolute(spec, base)
    for section, key in (("store", "path"), ("checkpointer", "path"), ("http", "app"), ("auth", "path")):
        if isinstance(out.get(section), dict) and isinstance(out[section].get(key), str):
            out[section][key] = _absolute(out[section][key], base)
    if isinstance(out.get("env"), str):
        out["env"] = str((base / out["env"]).resolve())
    return out


def served_config(source: str | Path | None = None) -> tuple[Path, str]:
    """Write the configuration to serve to ``<data dir>/server/langgraph.json``.

    `source` is a ``langgraph.json`` to serve; without one, the checkout's or else the generated one.
    Returns the written file and a description of where the configuration came from.
    """
    if source is not None:
        path = Path(source).expanduser().resolve()
        config, origin = absolutize(json.loads(path.read_text()), path.parent), str(path)
    elif (path := repository_config()) is not None:
        config, origin = absolutize(json.loads(path.read_text()), path.parent), str(path)
    else:
        config, origin = packaged_config(), "generated for the installed package"
    target = server_home() / "langgraph.json"
    target.write_text(json.dumps(config, indent=2) + "\n")
    return target, origin
