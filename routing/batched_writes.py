"""Many callers' writes in one transaction: one thread per process runs every call
waiting as one batch.

Under a burst (Meta's POSTs, a server's desktops reconnecting or closing all
at once) each write on its own costs a thread of the pool, a transaction and
its round trips, and the burst queues behind them. Batched, they share those.
A caller on the event loop awaits the outcome of its own item, settled only
once the batch's write has returned (committed, for a write that commits).
"""

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from django.db import close_old_connections, transaction

logger = logging.getLogger(__name__)

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


class BatchedWrites(Generic[Item, Outcome]):
    """`await writes(item)`: `write` runs on this process's thread for `name`, with
    every item waiting (at most `most`), and returns one outcome per item.

    Should `write` raise, every caller of that batch gets the exception.

    With `answer_at_commit`, the batch runs in one transaction and its callers
    are answered as soon as it commits, before the after-commit work its
    writes registered (offers made or taken back): they wait for what they
    asked, not for what follows from it.
    """

    def __init__(
        self,
        write: Callable[[list[Item]], Sequence[Outcome]],
        *,
        most: int,
        name: str,
        answer_at_commit: bool = False,
    ) -> None:
        self._write = write
        self._most = most
        self._name = name
        self._answer_at_commit = answer_at_commit
        self._waiting: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # Items put and not yet written, after-commit work included.
        self._unfinished = 0
        self._finished = threading.Condition()
        _every.append(self)

    def wait_until_idle(self, timeout: float) -> bool:
        """True once every item put is written and its after-commit work done."""
        with self._finished:
            return self._finished.wait_for(lambda: self._unfinished == 0, timeout)

    async def __call__(self, item: Item) -> Outcome:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
        with self._finished:
            self._unfinished += 1
        self._waiting.put((item, loop, done))
        return await done

    def _run(self) -> None:
        while True:
            batch = [self._waiting.get()]
            while len(batch) < self._most:
                try:
                    batch.append(self._waiting.get_nowait())
                except queue.Empty:
                    break
            try:
                close_old_connections()
                if self._answer_at_commit:
                    self._write_answering_at_commit(batch)
                else:
                    _answer(batch, self._write([item for item, _, _ in batch]))
            except Exception as exc:
                logger.exception("%s: a batch of %s writes failed", self._name, len(batch))
                _answer(batch, [exc] * len(batch))
            finally:
                # Kept for the next batch unless CONN_MAX_AGE says otherwise.
                close_old_connections()
                with self._finished:
                    self._unfinished -= len(batch)
                    self._finished.notify_all()

    def _write_answering_at_commit(self, batch: list) -> None:
        outcomes: list[Sequence] = []
        with transaction.atomic():
            # Registered first, so it runs first once the batch commits.
            transaction.on_commit(lambda: _answer(batch, outcomes[0]))
            outcomes.append(self._write([item for item, _, _ in batch]))


_every: list[BatchedWrites] = []


def wait_until_all_idle(timeout: float) -> bool:
    """Every batched write of this process done (tests: before the database is emptied)."""
    return all(writes.wait_until_idle(timeout) for writes in list(_every))


def _answer(batch: list, outcomes: Sequence) -> None:
    for (_, loop, done), outcome in zip(batch, outcomes, strict=True):
        # RuntimeError: that caller's event loop has ended, nobody waits.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, done, outcome)


def _settle(done: asyncio.Future, outcome) -> None:
    if done.done():
        return  # the caller went away
    if isinstance(outcome, Exception):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)
