"""An agent's replies: stored first (`sending`), handed to the sender after
commit, sent again (Retry, Resend) or deleted when not sent. What the sender
reports back, and the timer when nothing came back in time, settle them
(`routing.services.send_outcomes`).
"""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from routing import message_entries
from routing.channel_selectors import reply_target, reply_window_for
from routing.events import (
    interaction_event,
    message_event,
    outbound_ready_on_commit,
    publish_on_commit,
)
from routing.models import (
    Agent,
    Channel,
    Interaction,
    Message,
    MessageDirection,
    MessageStatus,
)
from routing.outbound_files import KeptFile
from routing.rules import (
    ACCEPTED_BY_META,
    CHANNEL_NAMES,
    MAX_TEXT_LENGTH,
    attachment_kinds,
    private_reply_window,
    text_limit,
)
from routing.services import clocks
from routing.services.kernel import (
    STATE_WORDS,
    NotYours,
    RoutingError,
    S,
    TransitionRefused,
    lock_interaction,
)
from routing.services.service_levels import customer_answered

# A reply in one of these may be sent again (Retry, Resend) or deleted.
NOT_SENT = (MessageStatus.TIMED_OUT, MessageStatus.FAILED, MessageStatus.DUPLICATE)

# A second identical reply within this is held back (double click, Enter held).
DUPLICATE_WINDOW = timedelta(seconds=5)


def send_deadline(*, with_file: bool = False) -> datetime:
    # A little over the HTTP timeout, so the sender's own answer normally wins;
    # a file has its upload to Meta to do first.
    seconds = settings.FACEBOOK_SEND_TIMEOUT + 2
    if with_file:
        seconds += settings.FACEBOOK_UPLOAD_TIMEOUT
    return timezone.now() + timedelta(seconds=seconds)


def file_client_id(client_id: uuid.UUID, index: int) -> uuid.UUID:
    """The client id of the `index`th file of a Send: the same form posted twice, the same ids."""
    return uuid.uuid5(client_id, f"file-{index}")


def store_reply(
    *, interaction_id: int, agent: Agent, text: str, client_id: uuid.UUID | None = None
) -> Message:
    """Store an agent's reply as `sending` (or `duplicate`) and hand it to the sender."""
    [message] = store_replies(
        interaction_id=interaction_id, agent=agent, text=text, client_id=client_id
    )
    return message


def store_replies(
    *,
    interaction_id: int,
    agent: Agent,
    text: str,
    files: Sequence[KeptFile] = (),
    client_id: uuid.UUID | None = None,
) -> list[Message]:
    """Store a Send: the text as one message and each file as a message of its own.

    Messenger delivers an attachment as a message by itself, so each file has
    its own life (sending, sent, Retry, Resend, Delete); the text comes first.
    Each is stored `sending` (a repeated text `duplicate`) and handed to the
    sender after commit.
    """
    text = text.strip()
    if not text and not files:
        raise RoutingError("Type a message first.")
    if len(text) > MAX_TEXT_LENGTH:
        raise RoutingError(
            f"Messenger takes at most {MAX_TEXT_LENGTH} characters; this message has {len(text)}."
        )
    client_id = client_id or uuid.uuid4()
    file_ids = [file_client_id(client_id, n) for n in range(len(files))]
    with transaction.atomic():
        interaction = lock_interaction(interaction_id)
        if interaction.agent_id != agent.pk:
            raise NotYours("This interaction is not yours.")
        if interaction.state != S.CONNECTED:
            raise TransitionRefused(
                f"Replies are possible only while connected; the interaction is "
                f"{STATE_WORDS[interaction.state]}."
            )
        existing = list(Message.objects.filter(client_id__in=[client_id, *file_ids]))
        if existing:
            return existing  # the same form posted twice
        window = reply_window_for(interaction)
        if not window.open:
            raise RoutingError(window.reason)
        reply_to_mid = _check_channel_limits(interaction, text, files)
        now = timezone.now()
        stored = []
        if text:
            stored.append(
                _store_text(
                    interaction, agent, text, client_id, window.messaging_type, now, reply_to_mid
                )
            )
        for file, file_id in zip(files, file_ids, strict=True):
            entry = message_entries.outbound_file(
                kind=file.kind,
                name=file.name,
                path=file.path,
                content_type=file.content_type,
                size=file.size,
                sha256=file.sha256,
            )
            stored.append(
                Message.objects.create(
                    interaction=interaction,
                    direction=MessageDirection.OUTBOUND,
                    attachments=[entry],
                    status=MessageStatus.SENDING,
                    client_id=file_id,
                    author_id=agent.user_id,
                    sent_at=now,
                    send_deadline=send_deadline(with_file=True),
                    messaging_type=window.messaging_type,
                )
            )
        for message in stored:
            publish_on_commit(message_event(message, interaction))
            if message.status == MessageStatus.SENDING:
                outbound_ready_on_commit(message.pk)
        if clocks.agent_replied(interaction, now=now):
            publish_on_commit(interaction_event(interaction))  # the warning goes
        # A Send answers the waiting customer (its clock stops), whatever Meta says later.
        customer_answered(interaction, at=now, actor_user_id=agent.user_id)
    return stored


def _check_channel_limits(interaction: Interaction, text: str, files: Sequence[KeptFile]) -> str:
    """Refuse what the interaction's channel cannot carry; a private reply's comment id."""
    channel = interaction.customer.channel
    limit = text_limit(channel)
    if len(text) > limit:
        raise RoutingError(
            f"{CHANNEL_NAMES[channel]} takes at most {limit} characters; "
            f"this message has {len(text)}."
        )
    kinds = attachment_kinds(channel)
    for file in files:
        if file.kind not in kinds:
            if channel == Channel.COMMENT:
                raise RoutingError("A private reply is one text message: remove the files.")
            raise RoutingError(
                f"{CHANNEL_NAMES[channel]} cannot carry {file.name}: "
                f"only {', '.join(kinds)} files can be sent."
            )
    if channel != Channel.COMMENT:
        return ""
    target = reply_target(interaction)
    return target.comment_id if target else ""


def _store_text(
    interaction: Interaction,
    agent: Agent,
    text: str,
    client_id: uuid.UUID,
    messaging_type: str,
    now: datetime,
    reply_to_mid: str = "",
) -> Message:
    is_duplicate = (
        Message.objects.filter(
            interaction=interaction,
            direction=MessageDirection.OUTBOUND,
            text=text,
            created_at__gte=now - DUPLICATE_WINDOW,
            deleted_at__isnull=True,
        )
        .exclude(status__in=(MessageStatus.FAILED, MessageStatus.DUPLICATE))
        .exists()
    )
    return Message.objects.create(
        interaction=interaction,
        direction=MessageDirection.OUTBOUND,
        text=text,
        status=MessageStatus.DUPLICATE if is_duplicate else MessageStatus.SENDING,
        client_id=client_id,
        author_id=agent.user_id,
        sent_at=now,
        send_deadline=None if is_duplicate else send_deadline(),
        messaging_type=messaging_type,
        reply_to_mid=reply_to_mid,
        error_message=(
            "The same text was just sent; held back so the customer does not get it twice."
            if is_duplicate
            else ""
        ),
    )


def lock_message(message_id: int) -> Message:
    try:
        return Message.objects.select_for_update().get(pk=message_id)
    except Message.DoesNotExist:
        raise RoutingError("This message no longer exists.") from None


def resend(*, message_id: int, agent: Agent) -> Message:
    """Retry (timed out) or Resend (failed, duplicate): back to `sending`."""
    with transaction.atomic():
        message = lock_message(message_id)
        interaction = lock_interaction(message.interaction_id)
        if interaction.agent_id != agent.pk:
            raise NotYours("This interaction is not yours.")
        if message.status not in NOT_SENT:
            if message.status in ACCEPTED_BY_META:
                # Its echo settled it meanwhile: sending again would send it twice.
                raise RoutingError("Messenger has confirmed this message: it was sent.")
            raise RoutingError("Only a message that was not sent can be sent again.")
        if message.deleted_at:
            raise RoutingError("This message was deleted.")
        # Sending again is replying again: the same rule as store_reply.
        if interaction.state != S.CONNECTED:
            raise TransitionRefused(
                f"Replies are possible only while connected; the interaction is "
                f"{STATE_WORDS[interaction.state]}."
            )
        window = _resend_window(interaction, message)
        if not window.open:
            raise RoutingError(window.reason)
        if message.automatic and window.messaging_type != "RESPONSE":
            # No person wrote it: it may not go out under the HUMAN_AGENT tag.
            raise RoutingError(
                "An automatic message is sent only within 24 hours of the customer's "
                "last message; write your own reply instead."
            )
        message.status = MessageStatus.SENDING
        message.error_code = ""
        message.error_message = ""
        message.messaging_type = window.messaging_type
        message.send_deadline = send_deadline(
            with_file=message_entries.sent_file(message.attachments) is not None
        )
        message.save(
            update_fields=[
                "status",
                "error_code",
                "error_message",
                "messaging_type",
                "send_deadline",
            ]
        )
        publish_on_commit(message_event(message, interaction))
        outbound_ready_on_commit(message.pk)
    return message


def _resend_window(interaction: Interaction, message: Message):
    if interaction.customer.channel != Channel.COMMENT:
        return reply_window_for(interaction)
    # The private reply being sent again is the comment's one reply, not a second.
    comment = interaction.comments.filter(comment_id=message.reply_to_mid).first()
    return private_reply_window(
        commented_at=comment.commented_at if comment else None, answered=False
    )


def delete_unsent(*, message_id: int, agent: Agent) -> Message:
    with transaction.atomic():
        message = lock_message(message_id)
        interaction = lock_interaction(message.interaction_id)
        if interaction.agent_id != agent.pk:
            raise NotYours("This interaction is not yours.")
        if message.status not in NOT_SENT:
            raise RoutingError("Only a message that was not sent can be deleted.")
        message.deleted_at = timezone.now()
        message.save(update_fields=["deleted_at"])
        publish_on_commit(message_event(message, interaction))
    return message
