"""Small thread pools for work that must not hold up a request or a webhook answer.

Each pool counts what it has queued or running, so that tests can wait until
it is idle; a stopping server does not wait for them. A job's exception is logged,
never raised; each job gives its database connection back when it ends.
"""

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from django.db import connections

logger = logging.getLogger(__name__)

_pools: list["BackgroundPool"] = []


class BackgroundPool:
    """Up to `max_workers` daemon threads taking jobs in order.

    Daemon threads, unlike concurrent.futures' workers, never hold up the
    exit of a stopping server: a job cut off there is one a crash would cut
    off too, and each job's state is in the database (a reply still
    `sending` is shown as timed out with Retry, a stale profile is fetched
    again, a copy not kept is kept on the next event).
    """

    def __init__(self, name: str, max_workers: int) -> None:
        self.name = name
        self.max_workers = max_workers
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._waiting_threads = 0
        self._idle = threading.Condition()
        self._outstanding = 0
        self._resumed = threading.Event()
        self._resumed.set()
        _pools.append(self)

    def submit(self, job: Callable, *args, **kwargs) -> Future:
        """Queue `job(*args, **kwargs)`; returns at once."""
        future: Future = Future()
        with self._idle:
            self._outstanding += 1
        self._jobs.put((future, job, args, kwargs))
        with self._lock:
            if self._waiting_threads == 0 and len(self._threads) < self.max_workers:
                thread = threading.Thread(
                    target=self._work, name=f"{self.name}_{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
        return future

    @property
    def busy(self) -> bool:
        with self._idle:
            return self._outstanding > 0

    def pause(self) -> None:
        """Hold every job not yet started until `resume`; queued jobs stay queued.

        A seam for tests: work in flight stays in flight while a test does
        what happens meanwhile (an echo arriving before a send starts).
        """
        self._resumed.clear()

    def resume(self) -> None:
        self._resumed.set()

    @property
    def paused(self) -> bool:
        return not self._resumed.is_set()

    def wait_for_idle(self, timeout: float = 30.0) -> bool:
        """Block until nothing is queued or running; False if `timeout` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._outstanding == 0, timeout)

    def _work(self) -> None:
        while True:
            with self._lock:
                self._waiting_threads += 1
            future, job, args, kwargs = self._jobs.get()
            with self._lock:
                self._waiting_threads -= 1
            self._resumed.wait()
            try:
                if future.set_running_or_notify_cancel():
                    self._run(job, args, kwargs)
                    future.set_result(None)
            finally:
                self._done()

    def _run(self, job: Callable, args: tuple, kwargs: dict) -> None:
        try:
            job(*args, **kwargs)
        except Exception:
            logger.exception("%s: background job %s failed", self.name, job.__name__)
        finally:
            # A pool thread outlives the job: give its connection back now.
            connections.close_all()

    def _done(self) -> None:
        with self._idle:
            self._outstanding -= 1
            if self._outstanding == 0:
                self._idle.notify_all()


def any_paused() -> bool:
    """Whether a test holds a pool paused (its queued work waits for `resume`)."""
    return any(pool.paused for pool in _pools)


def wait_for_all(timeout: float = 30.0) -> bool:
    """Wait until every pool is idle at once (a job may queue work on another pool)."""
    deadline = time.monotonic() + timeout
    while True:
        busy = [pool for pool in _pools if pool.busy]
        if not busy:
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        for pool in busy:
            pool.wait_for_idle(max(deadline - time.monotonic(), 0))
