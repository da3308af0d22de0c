"""The customer's answer to the feedback survey (routing/services/automatic.py sent it)."""

from datetime import datetime

from django.db import transaction

from routing.events import interaction_event, publish_on_commit
from routing.models import Interaction, InteractionEvent
from routing.rules import MAX_TEXT_LENGTH
from routing.services.kernel import RoutingError


def record_feedback(
    *, page_id: str, psid: str, score: int, comment: str, answered_at: datetime
) -> Interaction | None:
    """The customer answered the survey: the score (1-5) and comment go on the
    latest interaction that asked and has no answer yet. None when none asked.

    A second answer to the same survey (Meta redelivers) changes nothing.
    """
    if not 1 <= score <= 5:
        raise RoutingError(f"A satisfaction score is 1 to 5, not {score}.")
    with transaction.atomic():
        interaction = (
            Interaction.objects.select_for_update()
            .filter(
                customer__page_id=page_id,
                customer__psid=psid,
                feedback_requested_at__isnull=False,
                csat_score__isnull=True,
            )
            .order_by("-feedback_requested_at", "-pk")
            .first()
        )
        if interaction is None:
            return None
        interaction.csat_score = score
        interaction.csat_comment = comment.strip()[:MAX_TEXT_LENGTH]
        interaction.csat_at = answered_at
        interaction.save(update_fields=["csat_score", "csat_comment", "csat_at"])
        InteractionEvent.objects.create(
            interaction=interaction,
            verb="customer_feedback",
            from_state=interaction.state,
            to_state=interaction.state,
            detail={"score": score, "comment": interaction.csat_comment},
        )
        publish_on_commit(interaction_event(interaction))
    return interaction
