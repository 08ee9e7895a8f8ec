"""Where Taskwarden keeps its data: checkpoints, ledgers, seeded demo databases, model cache."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "TASKWARDEN_HOME"


def data_home() -> Path:
    """The data directory: ``$TASKWARDEN_HOME`` if set, else ``~/.taskwarden``; created on first use."""
    raw = os.environ.get(HOME_ENV)
    home = Path(raw).expanduser() if raw else Path.home() / ".taskwarden"
    home.mkdir(parents=True, exist_ok=True)
    return home
