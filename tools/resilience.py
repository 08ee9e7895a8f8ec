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
import os
import queue
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
    context variables, so a tool can still read the run's config or emit events. Worker threads
    are reused (`_Workers`): starting one costs more than a typical tool call.
    """
    if timeout_s is None:
        return fn()
    call = _Call(fn, contextvars.copy_context(), name)
    _workers.submit(call)
    if not call.done.acquire(timeout=timeout_s):
        raise ToolTimeout(f"{name} did not finish within {timeout_s:g}s")
    if call.error is not None:
        raise call.error
    return call.result  # type: ignore[return-value]


class _Call:
    """One call for a worker thread; `done` is held until it has finished."""

    __slots__ = ("fn", "context", "name", "done", "result", "error")

    def __init__(self, fn: Callable[[], object], context: contextvars.Context, name: str) -> None:
        self.fn, self.context, self.name = fn, context, name
        self.done = threading.Lock()
        self.done.acquire()
        self.result: object = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.context.run(self.fn)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            self.error = exc
        finally:
            self.fn = self.context = None  # type: ignore[assignment]  # drop references while parked
            self.done.release()


class _Workers:
    """Daemon threads for `call_with_timeout`, reused between calls.

    A call goes to an idle worker if there is one, else to a new thread, so a worker still busy
    with an abandoned (timed-out) call never delays another. At most `max_idle` workers wait for
    work, each for at most `idle_s` seconds before it exits.
    """

    def __init__(self, max_idle: int = 8, idle_s: float = 60.0) -> None:
        self.max_idle, self.idle_s = max_idle, idle_s
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._calls: queue.SimpleQueue[_Call] = queue.SimpleQueue()
        self._idle = 0
        """Workers waiting on `_calls` less the calls queued there (both changed under `_lock`)."""

    def submit(self, call: _Call) -> None:
        with self._lock:
            if self._idle > 0:
                self._idle -= 1
                self._calls.put(call)
                return
        threading.Thread(target=self._work, args=(call,), name=f"tool:{call.name}", daemon=True).start()

    def _work(self, call: _Call) -> None:
        thread = threading.current_thread()
        while True:
            thread.name = f"tool:{call.name}"
            call.run()
            del call  # its result belongs to the caller: not kept alive while this worker waits
            with self._lock:
                if self._idle >= self.max_idle:
                    return
                self._idle += 1
            while True:
                try:
                    call = self._calls.get(timeout=self.idle_s)
                    break
                except queue.Empty:
                    with self._lock:
                        if self._idle > 0:  # no queued call is waiting for this worker: leave
                            self._idle -= 1
                            return


_workers = _Workers()
if hasattr(os, "register_at_fork"):  # a forked child has none of the parent's threads
    os.register_at_fork(after_in_child=_workers._reset)
