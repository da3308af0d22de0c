"""An agent's verbs on an interaction: the toolbar (pickup, hold, record,
transfer, disconnect), dismissing it, reading it and wrapping it up.
"""

from django.db import transaction
from django.utils import timezone

from routing import rules
from routing.events import (
    EventType,
    interaction_event,
    publish_on_commit,
)
from routing.models import (
    Agent,
    Interaction,
    Message,
    MessageDirection,
    Workgroup,
    WrapUpCode,
)
from routing.services import clocks, recordings
from routing.services.acd import offer_for_agent_after_commit
from routing.services.kernel import (
    NotYours,
    RoutingError,
    S,
    TransitionRefused,
    capacity_of,
    check_transition,
    live_count,
    lock_agent,
    lock_interaction,
    mark_idle,
    require_owner,
    save_transition,
)
from routing.services.transfers import requeue, ring_agent


def pickup(*, interaction_id: int, agent: Agent) -> Interaction:
    with transaction.atomic():
        interaction = lock_interaction(interaction_id)
        from_state = interaction.state
        to_state = check_transition("pickup", interaction)
        if from_state in (S.ALERTING, S.HELD) and interaction.agent_id != agent.pk:
            if from_state == S.ALERTING:
                raise NotYours("This interaction was offered to another agent.")
            raise NotYours("Another agent holds this interaction.")
        if from_state == S.QUEUED:
            if not interaction.workgroup.members.filter(pk=agent.pk).exists():
                raise NotYours("This interaction waits in a workgroup you are not in.")
            locked = lock_agent(agent.pk)
            if live_count(locked.pk) >= capacity_of(locked, interaction.workgroup):
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
        fields.extend(clocks.start_reply_clock(interaction, now=timezone.now()))
        save_transition(
            interaction,
            "pickup",
            actor_user_id=agent.user_id,
            fields=tuple(fields),
            from_state=from_state,
        )
    return interaction


def hold(*, interaction_id: int, agent: Agent) -> Interaction:
    with transaction.atomic():
        interaction = lock_interaction(interaction_id)
        from_state = interaction.state
        to_state = check_transition("hold", interaction)
        require_owner(interaction, agent)
        interaction.state = to_state
        interaction.held_at = timezone.now()
        save_transition(
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
        interaction = lock_interaction(interaction_id)
        from_state = interaction.state
        check_transition(verb, interaction)
        require_owner(interaction, agent)
        if interaction.recording == on:
            return interaction
        if not on and rules.recording_required(interaction):
            raise TransitionRefused(rules.RECORDING_REQUIRED)
        interaction.recording = on
        # The span starts before its "record" row and ends after its
        # "stop_recording" row, so both are part of the transcript.
        started_at = timezone.now()
        save_transition(
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


def transfer_to_agent(*, interaction_id: int, agent: Agent, to_agent_id: int) -> Interaction:
    with transaction.atomic():
        interaction = lock_interaction(interaction_id)
        from_state = interaction.state
        to_state = check_transition("transfer_to_agent", interaction)
        require_owner(interaction, agent)
        if to_agent_id == agent.pk:
            raise TransitionRefused("Choose another agent to transfer to.")
        ring_agent(
            interaction,
            "transfer_to_agent",
            from_state=from_state,
            to_state=to_state,
            to_agent_id=to_agent_id,
            previous_agent_id=agent.pk,
            actor_user_id=agent.user_id,
        )
        mark_idle(agent.pk)
        offer_for_agent_after_commit(agent.pk)
    return interaction


def transfer_to_workgroup(*, interaction_id: int, agent: Agent, workgroup_id: int) -> Interaction:
    with transaction.atomic():
        interaction = lock_interaction(interaction_id)
        from_state = interaction.state
        to_state = check_transition("transfer_to_workgroup", interaction)
        require_owner(interaction, agent)
        target = Workgroup.objects.filter(pk=workgroup_id).first()
        if target is None:
            raise RoutingError("That workgroup does not exist.")
        requeue(
            interaction,
            "transfer_to_workgroup",
            from_state=from_state,
            to_state=to_state,
            target=target,
            actor_user_id=agent.user_id,
        )
    return interaction


def disconnect(
    *,
    interaction_id: int,
    agent: Agent | None,
    reason: str = "",
    wrap_up_code: WrapUpCode | None = None,
) -> Interaction:
    """End a live interaction. `agent` None is the system (or a supervisor tool).

    `wrap_up_code` (one of the workgroup's active codes) is applied with it.
    """
    with transaction.atomic():
        interaction = lock_interaction(interaction_id)
        from_state = interaction.state
        to_state = check_transition("disconnect", interaction)
        if agent is not None:
            require_owner(interaction, agent)
        interaction.state = to_state
        interaction.disconnected_at = timezone.now()
        interaction.alert_deadline = None
        fields = ["disconnected_at", "alert_deadline"]
        detail = {"reason": reason} if reason else {}
        if (
            wrap_up_code is not None
            and wrap_up_code.active
            and wrap_up_code.workgroup_id == interaction.workgroup_id
        ):
            interaction.wrap_up_code = wrap_up_code
            fields.append("wrap_up_code")
            detail["wrap_up_code"] = wrap_up_code.label
        save_transition(
            interaction,
            "disconnect",
            actor_user_id=agent.user_id if agent else None,
            detail=detail,
            fields=tuple(fields),
            from_state=from_state,
        )
        if interaction.agent_id:
            mark_idle(interaction.agent_id)
            offer_for_agent_after_commit(interaction.agent_id)
    return interaction


def dismiss(*, interaction_id: int, agent: Agent) -> Interaction:
    """Take a disconnected interaction off the agent's list."""
    with transaction.atomic():
        interaction = lock_interaction(interaction_id)
        if interaction.agent_id != agent.pk:
            raise NotYours("This interaction is not yours.")
        if interaction.state != S.DISCONNECTED:
            raise TransitionRefused("Only a disconnected interaction can be dismissed.")
        if interaction.dismissed_at is None and wrap_up_missing(interaction):
            raise TransitionRefused("Choose a wrap-up code before dismissing this interaction.")
        if interaction.dismissed_at is None:
            interaction.dismissed_at = timezone.now()
            save_transition(
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
        interaction = lock_interaction(interaction_id)
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
        interaction = lock_interaction(interaction_id)
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
        save_transition(
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
