"""Service-level clocks: how long a waiting customer has left before their answer is late.

A workgroup may set a first-response target (the first reply, counted from
the customer's first message) and a next-response target (each later reply,
counted from the customer's oldest message not yet answered). The clock of a
live interaction runs from `Interaction.customer_waiting_since`, which the
arrival of a customer message sets and a reply clears (routing.services).
Everything here is a pure function of rows already read: no queries.

The clock is *near* its target in the last quarter of it, and *past* after it.
Meta's reply window is shown with the same clock, in two stages: the 24 hours
of standard replies (near in their last hour), then the HUMAN_AGENT days
(near throughout, past once replies are no longer possible).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from routing.models import LIVE_STATES, InteractionState
from routing.rules import HUMAN_AGENT_WINDOW, RESPONSE_WINDOW

# The event row a reply that answered a waiting customer writes (reports count them).
ANSWERED_IN_TARGET = "answered_in_target"
ANSWERED_LATE = "answered_late"
ANSWERED_NO_TARGET = "answered"

# The share of a target left when its clock turns amber.
NEAR_SHARE = 0.25
# The reply window's clock turns amber this long before the 24 hours end.
WINDOW_NEAR = timedelta(hours=1)


class Kind(StrEnum):
    FIRST = "first"
    NEXT = "next"


KIND_WORDS = {Kind.FIRST: "First response", Kind.NEXT: "Next response"}


class Level(StrEnum):
    OK = "ok"
    NEAR = "near"
    PAST = "past"


@dataclass(frozen=True)
class Clock:
    """A deadline as the desktop shows it: amber from `near_at`, red from `due_at`;
    or, when it has one, its `then` clock takes over at `due_at`."""

    label: str
    due_at: datetime
    near_at: datetime
    then: "Clock | None" = None

    def current(self, now: datetime) -> "Clock":
        """The stage running at `now`."""
        if self.then is not None and now >= self.due_at:
            return self.then.current(now)
        return self

    def level(self, now: datetime) -> Level:
        if self.then is not None and now >= self.due_at:
            return self.then.level(now)
        if now >= self.due_at:
            return Level.PAST
        if now >= self.near_at:
            return Level.NEAR
        return Level.OK

    def seconds_left(self, now: datetime) -> int:
        """Negative once past: how late it is."""
        return int((self.due_at - now).total_seconds())


def kind_of(interaction) -> Kind:
    return Kind.FIRST if interaction.first_replied_at is None else Kind.NEXT


def target_seconds(workgroup, kind: Kind) -> int | None:
    if kind == Kind.FIRST:
        return workgroup.first_response_seconds
    return workgroup.next_response_seconds


def response_clock(interaction) -> Clock | None:
    """The clock of a live interaction whose customer waits, in a workgroup with a target.

    Reads `interaction.workgroup`: select it with the interaction.
    """
    since = interaction.customer_waiting_since
    if since is None or interaction.state not in LIVE_STATES:
        return None
    kind = kind_of(interaction)
    target = target_seconds(interaction.workgroup, kind)
    if not target:
        return None
    due = since + timedelta(seconds=target)
    return Clock(
        label=KIND_WORDS[kind],
        due_at=due,
        near_at=due - timedelta(seconds=target * NEAR_SHARE),
    )


def window_clock(last_message_at: datetime | None, *, now: datetime) -> Clock | None:
    """Meta's reply window after the customer's last message, as a clock of the stage
    running at `now` (the 24 hours, followed by the HUMAN_AGENT days)."""
    if last_message_at is None:
        return None
    response_ends = last_message_at + RESPONSE_WINDOW
    human_agent = Clock(
        label="Human agent window",
        due_at=last_message_at + HUMAN_AGENT_WINDOW,
        near_at=response_ends,
    )
    if now >= response_ends:
        return human_agent
    return Clock(
        label="24 h window",
        due_at=response_ends,
        near_at=response_ends - WINDOW_NEAR,
        then=human_agent,
    )


# A live interaction's row shows the reply window once less than this is left of the
# 24 hours (and from then on): before, it is the same on every row and says nothing.
WINDOW_ON_ROWS_FROM = timedelta(hours=3)


def row_window_clock(interaction, *, now: datetime) -> Clock | None:
    """The reply window on a row of My Interactions: for one the agent may reply to,
    when it is getting short. Reads `interaction.customer`: select it with the row."""
    if interaction.state not in (InteractionState.CONNECTED, InteractionState.HELD):
        return None
    last = interaction.customer.last_message_at
    if last is None or now < last + RESPONSE_WINDOW - WINDOW_ON_ROWS_FROM:
        return None
    return window_clock(last, now=now)


def within_target(*, waited: timedelta, target: int | None) -> bool | None:
    """Whether a reply after `waited` met the target (None: there was none)."""
    if not target:
        return None
    return waited <= timedelta(seconds=target)


def by_time_left(interactions) -> list:
    """Interactions with a running clock first, least time left first; then arrival order."""

    def key(interaction):
        clock = response_clock(interaction)
        due = clock.due_at.timestamp() if clock else float("inf")
        return (due, interaction.created_at, interaction.pk)

    return sorted(interactions, key=key)
