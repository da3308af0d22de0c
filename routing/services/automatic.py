"""Automatic messages: what a workgroup's settings send without an agent.

- the out-of-hours reply, when a customer writes while the workgroup is closed;
- the acknowledgement with the queue position, when a new interaction arrives
  within business hours;
- the customer feedback survey (Messenger's CSAT template), after an agent
  disconnects.

Each goes through the ordinary outbound path (stored `sending`, handed to the
sender after commit) as `RESPONSE`, never tagged `HUMAN_AGENT`: no human wrote
it. So it is sent only inside the 24-hour window; outside it, it is skipped
and the event row says why. Each is sent at most once per interaction: its
flag on the interaction is claimed by a conditional UPDATE in the same
transaction as the message, so two processes cannot both claim it.

The customer's answer to the survey comes back as a webhook and is stored by
`feedback.record_feedback`. This module imports no other service: the kernel
calls `request_feedback` whichever verb ends an interaction.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q

from routing import hours, message_entries
from routing.events import (
    message_event,
    outbound_ready_on_commit,
    publish_on_commit,
)
from routing.models import (
    Customer,
    Interaction,
    InteractionEvent,
    InteractionState,
    Message,
    MessageDirection,
    MessageStatus,
)
from routing.rules import MAX_TEXT_LENGTH, reply_window

# The flag each kind claims on the interaction.
OUT_OF_HOURS = "out_of_hours_reply_at"
ACKNOWLEDGEMENT = "acknowledged_at"
FEEDBACK_SURVEY = "feedback_requested_at"

# What the customer reads on the survey; Messenger shows its own stars under the question.
SURVEY_TITLE = "How did we do?"
SURVEY_SUBTITLE = "Tell us about the help you got: one question and, if you like, a comment."
SURVEY_BUTTON = "Rate your experience"
SURVEY_QUESTION = "How satisfied are you with the help you got?"
SURVEY_QUESTION_ID = "csat"
SURVEY_COMMENT_PLACEHOLDER = "Anything to add? (optional)"


def queue_position(interaction: Interaction) -> int:
    """Its place among the queued interactions of its workgroup (1: next)."""
    ahead = Interaction.objects.filter(
        workgroup_id=interaction.workgroup_id, state=InteractionState.QUEUED
    ).filter(
        Q(queued_at__lt=interaction.queued_at)
        | Q(queued_at=interaction.queued_at, pk__lt=interaction.pk)
    )
    return ahead.aggregate(n=Count("pk"))["n"] + 1


def answer_arrival(interaction: Interaction, *, created: bool, now: datetime) -> bool:
    """A customer wrote: the out-of-hours reply or the acknowledgement, if due.

    Returns whether the workgroup is open now (the caller offers only then).
    Runs in the arrival's transaction, with the interaction locked or just created.
    """
    workgroup = interaction.workgroup
    open_now = hours.is_open(workgroup, now)
    if not open_now:
        if interaction.state == InteractionState.QUEUED and workgroup.out_of_hours_message:
            text = _fill(workgroup.out_of_hours_message, opens=hours.opening_words(workgroup, now))
            _send_once(interaction, OUT_OF_HOURS, text=text, now=now)
    elif created and workgroup.acknowledgement_message:
        text = _fill(workgroup.acknowledgement_message, position=str(queue_position(interaction)))
        _send_once(interaction, ACKNOWLEDGEMENT, text=text, now=now)
    return open_now


def request_feedback(interaction: Interaction, *, now: datetime) -> Message | None:
    """After an agent disconnected: the feedback survey, when the workgroup sends one."""
    if not interaction.workgroup.feedback_survey:
        return None
    entry = message_entries.feedback_survey(question_id=SURVEY_QUESTION_ID, title=SURVEY_TITLE)
    return _send_once(interaction, FEEDBACK_SURVEY, text=SURVEY_QUESTION, now=now, entry=entry)


def _fill(template: str, **values: str) -> str:
    # Plain replacement, not str.format: a stray brace in the text must not fail a send.
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template.strip()[:MAX_TEXT_LENGTH]


def _send_once(
    interaction: Interaction,
    flag: str,
    *,
    text: str,
    now: datetime,
    entry: message_entries.Entry | None = None,
) -> Message | None:
    if not text:
        return None
    claimed = (
        Interaction.objects.filter(pk=interaction.pk, **{f"{flag}__isnull": True}).update(
            **{flag: now}
        )
        == 1
    )
    if not claimed:
        return None  # already sent for this interaction (or claimed by another process)
    setattr(interaction, flag, now)
    customer = Customer.objects.get(pk=interaction.customer_id)
    window = reply_window(customer, now=now)
    if window.messaging_type != "RESPONSE":
        # An automatic message never uses the HUMAN_AGENT tag: outside the 24 h it is not sent.
        InteractionEvent.objects.create(
            interaction=interaction,
            verb="automatic_skipped",
            from_state=interaction.state,
            to_state=interaction.state,
            detail={"kind": flag, "reason": "outside the 24-hour window"},
        )
        return None
    message = Message.objects.create(
        interaction=interaction,
        direction=MessageDirection.OUTBOUND,
        text=text,
        attachments=[entry] if entry else [],
        status=MessageStatus.SENDING,
        author=None,
        sent_at=now,
        # As a reply's (replies.send_deadline): a little over the sender's own timeout.
        send_deadline=now + timedelta(seconds=settings.FACEBOOK_SEND_TIMEOUT + 2),
        messaging_type="RESPONSE",
        automatic=True,
    )
    InteractionEvent.objects.create(
        interaction=interaction,
        verb="automatic_message",
        from_state=interaction.state,
        to_state=interaction.state,
        detail={"kind": flag, "message_id": message.pk},
    )
    publish_on_commit(message_event(message, interaction))
    outbound_ready_on_commit(message.pk)
    return message
