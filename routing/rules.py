"""The rules more than one room needs, each in one place.

Plain values and pure functions: the services enforce them, selectors and
templates show them, the admin offers them.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from routing.models import AgentStatus, Channel, InteractionState, MessageStatus

# Meta refuses message text of 2,000 characters or more; stored responses are
# inserted into replies, so the same cap holds for them.
MAX_TEXT_LENGTH = 1999

# Instagram takes text up to 1,000 characters; a private reply is a Messenger message.
TEXT_LIMITS: dict[str, int] = {
    Channel.MESSENGER: MAX_TEXT_LENGTH,
    Channel.INSTAGRAM: 1000,
    Channel.COMMENT: MAX_TEXT_LENGTH,
}
# The files each channel can carry: Instagram sends images, videos and audio, no
# documents; a private reply is one text message.
ATTACHMENT_KINDS: dict[str, tuple[str, ...]] = {
    Channel.MESSENGER: ("image", "video", "audio", "file"),
    Channel.INSTAGRAM: ("image", "video", "audio"),
    Channel.COMMENT: (),
}
CHANNEL_NAMES: dict[str, str] = {
    Channel.MESSENGER: "Messenger",
    Channel.INSTAGRAM: "Instagram",
    Channel.COMMENT: "A private reply",
}


def text_limit(channel: str) -> int:
    return TEXT_LIMITS.get(channel, MAX_TEXT_LENGTH)


def attachment_kinds(channel: str) -> tuple[str, ...]:
    return ATTACHMENT_KINDS.get(channel, ATTACHMENT_KINDS[Channel.MESSENGER])


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


# Meta lets the Page answer a comment with one private reply, within 7 days of it.
PRIVATE_REPLY_WINDOW = timedelta(days=7)


def private_reply_window(
    *, commented_at: datetime | None, answered: bool, now: datetime | None = None
) -> ReplyWindow:
    """One private reply per comment, within 7 days of the comment."""
    now = now or timezone.now()
    if commented_at is None:
        return ReplyWindow(False, "", "", None, "There is no comment to answer.")
    closes_at = commented_at + PRIVATE_REPLY_WINDOW
    if answered:
        return ReplyWindow(
            False,
            "",
            "",
            closes_at,
            "A comment can be answered with one private reply, and this one has been: "
            "when the person answers in Messenger, the conversation continues there.",
        )
    if now >= closes_at:
        return ReplyWindow(
            False,
            "",
            "",
            closes_at,
            f"Meta allows a private reply for 7 days after the comment; "
            f"this one could be answered until {timezone.localtime(closes_at):%Y-%m-%d %H:%M}.",
        )
    return ReplyWindow(True, "RESPONSE", "", closes_at, "")
