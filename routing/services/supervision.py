"""A supervisor's verbs on the live board: any live interaction, whoever owns it.

The same rules as `routing.services` (whose helpers these reuse): lock the
interaction, then agents in id order; check the transition in `TRANSITIONS`;
write the change and an `InteractionEvent` with the supervisor as its actor;
announce after commit. Who may call them is the caller's check (the board
view asks for the `routing.change_interaction` permission).
"""

from django.db import transaction
from django.utils import timezone

from routing.models import Interaction, InteractionState, Workgroup
from routing.services.acd import offer_for_agent_after_commit
from routing.services.kernel import (
    RoutingError,
    check_transition,
    lock_interaction,
    mark_idle,
    save_transition,
)
from routing.services.transfers import requeue, ring_agent

S = InteractionState


def _release(agent_id: int | None) -> None:
    """The agent the interaction was taken from is free again: offer them waiting work."""
    if agent_id:
        mark_idle(agent_id)
        offer_for_agent_after_commit(agent_id)


def supervisor_transfer_to_workgroup(
    *, interaction_id: int, supervisor_user_id: int, workgroup_id: int
) -> Interaction:
    """Put a live interaction at the back of a workgroup's queue (its own or another)."""
    with transaction.atomic():
        interaction = lock_interaction(interaction_id)
        from_state = interaction.state
        to_state = check_transition("supervisor_transfer_to_workgroup", interaction)
        target = Workgroup.objects.filter(pk=workgroup_id).first()
        if target is None:
            raise RoutingError("That workgroup does not exist.")
        if from_state == S.QUEUED and interaction.workgroup_id == workgroup_id:
            raise RoutingError("It already waits in that workgroup's queue.")
        requeue(
            interaction,
            "supervisor_transfer_to_workgroup",
            from_state=from_state,
            to_state=to_state,
            target=target,
            actor_user_id=supervisor_user_id,
        )
    return interaction


def supervisor_transfer_to_agent(
    *, interaction_id: int, supervisor_user_id: int, to_agent_id: int
) -> Interaction:
    """Ring one agent with a live interaction, as an offer does (they still pick it up)."""
    with transaction.atomic():
        interaction = lock_interaction(interaction_id)
        from_state = interaction.state
        to_state = check_transition("supervisor_transfer_to_agent", interaction)
        previous_agent_id = interaction.agent_id if from_state != S.QUEUED else None
        if previous_agent_id == to_agent_id:
            raise RoutingError("It is already with that agent.")
        ring_agent(
            interaction,
            "supervisor_transfer_to_agent",
            from_state=from_state,
            to_state=to_state,
            to_agent_id=to_agent_id,
            previous_agent_id=previous_agent_id,
            actor_user_id=supervisor_user_id,
        )
        _release(previous_agent_id)
    return interaction


def supervisor_disconnect(
    *, interaction_id: int, supervisor_user_id: int, reason: str = ""
) -> Interaction:
    """End a live interaction in any state; its agent (if any) is free again."""
    with transaction.atomic():
        interaction = lock_interaction(interaction_id)
        from_state = interaction.state
        interaction.state = check_transition("supervisor_disconnect", interaction)
        interaction.disconnected_at = timezone.now()
        interaction.alert_deadline = None
        save_transition(
            interaction,
            "supervisor_disconnect",
            actor_user_id=supervisor_user_id,
            detail={"reason": reason} if reason else None,
            fields=("disconnected_at", "alert_deadline"),
            from_state=from_state,
        )
        _release(interaction.agent_id)
    return interaction
