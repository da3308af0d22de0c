"""Help on the floor: an agent asks for it; a supervisor monitors, coaches or takes over.

Every act is an `InteractionEvent` row with its actor. A supervisor's answer
(monitoring, coaching, taking over) clears the agent's request, and so does
the end of the interaction (`kernel.save_transition`). Monitoring is silent:
nothing of it reaches the agent or the customer. Who may call the
supervisor's verbs is the caller's check (the board's permissions).
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from routing.events import EventType, RoutingEvent, interaction_event, publish_on_commit
from routing.models import LIVE_STATES, Agent, AgentStatus, Interaction, InteractionEvent
from routing.rules import MAX_TEXT_LENGTH
from routing.services.acd import offer_for_agent_after_commit
from routing.services.kernel import (
    STATE_WORDS,
    RoutingError,
    S,
    TransitionRefused,
    check_transition,
    lock_interaction,
    mark_idle,
    require_owner,
    save_transition,
)


def ask_for_help(*, interaction_id: int, agent: Agent) -> Interaction:
    """The owner of a connected or held interaction asks a supervisor for help.

    Shown on the live board as "Needs help" until answered or ended; asking
    again while it waits changes nothing. Writes `ask_for_help`.
    """
    with transaction.atomic():
        interaction = lock_interaction(interaction_id)
        require_owner(interaction, agent)
        if interaction.state not in (S.CONNECTED, S.HELD):
            raise TransitionRefused(
                f"Help is asked while connected or on hold; the interaction is "
                f"{STATE_WORDS[interaction.state]}."
            )
        if interaction.help_requested_at is not None:
            return interaction
        interaction.help_requested_at = timezone.now()
        interaction.save(update_fields=["help_requested_at"])
        _event_row(interaction, "ask_for_help", actor_user_id=agent.user_id)
        publish_on_commit(_help_changed(interaction))
    return interaction


def monitor(*, interaction_id: int, supervisor_user_id: int) -> Interaction:
    """A supervisor opens a live interaction read-only (silent: the agent is not told).

    Writes `monitor`; answers a request for help.
    """
    with transaction.atomic():
        interaction = _lock_live(interaction_id)
        _event_row(interaction, "monitor", actor_user_id=supervisor_user_id)
        _answer_help(interaction)
    return interaction


def coach(*, interaction_id: int, supervisor_user_id: int, text: str) -> InteractionEvent:
    """A coaching note for the agent working the interaction: only that agent sees it.

    Writes `coach` with the words; answers a request for help.
    """
    text = text.strip()
    if not text:
        raise RoutingError("Type the coaching note first.")
    if len(text) > MAX_TEXT_LENGTH:
        raise RoutingError(
            f"A coaching note takes at most {MAX_TEXT_LENGTH} characters; this one has {len(text)}."
        )
    with transaction.atomic():
        interaction = _lock_live(interaction_id)
        if interaction.agent_id is None or interaction.state not in (S.CONNECTED, S.HELD):
            raise RoutingError("Nobody works this interaction yet: there is no agent to coach.")
        row = _event_row(
            interaction, "coach", actor_user_id=supervisor_user_id, detail={"text": text}
        )
        _answer_help(interaction)
        publish_on_commit(_told(interaction.agent_id, interaction, row))
    return row


def take_over(*, interaction_id: int, supervisor_user_id: int, reason: str = "") -> Interaction:
    """The supervisor takes a live interaction: it becomes theirs, connected, on their desktop.

    A supervisor without an agent profile gets one (Away: nothing is offered
    to them unless they choose Available). The agent it is taken from is told
    why and is free for other work. Writes `supervisor_take_over`; answers a
    request for help.
    """
    reason = reason.strip()[:500]
    supervisor = get_user_model().objects.get(pk=supervisor_user_id)
    taker, _ = Agent.objects.get_or_create(user=supervisor, defaults={"status": AgentStatus.AWAY})
    with transaction.atomic():
        interaction = lock_interaction(interaction_id)
        from_state = interaction.state
        if interaction.agent_id == taker.pk and from_state in (S.CONNECTED, S.HELD):
            raise RoutingError("It is already yours.")
        interaction.state = check_transition("supervisor_take_over", interaction)
        previous_agent_id = interaction.agent_id if from_state != S.QUEUED else None
        interaction.agent = taker
        interaction.alert_deadline = None
        interaction.connected_at = interaction.connected_at or timezone.now()
        interaction.help_requested_at = None
        save_transition(
            interaction,
            "supervisor_take_over",
            actor_user_id=supervisor_user_id,
            previous_agent_id=previous_agent_id,
            detail={"from_agent_id": previous_agent_id, "reason": reason},
            fields=("agent", "alert_deadline", "connected_at", "help_requested_at"),
            from_state=from_state,
        )
        if previous_agent_id and previous_agent_id != taker.pk:
            row = InteractionEvent.objects.filter(
                interaction=interaction, verb="supervisor_take_over"
            ).latest("pk")
            publish_on_commit(_told(previous_agent_id, interaction, row))
            mark_idle(previous_agent_id)
            offer_for_agent_after_commit(previous_agent_id)
    return interaction


def _lock_live(interaction_id: int) -> Interaction:
    interaction = lock_interaction(interaction_id)
    if interaction.state not in LIVE_STATES:
        raise RoutingError("This interaction has ended.")
    return interaction


def _event_row(interaction: Interaction, verb: str, *, actor_user_id: int, detail=None):
    return InteractionEvent.objects.create(
        interaction=interaction,
        actor_id=actor_user_id,
        verb=verb,
        from_state=interaction.state,
        to_state=interaction.state,
        detail=detail or {},
    )


def _answer_help(interaction: Interaction) -> None:
    if interaction.help_requested_at is None:
        return
    interaction.help_requested_at = None
    interaction.save(update_fields=["help_requested_at"])
    publish_on_commit(_help_changed(interaction))


def _help_changed(interaction: Interaction) -> RoutingEvent:
    return interaction_event(interaction, type_=EventType.HELP_CHANGED)


def _told(agent_id: int, interaction: Interaction, row: InteractionEvent) -> RoutingEvent:
    return RoutingEvent(
        type=EventType.SUPERVISOR_TOLD_AGENT,
        interaction_id=interaction.pk,
        agent_id=agent_id,
        workgroup_id=interaction.workgroup_id,
        state=interaction.state,
        previous_state=interaction.state,
        event_row_id=row.pk,
    )
