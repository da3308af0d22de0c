"""Service-level clocks: how long a waiting customer has left before their answer is late.

A workgroup may set a first-response target (the first reply, counted from
the customer's first message) and a next-response target (each later reply,
counted from the customer's oldest message not yet answered). The clock of a
live interaction runs from `Interaction.customer_waiting_since`, which the
arrival of a customer message sets and a reply clears (routing.services).
Everything here is a pure function of rows already read: no queries.

The clock is *near* its target in the last quarter of it, and *past* after it.
Meta's reply window (24 h, then 7 days with the HUMAN_AGENT tag) is shown with
the same clock: near in its last hour and through the HUMAN_AGENT days,
past once replies are no longer possible.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from routing.models import LIVE_STATES
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
    """A deadline as the desktop shows it: amber from `near_at`, red from `due_at`."""

    label: str
    due_at: datetime
    near_at: datetime

    def level(self, now: datetime) -> Level:
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


def window_clock(last_message_at: datetime | None) -> Clock | None:
    """Meta's reply window after the customer's last message, as a clock."""
    if last_message_at is None:
        return None
    return Clock(
        label="Reply window",
        due_at=last_message_at + HUMAN_AGENT_WINDOW,
        near_at=last_message_at + RESPONSE_WINDOW - WINDOW_NEAR,
    )


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
