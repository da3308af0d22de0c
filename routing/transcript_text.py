"""An interaction (or a recorded span of it) as plain text, for downloads from admin."""

from datetime import datetime

from django.utils import timezone

from routing import message_entries
from routing.models import Interaction, InteractionEvent, Message, Recording
from routing.rules import ACCEPTED_BY_META


def _when(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M:%S}"


def _message_line(message: Message) -> str:
    if not message.is_outbound:
        speaker = "Customer"
    elif message.automatic:
        speaker = "Automatic"
    elif message.author is None:
        speaker = "Page inbox"
    else:
        speaker = f"{message.author.get_full_name() or message.author.get_username()} (agent)"
    parts = [message.text] if message.text else []
    # Real attachments only: a reaction, an edit or a tapped button is no attachment.
    for _, attachment in message_entries.attachments(message.attachments):
        kind = message_entries.kind_of(attachment) or "file"
        url = attachment.get("url") or ""
        parts.append(f"[{kind}{': ' + url if url else ''}]")
    if message_entries.of_kind(message.attachments, message_entries.EDIT):
        parts.append("(edited)")
    if message.reaction:
        parts.append(f"[reacted {message.reaction}]")
    status = ""
    if message.is_outbound and message.status not in ACCEPTED_BY_META:
        status = f"  ({message.get_status_display()}"
        status += f": {message.error_message})" if message.error_message else ")"
    if message.deleted_at:
        status = "  (deleted, never sent)"
    return f"{_when(message.sent_at)}  {speaker}: {' '.join(parts)}{status}"


def _event_line(event: InteractionEvent) -> str:
    who = event.actor.get_username() if event.actor else "system"
    change = f"{event.from_state or '—'} → {event.to_state}" if event.to_state else ""
    verb = event.verb.replace("_", " ")
    return f"{_when(event.at)}  * {verb} by {who}{': ' + change if change else ''}"


def interaction_text(
    interaction: Interaction, *, since: datetime | None = None, until: datetime | None = None
) -> str:
    """Header, then messages and state changes in time order (within [since, until])."""
    messages = interaction.messages.select_related("author").order_by("sent_at", "pk")
    events = interaction.events.select_related("actor").order_by("at", "pk")
    if since:
        messages, events = messages.filter(sent_at__gte=since), events.filter(at__gte=since)
    if until:
        messages, events = messages.filter(sent_at__lte=until), events.filter(at__lte=until)
    customer = interaction.customer
    lines = [
        f"Interaction #{interaction.pk} with {customer.display_name} "
        f"(PSID {customer.psid}, Page {customer.page_id})",
        f"Workgroup: {interaction.workgroup.name} · state: {interaction.get_state_display()}",
        f"Started {_when(interaction.created_at)}",
        "",
    ]
    timeline = [(m.sent_at, 1, _message_line(m)) for m in messages]
    timeline += [(e.at, 0, _event_line(e)) for e in events]
    lines += [line for _, _, line in sorted(timeline, key=lambda item: (item[0], item[1]))]
    return "\n".join(lines) + "\n"


def recording_text(recording: Recording) -> str:
    """The transcript kept when the recording stopped; while it runs, the span so far."""
    if recording.transcript:
        return (
            recording.transcript
            if recording.transcript.endswith("\n")
            else recording.transcript + "\n"
        )
    heading = f"Recording from {_when(recording.started_at)}"
    heading += (
        f" to {_when(recording.stopped_at)}" if recording.stopped_at else " (still recording)"
    )
    body = interaction_text(
        recording.interaction, since=recording.started_at, until=recording.stopped_at
    )
    return f"{heading}\n{body}"
