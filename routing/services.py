"""Every change to an interaction, one function per verb.

Each verb locks the row (`select_for_update`), checks the transition against
`TRANSITIONS`, writes the change and an `InteractionEvent`, and announces it
after commit. Views, consumers, the webhook and the timers call only these.

Lock order, everywhere: interaction, then agent. On SQLite `select_for_update`
is a no-op, but every transaction is `IMMEDIATE`, so writers are serialised.
"""

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from routing import recordings
from routing.events import EventType, RoutingEvent, interaction_event, publish_on_commit
from routing.models import (
    LIVE_STATES,
    Agent,
    AgentStatus,
    DesktopConnection,
    Interaction,
    InteractionEvent,
    InteractionState,
    Message,
    MessageDirection,
    Workgroup,
    WrapUpCode,
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
    # A supervisor, from the live board (routing/supervision.py): any live
    # interaction, whoever owns it.
    "supervisor_transfer_to_agent": (frozenset(LIVE_STATES), S.ALERTING),
    "supervisor_transfer_to_workgroup": (frozenset(LIVE_STATES), S.QUEUED),
    "supervisor_disconnect": (frozenset(LIVE_STATES), S.DISCONNECTED),
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


def _lock_agents(*agent_ids: int) -> dict[int, Agent]:
    """Lock several agents in id order, the one order every multi-agent lock uses."""
    return {
        agent.pk: agent
        for agent in Agent.objects.select_for_update().filter(pk__in=agent_ids).order_by("pk")
    }


STATE_WORDS = {
    S.QUEUED: "waiting in the queue",
    S.ALERTING: "being offered",
    S.CONNECTED: "connected",
    S.HELD: "on hold",
    S.DISCONNECTED: "disconnected",
}


# How a verb reads in a refusal shown to the agent ("Cannot pick up: …").
VERB_WORDS = {
    "pickup": "pick up",
    "transfer_to_agent": "transfer",
    "transfer_to_workgroup": "transfer",
    "return_offer": "return the offer",
    "supervisor_transfer_to_agent": "transfer",
    "supervisor_transfer_to_workgroup": "transfer",
    "supervisor_disconnect": "disconnect",
}


def check_transition(verb: str, interaction: Interaction) -> str:
    """The state `verb` leads to from the interaction's state, or TransitionRefused."""
    from_states, to_state = TRANSITIONS[verb]
    if interaction.state not in from_states:
        words = VERB_WORDS.get(verb, verb.replace("_", " "))
        raise TransitionRefused(
            f"Cannot {words}: the interaction is {STATE_WORDS[interaction.state]}."
        )
    return to_state or interaction.state


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
    # Whichever verb ends a hold (pickup, transfer, disconnect, a supervisor's),
    # the held time stops showing.
    if interaction.state != S.HELD and interaction.held_at is not None:
        interaction.held_at = None
        update_fields.add("held_at")
    # Whichever verb ends the interaction, its recording ends with it.
    recording_ends = interaction.state == S.DISCONNECTED and interaction.recording
    if recording_ends:
        interaction.recording = False
        update_fields.add("recording")
    interaction.save(update_fields=sorted(update_fields))
    InteractionEvent.objects.create(
        interaction=interaction,
        actor_id=actor_user_id,
        verb=verb,
        from_state=from_state,
        to_state=interaction.state,
        detail=detail or {},
    )
    if recording_ends:
        recordings.stop_event(interaction, actor_user_id=actor_user_id, reason=verb)
        recordings.close_recordings(interaction, at=timezone.now())
    publish_on_commit(
        interaction_event(
            interaction,
            previous_state=from_state,
            previous_agent_id=previous_agent_id,
            previous_workgroup_id=previous_workgroup_id,
        )
    )


def _live_count(agent_id: int) -> int:
    return Interaction.objects.filter(
        agent_id=agent_id, state__in=(S.ALERTING, S.CONNECTED, S.HELD)
    ).count()


def _capacity(agent: Agent, workgroup: Workgroup) -> int:
    return agent.capacity if agent.capacity is not None else workgroup.capacity_per_agent


def _cannot_take(agent: Agent, workgroup: Workgroup) -> str:
    """Why the (locked) agent may not be rung with one more interaction; "" when they may.

    Checked under the agent's lock: every offer and every desktop closing
    takes that lock too, so the answer holds until the commit.
    """
    if agent.status != AgentStatus.AVAILABLE:
        return f"{agent.display_name} is not available ({agent.get_status_display()})."
    if not DesktopConnection.objects.filter(agent_id=agent.pk).exists():
        return f"{agent.display_name} does not have the desktop open."
    if _live_count(agent.pk) >= _capacity(agent, workgroup):
        return f"{agent.display_name} has no room for another interaction."
    return ""


def _offer_waiting_in(workgroup_id: int):
    """After-commit work: offer what waits in one workgroup (marked, to be found again)."""

    def offer() -> None:
        offer_waiting(workgroup_id=workgroup_id)

    offer.offers_workgroup_id = workgroup_id
    return offer


def _offer_after_commit(*workgroup_ids: int) -> None:
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
    candidate_ids = list(candidates[:10])
    if not candidate_ids:
        return None
    # Lock them all at once in id order, not one by one in idle order: two
    # offers reading idle times a moment apart could each hold the agent the
    # other one waits for.
    locked = _lock_agents(*candidate_ids)
    for agent_id in candidate_ids:
        agent = locked.get(agent_id)
        # Re-check under the lock: another process may have offered meanwhile,
        # or the agent's last tab closed (desktop_closed takes this lock too).
        if agent is not None and not _cannot_take(agent, workgroup):
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
        interaction.held_at = timezone.now()
        _apply(
            interaction,
            "hold",
            actor_user_id=agent.user_id,
            fields=("held_at",),
            from_state=from_state,
        )
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
        # The span starts before its "record" row and ends after its
        # "stop_recording" row, so both are part of the transcript.
        started_at = timezone.now()
        _apply(
            interaction,
            verb,
            actor_user_id=agent.user_id,
            fields=("recording",),
            from_state=from_state,
        )
        if on:
            recordings.open_recording(interaction, started_by_id=agent.user_id, at=started_at)
        else:
            recordings.close_recordings(interaction, at=timezone.now())
    return interaction


def record_automatically(interaction: Interaction, *, at) -> None:
    """Start recording the (locked) interaction because its workgroup records everything.

    From its creation (`at` its `created_at`: the span takes in everything from
    the start) or from its transfer into such a workgroup.
    """
    interaction.recording = True
    interaction.save(update_fields=["recording"])
    InteractionEvent.objects.create(
        interaction=interaction,
        verb="record",
        from_state=interaction.state,
        to_state=interaction.state,
        detail={"auto": True},
    )
    recordings.open_recording(interaction, started_by_id=None, at=at)


def _ring_agent(
    interaction: Interaction,
    verb: str,
    *,
    from_state: str,
    to_state: str,
    to_agent_id: int,
    previous_agent_id: int | None,
    actor_user_id: int | None,
) -> Agent:
    """Transfer the (locked, checked) interaction to one agent: ring them as an offer does."""
    # Both agents change (the target rings, the previous owner goes idle).
    # Lock them in id order: two transfers crossing each other would otherwise
    # each hold one agent and wait for the other.
    locked = _lock_agents(*(a for a in (previous_agent_id, to_agent_id) if a))
    target = locked.get(to_agent_id)
    if target is None:
        raise RoutingError("That agent does not exist.")
    # Ringing an agent is an offer, so the same promise holds (CONTRACT.md,
    # "Who is offered work").
    if reason := _cannot_take(target, interaction.workgroup):
        raise RoutingError(reason)
    interaction.state = to_state
    interaction.agent = target
    interaction.alert_deadline = timezone.now() + timedelta(
        seconds=interaction.workgroup.alert_timeout_seconds
    )
    _apply(
        interaction,
        verb,
        actor_user_id=actor_user_id,
        previous_agent_id=previous_agent_id,
        detail={"from_agent_id": previous_agent_id, "agent_id": target.pk},
        fields=("agent", "alert_deadline"),
        from_state=from_state,
    )
    return target


def transfer_to_agent(*, interaction_id: int, agent: Agent, to_agent_id: int) -> Interaction:
    with transaction.atomic():
        interaction = _lock_interaction(interaction_id)
        from_state = interaction.state
        to_state = check_transition("transfer_to_agent", interaction)
        _owned(interaction, agent)
        if to_agent_id == agent.pk:
            raise TransitionRefused("Choose another agent to transfer to.")
        _ring_agent(
            interaction,
            "transfer_to_agent",
            from_state=from_state,
            to_state=to_state,
            to_agent_id=to_agent_id,
            previous_agent_id=agent.pk,
            actor_user_id=agent.user_id,
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
        target = Workgroup.objects.filter(pk=workgroup_id).first()
        if target is None:
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
        if target.auto_record and not interaction.recording:
            record_automatically(interaction, at=timezone.now())
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
        if interaction.dismissed_at is None and wrap_up_missing(interaction):
            raise TransitionRefused("Choose a wrap-up code before dismissing this interaction.")
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


def mark_read_by_agent(
    *, interaction_id: int, agent: Agent, up_to_message_id: int | None = None
) -> Interaction:
    """The owning agent has seen the customer's messages (all, or up to one message).

    Only moves forward. Not an `InteractionEvent`: reading is no step in the
    interaction's course, and a row per glance would drown its history. The
    announcement goes to the agent's own tabs only, to clear their unread marks.
    """
    with transaction.atomic():
        interaction = _lock_interaction(interaction_id)
        if interaction.agent_id != agent.pk or interaction.state == S.QUEUED:
            raise NotYours("This interaction is not yours.")
        read_at = timezone.now()
        if up_to_message_id is not None:
            seen = (
                Message.objects.filter(pk=up_to_message_id, interaction_id=interaction.pk)
                .values_list("created_at", flat=True)
                .first()
            )
            if seen is None:
                raise RoutingError("This message is not part of the interaction.")
            read_at = seen
        if interaction.agent_read_at is not None and interaction.agent_read_at >= read_at:
            return interaction
        newly_read = Message.objects.filter(
            interaction_id=interaction.pk,
            direction=MessageDirection.INBOUND,
            created_at__lte=read_at,
        )
        if interaction.agent_read_at is not None:
            newly_read = newly_read.filter(created_at__gt=interaction.agent_read_at)
        had_unread = newly_read.exists()
        interaction.agent_read_at = read_at
        interaction.save(update_fields=["agent_read_at"])
        if had_unread:
            publish_on_commit(interaction_event(interaction, type_=EventType.INTERACTION_READ))
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
        agent_id = interaction.agent_id
        _take_back_offer(interaction, "alert_timeout", agent_id=agent_id)
        if agent_id:
            _set_status_locked(_lock_agent(agent_id), AgentStatus.NOT_ANSWERING)
    return True


def _return_offers(agent_id: int) -> None:
    """Put the offers of an agent without a desktop back in their queues.

    Runs after the commit that removed the agent's last tab, one offer per
    transaction, locking only the offer: waiting for an offer while holding
    the agent would deadlock with `alert_timeout`, which holds the offer and
    waits for the agent (the lock order is interaction, then agent).
    """
    ids = list(
        Interaction.objects.filter(agent_id=agent_id, state=S.ALERTING).values_list("pk", flat=True)
    )
    for interaction_id in ids:
        with transaction.atomic():
            interaction = _lock_interaction(interaction_id)
            if interaction.state != S.ALERTING or interaction.agent_id != agent_id:
                continue  # picked up, timed out or transferred meanwhile
            if DesktopConnection.objects.filter(agent_id=agent_id).exists():
                return  # a tab came back: the offers may ring there
            _take_back_offer(interaction, "return_offer", agent_id=agent_id)


def _take_back_offer(interaction: Interaction, verb: str, *, agent_id: int | None) -> None:
    """The (locked) ringing offer goes back to its queue and is offered again after commit."""
    from_state = interaction.state
    interaction.state = check_transition(verb, interaction)
    interaction.agent = None
    interaction.alert_deadline = None
    _apply(
        interaction,
        verb,
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
    publish_on_commit(RoutingEvent(type=EventType.AGENT_CHANGED, agent_id=agent.pk))


def set_agent_status(*, agent: Agent, status: str) -> Agent:
    if status not in AgentStatus.values or status == AgentStatus.NOT_ANSWERING:
        raise RoutingError("Choose one of the listed statuses.")
    with transaction.atomic():
        locked = _lock_agent(agent.pk)
        _set_status_locked(locked, status)
        if status == AgentStatus.AVAILABLE:
            _offer_for_agent_after_commit(locked.pk)
        else:
            transaction.on_commit(lambda: _return_offers_of_unavailable(locked.pk), robust=True)
    agent.status = locked.status
    return locked


def desktop_opened(*, agent: Agent, channel_name: str) -> None:
    with transaction.atomic():
        DesktopConnection.objects.update_or_create(
            channel_name=channel_name, defaults={"agent": agent, "last_seen": timezone.now()}
        )
        _offer_for_agent_after_commit(agent.pk)


def desktop_closed(*, channel_name: str) -> None:
    """Forget a tab; when the agent's last tab closes, their offers go back.

    The offers go back right after this commits (before it returns, when it
    is not called inside a transaction).
    """
    with transaction.atomic():
        connection = DesktopConnection.objects.filter(channel_name=channel_name).first()
        if connection is None:
            return
        agent_id = connection.agent_id
        # The agent's lock orders this against offers, which check for a tab
        # under it: an offer either committed before (and is returned after
        # this commits) or runs after and finds no tab.
        _lock_agent(agent_id)
        DesktopConnection.objects.filter(pk=connection.pk).delete()
        if not DesktopConnection.objects.filter(agent_id=agent_id).exists():
            transaction.on_commit(lambda: _return_offers(agent_id), robust=True)


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


# --- offers of an agent who stepped away -------------------------------------------


def _return_offers_of_unavailable(agent_id: int) -> None:
    """An agent who sets themselves Away (or any status but Available) lets nothing ring:
    their offers go back to the queue at once, for the next agent.

    Runs after the status change commits, one offer per transaction, locking
    only the offer (the lock order is interaction, then agent).
    """
    ids = list(
        Interaction.objects.filter(agent_id=agent_id, state=S.ALERTING).values_list("pk", flat=True)
    )
    for interaction_id in ids:
        with transaction.atomic():
            interaction = _lock_interaction(interaction_id)
            if interaction.state != S.ALERTING or interaction.agent_id != agent_id:
                continue  # picked up, timed out or transferred meanwhile
            if Agent.objects.filter(pk=agent_id, status=AgentStatus.AVAILABLE).exists():
                return  # Available again: the offers may ring
            _take_back_offer(interaction, "return_offer", agent_id=agent_id)


# --- wrap-up ---------------------------------------------------------------------


def wrap_up_missing(interaction: Interaction) -> bool:
    """True when the interaction may not leave its agent's list without a wrap-up code.

    The workgroup asks for one and has codes to choose from (with none, the
    agent could never dismiss it), and somebody talked with the customer: an
    interaction ended before anyone picked it up has nothing to wrap up.
    """
    workgroup = interaction.workgroup
    return (
        interaction.wrap_up_code_id is None
        and workgroup.wrap_up_required
        and interaction.connected_at is not None
        and workgroup.wrap_up_codes.filter(active=True).exists()
    )


def set_wrap_up(*, interaction_id: int, agent: Agent, wrap_up_code_id: int) -> Interaction:
    """The agent's wrap-up code for a disconnected interaction still on their list.

    May be changed until the interaction is dismissed; every choice is an event
    row with the code before and after.
    """
    with transaction.atomic():
        interaction = _lock_interaction(interaction_id)
        if interaction.agent_id != agent.pk or interaction.state == S.QUEUED:
            raise NotYours("This interaction is not yours.")
        if interaction.state != S.DISCONNECTED:
            raise TransitionRefused("Choose a wrap-up code once the interaction is disconnected.")
        if interaction.dismissed_at is not None:
            raise TransitionRefused("This interaction has left your list.")
        code = WrapUpCode.objects.filter(
            pk=wrap_up_code_id, workgroup_id=interaction.workgroup_id, active=True
        ).first()
        if code is None:
            raise RoutingError("Choose one of the listed wrap-up codes.")
        if interaction.wrap_up_code_id == code.pk:
            return interaction
        previous = interaction.wrap_up_code
        interaction.wrap_up_code = code
        _apply(
            interaction,
            "wrap_up",
            actor_user_id=agent.user_id,
            detail={
                "wrap_up_code_id": code.pk,
                "code": code.label,
                "previous_code": previous.label if previous else "",
            },
            fields=("wrap_up_code",),
            from_state=interaction.state,
        )
    return interaction


# --- capacity and membership, changed by supervisors ------------------------------
#
# The admin calls these when a supervisor saves a workgroup or an agent, rather
# than a post_save hook: the verbs save agents too (status, idle time), and a
# hook would set off the ACD inside each of them; `update()` would skip it.
# Lowering a capacity takes nothing away from anyone: it only stops new offers
# until the agent is below it. Raising it, or adding members, offers at once.


def set_agent_capacity(*, agent_id: int, capacity: int | None) -> Agent:
    """An agent's own capacity (None: each workgroup's default); offers follow at once."""
    if capacity is not None and capacity < 0:
        raise RoutingError("Capacity cannot be negative.")
    with transaction.atomic():
        agent = _lock_agent(agent_id)
        if agent.capacity != capacity:
            agent.capacity = capacity
            agent.save(update_fields=["capacity"])
        # Offered even when the admin form saved the value first. No event of
        # its own: the board re-reads capacities as it refreshes, and the
        # offers that follow are announced.
        _offer_for_agent_after_commit(agent.pk)
    return agent


def set_workgroup_capacity(*, workgroup_id: int, capacity_per_agent: int) -> Workgroup:
    """A workgroup's default capacity per agent; what waits is offered at once."""
    if capacity_per_agent < 0:
        raise RoutingError("Capacity cannot be negative.")
    with transaction.atomic():
        workgroup = Workgroup.objects.select_for_update().get(pk=workgroup_id)
        if workgroup.capacity_per_agent != capacity_per_agent:
            workgroup.capacity_per_agent = capacity_per_agent
            workgroup.save(update_fields=["capacity_per_agent"])
        # The default applies to this workgroup's offers only.
        _offer_after_commit(workgroup.pk)
    return workgroup


def workgroup_members_changed(*, workgroup_ids: list[int], agent_ids: Iterable[int] = ()) -> None:
    """Agents joined (or left) these workgroups: offer what waits there.

    Announces MEMBERSHIP_CHANGED for each agent whose membership changed, with
    the workgroups they are in now, so that their open desktops follow at once.
    """
    with transaction.atomic():
        for agent_id in sorted(set(agent_ids)):
            member_of = Workgroup.objects.filter(members=agent_id).values_list("pk", flat=True)
            publish_on_commit(
                RoutingEvent(
                    type=EventType.MEMBERSHIP_CHANGED,
                    agent_id=agent_id,
                    member_of=frozenset(member_of),
                )
            )
        _offer_after_commit(*workgroup_ids)
