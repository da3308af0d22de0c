"""Service-level clocks: a customer starts waiting, a reply answers them.

`customer_waits` and `customer_answered` are steps of the verbs that store
messages (`arrivals`, `replies`, `receipts`), run inside their transaction
with the interaction locked, never on their own: the clock moves only with
the message that moves it. `set_list_order` is the agent's own choice of
order for My Interactions.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from routing import service_levels
from routing.events import interaction_event, publish_on_commit
from routing.models import Agent, Interaction, InteractionEvent
from routing.service_levels import ANSWERED_IN_TARGET, ANSWERED_LATE, ANSWERED_NO_TARGET


def customer_waits(interaction: Interaction, *, since: datetime, announce: bool = True) -> None:
    """A customer's message was stored on `interaction` (locked by the caller).

    The clock runs from the oldest message not yet answered: a later message
    leaves it alone; one that Meta timestamps earlier (they arrive in any
    order) moves it back. A timestamp ahead of our clock counts from now.
    """
    since = min(since, timezone.now())
    current = interaction.customer_waiting_since
    if current is not None and current <= since:
        return
    interaction.customer_waiting_since = since
    interaction.save(update_fields=["customer_waiting_since"])
    if current is None and announce:
        # The clock appears on the lists and the board.
        publish_on_commit(interaction_event(interaction))


def customer_answered(
    interaction: Interaction, *, at: datetime, actor_user_id: int | None
) -> InteractionEvent | None:
    """A reply was stored on `interaction` (locked by the caller): its waiting customer is
    answered. Writes an event row saying how long they waited and whether it was in
    target; None when nobody was waiting."""
    since = interaction.customer_waiting_since
    if since is None:
        return None
    kind = service_levels.kind_of(interaction)
    target = service_levels.target_seconds(interaction.workgroup, kind)
    waited = max(at - since, timedelta(0))
    within = service_levels.within_target(waited=waited, target=target)
    interaction.customer_waiting_since = None
    fields = ["customer_waiting_since"]
    if interaction.first_replied_at is None:
        interaction.first_replied_at = at
        fields.append("first_replied_at")
    interaction.save(update_fields=fields)
    verb = ANSWERED_NO_TARGET if within is None else ANSWERED_IN_TARGET if within else ANSWERED_LATE
    row = InteractionEvent.objects.create(
        interaction=interaction,
        actor_id=actor_user_id,
        verb=verb,
        from_state=interaction.state,
        to_state=interaction.state,
        detail={
            "kind": kind.value,
            "waited_seconds": int(waited.total_seconds()),
            "target_seconds": target,
        },
    )
    # The clock leaves the lists and the board.
    publish_on_commit(interaction_event(interaction))
    return row


def set_list_order(*, agent: Agent, by_time_left: bool) -> Agent:
    """The agent's My Interactions: by service-level time left, or by arrival."""
    with transaction.atomic():
        locked = Agent.objects.select_for_update().select_related("user").get(pk=agent.pk)
        if locked.list_by_time_left != by_time_left:
            locked.list_by_time_left = by_time_left
            locked.save(update_fields=["list_by_time_left"])
    return locked
