"""Offers taken back: one that rang out, or whose agent stepped away or closed
the desktop, goes back to its queue and is offered again."""

from django.db import transaction
from django.utils import timezone

from routing.models import Agent, AgentStatus, DesktopConnection, Interaction
from routing.services.acd import offer_after_commit
from routing.services.kernel import (
    S,
    check_transition,
    lock_agent,
    lock_interaction,
    save_transition,
    set_status_locked,
)


def alert_timeout(*, interaction_id: int) -> bool:
    """Return an unanswered offer to the queue; its agent becomes Not answering.

    Returns False when the offer was answered (or moved) meanwhile.
    """
    with transaction.atomic():
        interaction = lock_interaction(interaction_id)
        if (
            interaction.state != S.ALERTING
            or interaction.alert_deadline is None
            or interaction.alert_deadline > timezone.now()
        ):
            return False
        agent_id = interaction.agent_id
        if agent_id and not _has_a_tab(agent_id):
            # Their last tab closed while it rang (kept for a reload that did not
            # come in time): it rang nowhere, so they are not Not answering.
            take_back_offer(interaction, "return_offer", agent_id=agent_id)
            return True
        take_back_offer(interaction, "alert_timeout", agent_id=agent_id)
        if agent_id:
            set_status_locked(lock_agent(agent_id), AgentStatus.NOT_ANSWERING)
    return True


def return_offers(agent_id: int) -> None:
    """Put back in their queues the ringing offers of an agent who cannot take
    them now: they left their last desktop tab (or it closed and no new one came
    in time for a reload), or they set a status other than Available. Nothing
    rings where nobody can answer.

    Runs after the commit that made the agent unable to take offers, one offer
    per transaction, locking only the offer: waiting for an offer while holding
    the agent would deadlock with `alert_timeout`, which holds the offer and
    waits for the agent (the lock order is interaction, then agent).
    """
    ids = list(
        Interaction.objects.filter(agent_id=agent_id, state=S.ALERTING).values_list("pk", flat=True)
    )
    for interaction_id in ids:
        with transaction.atomic():
            interaction = lock_interaction(interaction_id)
            if interaction.state != S.ALERTING or interaction.agent_id != agent_id:
                continue  # picked up, timed out or transferred meanwhile
            if _may_ring(agent_id):
                return  # Available with a tab again: the offers may ring there
            take_back_offer(interaction, "return_offer", agent_id=agent_id)


def _may_ring(agent_id: int) -> bool:
    return Agent.objects.filter(pk=agent_id, status=AgentStatus.AVAILABLE).exists() and _has_a_tab(
        agent_id
    )


def _has_a_tab(agent_id: int) -> bool:
    return DesktopConnection.objects.filter(agent_id=agent_id).exists()


def take_back_offer(interaction: Interaction, verb: str, *, agent_id: int | None) -> None:
    """The (locked) ringing offer goes back to its queue and is offered again after commit."""
    from_state = interaction.state
    interaction.state = check_transition(verb, interaction)
    interaction.agent = None
    interaction.alert_deadline = None
    save_transition(
        interaction,
        verb,
        actor_user_id=None,
        previous_agent_id=agent_id,
        detail={"agent_id": agent_id},
        fields=("agent", "alert_deadline"),
        from_state=from_state,
    )
    offer_after_commit(interaction.workgroup_id)


def expire_alerts() -> int:
    ids = list(
        Interaction.objects.filter(state=S.ALERTING, alert_deadline__lt=timezone.now()).values_list(
            "pk", flat=True
        )
    )
    return sum(1 for interaction_id in ids if alert_timeout(interaction_id=interaction_id))
