"""Who may answer a conversation (thread control) and how the customer came to it (referrals).

The Messenger adapter reports what it learned: another app took or passed the
conversation, an agent took it over, a reply was refused because another app
controls it, the customer came through an m.me link or an ad. Same rules as
every service: lock, write the change and an event row, announce after commit.
Routing keeps the app ids as facts about the customer; the adapter names them.
"""

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Q

from routing import message_entries
from routing.events import interaction_event, message_event, publish_on_commit
from routing.models import (
    Customer,
    Interaction,
    InteractionEvent,
    Message,
    MessageDirection,
    MessageStatus,
)
from routing.rules import HANDOVER_MID_PREFIX
from routing.services.acd import offer_after_commit
from routing.services.kernel import NotYours, S, TransitionRefused, lock_interaction
from routing.services.openings import live_interaction_for
from routing.services.receipts import lock_current_or_latest_interaction

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# The owner when a reply was refused for thread control but no handover named the app.
UNKNOWN_APP = "unknown"
# The transcript marker of a handover line (a `standby` entry of this kind).
HANDOVER = "handover"
# Only the first message after an ad click opens the longer window (routing.rules).
AWAITING_MESSAGE = "awaiting_message"
MAX_REASON_LENGTH = 300


def _lock_customer(page_id: str, psid: str) -> Customer | None:
    return Customer.objects.select_for_update().filter(page_id=page_id, psid=psid).first()


# --- thread control ----------------------------------------------------------------


def check_may_take_thread(*, interaction_id: int, agent_id: int) -> Interaction:
    """The interaction when this agent may take its conversation from another app:
    theirs, connected or held. Raises NotYours or TransitionRefused."""
    with transaction.atomic():
        interaction = lock_interaction(interaction_id)
        if interaction.agent_id != agent_id:
            raise NotYours("This interaction is not yours.")
        if interaction.state not in (S.CONNECTED, S.HELD):
            raise TransitionRefused("Pick the interaction up before taking the conversation over.")
        return interaction


def record_thread_owner(
    *,
    page_id: str,
    psid: str,
    owner_app_id: str | None,
    action: str,
    at: datetime,
    words: str = "",
    mid: str = "",
    actor: "User | None" = None,
    detail: dict | None = None,
    open_in_workgroup_id: int | None = None,
    only_while_ours: bool = False,
) -> Customer | None:
    """Note who controls the customer's conversation now ("" for us, or nobody else).

    `owner_app_id` None leaves the owner as it is (a request, a failed pass).
    With `words`, a line in the transcript of the customer's live (else latest)
    interaction says what happened; `mid` makes a redelivered event a no-op.
    The change is an event row on that interaction, announced after commit so
    open desktops show the owner. With `open_in_workgroup_id` (another app
    handed the conversation to us), a customer with no live interaction gets
    one in that workgroup's queue, offered like a new message. With
    `only_while_ours` (Meta says another app has it without naming which: a
    standby copy, a reply refused with 2018300), nothing changes once an owner
    is known. None when the customer is unknown.
    """
    with transaction.atomic():
        if mid and Message.objects.filter(mid=mid).exists():
            return Customer.objects.filter(page_id=page_id, psid=psid).first()
        if open_in_workgroup_id is not None:
            try:
                with transaction.atomic():
                    Customer.objects.get_or_create(page_id=page_id, psid=psid)
            except IntegrityError:
                pass  # created meanwhile by their message
        customer = _lock_customer(page_id, psid)
        if customer is None:
            return None
        if only_while_ours and customer.thread_owner_app_id:
            return customer
        if open_in_workgroup_id is not None:
            _, opened = live_interaction_for(customer, open_in_workgroup_id)
            if opened:
                offer_after_commit(open_in_workgroup_id)
        # Meta does not promise order: an older handover never undoes a newer one.
        since = customer.thread_owner_since
        if owner_app_id is not None and (since is None or since <= at):
            customer.thread_owner_app_id = owner_app_id[:64]
            customer.thread_owner_since = at
            customer.save(update_fields=["thread_owner_app_id", "thread_owner_since"])
        interaction = lock_current_or_latest_interaction(page_id=page_id, psid=psid)
        if interaction is None:
            return customer
        InteractionEvent.objects.create(
            interaction=interaction,
            actor=actor,
            verb="thread_control",
            from_state=interaction.state,
            to_state=interaction.state,
            detail={"action": action, "owner_app_id": owner_app_id, **(detail or {})},
        )
        if words:
            try:
                with transaction.atomic():
                    message = Message.objects.create(
                        interaction=interaction,
                        direction=MessageDirection.OUTBOUND,
                        text=words,
                        attachments=[message_entries.standby(HANDOVER)],
                        status=MessageStatus.SENT,
                        mid=mid or f"{HANDOVER_MID_PREFIX}{uuid.uuid4().hex}",
                        author=actor,
                        sent_at=at,
                    )
            except IntegrityError:
                return customer  # the same event, stored meanwhile by another process
            publish_on_commit(message_event(message, interaction))
        publish_on_commit(interaction_event(interaction))
    return customer


def note_standby_message(*, page_id: str, psid: str, at: datetime) -> None:
    """The customer wrote to the app that controls the conversation before we ever had an
    interaction with them: their reply window counts from it, for when it is handed to us."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                Customer.objects.get_or_create(page_id=page_id, psid=psid)
        except IntegrityError:
            pass
        Customer.objects.filter(page_id=page_id, psid=psid).filter(
            Q(last_message_at__isnull=True) | Q(last_message_at__lt=at)
        ).update(last_message_at=at)


# --- referrals ----------------------------------------------------------------------


def record_referral(
    *,
    page_id: str,
    psid: str,
    referral: dict,
    at: datetime,
    with_message: bool,
) -> Customer | None:
    """Keep how the customer came (m.me `ref`, an ad) and shape the reply window.

    A message that carries an ad referral is the customer's first message after
    clicking the ad: the standard window may last 7 days from it
    (`routing.rules.AD_RESPONSE_WINDOW`). An ad referral that comes alone (a
    returning customer clicked an ad) waits for their next message
    (`note_customer_message`). A person new to the Page (an m.me link or an ad
    opened a new thread) is kept as a customer, so their first message finds it.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                Customer.objects.get_or_create(page_id=page_id, psid=psid)
        except IntegrityError:
            pass  # created meanwhile by their first message
        customer = _lock_customer(page_id, psid)
        if customer is None:
            return None
        stored = customer.referral.get("at") if isinstance(customer.referral, dict) else None
        if stored and stored > at.isoformat():
            return customer  # an older event, delivered late: the newer one stays
        kept: dict[str, object] = {
            key: str(value)[:1000] for key, value in referral.items() if value
        }
        kept["at"] = at.isoformat()
        fields = ["referral"]
        if kept.get("source") == "ADS":
            if with_message:
                customer.ad_window_from = at
                fields.append("ad_window_from")
            else:
                kept[AWAITING_MESSAGE] = True
        customer.referral = kept
        customer.save(update_fields=fields)
        _announce_customer(page_id, psid)
    return customer


def note_customer_message(
    *, page_id: str, psid: str, at: datetime, customer: Customer | None = None
) -> None:
    """A customer message without referral: the first one after an ad click opens
    the ad's longer standard window. No savepoint of its own: nothing here is refused.

    `customer`, when the caller read it in this same transaction (storing the
    message), saves a second read when no ad click awaits a message; one that
    does is read again, locked.
    """
    if customer is not None and not _awaits_message(customer):
        return
    with transaction.atomic(savepoint=False):
        customer = _lock_customer(page_id, psid)
        if customer is None or not _awaits_message(customer):
            return
        assert isinstance(customer.referral, dict)
        customer.referral = {k: v for k, v in customer.referral.items() if k != AWAITING_MESSAGE}
        customer.ad_window_from = at
        customer.save(update_fields=["referral", "ad_window_from"])
        _announce_customer(page_id, psid)


def _awaits_message(customer: Customer) -> bool:
    return isinstance(customer.referral, dict) and bool(customer.referral.get(AWAITING_MESSAGE))


def _announce_customer(page_id: str, psid: str) -> None:
    """Open desktops show the customer's live interaction again (panel, composer window)."""
    interaction = (
        Interaction.objects.filter(customer__page_id=page_id, customer__psid=psid)
        .exclude(state=S.DISCONNECTED)
        .first()
    )
    if interaction is not None:
        publish_on_commit(interaction_event(interaction))
