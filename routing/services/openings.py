"""A customer's live interaction, found or opened: one per customer at a time.

A customer's message, a Page comment and a handover into our inbox all land
on the customer's live interaction, and open one, queued in the workgroup,
when there is none (a partial unique constraint keeps it one).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError
from django.db.models import QuerySet
from django.utils import timezone

from routing import rules
from routing.compiled_queries import CompiledQuery
from routing.events import interaction_event, publish_on_commit
from routing.models import Customer, Interaction, InteractionEvent, Workgroup
from routing.services.kernel import S, insert_may_conflict, workgroup_config
from routing.services.recordings import record_automatically


def live_interaction_of(page_id: str, psid: str) -> Interaction | None:
    """The customer's live interaction, locked, with their row: one query for a
    customer who writes again in a conversation (most messages)."""
    return live_interactions_of(page_id, [psid]).get(psid)


def live_interactions_of(page_id: str, psids: list[str]) -> dict[str, Interaction]:
    """Many customers' live interactions, locked (in id order), with their rows, by psid."""
    found = {}
    for live in _LIVE_OF.objects(page_id, tuple(psids)):
        _with_workgroup_config(live)
        found[live.customer.psid] = live
    return found


def live_interaction_for(
    customer: Customer,
    workgroup_id: int,
    *,
    priority_of: Callable[[], rules.PriorityFound] | None = None,
) -> tuple[Interaction, bool]:
    """The customer's live interaction, or a new one queued in `workgroup_id`."""
    existing = _locked_live(customer=customer).first()
    if existing:
        existing.customer = customer  # the row the caller holds, not one more query
        _with_workgroup_config(existing)
        return existing, False
    return open_interaction(customer, workgroup_id, priority_of=priority_of)


def open_interaction(
    customer: Customer,
    workgroup_id: int,
    *,
    priority_of: Callable[[], rules.PriorityFound] | None = None,
    waiting_since: datetime | None = None,
) -> tuple[Interaction, bool]:
    """A new interaction queued in `workgroup_id`, or the live one another request
    opened meanwhile (then not created).

    One opened by a customer's message (`waiting_since`, its time) starts with
    the customer's waiting clock (`service_levels.customer_waits` then finds
    nothing to change).
    """
    preferred = _preferred_agent(customer, workgroup_id)
    priority = priority_of() if priority_of else rules.PriorityFound(0, None)
    try:
        with insert_may_conflict():
            interaction = Interaction.objects.create(
                workgroup_id=workgroup_id,
                customer=customer,
                state=S.QUEUED,
                priority=priority.priority,
                preferred_agent_id=preferred.agent_id if preferred else None,
                preferred_until=preferred.until if preferred else None,
                customer_waiting_since=(
                    min(waiting_since, timezone.now()) if waiting_since is not None else None
                ),
            )
    except IntegrityError:
        # Another request opened it first (partial unique constraint).
        return _locked_live(customer=customer).get(), False
    _with_workgroup_config(interaction)
    detail: dict = {}
    if priority.rule_id is not None:
        detail.update(priority=priority.priority, priority_rule_id=priority.rule_id)
    if preferred:
        detail.update(
            preferred_agent_id=preferred.agent_id, preferred_until=preferred.until.isoformat()
        )
    InteractionEvent.objects.create(
        interaction=interaction, verb="create", from_state="", to_state=S.QUEUED, detail=detail
    )
    if interaction.workgroup.auto_record:
        record_automatically(interaction, at=interaction.created_at)
    publish_on_commit(interaction_event(interaction))
    return interaction, True


def _locked_live(**customer: object) -> QuerySet[Interaction]:
    """The customer's live interaction (at most one), its row locked (not the customer's)."""
    return (
        Interaction.objects.select_for_update(of=("self",))
        .filter(**customer)
        .exclude(state=S.DISCONNECTED)
    )


# Read for every routed batch (routing.compiled_queries).
_LIVE_OF = CompiledQuery(
    lambda page_id, psids: (
        _locked_live(customer__page_id=page_id, customer__psid__in=psids)
        .select_related("customer")
        .order_by("pk")
    )
)


def _with_workgroup_config(interaction: Interaction) -> None:
    """Its workgroup from the batch's configuration reads, not one more query."""
    workgroup = workgroup_config(interaction.workgroup_id)
    if workgroup is not None:
        interaction.workgroup = workgroup


@dataclass(frozen=True)
class _Preferred:
    agent_id: int
    until: datetime


def _preferred_agent(customer: Customer, workgroup_id: int) -> _Preferred | None:
    """Whom a returning customer waits for first, and until when (the workgroup's window).

    The agent of their latest interaction in this workgroup that an agent
    answered, while that agent is still a member.
    """
    workgroup = workgroup_config(workgroup_id)
    seconds = workgroup.preferred_agent_seconds if workgroup is not None else None
    if seconds is None:
        return None
    last = (
        Interaction.objects.filter(
            customer=customer,
            workgroup_id=workgroup_id,
            state=S.DISCONNECTED,
            connected_at__isnull=False,
            agent__isnull=False,
        )
        .order_by("-disconnected_at", "-pk")
        .values_list("agent_id", flat=True)
        .first()
    )
    if last is None or not Workgroup.objects.filter(pk=workgroup_id, members=last).exists():
        return None
    return _Preferred(agent_id=last, until=timezone.now() + timedelta(seconds=seconds))
