"""What the sender reports of a reply it sends, and the timer when nothing came back
in time: a message is claimed for sending, then sent, failed, timed out or held back
by Meta's rate limit.
"""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from routing import message_entries
from routing.events import message_event, publish_on_commit
from routing.lookups import row_or_none
from routing.models import Interaction, Message, MessageStatus
from routing.services.replies import lock_message, send_deadline

logger = logging.getLogger(__name__)


def claim_for_sending(*, message_id: int) -> Message | None:
    """The sender takes a `sending` message; None when it is no longer to be sent."""
    with transaction.atomic():
        return row_or_none(
            # The message's row only: PostgreSQL would lock the joined interaction too,
            # and the ACD skips a locked queued row (an acknowledgement being sent
            # while its interaction is first offered left it unoffered).
            Message.objects.select_for_update(of=("self",))
            .select_related("interaction__customer")
            .filter(pk=message_id, status=MessageStatus.SENDING, deleted_at__isnull=True)
        )


def record_sent(*, message_id: int, mid: str) -> Message | None:
    """Meta accepted the message (answer or echo). Settles a timed-out send too."""
    with transaction.atomic():
        message = lock_message(message_id)
        if message.status in (MessageStatus.DELIVERED, MessageStatus.READ):
            return message
        if message.status == MessageStatus.SENT and message.mid == mid:
            return message
        if Message.objects.filter(mid=mid).exclude(pk=message.pk).exists():
            logger.warning("mid %s already belongs to another message", mid)
            return message
        message.status = MessageStatus.SENT
        message.mid = mid
        message.error_code = ""
        message.error_message = ""
        message.send_deadline = None
        message.save(
            update_fields=["status", "mid", "error_code", "error_message", "send_deadline"]
        )
        interaction = Interaction.objects.get(pk=message.interaction_id)
        publish_on_commit(message_event(message, interaction))
    return message


def record_send_failed(
    *, message_id: int, code: str, reason: str, timed_out: bool = False
) -> Message | None:
    with transaction.atomic():
        message = lock_message(message_id)
        if message.status != MessageStatus.SENDING:
            return message  # settled meanwhile (an echo, or a Delete)
        message.status = MessageStatus.TIMED_OUT if timed_out else MessageStatus.FAILED
        message.error_code = code[:40]
        message.error_message = reason[:500]
        message.send_deadline = None
        message.save(update_fields=["status", "error_code", "error_message", "send_deadline"])
        interaction = Interaction.objects.get(pk=message.interaction_id)
        publish_on_commit(message_event(message, interaction))
    return message


def postpone_send(*, message_id: int, until: datetime, reason: str) -> Message | None:
    """Meta's rate limit held the send back: it stays `sending`, to be sent again at
    `until`, with `reason` on the bubble meanwhile; its deadline moves past `until`,
    so the stuck-send timer leaves it alone."""
    with transaction.atomic():
        message = lock_message(message_id)
        if message.status != MessageStatus.SENDING:
            return message  # settled meanwhile (an echo, or a Delete)
        with_file = message_entries.sent_file(message.attachments) is not None
        message.send_deadline = until + (send_deadline(with_file=with_file) - timezone.now())
        message.error_message = reason[:500]
        message.save(update_fields=["send_deadline", "error_message"])
        interaction = Interaction.objects.get(pk=message.interaction_id)
        publish_on_commit(message_event(message, interaction))
    return message


def expire_stuck_sends() -> int:
    """Sends whose deadline passed with no answer (e.g. the server restarted) time out."""
    now = timezone.now()
    stuck = Message.objects.filter(status=MessageStatus.SENDING, send_deadline__lt=now)
    expired = 0
    for message_id in list(stuck.values_list("pk", flat=True)):
        with transaction.atomic():
            # Re-checked under the lock: since the list was read the send may
            # have been answered, even resent with a fresh deadline, or
            # expired by another process's timers.
            if not stuck.select_for_update().filter(pk=message_id).exists():
                continue
            record_send_failed(
                message_id=message_id,
                code="timeout",
                reason="Not confirmed by Messenger in time. It may not have been sent.",
                timed_out=True,
            )
            expired += 1
    return expired
