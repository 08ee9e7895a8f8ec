"""`tool_spec` for a kit's methods: the method's docstring plus the kit's own limits, as the model sees them."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from langchain_core.tools import StructuredTool

from taskwarden.tools.registry import Risk, ToolSpec, tool_spec


def kit_spec(fn: Callable[..., Any], *, risk: Risk, scopes: tuple[str, ...], limits: str = "",
             reconcile: Callable[[dict[str, Any]], str | None] | None = None,
             own_timeout_s: float | None = None) -> ToolSpec:
    """Wrap a kit's bound method; `limits` (this instance's allowlist, sizes, timeouts) is appended
    to the docstring so the model knows them before it calls, not only from an error.

    A kit that enforces its own time limit (`own_timeout_s`) gets an engine deadline a little above
    it, so the kit's clear "time limit exceeded" error wins over the engine's uncertain timeout."""
    description = inspect.getdoc(fn) or ""
    if limits:
        description = f"{description}\n\n{limits}"
    tool = StructuredTool.from_function(fn, description=description)
    deadline = {} if own_timeout_s is None else {"timeout_s": max(30.0, own_timeout_s + 10.0)}
    return tool_spec(tool, risk=risk, scopes=scopes, reconcile=reconcile, **deadline)
