"""The ACD: offering what waits, by priority, to the longest-idle agent with room.

Offers taken back are in `offer_returns`; the steps of a transfer in `transfers`.
"""

import logging
from collections import deque
from datetime import timedelta
from typing import Protocol, cast

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from routing import hours
from routing.compiled_queries import CompiledQuery
from routing.events import interaction_event, publish_on_commit
from routing.lookups import save_fields
from routing.models import (
    Agent,
    Interaction,
    InteractionEvent,
    Workgroup,
)
from routing.rules import QUEUE_ORDER
from routing.services.free_agents import FreeAgent, free_agents, longest_idle_of
from routing.services.kernel import (
    S,
    check_transition,
    lock_interaction,
    save_transition,
    workgroup_config,
)

logger = logging.getLogger(__name__)


class _WorkgroupOffer(Protocol):
    """An after-commit callback marked with the workgroup it offers in, and whether the
    transaction queued an interaction there."""

    offers_workgroup_id: int
    queued: bool

    def __call__(self) -> None: ...


def _offer_waiting_in(workgroup_id: int, *, queued: bool) -> _WorkgroupOffer:
    """After-commit work: offer what waits in one workgroup (marked, to be found again)."""

    def offer() -> None:
        offer_waiting(workgroup_id=workgroup_id, queued=marked.queued)

    # A plain function (Django's robust on_commit logs its __qualname__), marked.
    marked = cast(_WorkgroupOffer, offer)
    marked.offers_workgroup_id = workgroup_id
    marked.queued = queued
    return marked


def offer_after_commit(*workgroup_ids: int, queued: bool = False) -> None:
    """Offer, after commit, what waits in these workgroups; `queued`: this transaction
    queued an interaction in them (the offer need not look whether one waits)."""
    # Robust: the change that freed an agent is committed, so a failed offer
    # (a lock timeout, a dropped connection) must not fail the caller's
    # request; it is logged, and the timers offer what still waits.
    due = _offers_already_due()
    for workgroup_id in {w for w in workgroup_ids if w}:
        if workgroup_id in due:
            due[workgroup_id].queued |= queued
        else:
            transaction.on_commit(_offer_waiting_in(workgroup_id, queued=queued), robust=True)


def _offers_already_due() -> dict[int, _WorkgroupOffer]:
    """The offers this transaction already runs after commit, by workgroup.

    One offer per workgroup is enough however many changes a transaction
    makes (the router commits many customers' messages at once). A pending
    callback is dropped by Django when a savepoint that holds it rolls back,
    and every savepoint still open holds new work too: so whatever would
    undo the pending offer undoes the new change as well.
    """
    return {
        func.offers_workgroup_id: func
        for _savepoints, func, _robust in transaction.get_connection().run_on_commit
        if hasattr(func, "offers_workgroup_id")
    }


def offer_for_agent_after_commit(*agent_ids: int) -> None:
    """Offer, after commit, what waits in the workgroups of these agents (one read)."""
    workgroup_ids = (
        Workgroup.objects.filter(members__in=agent_ids).values_list("id", flat=True).distinct()
    )
    offer_after_commit(*workgroup_ids)


# Queued interactions offered in one transaction at most: a burst of new
# customers shares one agents' lock and one commit, and agents answering
# meanwhile never wait long behind it.
OFFER_BATCH = 50


# Queued for a preferred agent. The wait ends only by the timers'
# `end_preferred_windows` (one event row, however many processes run them), a
# tick after the window closes, or when the agent is offered it.
RESERVED = Q(preferred_until__isnull=False, preferred_agent__isnull=False)


def offer_waiting(*, workgroup_id: int, queued: bool = False) -> int:
    """Offer queued interactions of a workgroup, highest priority and oldest first,
    while agents are free.

    Nothing while the workgroup is out of business hours. A returning customer
    within the workgroup's preferred agent window waits for the agent who last
    handled them, and is offered to them first when they may be rung (until
    the timers end the window). Everyone else goes to the longest-idle
    available member with room and the required skills; an agent just offered
    one is idle from now, so the next goes to the next agent in turn. Returns
    how many were offered. Safe to call from any process at any time: a queued
    row another process is offering is skipped, not waited for. `queued`: the
    caller just queued one there (a pass after a new customer's commit).
    """
    offered = 0
    workgroup = workgroup_config(workgroup_id)
    if workgroup is None:
        return 0
    # Most passes (an agent freed, a tab opened) find nothing waiting: one read
    # then. Something queued meanwhile runs a pass of its own after its commit.
    # A pass for a customer just queued skips it: the read would find them.
    if not queued and not _any_queued(workgroup_id):
        return 0
    if not hours.is_open(workgroup, timezone.now()):
        return 0  # out of hours it waits; the timer loop offers it at the opening
    # A long queue and nobody free (the busy hour): every routed body and every
    # tick asks again, and most end here, with one read instead of two batches of
    # rows locked and loaded. An agent freed after this read runs a pass of their own.
    # The same read gives the first round its candidates (locked and checked again).
    longest_idle: list[int] | None = longest_idle_of(workgroup, OFFER_BATCH)
    if not longest_idle:
        return 0
    while True:
        with transaction.atomic():
            reserved = _RESERVED.objects(workgroup_id, most=OFFER_BATCH)
            waiting = _WAITING.objects(workgroup_id, most=OFFER_BATCH)
            if not waiting and not reserved:
                return offered
            free = free_agents(
                workgroup,
                wanted=len(waiting),
                preferred_ids={i.preferred_agent_id for i in reserved if i.preferred_agent_id},
                longest_idle=longest_idle,
            )
            longest_idle = None  # a further round reads them again
            rung = _offer_to_preferred(reserved, free, workgroup)
            # An agent just given their returning customer goes to the back of the
            # turn (a stable sort keeps the idle order otherwise).
            just_rung = {agent.pk for agent in rung}
            in_turn = deque(
                sorted((f for f in free if f.room > 0), key=lambda f: f.agent.pk in just_rung)
            )
            in_turn_rung: list[Agent] = []
            for interaction in waiting:
                if not in_turn:
                    break
                next_free = in_turn.popleft()
                _offer(
                    interaction, next_free.agent, timeout_seconds=workgroup.alert_timeout_seconds
                )
                in_turn_rung.append(next_free.agent)
                next_free.room -= 1
                if next_free.room:
                    in_turn.append(next_free)
            _mark_rung(rung + in_turn_rung)
            offered += len(rung) + len(in_turn_rung)
        if len(in_turn_rung) < len(waiting) or len(waiting) < OFFER_BATCH:
            return offered


def _queued_in(workgroup_id: int) -> QuerySet[Interaction]:
    """The workgroup's queued interactions, locked; one another pass holds is skipped."""
    return Interaction.objects.select_for_update(skip_locked=True).filter(
        workgroup_id=workgroup_id, state=S.QUEUED
    )


# Each round of an offer pass reads the first of both (routing.compiled_queries).
_RESERVED = CompiledQuery(
    lambda workgroup_id, *, most: (
        _queued_in(workgroup_id).filter(RESERVED).order_by(*QUEUE_ORDER)[:most]
    )
)
_WAITING = CompiledQuery(
    lambda workgroup_id, *, most: (
        _queued_in(workgroup_id).exclude(RESERVED).order_by(*QUEUE_ORDER)[:most]
    )
)


def _any_queued(workgroup_id: int) -> bool:
    return Interaction.objects.filter(workgroup_id=workgroup_id, state=S.QUEUED).exists()


def _offer_to_preferred(
    reserved: list[Interaction], free: list[FreeAgent], workgroup: Workgroup
) -> list[Agent]:
    """Offer each reserved interaction to its preferred agent if they may be rung now."""
    by_agent = {f.agent.pk: f for f in free}
    rung = []
    for interaction in reserved:
        preferred = by_agent.get(interaction.preferred_agent_id or 0)
        if preferred is None or preferred.room <= 0:
            continue  # it waits for them until the window closes
        _offer(
            interaction,
            preferred.agent,
            timeout_seconds=workgroup.alert_timeout_seconds,
            preferred=True,
        )
        preferred.room -= 1
        rung.append(preferred.agent)
    return rung


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
    save_fields(Agent, latest.values(), ["idle_since"])


def _offer(
    interaction: Interaction, agent: Agent, *, timeout_seconds: int, preferred: bool = False
) -> None:
    from_state = interaction.state
    interaction.state = check_transition("offer", interaction)
    interaction.agent = agent
    interaction.alert_deadline = timezone.now() + timedelta(seconds=timeout_seconds)
    detail: dict = {"agent_id": agent.pk}
    if preferred:
        detail["preferred"] = True
    # Offered once, the preference is spent: back in the queue, it waits for anyone.
    interaction.preferred_until = None
    save_transition(
        interaction,
        "offer",
        actor_user_id=None,
        detail=detail,
        fields=("agent", "alert_deadline", "preferred_until"),
        from_state=from_state,
    )


def end_preferred_windows() -> int:
    """The timers' step: returning customers whose preferred agent did not come in
    time wait for anyone now; returns how many. Each is offered to the queue."""
    ids = list(
        Interaction.objects.filter(state=S.QUEUED, preferred_until__lte=timezone.now()).values_list(
            "pk", flat=True
        )
    )
    ended = 0
    for interaction_id in ids:
        with transaction.atomic():
            interaction = lock_interaction(interaction_id)
            if (
                interaction.state != S.QUEUED
                or interaction.preferred_until is None
                or interaction.preferred_until > timezone.now()
            ):
                continue  # offered, picked up or moved meanwhile
            interaction.preferred_until = None
            interaction.save(update_fields=["preferred_until"])
            InteractionEvent.objects.create(
                interaction=interaction,
                verb="preferred_agent_window_over",
                from_state=interaction.state,
                to_state=interaction.state,
                detail={"agent_id": interaction.preferred_agent_id},
            )
            publish_on_commit(interaction_event(interaction))
            offer_after_commit(interaction.workgroup_id)
            ended += 1
    return ended
