"""A process-wide fair FIFO lock per model endpoint: one request at a time, first come first served.

A llama.cpp server decodes one request at a time.  Every call through
``LocalChatModel`` takes ``endpoint_lock(key)`` around its HTTP request, so
LangGraph's parallel branches (threads, or async tasks run in executor threads)
queue in arrival order instead of piling onto the server and timing out.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class FairLock:
    """A non-reentrant lock granted strictly in arrival order (a ticket queue)."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._queue: deque[object] = deque()

    def acquire(self, timeout: float | None = None) -> bool:
        """Wait for our turn; False (and our place given up) if ``timeout`` seconds pass first."""
        ticket = object()
        with self._cond:
            self._queue.append(ticket)
            granted = self._cond.wait_for(lambda: self._queue[0] is ticket, timeout)
            if not granted:
                self._queue.remove(ticket)
                self._cond.notify_all()
            return granted

    def release(self) -> None:
        """Hand the lock to the next waiter in line."""
        with self._cond:
            self._queue.popleft()
            self._cond.notify_all()

    @property
    def waiting(self) -> int:
        """How many callers hold or wait for the lock."""
        return len(self._queue)

    @contextmanager
    def hold(self) -> Iterator[None]:
        """``with lock.hold():`` acquire (waiting as long as needed), release on exit."""
        self.acquire()
        try:
            yield
        finally:
            self.release()


_LOCKS: dict[str, FairLock] = {}
_LOCKS_GUARD = threading.Lock()


def endpoint_lock(key: str) -> FairLock:
    """The process-wide ``FairLock`` for one endpoint (a base URL, or ``"local"`` for the managed server)."""
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, FairLock())
