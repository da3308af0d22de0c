"""The rules more than one room needs, each in one place.

Plain values and pure functions: the services enforce them, selectors and
templates show them, the admin offers them.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from routing.models import AgentStatus, InteractionState, MessageStatus

# Meta refuses message text of 2,000 characters or more; stored responses are
# inserted into replies, so the same cap holds for them.
MAX_TEXT_LENGTH = 1999

# The statuses an agent (or a supervisor for them) may choose: "Not answering"
# is only ever set by an offer that rang out.
CHOOSABLE_STATUSES = tuple(s for s in AgentStatus if s != AgentStatus.NOT_ANSWERING)

# The states that count towards an agent's load (capacity): offered or live.
LOAD_STATES = (InteractionState.ALERTING, InteractionState.CONNECTED, InteractionState.HELD)

# The statuses of a message Meta has accepted (its answer, or the echo, or later receipts).
ACCEPTED_BY_META = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ)

# Said where an agent would stop the recording of a workgroup that records everything.
RECORDING_REQUIRED = "This workgroup records every interaction: its recording cannot be stopped."


def recording_required(interaction) -> bool:
    """The interaction is recording in a workgroup that records everything: it stays on."""
    return bool(interaction.recording) and interaction.workgroup.auto_record


RESPONSE_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
# Meta's Messenger Platform policy ("Standard messaging", developers.facebook.com/
# documentation/business-messaging/messenger-platform/policy/): "For most user actions,
# it lasts 24 hours. When the user action is a person sending their first message after
# clicking a Click-to-Messenger or Click-to-Direct ad, the window may last up to 7 days
# from that message." So an ad-sourced conversation may answer with RESPONSE (no tag)
# for 7 days from that first message; later messages still open their own 24 hours.
AD_RESPONSE_WINDOW = timedelta(days=7)


def response_window_ends(customer) -> datetime | None:
    """When replies stop being standard (RESPONSE) messages: 24 h after the customer's
    last message, or 7 days after their first message from an ad, whichever is later."""
    last = customer.last_message_at
    if last is None:
        return None
    ends = last + RESPONSE_WINDOW
    ad_from = getattr(customer, "ad_window_from", None)
    if ad_from is not None:
        ends = max(ends, ad_from + AD_RESPONSE_WINDOW)
    return ends


@dataclass(frozen=True)
class ReplyWindow:
    open: bool
    messaging_type: str  # "RESPONSE" or "MESSAGE_TAG"
    tag: str  # "" or "HUMAN_AGENT"
    closes_at: datetime | None
    reason: str


def reply_window(customer, *, now: datetime | None = None) -> ReplyWindow:
    """Meta's rule: RESPONSE for 24 h after the customer's last message (up to 7 days after
    their first message from an ad), HUMAN_AGENT to 7 days."""
    now = now or timezone.now()
    last = customer.last_message_at
    response_ends = response_window_ends(customer)
    if last is None or response_ends is None:
        return ReplyWindow(False, "", "", None, "The customer has not written yet.")
    if now < response_ends:
        return ReplyWindow(True, "RESPONSE", "", response_ends, "")
    if now < last + HUMAN_AGENT_WINDOW:
        return ReplyWindow(True, "MESSAGE_TAG", "HUMAN_AGENT", last + HUMAN_AGENT_WINDOW, "")
    closed_at = last + HUMAN_AGENT_WINDOW
    return ReplyWindow(
        False,
        "",
        "",
        closed_at,
        f"Messenger allows replies for 7 days after the customer's last message; "
        f"this conversation closed on {timezone.localtime(closed_at):%Y-%m-%d %H:%M}.",
    )
