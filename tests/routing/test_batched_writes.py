import asyncio
import threading

import pytest
from django.db import transaction

from routing.batched_writes import BatchedWrites


class Recorder:
    """A write that records its batches; the first waits until let go."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.writing = threading.Event()
        self.go_on = threading.Event()

    def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(items)
        if len(self.batches) == 1:
            self.writing.set()
            assert self.go_on.wait(10)
        if -1 in items:
            raise ValueError("refused")
        return [item * 10 for item in items]


async def test_writes_waiting_while_a_batch_runs_go_in_the_next_together():
    write = Recorder()
    writes = BatchedWrites(write, most=50, name="test-writes")

    first = asyncio.ensure_future(writes(0))
    assert await asyncio.to_thread(write.writing.wait, 10)
    rest = [asyncio.ensure_future(writes(n)) for n in range(1, 31)]
    await asyncio.sleep(0.05)  # all 30 wait in the queue
    write.go_on.set()

    assert await first == 0
    assert await asyncio.gather(*rest) == [n * 10 for n in range(1, 31)]
    assert write.batches == [[0], list(range(1, 31))]


async def test_a_batch_holds_at_most_most_and_a_failed_batch_fails_each_of_its_callers(caplog):
    write = Recorder()
    writes = BatchedWrites(write, most=4, name="test-writes")

    first = asyncio.ensure_future(writes(0))
    assert await asyncio.to_thread(write.writing.wait, 10)
    rest = [asyncio.ensure_future(writes(n)) for n in [1, 2, -1, 3, 4, 5]]
    await asyncio.sleep(0.05)
    write.go_on.set()

    await first
    outcomes = await asyncio.gather(*rest, return_exceptions=True)
    assert write.batches == [[0], [1, 2, -1, 3], [4, 5]]
    assert [type(o).__name__ for o in outcomes[:4]] == ["ValueError"] * 4
    assert outcomes[4:] == [40, 50]
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        "test-writes: a batch of 4 writes failed"
    ]
    caplog.clear()  # logged as it should be


async def test_a_caller_that_went_away_leaves_the_others_their_answers():
    write = Recorder()
    writes = BatchedWrites(write, most=50, name="test-writes")

    first = asyncio.ensure_future(writes(0))
    assert await asyncio.to_thread(write.writing.wait, 10)
    leaving, staying = asyncio.ensure_future(writes(1)), asyncio.ensure_future(writes(2))
    await asyncio.sleep(0.05)
    leaving.cancel()
    write.go_on.set()

    assert (await first, await staying) == (0, 20)
    assert write.batches == [[0], [1, 2]]


@pytest.mark.django_db(transaction=True)
async def test_answered_at_commit_callers_do_not_wait_for_the_after_commit_work():
    after_commit_may_end = threading.Event()
    after_commit_ended = threading.Event()

    def write(items: list[int]) -> list[int]:
        def slow_follow_up() -> None:
            assert after_commit_may_end.wait(10)
            after_commit_ended.set()

        transaction.on_commit(slow_follow_up)
        return items

    writes = BatchedWrites(write, most=10, name="test-writes", answer_at_commit=True)

    assert await asyncio.wait_for(writes(7), timeout=5) == 7
    assert not after_commit_ended.is_set()  # answered before the follow-up ended
    after_commit_may_end.set()
    assert await asyncio.to_thread(after_commit_ended.wait, 10)
