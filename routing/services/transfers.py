"""Transfers' steps shared by the agent's and the supervisor's verbs: ringing one
agent, or going back to the end of a workgroup's queue."""

from datetime import timedelta

from django.utils import timezone

from routing.models import Agent, Interaction, Workgroup
from routing.services.acd import offer_after_commit, offer_for_agent_after_commit
from routing.services.kernel import (
    RoutingError,
    cannot_take,
    lock_agents,
    mark_idle,
    save_transition,
)
from routing.services.recordings import record_automatically


def ring_agent(
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
    locked = lock_agents(*(a for a in (previous_agent_id, to_agent_id) if a))
    target = locked.get(to_agent_id)
    if target is None:
        raise RoutingError("That agent does not exist.")
    # Ringing an agent is an offer, so the same promise holds (docs/contract.md,
    # "Who is offered work").
    if reason := cannot_take(target, interaction.workgroup):
        raise RoutingError(reason)
    interaction.state = to_state
    interaction.agent = target
    interaction.alert_deadline = timezone.now() + timedelta(
        seconds=interaction.workgroup.alert_timeout_seconds
    )
    save_transition(
        interaction,
        verb,
        actor_user_id=actor_user_id,
        previous_agent_id=previous_agent_id,
        detail={"from_agent_id": previous_agent_id, "agent_id": target.pk},
        fields=("agent", "alert_deadline"),
        from_state=from_state,
    )
    return target


def requeue(
    interaction: Interaction,
    verb: str,
    *,
    from_state: str,
    to_state: str,
    target: Workgroup,
    actor_user_id: int | None,
) -> None:
    """Put the (locked, checked) interaction at the back of `target`'s queue.

    The transfer to a workgroup of an agent and of a supervisor alike: a
    workgroup that records everything records it too, the agent it leaves is
    idle and offered waiting work, and the target's queue is offered after
    commit.
    """
    previous_agent_id = interaction.agent_id
    previous_workgroup_id = interaction.workgroup_id
    interaction.state = to_state
    interaction.workgroup_id = target.pk
    interaction.agent = None
    interaction.alert_deadline = None
    interaction.queued_at = timezone.now()
    # A returning customer's preferred agent belongs to the workgroup they left.
    interaction.preferred_until = None
    save_transition(
        interaction,
        verb,
        actor_user_id=actor_user_id,
        previous_agent_id=previous_agent_id,
        previous_workgroup_id=previous_workgroup_id,
        detail={"from_agent_id": previous_agent_id, "workgroup_id": target.pk},
        fields=("workgroup", "agent", "alert_deadline", "queued_at", "preferred_until"),
        from_state=from_state,
    )
    if target.auto_record and not interaction.recording:
        record_automatically(interaction, at=timezone.now())
    offer_after_commit(target.pk)
    if previous_agent_id:
        mark_idle(previous_agent_id)
        offer_for_agent_after_commit(previous_agent_id)
