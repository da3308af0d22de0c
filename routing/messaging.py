"""Messages in and out of an interaction, one function per verb.

The same rules as `routing.services`: lock, check, write, announce after
commit. Inbound messages come from the webhook adapter; outbound ones are
stored here first and then sent by the Facebook sender, which reports the
outcome back through `record_sent` / `record_send_failed`.
"""

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from routing.events import (
    interaction_event,
    message_event,
    outbound_ready_on_commit,
    publish_on_commit,
)
from routing.models import (
    Agent,
    Customer,
    Interaction,
    InteractionEvent,
    InteractionState,
    Message,
    MessageDirection,
    MessageStatus,
)
from routing.services import (
    STATE_WORDS,
    NotYours,
    RoutingError,
    TransitionRefused,
    _lock_interaction,
    _offer_after_commit,
    record_automatically,
)

logger = logging.getLogger(__name__)

S = InteractionState

# Meta refuses text of 2000 characters or more.
MAX_TEXT_LENGTH = 1999
# A second identical reply within this is held back (double click, Enter held).
DUPLICATE_WINDOW = timedelta(seconds=5)
RESPONSE_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)


# --- inbound messages ----------------------------------------------------------


@dataclass(frozen=True)
class Received:
    message: Message | None
    interaction: Interaction | None
    created_interaction: bool = False

    @property
    def duplicate(self) -> bool:
        return self.message is None


def receive_customer_message(
    *,
    workgroup_id: int,
    page_id: str,
    psid: str,
    mid: str,
    text: str = "",
    attachments: list | None = None,
    sent_at: datetime,
    reply_to_mid: str = "",
) -> Received:
    """Store a customer's message on their live interaction, opening one if needed.

    A `mid` already stored changes nothing (Meta redelivers). Must run inside
    the caller's transaction or its own; offering to an agent happens after
    commit.
    """
    with transaction.atomic():
        if Message.objects.filter(mid=mid).exists():
            return Received(message=None, interaction=None)
        customer, _ = Customer.objects.get_or_create(page_id=page_id, psid=psid)
        interaction, created = _live_interaction_for(customer, workgroup_id)
        try:
            with transaction.atomic():
                message = Message.objects.create(
                    interaction=interaction,
                    direction=MessageDirection.INBOUND,
                    text=text,
                    attachments=attachments or [],
                    status=MessageStatus.RECEIVED,
                    mid=mid,
                    sent_at=sent_at,
                    reply_to_mid=reply_to_mid or "",
                )
        except IntegrityError:
            # The same mid raced in through another request.
            return Received(message=None, interaction=interaction)
        # Compared in the UPDATE, not on the row read above: concurrent messages
        # commit in any order, and the window counts from the newest one.
        Customer.objects.filter(pk=customer.pk).filter(
            Q(last_message_at__isnull=True) | Q(last_message_at__lt=sent_at)
        ).update(last_message_at=sent_at)
        publish_on_commit(message_event(message, interaction))
        if created:
            _offer_after_commit(workgroup_id)
    return Received(message=message, interaction=interaction, created_interaction=created)


def _live_interaction_for(customer: Customer, workgroup_id: int) -> tuple[Interaction, bool]:
    existing = (
        Interaction.objects.select_for_update()
        .filter(customer=customer)
        .exclude(state=S.DISCONNECTED)
        .first()
    )
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            interaction = Interaction.objects.create(
                workgroup_id=workgroup_id, customer=customer, state=S.QUEUED
            )
    except IntegrityError:
        # Another request opened it first (partial unique constraint).
        existing = (
            Interaction.objects.select_for_update()
            .filter(customer=customer)
            .exclude(state=S.DISCONNECTED)
            .get()
        )
        return existing, False
    InteractionEvent.objects.create(
        interaction=interaction, verb="create", from_state="", to_state=S.QUEUED
    )
    if interaction.workgroup.auto_record:
        record_automatically(interaction, at=interaction.created_at)
    publish_on_commit(interaction_event(interaction))
    return interaction, True


# --- outbound messages ---------------------------------------------------------


@dataclass(frozen=True)
class ReplyWindow:
    open: bool
    messaging_type: str  # "RESPONSE" or "MESSAGE_TAG"
    tag: str  # "" or "HUMAN_AGENT"
    closes_at: datetime | None
    reason: str


def reply_window(customer: Customer, *, now: datetime | None = None) -> ReplyWindow:
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


def _send_deadline() -> datetime:
    # A little over the HTTP timeout, so the sender's own answer normally wins.
    return timezone.now() + timedelta(seconds=settings.FACEBOOK_SEND_TIMEOUT + 2)


def store_reply(
    *, interaction_id: int, agent: Agent, text: str, client_id: uuid.UUID | None = None
) -> Message:
    """Store an agent's reply as `sending` (or `duplicate`) and hand it to the sender."""
    text = text.strip()
    if not text:
        raise RoutingError("Type a message first.")
    if len(text) > MAX_TEXT_LENGTH:
        raise RoutingError(
            f"Messenger takes at most {MAX_TEXT_LENGTH} characters; this message has {len(text)}."
        )
    with transaction.atomic():
        interaction = _lock_interaction(interaction_id)
        if interaction.agent_id != agent.pk:
            raise NotYours("This interaction is not yours.")
        if interaction.state != S.CONNECTED:
            raise TransitionRefused(
                f"Replies are possible only while connected; the interaction is "
                f"{STATE_WORDS[interaction.state]}."
            )
        if client_id and (existing := Message.objects.filter(client_id=client_id).first()):
            return existing  # the same form posted twice
        window = reply_window(interaction.customer)
        if not window.open:
            raise RoutingError(window.reason)
        now = timezone.now()
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
        message = Message.objects.create(
            interaction=interaction,
            direction=MessageDirection.OUTBOUND,
            text=text,
            status=MessageStatus.DUPLICATE if is_duplicate else MessageStatus.SENDING,
            client_id=client_id or uuid.uuid4(),
            author_id=agent.user_id,
            sent_at=now,
            send_deadline=None if is_duplicate else _send_deadline(),
            messaging_type=window.messaging_type,
            error_message=(
                "The same text was just sent; held back so the customer does not get it twice."
                if is_duplicate
                else ""
            ),
        )
        publish_on_commit(message_event(message, interaction))
        if not is_duplicate:
            outbound_ready_on_commit(message.pk)
    return message


def _lock_message(message_id: int) -> Message:
    try:
        return Message.objects.select_for_update().get(pk=message_id)
    except Message.DoesNotExist:
        raise RoutingError("This message no longer exists.") from None


def resend(*, message_id: int, agent: Agent) -> Message:
    """Retry (timed out) or Resend (failed, duplicate): back to `sending`."""
    with transaction.atomic():
        message = _lock_message(message_id)
        interaction = _lock_interaction(message.interaction_id)
        if interaction.agent_id != agent.pk:
            raise NotYours("This interaction is not yours.")
        if message.status not in (
            MessageStatus.TIMED_OUT,
            MessageStatus.FAILED,
            MessageStatus.DUPLICATE,
        ):
            if message.status in (
                MessageStatus.SENT,
                MessageStatus.DELIVERED,
                MessageStatus.READ,
            ):
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
        window = reply_window(interaction.customer)
        if not window.open:
            raise RoutingError(window.reason)
        message.status = MessageStatus.SENDING
        message.error_code = ""
        message.error_message = ""
        message.messaging_type = window.messaging_type
        message.send_deadline = _send_deadline()
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


def delete_unsent(*, message_id: int, agent: Agent) -> Message:
    with transaction.atomic():
        message = _lock_message(message_id)
        interaction = _lock_interaction(message.interaction_id)
        if interaction.agent_id != agent.pk:
            raise NotYours("This interaction is not yours.")
        if message.status not in (
            MessageStatus.TIMED_OUT,
            MessageStatus.FAILED,
            MessageStatus.DUPLICATE,
        ):
            raise RoutingError("Only a message that was not sent can be deleted.")
        message.deleted_at = timezone.now()
        message.save(update_fields=["deleted_at"])
        publish_on_commit(message_event(message, interaction))
    return message


def claim_for_sending(*, message_id: int) -> Message | None:
    """The sender takes a `sending` message; None when it is no longer to be sent."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .select_related("interaction__customer")
            .filter(pk=message_id, status=MessageStatus.SENDING, deleted_at__isnull=True)
            .first()
        )
        return message


def record_sent(*, message_id: int, mid: str) -> Message | None:
    """Meta accepted the message (answer or echo). Settles a timed-out send too."""
    with transaction.atomic():
        message = _lock_message(message_id)
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
        message = _lock_message(message_id)
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


# --- Messenger events from the webhook ---


def _customer_interactions(page_id: str, psid: str):
    # A subquery, not a join: select_for_update then locks only the message rows.
    return Interaction.objects.filter(customer__page_id=page_id, customer__psid=psid).values("pk")


def lock_current_or_latest_interaction(*, page_id: str, psid: str) -> Interaction | None:
    """The customer's live interaction, else their latest one, locked; None for a stranger.

    Where something the Page (or another app) sent belongs: never a new interaction.
    """
    # of=self: lock the interaction rows only, not the joined customer.
    interactions = Interaction.objects.select_for_update(of=("self",)).filter(
        customer__page_id=page_id, customer__psid=psid
    )
    return (
        interactions.exclude(state=S.DISCONNECTED).first()
        or interactions.order_by("-created_at", "-pk").first()
    )


def record_page_echo(
    *,
    page_id: str,
    psid: str,
    mid: str,
    client_id: uuid.UUID | None = None,
    text: str = "",
    attachments: list | None = None,
    sent_at: datetime,
) -> Message | None:
    """Meta echoed a message the Page sent to the customer; never opens an interaction.

    Our own reply (its `client_id` came back as metadata) is settled as sent,
    which also settles one that timed out. A reply typed elsewhere (the Page
    inbox) joins the customer's live interaction, else their latest one, as a
    sent message without author. None when the customer has no interaction.
    """
    with transaction.atomic():
        if existing := Message.objects.filter(mid=mid).first():
            return existing  # a redelivery, or the Send API's answer came first
        if client_id is not None:
            ours = Message.objects.filter(
                client_id=client_id,
                direction=MessageDirection.OUTBOUND,
                interaction__in=_customer_interactions(page_id, psid),
            ).first()
            if ours is not None:
                return record_sent(message_id=ours.pk, mid=mid)
        interaction = lock_current_or_latest_interaction(page_id=page_id, psid=psid)
        if interaction is None:
            return None
        try:
            with transaction.atomic():
                message = Message.objects.create(
                    interaction=interaction,
                    direction=MessageDirection.OUTBOUND,
                    text=text,
                    attachments=attachments or [],
                    status=MessageStatus.SENT,
                    mid=mid,
                    sent_at=sent_at,
                )
        except IntegrityError:
            # The same echo raced in through another request.
            return Message.objects.filter(mid=mid).first()
        publish_on_commit(message_event(message, interaction))
    return message


def record_delivered(
    *,
    page_id: str,
    psid: str,
    mids: Sequence[str] = (),
    watermark: datetime | None = None,
) -> int:
    """Meta delivered our messages named in `mids` and all sent up to `watermark`.

    Returns how many messages changed; a read one stays read.
    """
    return _advance_outbound(
        page_id=page_id,
        psid=psid,
        mids=mids,
        watermark=watermark,
        from_statuses=(MessageStatus.SENT,),
        to_status=MessageStatus.DELIVERED,
    )


def record_read(*, page_id: str, psid: str, watermark: datetime) -> int:
    """The customer read everything we sent up to `watermark`. Returns how many changed."""
    return _advance_outbound(
        page_id=page_id,
        psid=psid,
        mids=(),
        watermark=watermark,
        from_statuses=(MessageStatus.SENT, MessageStatus.DELIVERED),
        to_status=MessageStatus.READ,
    )


def _advance_outbound(
    *,
    page_id: str,
    psid: str,
    mids: Sequence[str],
    watermark: datetime | None,
    from_statuses: tuple[str, ...],
    to_status: str,
) -> int:
    reached = Q()
    if mids:
        reached |= Q(mid__in=list(mids))
    if watermark is not None:
        reached |= Q(sent_at__lte=watermark)
    if not reached:
        return 0
    with transaction.atomic():
        # Only forward: sent → delivered → read, so a late delivery never undoes a read.
        messages = list(
            Message.objects.select_for_update()
            .filter(
                reached,
                interaction__in=_customer_interactions(page_id, psid),
                direction=MessageDirection.OUTBOUND,
                status__in=from_statuses,
            )
            .order_by("pk")
        )
        interactions = Interaction.objects.in_bulk({m.interaction_id for m in messages})
        for message in messages:
            message.status = to_status
            message.save(update_fields=["status"])
            publish_on_commit(message_event(message, interactions[message.interaction_id]))
    return len(messages)


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
                interaction__in=_customer_interactions(page_id, psid),
            )
            .first()
        )
        if message is None:
            return None
        newest_edit = max(
            (
                entry.get("num_edit", 0)
                for entry in message.attachments
                if isinstance(entry, dict) and entry.get("type") == "edit"
            ),
            default=0,
        )
        if message.text == text or (num_edit and num_edit <= newest_edit):
            return message
        message.attachments = [
            *message.attachments,
            {
                "type": "edit",
                "url": None,
                "title": "",
                "previous_text": message.text,
                "num_edit": num_edit,
                "edited_at": edited_at.isoformat(),
            },
        ]
        message.text = text
        message.save(update_fields=["text", "attachments"])
        interaction = Interaction.objects.get(pk=message.interaction_id)
        publish_on_commit(message_event(message, interaction))
    return message
