"""A customer's message arrives: stored on their live interaction, or opening one."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q

from routing.events import (
    interaction_event,
    message_event,
    publish_on_commit,
)
from routing.models import (
    Channel,
    Customer,
    Interaction,
    InteractionEvent,
    Message,
    MessageDirection,
    MessageStatus,
    PageComment,
)
from routing.services.acd import offer_after_commit
from routing.services.kernel import S
from routing.services.recordings import record_automatically


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
    channel: str = Channel.MESSENGER,
) -> Received:
    """Store a customer's message on their live interaction, opening one if needed.

    A `mid` already stored changes nothing (Meta redelivers). Must run inside
    the caller's transaction or its own; offering to an agent happens after
    commit. `channel` is where a new customer writes from (Messenger or
    Instagram). A Messenger conversation opened by someone whose comment got
    a private reply continues that comment's interaction (`follows`).
    """
    with transaction.atomic():
        if Message.objects.filter(mid=mid).exists():
            return Received(message=None, interaction=None)
        customer, _ = Customer.objects.get_or_create(
            page_id=page_id, psid=psid, defaults={"channel": channel}
        )
        interaction, created = live_interaction_for(customer, workgroup_id)
        if created and customer.channel == Channel.MESSENGER:
            _continue_answered_comment(interaction)
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
            offer_after_commit(workgroup_id)
    return Received(message=message, interaction=interaction, created_interaction=created)


def live_interaction_for(customer: Customer, workgroup_id: int) -> tuple[Interaction, bool]:
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


# How long after a private reply the person's first Messenger message still continues it.
PRIVATE_REPLY_FOLLOWED_FOR = timedelta(days=7)


def _continue_answered_comment(interaction: Interaction) -> None:
    """Link a new Messenger interaction to the comment whose private reply it answers.

    Meta's answer to the private reply named the person's PSID; their first
    message in Messenger opens a normal DM interaction that shows the comment.
    """
    customer = interaction.customer
    comment = (
        PageComment.objects.filter(
            reply_psid=customer.psid,
            interaction__customer__page_id=customer.page_id,
            # Their answer to a recent private reply, once: a later conversation is its own.
            replied_at__gte=interaction.created_at - PRIVATE_REPLY_FOLLOWED_FOR,
            interaction__followed_by__isnull=True,
        )
        .order_by("-replied_at", "-id")
        .first()
    )
    if comment is None:
        return
    interaction.follows_id = comment.interaction_id
    interaction.save(update_fields=["follows"])
    InteractionEvent.objects.create(
        interaction=interaction,
        verb="continue_comment",
        from_state=interaction.state,
        to_state=interaction.state,
        detail={"comment_id": comment.comment_id, "interaction_id": comment.interaction_id},
    )
