"""What Meta reports about the conversation: the Page's own replies (echoes,
ours or the Page inbox's), deliveries and reads, and where such a report belongs.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from routing.events import (
    message_event,
    publish_on_commit,
)
from routing.models import (
    Channel,
    Interaction,
    Message,
    MessageDirection,
    MessageStatus,
)
from routing.services.kernel import S
from routing.services.send_outcomes import record_sent
from routing.services.service_levels import customer_answered


def customer_interactions(page_id: str, psid: str):
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
            # A private reply was sent to a comment, not to this PSID: it is ours all the same.
            ours = Message.objects.filter(
                Q(interaction__in=customer_interactions(page_id, psid))
                | Q(
                    interaction__customer__page_id=page_id,
                    interaction__customer__channel=Channel.COMMENT,
                ),
                client_id=client_id,
                direction=MessageDirection.OUTBOUND,
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
        # A reply from the Page inbox answers the customer as well as ours does.
        customer_answered(interaction, at=min(sent_at, timezone.now()), actor_user_id=None)
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
                interaction__in=customer_interactions(page_id, psid),
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
