"""A router batch's customer messages, read ahead: three queries for the batch, not three each.

Each customer's message asks the same three questions before it is stored:
is its `mid` stored already, what is the customer's live interaction (locked),
and, for a customer without one, their row. Inside `reading_ahead(arrivals)`
(the router's batch, one transaction) they are asked once for all the
arrivals; `take` hands each message its answers, once. The caller reads ahead
only the messages of customers with no other event in the batch: another
event of theirs could change what was read before its turn. Outside
(requests, the backfill, timers) nothing is read ahead and every message asks
for itself, as before.

The live interactions are locked when read, as each message's own read
would lock it: from the start of the batch instead of from its turn, in the
same transaction.
"""

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from routing.compiled_queries import CompiledQuery
from routing.models import Customer, Interaction, Message
from routing.services.openings import live_interactions_of

_local = threading.local()


@dataclass(frozen=True)
class Arrival:
    """A customer's message about to be routed: whose, and its `mid`."""

    page_id: str
    psid: str
    mid: str


@dataclass(frozen=True)
class ReadAhead:
    mid_stored: bool
    # The customer's live interaction, locked, with their row; else their row, if any.
    live: Interaction | None
    customer: Customer | None


@contextmanager
def reading_ahead(arrivals: Iterable[Arrival]) -> Iterator[None]:
    """Read what `arrivals` will ask, for `take` to answer until the block ends."""
    outer = getattr(_local, "ahead", None)
    _local.ahead = _read(list(arrivals))
    try:
        yield
    finally:
        _local.ahead = outer


def take(page_id: str, psid: str, mid: str) -> ReadAhead | None:
    """What was read ahead for this message; None when nothing was (ask the database).

    Given once: a second message of the same customer in the batch asks for itself.
    """
    ahead: dict[tuple[str, str], tuple[str, ReadAhead]] | None = getattr(_local, "ahead", None)
    if not ahead:
        return None
    found = ahead.pop((page_id, psid), None)
    if found is None or found[0] != mid:
        return None
    return found[1]


# Read for every routed batch (routing.compiled_queries).
_STORED_MIDS = CompiledQuery(lambda mids: Message.objects.filter(mid__in=mids).values_list("mid"))
_CUSTOMERS = CompiledQuery(
    lambda page_id, psids: Customer.objects.filter(page_id=page_id, psid__in=psids).order_by()
)


def _read(arrivals: list[Arrival]) -> dict[tuple[str, str], tuple[str, ReadAhead]]:
    if not arrivals:
        return {}
    stored = {mid for (mid,) in _STORED_MIDS.values(tuple(arrival.mid for arrival in arrivals))}
    # A stored mid is a redelivery: its message asks nothing more.
    psids_by_page: dict[str, list[str]] = {}
    for arrival in arrivals:
        if arrival.mid not in stored:
            psids_by_page.setdefault(arrival.page_id, []).append(arrival.psid)
    live: dict[tuple[str, str], Interaction] = {}
    customers: dict[tuple[str, str], Customer] = {}
    for page_id, psids in psids_by_page.items():
        for psid, interaction in live_interactions_of(page_id, psids).items():
            live[page_id, psid] = interaction
        without = [psid for psid in psids if (page_id, psid) not in live]
        if without:
            for customer in _CUSTOMERS.objects(page_id, tuple(without)):
                customers[page_id, customer.psid] = customer
    return {
        (arrival.page_id, arrival.psid): (
            arrival.mid,
            ReadAhead(
                mid_stored=arrival.mid in stored,
                live=live.get((arrival.page_id, arrival.psid)),
                customer=customers.get((arrival.page_id, arrival.psid)),
            ),
        )
        for arrival in arrivals
    }
