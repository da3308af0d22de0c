"""After-contact work: a while after an interaction ends, its agent finishes up.

Started by `kernel.save_transition` when a connected or held interaction ends
in a workgroup that sets `after_contact_seconds`. Meanwhile the ACD offers the
agent nothing new (`kernel.after_contact_work`). It ends with Done, or when
its time runs out: then the workgroup's default wrap-up code is applied if
none was chosen. Either way the agent is offered waiting work at once.
"""

from django.db import transaction
from django.utils import timezone

from routing.events import interaction_event, publish_on_commit
from routing.models import Interaction, InteractionEvent
from routing.services.acd import offer_for_agent_after_commit
from routing.services.kernel import (
    NotYours,
    TransitionRefused,
    after_contact_work,
    lock_interaction,
    mark_idle,
)


def end_after_contact(*, interaction_id: int, agent) -> Interaction:
    """Done: the agent ends their after-contact work on this interaction early."""
    with transaction.atomic():
        interaction = lock_interaction(interaction_id)
        if interaction.agent_id != agent.pk:
            raise NotYours("This interaction is not yours.")
        if not _running(interaction):
            raise TransitionRefused("After-contact work on this interaction is already over.")
        _end(interaction, "after_contact_done", actor_user_id=agent.user_id)
    return interaction


def expire_after_contact() -> int:
    """The timers' step: after-contact work whose time ran out ends; returns how many."""
    ids = list(
        Interaction.objects.filter(
            after_contact_until__lte=timezone.now(), after_contact_ended_at__isnull=True
        ).values_list("pk", flat=True)
    )
    ended = 0
    for interaction_id in ids:
        with transaction.atomic():
            interaction = lock_interaction(interaction_id)
            if interaction.after_contact_ended_at is not None:
                continue  # Done meanwhile
            _end(interaction, "after_contact_timeout", actor_user_id=None)
            ended += 1
    return ended


def _running(interaction: Interaction) -> bool:
    return after_contact_work().filter(pk=interaction.pk).exists()


def _end(interaction: Interaction, verb: str, *, actor_user_id: int | None) -> None:
    now = timezone.now()
    interaction.after_contact_ended_at = min(now, interaction.after_contact_until or now)
    fields = ["after_contact_ended_at"]
    detail: dict = {}
    default = interaction.workgroup.default_wrap_up_code
    if (
        verb == "after_contact_timeout"
        and interaction.wrap_up_code_id is None
        and default is not None
        and default.active
        and default.workgroup_id == interaction.workgroup_id
    ):
        interaction.wrap_up_code = default
        fields.append("wrap_up_code")
        detail["wrap_up_code"] = default.label
    interaction.save(update_fields=fields)
    InteractionEvent.objects.create(
        interaction=interaction,
        actor_id=actor_user_id,
        verb=verb,
        from_state=interaction.state,
        to_state=interaction.state,
        detail=detail,
    )
    publish_on_commit(interaction_event(interaction))
    if interaction.agent_id:
        mark_idle(interaction.agent_id)
        offer_for_agent_after_commit(interaction.agent_id)
