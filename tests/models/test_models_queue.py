"""The fair FIFO endpoint lock."""

from __future__ import annotations

import threading
import time

from taskwarden.models.queue import FairLock, endpoint_lock


def test_waiters_are_served_in_arrival_order():
    lock, served = FairLock(), []
    lock.acquire()

    def worker(i):
        with lock.hold():
            served.append(i)

    threads = []
    for i in range(5):
        t = threading.Thread(target=worker, args=(i,))
        t.start()
        threads.append(t)
        while lock.waiting < i + 2:  # wait until this thread is queued before starting the next
            time.sleep(0.001)
    lock.release()
    for t in threads:
        t.join()
    assert served == [0, 1, 2, 3, 4]


def test_timed_out_waiter_gives_up_its_place():
    lock = FairLock()
    lock.acquire()
    assert lock.acquire(timeout=0.01) is False
    assert lock.waiting == 1
    lock.release()
    assert lock.acquire(timeout=0.01) is True


def test_one_lock_per_endpoint():
    assert endpoint_lock("http://a/v1") is endpoint_lock("http://a/v1")
    assert endpoint_lock("http://a/v1") is not endpoint_lock("http://b/v1")
