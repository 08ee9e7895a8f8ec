"""Resilient tool calls: a deadline per call, and retries of transient errors with backoff and jitter.

What may be retried depends on the tool's risk:

- a `read` tool has no side effects, so a timeout or a connection error (`TimeoutError`,
  `ConnectionError`) is retried, as is a `TransientToolError`;
- a `write` or `irreversible` tool is retried only on `TransientToolError`, which its author raises
  to say "this failed before any effect happened". Any other error may have come after the effect
  (a response lost on the way back), so repeating the call could repeat the effect.

A side-effecting call that runs past its deadline is *uncertain* (it may still be running, or have
committed): the executor leaves it in the ledger as started and escalates; it is never retried.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class TransientToolError(Exception):
    """Raised by a tool when the call failed before any effect and may safely be tried again.

    Wrap the underlying error, e.g. ``raise TransientToolError("rate limited") from exc``.
    """


class ToolTimeout(TimeoutError):
    """A tool call did not finish within its `timeout_s`."""


def is_transient(exc: BaseException, has_side_effects: bool) -> bool:
    """Whether retrying the call that raised `exc` is safe (see the module docstring)."""
    if isinstance(exc, TransientToolError):
        return True
    return not has_side_effects and isinstance(exc, (TimeoutError, ConnectionError))


def backoff_delay(retry: int, base_s: float, max_s: float, rand: Callable[[], float]) -> float:
    """Exponential backoff with full jitter: uniform in ``[0, min(max_s, base_s * 2**retry))``.

    `retry` counts from 0 (the wait before the second attempt); `rand` returns a float in [0, 1).
    """
    return rand() * min(max_s, base_s * 2 ** retry)


def call_with_timeout(fn: Callable[[], T], timeout_s: float | None, *, name: str = "tool") -> T:
    """Run `fn` in a worker thread and wait at most `timeout_s` seconds (None: wait for it).

    At the deadline `ToolTimeout` is raised and the thread is abandoned (Python cannot stop a
    thread): it runs on as a daemon and its result is dropped. The thread sees the caller's
    context variables, so a tool can still read the run's config or emit events.
    """
    if timeout_s is None:
        return fn()
    outcome: dict[str, object] = {}
    finished = threading.Event()
    context = contextvars.copy_context()

    def target() -> None:
        try:
            outcome["result"] = context.run(fn)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread below
            outcome["error"] = exc
        finally:
            finished.set()

    threading.Thread(target=target, name=f"tool:{name}", daemon=True).start()
    if not finished.wait(timeout_s):
        raise ToolTimeout(f"{name} did not finish within {timeout_s:g}s")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["result"]  # type: ignore[return-value]
