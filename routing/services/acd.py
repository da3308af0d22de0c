"""The ACD: offering what waits to the longest-idle agent with room.

Offers taken back are in `offer_returns`; the steps of a transfer in `transfers`.
"""

import logging
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, cast

from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from routing import hours
from routing.models import (
    Agent,
    AgentStatus,
    DesktopConnection,
    Interaction,
    Workgroup,
)
from routing.rules import LOAD_STATES
from routing.services.kernel import (
    S,
    after_contact_work,
    capacity_of,
    check_transition,
    lock_agents,
    save_transition,
)

logger = logging.getLogger(__name__)


class _WorkgroupOffer(Protocol):
    """An after-commit callback marked with the workgroup it offers in."""

    offers_workgroup_id: int

    def __call__(self) -> None: ...


def _offer_waiting_in(workgroup_id: int) -> _WorkgroupOffer:
    """After-commit work: offer what waits in one workgroup (marked, to be found again)."""

    def offer() -> None:
        offer_waiting(workgroup_id=workgroup_id)

    # A plain function (Django's robust on_commit logs its __qualname__), marked.
    marked = cast(_WorkgroupOffer, offer)
    marked.offers_workgroup_id = workgroup_id
    return marked


def offer_after_commit(*workgroup_ids: int) -> None:
    # Robust: the change that freed an agent is committed, so a failed offer
    # (a lock timeout, a dropped connection) must not fail the caller's
    # request; it is logged, and the timers offer what still waits.
    for workgroup_id in {w for w in workgroup_ids if w} - _offers_already_due():
        transaction.on_commit(_offer_waiting_in(workgroup_id), robust=True)


def _offers_already_due() -> set[int]:
    """Workgroups whose offer this transaction already runs after commit.

    One offer per workgroup is enough however many changes a transaction
    makes (the router commits many customers' messages at once). A pending
    callback is dropped by Django when a savepoint that holds it rolls back,
    and every savepoint still open holds new work too: so whatever would
    undo the pending offer undoes the new change as well.
    """
    return {
        func.offers_workgroup_id
        for _savepoints, func, _robust in transaction.get_connection().run_on_commit
        if hasattr(func, "offers_workgroup_id")
    }


def offer_for_agent_after_commit(agent_id: int) -> None:
    workgroup_ids = list(Workgroup.objects.filter(members=agent_id).values_list("id", flat=True))
    offer_after_commit(*workgroup_ids)


# Queued interactions offered in one transaction at most: a burst of new
# customers shares one agents' lock and one commit, and agents answering
# meanwhile never wait long behind it.
OFFER_BATCH = 50


@dataclass
class _FreeAgent:
    agent: Agent
    room: int


def free_agents(workgroup: Workgroup, *, wanted: int) -> list[_FreeAgent]:
    """Lock and return up to `wanted` members who may be rung now, longest idle first.

    Each comes with their room (capacity less what they have live), all read
    under the agents' locks: every offer and every desktop closing takes that
    lock too, so the answer holds until the commit.
    """
    live = (
        Interaction.objects.filter(agent=OuterRef("pk"), state__in=LOAD_STATES)
        .order_by()
        .values("agent")
        .annotate(n=Count("pk"))
        .values("n")
    )
    candidate_ids = list(
        Agent.objects.filter(workgroups=workgroup, status=AgentStatus.AVAILABLE)
        .filter(Exists(DesktopConnection.objects.filter(agent=OuterRef("pk"))))
        .exclude(Exists(after_contact_work().filter(agent=OuterRef("pk"))))
        .annotate(
            live=Coalesce(Subquery(live), 0),
            cap=Coalesce("capacity", workgroup.capacity_per_agent),
        )
        .filter(live__lt=F("cap"))
        .order_by("idle_since", "pk")
        .values_list("pk", flat=True)[:wanted]
    )
    if not candidate_ids:
        return []
    # Lock them all at once in id order, not one by one in idle order: two
    # offers reading idle times a moment apart could each hold the agent the
    # other one waits for. Then re-check under the lock: another process may
    # have offered meanwhile, or an agent's last tab closed.
    locked = lock_agents(*candidate_ids)
    resting = set(
        after_contact_work().filter(agent_id__in=candidate_ids).values_list("agent_id", flat=True)
    )
    with_desktop = set(
        DesktopConnection.objects.filter(agent_id__in=candidate_ids).values_list(
            "agent_id", flat=True
        )
    )
    load = dict(
        Interaction.objects.filter(agent_id__in=candidate_ids, state__in=LOAD_STATES)
        .order_by()
        .values("agent")
        .annotate(n=Count("pk"))
        .values_list("agent", "n")
    )
    free = [
        _FreeAgent(agent, capacity_of(agent, workgroup) - load.get(agent.pk, 0))
        for agent in locked.values()
        if agent.status == AgentStatus.AVAILABLE
        and agent.pk in with_desktop
        and agent.pk not in resting
    ]
    return sorted((f for f in free if f.room > 0), key=lambda f: (f.agent.idle_since, f.agent.pk))


def offer_waiting(*, workgroup_id: int) -> int:
    """Offer queued interactions of a workgroup, oldest first, while agents are free.

    Nothing while the workgroup is out of business hours. Each goes to the
    longest-idle available member with room; an agent just
    offered one is idle from now, so the next goes to the next agent in turn.
    Returns how many were offered. Safe to call from any process at any time:
    a queued row another process is offering is skipped, not waited for.
    """
    offered = 0
    try:
        workgroup = Workgroup.objects.get(pk=workgroup_id)
    except Workgroup.DoesNotExist:
        return 0
    if not hours.is_open(workgroup, timezone.now()):
        return 0  # out of hours it waits; the timer loop offers it at the opening
    while True:
        with transaction.atomic():
            waiting = list(
                Interaction.objects.select_for_update(skip_locked=True)
                .filter(workgroup_id=workgroup_id, state=S.QUEUED)
                .order_by("queued_at", "pk")[:OFFER_BATCH]
            )
            if not waiting:
                return offered
            in_turn = deque(free_agents(workgroup, wanted=len(waiting)))
            rung: list[Agent] = []
            for interaction in waiting:
                if not in_turn:
                    break
                free = in_turn.popleft()
                _offer(interaction, free.agent, timeout_seconds=workgroup.alert_timeout_seconds)
                rung.append(free.agent)
                free.room -= 1
                if free.room:
                    in_turn.append(free)
            _mark_rung(rung)
            offered += len(rung)
        if len(rung) < len(waiting) or len(waiting) < OFFER_BATCH:
            return offered


def _mark_rung(agents: list[Agent]) -> None:
    """Agents offered work are idle from the moment of their offer, in turn (one UPDATE)."""
    if not agents:
        return
    now = timezone.now()
    latest: dict[int, Agent] = {}
    for turn, agent in enumerate(agents):
        # Distinct times keep the turn: the first rung is the longest idle next time.
        agent.idle_since = now + timedelta(microseconds=turn)
        latest[agent.pk] = agent
    Agent.objects.bulk_update(latest.values(), ["idle_since"])


def _offer(interaction: Interaction, agent: Agent, *, timeout_seconds: int) -> None:
    from_state = interaction.state
    interaction.state = check_transition("offer", interaction)
    interaction.agent = agent
    interaction.alert_deadline = timezone.now() + timedelta(seconds=timeout_seconds)
    save_transition(
        interaction,
        "offer",
        actor_user_id=None,
        detail={"agent_id": agent.pk},
        fields=("agent", "alert_deadline"),
        from_state=from_state,
    )
