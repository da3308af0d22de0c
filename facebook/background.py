"""Small thread pools for work that must not hold up a request or a webhook answer.

Each pool counts what it has queued or running, so that tests (and a
graceful shutdown) can wait until it is idle. A job's exception is logged,
never raised; each job gives its database connection back when it ends.
"""

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from django.db import connections

logger = logging.getLogger(__name__)

_pools: list["BackgroundPool"] = []


class BackgroundPool:
    def __init__(self, name: str, max_workers: int) -> None:
        self.name = name
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=name)
        self._idle = threading.Condition()
        self._outstanding = 0
        _pools.append(self)

    def submit(self, job: Callable, *args, **kwargs) -> Future:
        """Queue `job(*args, **kwargs)`; returns at once."""
        with self._idle:
            self._outstanding += 1
        try:
            return self._executor.submit(self._run, job, args, kwargs)
        except BaseException:
            self._done()
            raise

    @property
    def busy(self) -> bool:
        with self._idle:
            return self._outstanding > 0

    def wait_for_idle(self, timeout: float = 30.0) -> bool:
        """Block until nothing is queued or running; False if `timeout` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._outstanding == 0, timeout)

    def _run(self, job: Callable, args: tuple, kwargs: dict) -> None:
        try:
            job(*args, **kwargs)
        except Exception:
            logger.exception("%s: background job %s failed", self.name, job.__name__)
        finally:
            # A pool thread outlives the job: give its connection back now.
            connections.close_all()
            self._done()

    def _done(self) -> None:
        with self._idle:
            self._outstanding -= 1
            if self._outstanding == 0:
                self._idle.notify_all()


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
