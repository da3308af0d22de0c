"""Desktop tabs opened and closed, written many to a transaction.

A server's desktops often come and go together: everyone reconnecting after
a restart or a network blip, a process's sockets closing as it stops. Each
tab written on its own took a thread of the pool and a transaction; a burst
of a thousand queued behind them, past daphne's 10 s allowance for a closed
socket's consumer, and presence rows were left for the timers' sweep
(offers rang nowhere meanwhile). Here one thread per process writes every
tab waiting in one transaction (`routing.batched_writes`).
"""

from collections.abc import Callable

from routing import services
from routing.batched_writes import BatchedWrites

# Tabs written in one transaction at most: a whole burst shares one commit.
# The thread runs each batch's after-commit work (offers made, offers taken
# back) before the next batch: smaller batches left later tabs open behind it.
# The sockets are answered at the commit, not after that work.
MOST_AT_ONCE = 1000


def _each_apart_on_failure(write: Callable[[list], None]) -> Callable[[list], list]:
    """Write the batch; should it fail, each tab apart, so one bad tab (its agent
    just deleted, say) fails only its own socket."""

    def batch(items: list) -> list:
        try:
            write(items)
            return [None] * len(items)
        except Exception:
            if len(items) == 1:
                raise
        outcomes: list = []
        for item in items:
            try:
                write([item])
                outcomes.append(None)
            except Exception as exc:
                outcomes.append(exc)
        return outcomes

    return batch


# (agent id, channel name) of a tab that opened: an agent's first is offered what waits.
opened: BatchedWrites[tuple[int, str], None] = BatchedWrites(
    _each_apart_on_failure(lambda tabs: services.desktops_opened(tabs=tabs)),
    most=MOST_AT_ONCE,
    name="desktops-opened",
    answer_at_commit=True,
)


def _close(tabs: list[tuple[str, bool]]) -> None:
    services.desktops_closed(
        channel_names=[name for name, _ in tabs],
        leaving=[name for name, leaving in tabs if leaving],
    )


# (channel name, whether its agent left) of a tab that closed: an agent's last takes
# back their offers, at once when they left (logged out), else after a reload's time.
closed: BatchedWrites[tuple[str, bool], None] = BatchedWrites(
    _each_apart_on_failure(_close),
    most=MOST_AT_ONCE,
    name="desktops-closed",
    answer_at_commit=True,
)
