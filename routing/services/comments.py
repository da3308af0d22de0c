"""Comments on the Page's posts: routed as interactions of their own, answered
with one private reply whose answer from Meta links the Messenger conversation
that may follow."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from routing.events import message_event, publish_on_commit
from routing.models import (
    Channel,
    Customer,
    Message,
    MessageDirection,
    MessageStatus,
    PageComment,
)
from routing.services.acd import offer_after_commit
from routing.services.arrivals import Received
from routing.services.kernel import RoutingError
from routing.services.openings import live_interaction_for
from routing.services.replies import lock_message
from routing.services.send_outcomes import record_sent
from routing.services.service_levels import customer_waits

MAX_NAME_LENGTH = 100  # Customer.first_name / last_name


def receive_page_comment(
    *,
    workgroup_id: int,
    page_id: str,
    commenter_id: str,
    commenter_name: str = "",
    comment_id: str,
    post_id: str,
    post_url: str = "",
    text: str = "",
    commented_at: datetime,
) -> Received:
    """Store a comment as the inbound message of the commenter's comment interaction.

    The commenter is a customer of their own (channel `comment`): their id in
    the feed is not their Messenger PSID. A comment already stored changes
    nothing (Meta redelivers); offering happens after commit.
    """
    with transaction.atomic():
        if PageComment.objects.filter(comment_id=comment_id).exists():
            return Received(message=None, interaction=None)
        first_name, _, last_name = " ".join(commenter_name.split()).partition(" ")
        customer, _ = Customer.objects.get_or_create(
            page_id=page_id,
            psid=commenter_id,
            defaults={
                "channel": Channel.COMMENT,
                "first_name": first_name[:MAX_NAME_LENGTH],
                "last_name": last_name[:MAX_NAME_LENGTH],
            },
        )
        if customer.channel != Channel.COMMENT:
            raise RoutingError(f"comment {comment_id}: {commenter_id} writes in {customer.channel}")
        interaction, created = live_interaction_for(customer, workgroup_id)
        try:
            with transaction.atomic():
                message = Message.objects.create(
                    interaction=interaction,
                    direction=MessageDirection.INBOUND,
                    text=text,
                    status=MessageStatus.RECEIVED,
                    mid=comment_id,
                    sent_at=commented_at,
                )
                PageComment.objects.create(
                    interaction=interaction,
                    comment_id=comment_id,
                    post_id=post_id,
                    post_url=post_url if post_url.startswith(("https://", "http://")) else "",
                    text=text,
                    commented_at=commented_at,
                )
        except IntegrityError:
            return Received(message=None, interaction=interaction)  # raced in twice
        Customer.objects.filter(pk=customer.pk).filter(
            Q(last_message_at__isnull=True) | Q(last_message_at__lt=commented_at)
        ).update(last_message_at=commented_at)
        # The first-response clock runs until the private reply, as for a message.
        customer_waits(interaction, since=commented_at, announce=not created)
        publish_on_commit(message_event(message, interaction))
        if created:
            offer_after_commit(workgroup_id)
    return Received(message=message, interaction=interaction, created_interaction=created)


def record_private_reply_sent(*, message_id: int, mid: str, psid: str) -> Message | None:
    """Meta accepted the private reply and named the person's PSID: the Messenger
    conversation they may start follows this comment."""
    with transaction.atomic():
        message = lock_message(message_id)
        sent = record_sent(message_id=message_id, mid=mid)
        if psid:
            PageComment.objects.filter(
                interaction_id=message.interaction_id, comment_id=message.reply_to_mid
            ).update(reply_psid=psid[:64], replied_at=timezone.now())
    return sent
