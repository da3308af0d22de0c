"""Read paths for the messages of a conversation: pages of a transcript, one message, quotes.

Plain queries, no changes. Who may read an interaction at all is decided in
`routing.selectors` (`visible_interaction`, `interactions_visible_to`).
"""

from dataclasses import dataclass

from django.db.models import F, Q, QuerySet

from routing.lookups import row_or_none
from routing.models import Interaction, InteractionEvent, Message, Note
from routing.rules import ACCEPTED_BY_META

# How many messages a transcript shows at first; older ones load on demand.
TRANSCRIPT_PAGE_SIZE = 50
# The attribute `with_quotes` sets on a message that replies to another.
QUOTED = "quoted_message"


def transcript(interaction: Interaction) -> QuerySet[Message]:
    return interaction.messages.filter(deleted_at__isnull=True).order_by("sent_at", "pk")


@dataclass(frozen=True)
class TranscriptPage:
    messages: list[Message]  # oldest first, with their quotes (`with_quotes`)
    has_older: bool
    # The internal notes written in the span of these messages, oldest first.
    notes: tuple[Note, ...] = ()

    @property
    def entries(self) -> list[Message | Note]:
        """Messages and notes in the order they were written."""
        return sorted([*self.messages, *self.notes], key=_written)


def _written(entry: Message | Note):
    return entry.written_at if isinstance(entry, Note) else entry.sent_at


def transcript_page(
    interaction: Interaction, *, before_id: int | None = None, limit: int = TRANSCRIPT_PAGE_SIZE
) -> TranscriptPage:
    """The newest `limit` messages of a transcript, or the `limit` before message `before_id`."""
    messages = transcript(interaction).select_related("author")
    notes = notes_of(interaction)
    if before_id is not None:
        anchor = messages.filter(pk=before_id).values("sent_at", "pk").first()
        if anchor is None:
            return TranscriptPage(messages=[], has_older=False)
        messages = messages.filter(
            Q(sent_at__lt=anchor["sent_at"]) | Q(sent_at=anchor["sent_at"], pk__lt=anchor["pk"])
        )
        notes = notes.filter(written_at__lt=anchor["sent_at"])
    newest_first = list(messages.order_by("-sent_at", "-pk")[: limit + 1])
    page = with_quotes(newest_first[:limit][::-1])
    has_older = len(newest_first) > limit
    if has_older:
        # The notes of this span; older ones come with the older messages.
        notes = notes.filter(written_at__gte=page[0].sent_at)
    return TranscriptPage(messages=page, has_older=has_older, notes=tuple(notes))


def notes_of(interaction: Interaction) -> QuerySet[Note]:
    return Note.objects.filter(interaction=interaction).select_related("author")


def note_in(interaction_id: int, note_id: int) -> Note | None:
    return (
        Note.objects.filter(pk=note_id, interaction_id=interaction_id)
        .select_related("author", "interaction__customer")
        .first()
    )


def with_quotes(messages: list[Message]) -> list[Message]:
    """Sets `QUOTED` on each message that replies to another (`reply_to_mid`): the quoted
    message when it is stored and of the same customer, else None.

    Two queries for any number of messages, none when no message quotes.
    """
    quoting = [message for message in messages if message.reply_to_mid]
    if not quoting:
        return messages
    customer_of = dict(
        Interaction.objects.filter(pk__in={m.interaction_id for m in quoting}).values_list(
            "pk", "customer_id"
        )
    )
    quoted = {
        (found.quoted_customer_id, found.mid): found
        for found in Message.objects.filter(
            mid__in={m.reply_to_mid for m in quoting},
            interaction__customer_id__in=set(customer_of.values()),
        )
        .annotate(quoted_customer_id=F("interaction__customer_id"))
        .only("mid", "text", "direction", "attachments")
    }
    for message in quoting:
        key = (customer_of.get(message.interaction_id), message.reply_to_mid)
        setattr(message, QUOTED, quoted.get(key))
    return messages


def quoted_message(message: Message) -> Message | None:
    """The message `message` replies to (None when it quotes none, or one not stored or of
    another customer): as `with_quotes` set it, else read now."""
    if not message.reply_to_mid:
        return None
    if not hasattr(message, QUOTED):
        with_quotes([message])
    return getattr(message, QUOTED)


def message_in(interaction_id: int, message_id: int) -> Message | None:
    """A message of the interaction (deleted ones too: their bubble disappears)."""
    return row_or_none(
        Message.objects.select_related("author").filter(
            pk=message_id, interaction_id=interaction_id
        )
    )


def settled_message(message_id: int) -> Message | None:
    """The message if Messenger has accepted it (sent, delivered, read), else None."""
    message = (
        Message.objects.filter(pk=message_id, status__in=ACCEPTED_BY_META)
        .select_related("author")
        .first()
    )
    return message


def shown_message(message_id: int) -> Message | None:
    """The message unless it was deleted."""
    return Message.objects.filter(pk=message_id, deleted_at__isnull=True).first()


def supervisor_notice(interaction_id: int, event_row_id: int) -> InteractionEvent | None:
    """A supervisor's coaching or take-over row of the interaction, with its actor."""
    return (
        InteractionEvent.objects.filter(
            pk=event_row_id,
            interaction_id=interaction_id,
            verb__in=("coach", "supervisor_take_over"),
        )
        .select_related("actor", "interaction__customer")
        .first()
    )
