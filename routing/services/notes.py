"""Internal notes: written by the agent working an interaction, read by whoever
may see it, never sent to the customer (no note ever reaches `outbound_ready`)."""

import re

from django.db import transaction
from django.utils import timezone

from routing.events import note_event, publish_on_commit
from routing.models import Agent, InteractionEvent, Note
from routing.rules import MAX_TEXT_LENGTH
from routing.services.kernel import (
    STATE_WORDS,
    S,
    TransitionRefused,
    lock_interaction,
    require_owner,
)

# @username, as Django allows usernames (letters, digits and @ . + - _); a
# trailing full stop or the like ends the sentence, not the name.
_MENTION = re.compile(r"(?<![\w@.+-])@([\w.@+-]+)")


def mentioned_usernames(text: str) -> list[str]:
    """The usernames a note names with @, in order, once each."""
    names = [m.group(1).rstrip(".-") for m in _MENTION.finditer(text)]
    return list(dict.fromkeys(n for n in names if n))


def add_note(*, interaction_id: int, agent: Agent, text: str) -> Note:
    """The owner writes an internal note on a connected or held interaction.

    Agents it names with @username (active ones, the author aside) are told
    on their desktops. Writes a `note` event; announces NOTE_ADDED after commit.
    """
    text = text.strip()
    if not text:
        raise TransitionRefused("Type the note first.")
    if len(text) > MAX_TEXT_LENGTH:
        raise TransitionRefused(
            f"A note takes at most {MAX_TEXT_LENGTH} characters; this one has {len(text)}."
        )
    with transaction.atomic():
        interaction = lock_interaction(interaction_id)
        require_owner(interaction, agent)
        if interaction.state not in (S.CONNECTED, S.HELD):
            raise TransitionRefused(
                f"Notes are written while connected or on hold; the interaction is "
                f"{STATE_WORDS[interaction.state]}."
            )
        note = Note.objects.create(
            interaction=interaction, author_id=agent.user_id, text=text, written_at=timezone.now()
        )
        named = list(
            Agent.objects.filter(
                user__username__in=mentioned_usernames(text), user__is_active=True
            ).exclude(pk=agent.pk)
        )
        note.mentioned.set(named)
        InteractionEvent.objects.create(
            interaction=interaction,
            actor_id=agent.user_id,
            verb="note",
            from_state=interaction.state,
            to_state=interaction.state,
            detail={"note_id": note.pk, "mentioned": sorted(a.pk for a in named)},
        )
        publish_on_commit(note_event(note, interaction, mentioned=frozenset(a.pk for a in named)))
    return note
