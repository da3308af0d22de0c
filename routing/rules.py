"""The rules more than one room needs, each in one place.

Plain values and pure functions: the services enforce them, selectors and
templates show them, the admin offers them.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from routing.models import AgentStatus, Channel, InteractionState, MessageStatus, PriorityMatch

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

# The order a workgroup's queue is offered (and shown) in: higher priority
# first, then the longest waiting.
QUEUE_ORDER = ("-priority", "queued_at", "pk")

# The states that count towards an agent's load (capacity): offered or live.
LOAD_STATES = (InteractionState.ALERTING, InteractionState.CONNECTED, InteractionState.HELD)

# The statuses of a message Meta has accepted (its answer, or the echo, or later receipts).
ACCEPTED_BY_META = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ)

# The mid of a transcript line saying who answers the conversation (conversation
# routing): stored as an outbound message, yet nothing anyone sent the customer.
HANDOVER_MID_PREFIX = "handover:"

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
    """Meta's rule: RESPONSE for 24 h after the customer's last message (up to 7 days after
    their first message from an ad), HUMAN_AGENT to 7 days."""
    now = now or timezone.now()
    last = customer.last_message_at
    response_ends = response_window_ends(customer)
    if last is None or response_ends is None:
        return ReplyWindow(False, "", "", None, "The customer has not written yet.")
    if now < response_ends:
        return ReplyWindow(True, "RESPONSE", "", response_ends, "")
    if not human_agent_allowed(customer.page_id):
        return ReplyWindow(
            False,
            "",
            "",
            response_ends,
            f"Messenger allows replies for 24 hours after the customer's last message (Meta "
            f"has not approved this Page's Human Agent feature); this conversation closed on "
            f"{timezone.localtime(response_ends):%Y-%m-%d %H:%M}.",
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


@dataclass(frozen=True)
class PriorityFound:
    priority: int
    rule_id: int | None  # the rule that set it; None: no rule matched (0)


def arrival_priority(
    rules: Iterable, *, page_id: str, text: str, payloads: Iterable[str]
) -> PriorityFound:
    """The priority of a new interaction: the highest of the active rules it matches.

    A rule matches by its Page (empty: any Page) and then by what it names: the
    Page itself (its default), a payload the customer tapped (exactly), or a
    keyword in their text (a whole word or phrase, any case).
    """
    tapped = set(payloads)
    found = PriorityFound(0, None)
    for rule in rules:
        if not rule.active or (rule.page_id and rule.page_id != page_id):
            continue
        if rule.match == PriorityMatch.PAYLOAD:
            matches = rule.value in tapped
        elif rule.match == PriorityMatch.KEYWORD:
            matches = _has_phrase(text, rule.value)
        else:
            matches = rule.match == PriorityMatch.PAGE
        if matches and rule.priority > found.priority:
            found = PriorityFound(rule.priority, rule.pk)
    return found


def _has_phrase(text: str, phrase: str) -> bool:
    words = phrase.split()
    if not words or not text:
        return False
    pattern = r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)"
    return re.search(pattern, text, flags=re.IGNORECASE) is not None


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
