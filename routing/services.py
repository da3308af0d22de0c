"""Every change to an interaction, one function per verb.

Each verb locks the row (`select_for_update`), checks the transition against
`TRANSITIONS`, writes the change and an `InteractionEvent`, and announces it
after commit. Views, consumers, the webhook and the timers call only these.

Lock order, everywhere: interaction, then agent. On SQLite `select_for_update`
is a no-op, but every transaction is `IMMEDIATE`, so writers are serialised.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from routing import events
from routing.events import RoutingEvent, publish_on_commit
from routing.models import (
    LIVE_STATES,
    Agent,
    AgentStatus,
    DesktopConnection,
    Interaction,
    InteractionEvent,
    InteractionState,
    Workgroup,
)

logger = logging.getLogger(__name__)

S = InteractionState

# verb → (states it may start from, state it leads to; None keeps the state)
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "offer": (frozenset({S.QUEUED}), S.ALERTING),
    "alert_timeout": (frozenset({S.ALERTING}), S.QUEUED),
    "return_offer": (frozenset({S.ALERTING}), S.QUEUED),
    "pickup": (frozenset({S.ALERTING, S.HELD, S.QUEUED}), S.CONNECTED),
    "hold": (frozenset({S.CONNECTED}), S.HELD),
    "transfer_to_agent": (frozenset({S.CONNECTED, S.HELD}), S.ALERTING),
    "transfer_to_workgroup": (frozenset({S.CONNECTED, S.HELD}), S.QUEUED),
    "record": (frozenset({S.CONNECTED, S.HELD}), None),
    "stop_recording": (frozenset({S.CONNECTED, S.HELD}), None),
    "disconnect": (frozenset(LIVE_STATES), S.DISCONNECTED),
}

# A desktop tab whose server process has not vouched for it within this is gone.
CONNECTION_STALE_AFTER = timedelta(seconds=90)


class RoutingError(Exception):
    """A refused action; the message is shown to the person as it is."""


class TransitionRefused(RoutingError):
    pass


class NotYours(RoutingError):
    pass


# --- helpers -----------------------------------------------------------------


def _lock_interaction(interaction_id: int) -> Interaction:
    try:
        return Interaction.objects.select_for_update().get(pk=interaction_id)
    except Interaction.DoesNotExist:
        raise RoutingError("This interaction no longer exists.") from None


def _lock_agent(agent_id: int) -> Agent:
    return Agent.objects.select_for_update().get(pk=agent_id)


STATE_WORDS = {
    S.QUEUED: "waiting in the queue",
    S.ALERTING: "being offered",
    S.CONNECTED: "connected",
    S.HELD: "on hold",
    S.DISCONNECTED: "disconnected",
}


def check_transition(verb: str, interaction: Interaction) -> str:
    """The state `verb` leads to from the interaction's state, or TransitionRefused."""
    from_states, to_state = TRANSITIONS[verb]
    if interaction.state not in from_states:
        raise TransitionRefused(
            f"Cannot {verb.replace('_', ' ')}: the interaction is {STATE_WORDS[interaction.state]}."
        )
    return to_state or interaction.state


def _concerned(interaction: Interaction, *agent_ids: int | None) -> RoutingEvent:
    ids = {a for a in (interaction.agent_id, *agent_ids) if a}
    return RoutingEvent(
        type=events.INTERACTION_CHANGED,
        interaction_id=interaction.pk,
        workgroup_ids=frozenset({interaction.workgroup_id}),
        agent_ids=frozenset(ids),
    )


def _apply(
    interaction: Interaction,
    verb: str,
    *,
    actor_user_id: int | None,
    previous_agent_id: int | None = None,
    previous_workgroup_id: int | None = None,
    detail: dict | None = None,
    fields: tuple[str, ...] = (),
    from_state: str,
) -> None:
    """Save the (locked, already changed) interaction, write its event, announce it."""
    now = timezone.now()
    update_fields = {"state", *fields}
    if interaction.state != from_state:
        interaction.state_changed_at = now
        update_fields.add("state_changed_at")
    interaction.save(update_fields=sorted(update_fields))
    InteractionEvent.objects.create(
        interaction=interaction,
        actor_id=actor_user_id,
        verb=verb,
        from_state=from_state,
        to_state=interaction.state,
        detail=detail or {},
    )
    event = _concerned(interaction, previous_agent_id)
    if previous_workgroup_id:
        event = RoutingEvent(
            type=event.type,
            interaction_id=event.interaction_id,
            workgroup_ids=event.workgroup_ids | {previous_workgroup_id},
            agent_ids=event.agent_ids,
        )
    publish_on_commit(event)


def _live_count(agent_id: int) -> int:
    return Interaction.objects.filter(
        agent_id=agent_id, state__in=(S.ALERTING, S.CONNECTED, S.HELD)
    ).count()


def _capacity(agent: Agent, workgroup: Workgroup) -> int:
    return agent.capacity if agent.capacity is not None else workgroup.capacity_per_agent


def _offer_after_commit(*workgroup_ids: int) -> None:
    for workgroup_id in {w for w in workgroup_ids if w}:
        transaction.on_commit(lambda w=workgroup_id: offer_waiting(workgroup_id=w))


def _offer_for_agent_after_commit(agent_id: int) -> None:
    workgroup_ids = list(Workgroup.objects.filter(members=agent_id).values_list("id", flat=True))
    _offer_after_commit(*workgroup_ids)


# --- the ACD -----------------------------------------------------------------


def _pick_agent(workgroup: Workgroup) -> Agent | None:
    """Lock and return the longest-idle available member with spare capacity."""
    live = (
        Interaction.objects.filter(
            agent=OuterRef("pk"), state__in=(S.ALERTING, S.CONNECTED, S.HELD)
        )
        .order_by()
        .values("agent")
        .annotate(n=Count("pk"))
        .values("n")
    )
    candidates = (
        Agent.objects.filter(workgroups=workgroup, status=AgentStatus.AVAILABLE)
        .filter(Exists(DesktopConnection.objects.filter(agent=OuterRef("pk"))))
        .annotate(
            live=Coalesce(Subquery(live), 0),
            cap=Coalesce("capacity", workgroup.capacity_per_agent),
        )
        .filter(live__lt=F("cap"))
        .order_by("idle_since", "pk")
        .values_list("pk", flat=True)
    )
    for agent_id in list(candidates[:10]):
        agent = _lock_agent(agent_id)
        # Re-check under the lock: another process may have offered meanwhile.
        if agent.status == AgentStatus.AVAILABLE and _live_count(agent.pk) < _capacity(
            agent, workgroup
        ):
            return agent
    return None


def offer_waiting(*, workgroup_id: int) -> int:
    """Offer queued interactions of a workgroup, oldest first, while agents are free.

    Returns how many were offered. Safe to call from any process at any time:
    a queued row another process is offering is skipped, not waited for.
    """
    offered = 0
    try:
        workgroup = Workgroup.objects.get(pk=workgroup_id)
    except Workgroup.DoesNotExist:
        return 0
    while True:
        with transaction.atomic():
            interaction = (
                Interaction.objects.select_for_update(skip_locked=True)
                .filter(workgroup_id=workgroup_id, state=S.QUEUED)
                .order_by("queued_at", "pk")
                .first()
            )
            if interaction is None:
                return offered
            agent = _pick_agent(workgroup)
            if agent is None:
                return offered
            _offer(interaction, agent, timeout_seconds=workgroup.alert_timeout_seconds)
            offered += 1


def _offer(interaction: Interaction, agent: Agent, *, timeout_seconds: int) -> None:
    from_state = interaction.state
    interaction.state = check_transition("offer", interaction)
    now = timezone.now()
    interaction.agent = agent
    interaction.alert_deadline = now + timedelta(seconds=timeout_seconds)
    Agent.objects.filter(pk=agent.pk).update(idle_since=now)
    _apply(
        interaction,
        "offer",
        actor_user_id=None,
        detail={"agent_id": agent.pk},
        fields=("agent", "alert_deadline"),
        from_state=from_state,
    )


# --- queue control -------------------------------------------------------------


def pickup(*, interaction_id: int, agent: Agent) -> Interaction:
    with transaction.atomic():
        interaction = _lock_interaction(interaction_id)
        from_state = interaction.state
        to_state = check_transition("pickup", interaction)
        if from_state in (S.ALERTING, S.HELD) and interaction.agent_id != agent.pk:
            if from_state == S.ALERTING:
                raise NotYours("This interaction was offered to another agent.")
            raise NotYours("Another agent holds this interaction.")
        if from_state == S.QUEUED:
            if not interaction.workgroup.members.filter(pk=agent.pk).exists():
                raise NotYours("This interaction waits in a workgroup you are not in.")
            locked = _lock_agent(agent.pk)
            if _live_count(locked.pk) >= _capacity(locked, interaction.workgroup):
                raise RoutingError(
                    "You are at your capacity: finish an interaction before picking up another."
                )
        interaction.state = to_state
        interaction.agent = agent
        interaction.alert_deadline = None
        fields = ["agent", "alert_deadline"]
        if interaction.connected_at is None:
            interaction.connected_at = timezone.now()
            fields.append("connected_at")
        _apply(
            interaction,
            "pickup",
            actor_user_id=agent.user_id,
            fields=tuple(fields),
            from_state=from_state,
        )
    return interaction


def _owned(interaction: Interaction, agent: Agent) -> None:
    if interaction.agent_id != agent.pk or interaction.state in (S.QUEUED, S.ALERTING):
        if interaction.state == S.ALERTING and interaction.agent_id == agent.pk:
            raise TransitionRefused("Pick the interaction up first.")
        raise NotYours("This interaction is not yours.")


def hold(*, interaction_id: int, agent: Agent) -> Interaction:
    with transaction.atomic():
        interaction = _lock_interaction(interaction_id)
        from_state = interaction.state
        to_state = check_transition("hold", interaction)
        _owned(interaction, agent)
        interaction.state = to_state
        _apply(interaction, "hold", actor_user_id=agent.user_id, from_state=from_state)
    return interaction


def set_recording(*, interaction_id: int, agent: Agent, on: bool) -> Interaction:
    verb = "record" if on else "stop_recording"
    with transaction.atomic():
        interaction = _lock_interaction(interaction_id)
        from_state = interaction.state
        check_transition(verb, interaction)
        _owned(interaction, agent)
        if interaction.recording == on:
            return interaction
        interaction.recording = on
        _apply(
            interaction,
            verb,
            actor_user_id=agent.user_id,
            fields=("recording",),
            from_state=from_state,
        )
    return interaction


def transfer_to_agent(*, interaction_id: int, agent: Agent, to_agent_id: int) -> Interaction:
    with transaction.atomic():
        interaction = _lock_interaction(interaction_id)
        from_state = interaction.state
        to_state = check_transition("transfer_to_agent", interaction)
        _owned(interaction, agent)
        if to_agent_id == agent.pk:
            raise TransitionRefused("Choose another agent to transfer to.")
        try:
            target = _lock_agent(to_agent_id)
        except Agent.DoesNotExist:
            raise RoutingError("That agent does not exist.") from None
        interaction.state = to_state
        interaction.agent = target
        interaction.alert_deadline = timezone.now() + timedelta(
            seconds=interaction.workgroup.alert_timeout_seconds
        )
        _apply(
            interaction,
            "transfer_to_agent",
            actor_user_id=agent.user_id,
            previous_agent_id=agent.pk,
            detail={"from_agent_id": agent.pk, "agent_id": target.pk},
            fields=("agent", "alert_deadline"),
            from_state=from_state,
        )
        _mark_idle(agent.pk)
        _offer_for_agent_after_commit(agent.pk)
    return interaction


def transfer_to_workgroup(*, interaction_id: int, agent: Agent, workgroup_id: int) -> Interaction:
    with transaction.atomic():
        interaction = _lock_interaction(interaction_id)
        from_state = interaction.state
        to_state = check_transition("transfer_to_workgroup", interaction)
        _owned(interaction, agent)
        if not Workgroup.objects.filter(pk=workgroup_id).exists():
            raise RoutingError("That workgroup does not exist.")
        previous_workgroup_id = interaction.workgroup_id
        interaction.state = to_state
        interaction.workgroup_id = workgroup_id
        interaction.agent = None
        interaction.alert_deadline = None
        interaction.queued_at = timezone.now()
        _apply(
            interaction,
            "transfer_to_workgroup",
            actor_user_id=agent.user_id,
            previous_agent_id=agent.pk,
            previous_workgroup_id=previous_workgroup_id,
            detail={"from_agent_id": agent.pk, "workgroup_id": workgroup_id},
            fields=("workgroup", "agent", "alert_deadline", "queued_at"),
            from_state=from_state,
        )
        _mark_idle(agent.pk)
        _offer_after_commit(workgroup_id)
        _offer_for_agent_after_commit(agent.pk)
    return interaction


def disconnect(*, interaction_id: int, agent: Agent | None, reason: str = "") -> Interaction:
    """End a live interaction. `agent` None is the system (or a supervisor tool)."""
    with transaction.atomic():
        interaction = _lock_interaction(interaction_id)
        from_state = interaction.state
        to_state = check_transition("disconnect", interaction)
        if agent is not None:
            _owned(interaction, agent)
        interaction.state = to_state
        interaction.disconnected_at = timezone.now()
        interaction.alert_deadline = None
        _apply(
            interaction,
            "disconnect",
            actor_user_id=agent.user_id if agent else None,
            detail={"reason": reason} if reason else None,
            fields=("disconnected_at", "alert_deadline"),
            from_state=from_state,
        )
        if interaction.agent_id:
            _mark_idle(interaction.agent_id)
            _offer_for_agent_after_commit(interaction.agent_id)
    return interaction


def dismiss(*, interaction_id: int, agent: Agent) -> Interaction:
    """Take a disconnected interaction off the agent's list."""
    with transaction.atomic():
        interaction = _lock_interaction(interaction_id)
        if interaction.agent_id != agent.pk:
            raise NotYours("This interaction is not yours.")
        if interaction.state != S.DISCONNECTED:
            raise TransitionRefused("Only a disconnected interaction can be dismissed.")
        if interaction.dismissed_at is None:
            interaction.dismissed_at = timezone.now()
            _apply(
                interaction,
                "dismiss",
                actor_user_id=agent.user_id,
                fields=("dismissed_at",),
                from_state=interaction.state,
            )
    return interaction


def _mark_idle(agent_id: int) -> None:
    Agent.objects.filter(pk=agent_id).update(idle_since=timezone.now())


# --- offers that ring out ------------------------------------------------------


def alert_timeout(*, interaction_id: int) -> bool:
    """Return an unanswered offer to the queue; its agent becomes Not answering.

    Returns False when the offer was answered (or moved) meanwhile.
    """
    with transaction.atomic():
        interaction = _lock_interaction(interaction_id)
        if (
            interaction.state != S.ALERTING
            or interaction.alert_deadline is None
            or interaction.alert_deadline > timezone.now()
        ):
            return False
        from_state = interaction.state
        agent_id = interaction.agent_id
        interaction.state = check_transition("alert_timeout", interaction)
        interaction.agent = None
        interaction.alert_deadline = None
        _apply(
            interaction,
            "alert_timeout",
            actor_user_id=None,
            previous_agent_id=agent_id,
            detail={"agent_id": agent_id},
            fields=("agent", "alert_deadline"),
            from_state=from_state,
        )
        if agent_id:
            _set_status_locked(_lock_agent(agent_id), AgentStatus.NOT_ANSWERING)
        _offer_after_commit(interaction.workgroup_id)
    return True


def _return_offers(agent_id: int) -> None:
    """Put the agent's alerting offers back in their queues (call inside a transaction)."""
    ids = list(
        Interaction.objects.filter(agent_id=agent_id, state=S.ALERTING).values_list("pk", flat=True)
    )
    for interaction_id in ids:
        interaction = _lock_interaction(interaction_id)
        if interaction.state != S.ALERTING or interaction.agent_id != agent_id:
            continue
        from_state = interaction.state
        interaction.state = check_transition("return_offer", interaction)
        interaction.agent = None
        interaction.alert_deadline = None
        _apply(
            interaction,
            "return_offer",
            actor_user_id=None,
            previous_agent_id=agent_id,
            detail={"agent_id": agent_id},
            fields=("agent", "alert_deadline"),
            from_state=from_state,
        )
        _offer_after_commit(interaction.workgroup_id)


# --- agents ----------------------------------------------------------------------


def _set_status_locked(agent: Agent, status: str) -> None:
    if agent.status == status:
        return
    agent.status = status
    agent.status_changed_at = timezone.now()
    agent.save(update_fields=["status", "status_changed_at"])
    publish_on_commit(RoutingEvent(type=events.AGENT_CHANGED, agent_id=agent.pk))


def set_agent_status(*, agent: Agent, status: str) -> Agent:
    if status not in AgentStatus.values or status == AgentStatus.NOT_ANSWERING:
        raise RoutingError("Choose one of the listed statuses.")
    with transaction.atomic():
        locked = _lock_agent(agent.pk)
        _set_status_locked(locked, status)
        if status == AgentStatus.AVAILABLE:
            _offer_for_agent_after_commit(locked.pk)
    agent.status = locked.status
    return locked


def desktop_opened(*, agent: Agent, channel_name: str) -> None:
    with transaction.atomic():
        DesktopConnection.objects.update_or_create(
            channel_name=channel_name, defaults={"agent": agent, "last_seen": timezone.now()}
        )
        _offer_for_agent_after_commit(agent.pk)


def desktop_closed(*, channel_name: str) -> None:
    """Forget a tab; when the agent's last tab closes, their offers go back."""
    with transaction.atomic():
        connection = DesktopConnection.objects.filter(channel_name=channel_name).first()
        if connection is None:
            return
        agent_id = connection.agent_id
        connection.delete()
        _lock_agent(agent_id)
        if not DesktopConnection.objects.filter(agent_id=agent_id).exists():
            _return_offers(agent_id)


def desktops_seen(*, channel_names: list[str]) -> None:
    """A server process vouches that these tabs are still open."""
    DesktopConnection.objects.filter(channel_name__in=channel_names).update(
        last_seen=timezone.now()
    )


def sweep_stale_desktops() -> int:
    """Forget tabs whose server process stopped vouching for them (it crashed)."""
    cutoff = timezone.now() - CONNECTION_STALE_AFTER
    names = list(
        DesktopConnection.objects.filter(last_seen__lt=cutoff).values_list(
            "channel_name", flat=True
        )
    )
    for name in names:
        desktop_closed(channel_name=name)
    return len(names)


def expire_alerts() -> int:
    ids = list(
        Interaction.objects.filter(state=S.ALERTING, alert_deadline__lt=timezone.now()).values_list(
            "pk", flat=True
        )
    )
    return sum(1 for interaction_id in ids if alert_timeout(interaction_id=interaction_id))


def run_due_timers() -> dict[str, int]:
    """Everything time-driven, safe from any number of processes at once."""
    from routing import messaging  # messaging builds on this module

    done = {
        "alerts_expired": expire_alerts(),
        "sends_expired": messaging.expire_stuck_sends(),
        "desktops_swept": sweep_stale_desktops(),
        "offered": 0,
    }
    for workgroup_id in (
        Interaction.objects.filter(state=S.QUEUED).values_list("workgroup_id", flat=True).distinct()
    ):
        done["offered"] += offer_waiting(workgroup_id=workgroup_id)
    return done
