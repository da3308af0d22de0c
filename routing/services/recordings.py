"""Recordings: a span of an interaction kept as its own row.

A recording starts when an agent presses Record, or with the interaction in a
workgroup that records everything (`Workgroup.auto_record`). It runs until the
agent presses Record again or the interaction ends; it goes on across
transfers, since it records the customer's conversation, not one agent's part
of it. When it stops, its transcript (the messages and events of the span, as
they were then) is written into the row.

Called by the verbs in `routing.services` and `routing.messaging`, inside their
transaction and under the interaction's row lock, so a span is opened and
closed exactly once.
"""

from datetime import datetime

from django.utils import timezone

from routing.models import Interaction, InteractionEvent, Recording
from routing.transcript_text import interaction_text


def open_recording(
    interaction: Interaction, *, started_by_id: int | None, at: datetime
) -> Recording:
    """Start a span at `at` (no later than the event row that announces it)."""
    return Recording.objects.create(
        interaction=interaction, started_by_id=started_by_id, started_at=at
    )


def close_recordings(interaction: Interaction, *, at: datetime) -> list[Recording]:
    """Stop the interaction's open span at `at` and keep its transcript.

    `at` must be no earlier than the event row that stops it, so that row is
    part of the transcript.
    """
    closed = []
    for recording in Recording.objects.filter(interaction=interaction, stopped_at__isnull=True):
        recording.stopped_at = at
        recording.transcript = transcript_of(recording)
        recording.save(update_fields=["stopped_at", "transcript"])
        closed.append(recording)
    return closed


def transcript_of(recording: Recording) -> str:
    """A heading with the span, then its messages and events in time order."""
    interaction = recording.interaction
    # A recording from the interaction's creation keeps all of it: the first
    # message's time is Meta's, which comes before we stored anything.
    since = None if recording.started_at <= interaction.created_at else recording.started_at
    heading = f"Recording from {_when(recording.started_at)}"
    heading += f" to {_when(recording.stopped_at)}" if recording.stopped_at else ""
    started_by = recording.started_by
    heading += f", started by {started_by.get_username()}" if started_by else ", automatic"
    body = interaction_text(interaction, since=since, until=recording.stopped_at)
    return f"{heading}\n{body}"


def _when(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M:%S}"


def stop_event(
    interaction: Interaction, *, actor_user_id: int | None, reason: str
) -> InteractionEvent:
    """The event row of a recording that stops with its interaction (not by a click)."""
    return InteractionEvent.objects.create(
        interaction=interaction,
        actor_id=actor_user_id,
        verb="stop_recording",
        from_state=interaction.state,
        to_state=interaction.state,
        detail={"reason": reason},
    )


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
    open_recording(interaction, started_by_id=None, at=at)
