"""A customer's message arrives: stored on their live interaction, or opening one."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from routing import config_cache, message_entries, rules
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
    PriorityRule,
)
from routing.services import automatic, clocks, read_ahead
from routing.services.acd import offer_after_commit
from routing.services.kernel import S, insert_may_conflict
from routing.services.openings import live_interaction_of, open_interaction
from routing.services.service_levels import customer_waits


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
    # No savepoint of its own inside the caller's transaction (the router's
    # batch): nothing here is refused, and whatever fails undoes the caller's.
    with transaction.atomic(savepoint=False):
        # Read ahead for the router's whole batch, or asked here.
        ahead = read_ahead.take(page_id, psid, mid)
        if ahead is not None:
            if ahead.mid_stored:
                return Received(message=None, interaction=None)
            live = ahead.live
        else:
            if Message.objects.filter(mid=mid).exists():
                return Received(message=None, interaction=None)
            live = live_interaction_of(page_id, psid)
        if live is not None:
            customer, new_customer = live.customer, False
        else:
            customer, new_customer = _customer_writing(
                page_id, psid, channel=channel, at=sent_at, ahead=ahead
            )

        def priority_of() -> rules.PriorityFound:
            # Read only for an interaction it may change: a new one, or one still waiting.
            return rules.arrival_priority(
                config_cache.cached(
                    "priority_rules",
                    page_id,
                    lambda: list(
                        PriorityRule.objects.filter(active=True, page_id__in=("", page_id))
                    ),
                ),
                page_id=page_id,
                text=text,
                payloads=message_entries.payloads(attachments or []),
            )

        if live is not None:
            interaction, created = live, False
        else:
            interaction, created = open_interaction(
                customer, workgroup_id, priority_of=priority_of, waiting_since=sent_at
            )
        if not created and interaction.state == S.QUEUED:
            raise_priority(interaction, priority_of())
        if created and customer.channel == Channel.MESSENGER:
            _continue_answered_comment(interaction)
        try:
            with insert_may_conflict():
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
        if not new_customer:
            # Compared in the UPDATE, not on the row read above: concurrent messages
            # commit in any order, and the window counts from the newest one.
            Customer.objects.filter(pk=customer.pk).filter(
                Q(last_message_at__isnull=True) | Q(last_message_at__lt=sent_at)
            ).update(last_message_at=sent_at)
        customer_waits(interaction, since=sent_at, announce=not created)
        publish_on_commit(message_event(message, interaction))
        if clocks.customer_wrote(interaction):
            publish_on_commit(interaction_event(interaction))  # the warning goes
        # Out of hours nothing is offered: the timer loop offers it at the opening.
        open_now = automatic.answer_arrival(interaction, created=created, now=timezone.now())
        if created and open_now:
            offer_after_commit(workgroup_id, queued=True)
    return Received(message=message, interaction=interaction, created_interaction=created)


def _customer_writing(
    page_id: str, psid: str, *, channel: str, at: datetime, ahead: read_ahead.ReadAhead | None
) -> tuple[Customer, bool]:
    """The customer whose message this is, and whether it is their first: a new one
    is created with the message's time (no second write for it)."""
    if ahead is not None:
        customer = ahead.customer
    else:
        customer = Customer.objects.filter(page_id=page_id, psid=psid).first()
    if customer is not None:
        return customer, False
    try:
        with insert_may_conflict():
            customer = Customer.objects.create(
                page_id=page_id, psid=psid, channel=channel, last_message_at=at
            )
    except IntegrityError:
        # Created meanwhile by another request: theirs, updated as any customer's.
        return Customer.objects.get(page_id=page_id, psid=psid), False
    return customer, True


def raise_priority(interaction: Interaction, found: rules.PriorityFound) -> None:
    """A later message of a customer still waiting may raise (never lower) their priority.

    The interaction is the caller's, locked; once offered, its place in the
    queue no longer matters.
    """
    if interaction.state != S.QUEUED or found.priority <= interaction.priority:
        return
    previous = interaction.priority
    interaction.priority = found.priority
    interaction.save(update_fields=["priority"])
    InteractionEvent.objects.create(
        interaction=interaction,
        verb="priority_raised",
        from_state=interaction.state,
        to_state=interaction.state,
        detail={"from": previous, "to": found.priority, "priority_rule_id": found.rule_id},
    )
    publish_on_commit(interaction_event(interaction))
    offer_after_commit(interaction.workgroup_id, queued=True)


# How long after a private reply the person's first Messenger message still continues it.
PRIVATE_REPLY_FOLLOWED_FOR = timedelta(days=7)


def _continue_answered_comment(interaction: Interaction) -> None:
    """Link a new Messenger interaction to the comment whose private reply it answers.

    Meta's answer to the private reply named the person's PSID; their first
    message in Messenger opens a normal DM interaction that shows the comment.
    """
    customer = interaction.customer
    since = interaction.created_at - PRIVATE_REPLY_FOLLOWED_FOR
    # Once per router batch: does the Page have any recent private reply at all?
    # Most Pages rarely do, and then no first message needs the per-person look.
    if not config_cache.cached(
        "private_replies_since",
        (customer.page_id, since.date()),
        lambda: (
            PageComment.objects.filter(
                interaction__customer__page_id=customer.page_id,
                replied_at__gte=since - timedelta(days=1),
            )
            .exclude(reply_psid="")
            .exists()
        ),
    ):
        return
    comment = (
        PageComment.objects.filter(
            reply_psid=customer.psid,
            interaction__customer__page_id=customer.page_id,
            # Their answer to a recent private reply, once: a later conversation is its own.
            replied_at__gte=since,
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
