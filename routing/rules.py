"""The rules more than one room needs, each in one place.

Plain values and pure functions: the services enforce them, selectors and
templates show them, the admin offers them.
"""

from collections.abc import Callable
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


def _every_page_may_tag(page_id: str) -> bool:
    return True


# Meta approves the HUMAN_AGENT tag per Page (its feature review). The Messenger
# adapter registers how to tell at start, as routing imports no adapter.
_human_agent_allowed: Callable[[str], bool] = _every_page_may_tag


def allow_human_agent_when(check: Callable[[str], bool]) -> None:
    """`check(page_id)` says whether replies to that Page's customers may carry HUMAN_AGENT."""
    global _human_agent_allowed
    _human_agent_allowed = check


def human_agent_allowed(page_id: str) -> bool:
    return _human_agent_allowed(page_id)


@dataclass(frozen=True)
class ReplyWindow:
    open: bool
    messaging_type: str  # "RESPONSE" or "MESSAGE_TAG"
    tag: str  # "" or "HUMAN_AGENT"
    closes_at: datetime | None
    reason: str


def reply_window(customer, *, now: datetime | None = None) -> ReplyWindow:
    """Meta's rule: RESPONSE for 24 h after the customer's last message, HUMAN_AGENT to 7 days."""
    now = now or timezone.now()
    last = customer.last_message_at
    if last is None:
        return ReplyWindow(False, "", "", None, "The customer has not written yet.")
    if now < last + RESPONSE_WINDOW:
        return ReplyWindow(True, "RESPONSE", "", last + RESPONSE_WINDOW, "")
    if not human_agent_allowed(customer.page_id):
        closed_at = last + RESPONSE_WINDOW
        return ReplyWindow(
            False,
            "",
            "",
            closed_at,
            f"Messenger allows replies for 24 hours after the customer's last message (Meta "
            f"has not approved this Page's Human Agent feature); this conversation closed on "
            f"{timezone.localtime(closed_at):%Y-%m-%d %H:%M}.",
        )
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
