"""What happens to stored messages after they arrive, one function per verb.

The customer reacts to a message (or takes the reaction back); a copy of an
attachment is kept (or could not be); a message handled by another app that
controls the conversation (standby) is shown in the transcript. Same rules as
`routing.messaging`: lock, check, write, announce after commit. A repeated
event changes nothing and announces nothing.
"""

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q

from routing import message_entries
from routing.events import message_event, publish_on_commit
from routing.models import (
    Customer,
    Interaction,
    Message,
    MessageDirection,
    MessageStatus,
)
from routing.services.receipts import customer_interactions, lock_current_or_latest_interaction

logger = logging.getLogger(__name__)

# Meta names a reaction and usually sends its emoji too; this covers the names alone.
REACTION_EMOJI = {
    "like": "👍",
    "love": "❤",
    "smile": "😆",
    "wow": "😮",
    "sad": "😢",
    "angry": "😠",
}
MAX_REACTION_LENGTH = 32  # Message.reaction
MAX_PROBLEM_LENGTH = 300


# --- reactions -------------------------------------------------------------------


def _reaction_entry(message: Message) -> tuple[dict, datetime] | None:
    """The reaction entry we wrote, with its time.

    An entry of that type without a valid aware `at` is not ours (a customer's
    attachment stored before the adapter renamed such types): it is left
    alone, and must not make every later reaction fail.
    """
    for entry in message_entries.of_kind(message.attachments, message_entries.REACTION):
        if (at := message_entries.reaction_at(entry)) is not None:
            return entry, at
    return None


def record_reaction(
    *,
    page_id: str,
    psid: str,
    mid: str,
    action: str,
    reaction: str = "",
    emoji: str = "",
    reacted_at: datetime,
) -> Message | None:
    """The customer reacted to a message (`react`) or took the reaction back (`unreact`).

    The newest event by Meta's timestamp wins: an older one arriving late, or
    the same one again, changes nothing. The reaction shown is in
    `Message.reaction`; the event it came from is kept as a
    `{"type": "reaction", …}` entry in `attachments`. None when the message is
    not this customer's.
    """
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(mid=mid, interaction__in=customer_interactions(page_id, psid))
            .first()
        )
        if message is None:
            return None
        current: dict | None = None
        if (found := _reaction_entry(message)) is not None:
            current, current_at = found
            same = (current.get("action"), current.get("reaction")) == (action, reaction)
            if reacted_at < current_at or (reacted_at == current_at and same):
                return message
        shown = ""
        if action != "unreact":
            shown = (emoji or REACTION_EMOJI.get(reaction, reaction) or "👍")[:MAX_REACTION_LENGTH]
        message.reaction = shown
        message.attachments = [
            *(e for e in message.attachments if e is not current),
            message_entries.reaction(action, reaction, shown, reacted_at),
        ]
        message.save(update_fields=["reaction", "attachments"])
        interaction = Interaction.objects.get(pk=message.interaction_id)
        publish_on_commit(message_event(message, interaction))
    return message


# --- kept copies of attachments --------------------------------------------------


def record_attachment_copy(
    *,
    message_id: int,
    index: int,
    url: str,
    path: str = "",
    content_type: str = "",
    size: int = 0,
    problem: str = "",
) -> Message | None:
    """A copy of attachment `index` (fetched from `url`) was kept at `path`, or not (`problem`).

    The first outcome stays: a second download of the same attachment (a
    redelivery raced in) changes nothing. None when the message is gone or its
    attachment is not that one.
    """
    if not path and not problem:
        raise ValueError("Give the kept copy's path or the problem.")
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(pk=message_id).first()
        if message is None or not 0 <= index < len(message.attachments):
            return None
        attachment = message.attachments[index]
        if not isinstance(attachment, dict) or attachment.get("url") != url:
            return None
        if message_entries.copy_settled(attachment):
            return message
        if path:
            changed = message_entries.with_copy(
                attachment, path=path, content_type=content_type, size=size
            )
        else:
            changed = message_entries.with_copy_failed(attachment, problem[:MAX_PROBLEM_LENGTH])
        attachments = list(message.attachments)
        attachments[index] = changed
        message.attachments = attachments
        message.save(update_fields=["attachments"])
        interaction = Interaction.objects.get(pk=message.interaction_id)
        publish_on_commit(message_event(message, interaction))
    return message


# --- standby: another app controls the conversation ------------------------------


def record_standby(
    *,
    page_id: str,
    psid: str,
    mid: str,
    text: str = "",
    from_customer: bool,
    kind: str = "message",
    sent_at: datetime,
) -> Message | None:
    """A message another app handled (handover protocol), shown in the customer's transcript.

    It joins the customer's live interaction, else their latest one; it never
    opens one nor offers anything to an agent, since that app answers it. A
    message from the customer still counts for the reply window. Returns the
    stored message (the existing one for a redelivery), or None when the
    customer has no interaction.
    """
    with transaction.atomic():
        if existing := Message.objects.filter(mid=mid).first():
            return existing
        interaction = lock_current_or_latest_interaction(page_id=page_id, psid=psid)
        if interaction is None:
            return None
        try:
            with transaction.atomic():
                message = Message.objects.create(
                    interaction=interaction,
                    direction=(
                        MessageDirection.INBOUND if from_customer else MessageDirection.OUTBOUND
                    ),
                    text=text,
                    attachments=[message_entries.standby(kind)],
                    status=MessageStatus.RECEIVED if from_customer else MessageStatus.SENT,
                    mid=mid,
                    sent_at=sent_at,
                )
        except IntegrityError:
            return Message.objects.filter(mid=mid).first()
        if from_customer:
            Customer.objects.filter(pk=interaction.customer_id).filter(
                Q(last_message_at__isnull=True) | Q(last_message_at__lt=sent_at)
            ).update(last_message_at=sent_at)
        publish_on_commit(message_event(message, interaction))
    return message


def record_customer_edit(
    *,
    page_id: str,
    psid: str,
    mid: str,
    text: str,
    num_edit: int,
    edited_at: datetime,
) -> Message | None:
    """The customer edited a message: show the new text, keep the old one.

    The old text is kept as an `{"type": "edit", …}` entry in `attachments`.
    A redelivered or out-of-order (older) edit changes nothing. None when the
    message is unknown.
    """
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(
                mid=mid,
                direction=MessageDirection.INBOUND,
                interaction__in=customer_interactions(page_id, psid),
            )
            .first()
        )
        if message is None:
            return None
        newest_edit = max(
            (
                entry.get("num_edit") or 0
                for entry in message_entries.of_kind(message.attachments, message_entries.EDIT)
            ),
            default=0,
        )
        if message.text == text or (num_edit and num_edit <= newest_edit):
            return message
        message.attachments = [
            *message.attachments,
            message_entries.edit(message.text, num_edit, edited_at),
        ]
        message.text = text
        message.save(update_fields=["text", "attachments"])
        interaction = Interaction.objects.get(pk=message.interaction_id)
        publish_on_commit(message_event(message, interaction))
    return message


RETENTION_WORDS = "The copy of this attachment was removed after the retention period."


def forget_attachment_copies(*, received_before: datetime, limit: int) -> list[str]:
    """Drop the kept copies of attachments of messages received before `received_before`.

    At most `limit` messages a call; each entry keeps why its copy is gone. The
    paths of the copies (under MEDIA_ROOT) are returned for the caller to delete
    once this has committed.
    """
    forgotten: list[str] = []
    with transaction.atomic():
        messages = (
            Message.objects.select_for_update()
            .filter(created_at__lt=received_before, attachments__icontains='"copy"')
            .order_by("pk")[:limit]
        )
        for message in messages:
            attachments = list(message.attachments)
            for index, entry in enumerate(attachments):
                copy = message_entries.kept_copy(entry)
                if copy is None:
                    continue
                forgotten.append(str(copy.get("path") or ""))
                kept = {key: value for key, value in entry.items() if key != "copy"}
                attachments[index] = message_entries.with_copy_failed(kept, RETENTION_WORDS)
            message.attachments = attachments
            message.save(update_fields=["attachments"])
            interaction = Interaction.objects.get(pk=message.interaction_id)
            publish_on_commit(message_event(message, interaction))
    return [path for path in forgotten if path]
