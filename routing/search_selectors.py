"""Finding past conversations: which interactions an agent may see match some words, and the
page of a transcript around the matching message.

Plain queries, no changes. Who may see what is `selectors.interactions_visible_to`, and
nothing here widens it. Messages and notes match by PostgreSQL full-text search, on the very
expression the GIN indexes of migration 0005 are built on (`TextMatches`); SQLite, for a
laptop, compares with LIKE. Customers match by name or PSID.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import BooleanField, F, Func, OuterRef, Q, QuerySet, Subquery, Value
from django.utils import timezone

from routing.models import Agent, Interaction, Message, Note
from routing.selectors import interactions_visible_to
from routing.transcript_selectors import TranscriptPage, notes_of, transcript, with_quotes

MAX_QUERY_LENGTH = 200
# More words than this are ignored: each one is a condition on every row.
MAX_TERMS = 8
RESULTS_PER_PAGE = 25
# Messages shown on each side of the match when a result is opened.
AROUND_MATCH = 15
# What migration 0005 indexes on PostgreSQL: `to_tsvector(TEXT_SEARCH_CONFIG, text)`.
# 'simple' lowercases without stemming: customers write in any language.
TEXT_SEARCH_CONFIG = "simple"
MESSAGE_TEXT_INDEX = "routing_message_text_search"
NOTE_TEXT_INDEX = "routing_note_text_search"
SNIPPET_LENGTH = 120


class TextMatches(Func):
    """`to_tsvector('simple', column) @@ to_tsquery('simple', query)` (PostgreSQL only)."""

    output_field = BooleanField()

    def __init__(self, column: str, tsquery: str) -> None:
        super().__init__(F(column), Value(tsquery))

    def as_sql(self, compiler, connection, **extra_context):
        column, query = self.get_source_expressions()
        column_sql, column_params = compiler.compile(column)
        query_sql, query_params = compiler.compile(query)
        config = f"'{TEXT_SEARCH_CONFIG}'::regconfig"
        sql = f"to_tsvector({config}, {column_sql}) @@ to_tsquery({config}, {query_sql})"
        return sql, (*column_params, *query_params)


def search_terms(text: str) -> list[str]:
    """The words of a query, lowercased: letters and digits only, so nothing in them is
    an operator of a tsquery or a LIKE pattern."""
    return re.findall(r"[^\W_]+", text.lower())[:MAX_TERMS]


@dataclass(frozen=True)
class ConversationQuery:
    text: str
    start: date | None = None  # the first day of the conversations' start, inclusive
    end: date | None = None  # the last day, inclusive
    workgroup_id: int | None = None

    @property
    def terms(self) -> list[str]:
        return search_terms(self.text)


def _text_matches(column: str, terms: list[str]) -> Q | TextMatches:
    """Every term in the column: a prefix of a word on PostgreSQL, anywhere on SQLite."""
    if connection.vendor == "postgresql":
        return TextMatches(column, " & ".join(f"{term}:*" for term in terms))
    return Q(*[Q(**{f"{column}__icontains": term}) for term in terms])


def matching_messages(terms: list[str]) -> QuerySet[Message]:
    return Message.objects.filter(deleted_at__isnull=True).filter(_text_matches("text", terms))


def matching_notes(terms: list[str]) -> QuerySet[Note]:
    return Note.objects.filter(_text_matches("text", terms))


def _customer_matches(terms: list[str]) -> Q:
    """Every term in the customer's first or last name, or the start of their PSID."""
    return Q(
        *[
            Q(customer__first_name__icontains=term)
            | Q(customer__last_name__icontains=term)
            | Q(customer__psid__startswith=term)
            for term in terms
        ]
    )


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def search_conversations(agent: Agent, query: ConversationQuery) -> QuerySet[Interaction]:
    """The interactions `agent` may see that match, newest first, each annotated with its first
    matching message (`message_hit`) and note (`note_hit`), or None."""
    terms = query.terms
    if not terms:
        return Interaction.objects.none()
    messages = matching_messages(terms)
    notes = matching_notes(terms)
    found = interactions_visible_to(agent).filter(
        # Uncorrelated: PostgreSQL reads the matching rows off the GIN index once.
        Q(pk__in=messages.values("interaction_id"))
        | Q(pk__in=notes.values("interaction_id"))
        | _customer_matches(terms)
    )
    if query.start is not None:
        found = found.filter(created_at__gte=_day_start(query.start))
    if query.end is not None:
        found = found.filter(created_at__lt=_day_start(query.end + timedelta(days=1)))
    if query.workgroup_id is not None:
        found = found.filter(workgroup_id=query.workgroup_id)
    return (
        found.select_related("customer", "workgroup", "agent__user")
        .annotate(
            message_hit=Subquery(
                messages.filter(interaction_id=OuterRef("pk"))
                .order_by("sent_at", "pk")
                .values("pk")[:1]
            ),
            note_hit=Subquery(
                notes.filter(interaction_id=OuterRef("pk"))
                .order_by("written_at", "pk")
                .values("pk")[:1]
            ),
        )
        .order_by("-created_at", "-pk")
    )


@dataclass(frozen=True)
class SnippetPart:
    text: str
    match: bool


@dataclass(frozen=True)
class SearchHit:
    interaction: Interaction
    # Where the transcript opens: "message-<id>", "note-<id>", or "" (the newest messages).
    anchor: str
    found_in: str  # "message", "note" or "customer"
    snippet: tuple[SnippetPart, ...]
    customer_name: tuple[SnippetPart, ...]


def snippet(
    text: str, terms: list[str], *, length: int = SNIPPET_LENGTH
) -> tuple[SnippetPart, ...]:
    """A piece of `text` around the first term found, cut into parts with the terms marked.

    Plain text parts: the template escapes each, so a message can never inject markup.
    """
    text = " ".join(text.split())
    if not terms:
        return (SnippetPart(text[:length], False),) if text else ()
    pattern = re.compile("|".join(re.escape(term) for term in sorted(terms, key=len)[::-1]), re.I)
    first = pattern.search(text)
    start = 0
    if first is not None and first.start() > length // 3:
        start = first.start() - length // 3
        # From the start of a word.
        space = text.find(" ", start)
        if space != -1 and space < first.start():
            start = space + 1
    window = text[start : start + length]
    parts: list[SnippetPart] = []
    if start > 0:
        parts.append(SnippetPart("…", False))
    at = 0
    for found in pattern.finditer(window):
        if found.start() > at:
            parts.append(SnippetPart(window[at : found.start()], False))
        parts.append(SnippetPart(found.group(), True))
        at = found.end()
    if at < len(window):
        parts.append(SnippetPart(window[at:], False))
    if start + length < len(text):
        parts.append(SnippetPart("…", False))
    return tuple(parts)


def search_hits(interactions: list[Interaction], terms: list[str]) -> list[SearchHit]:
    """A result line for each interaction of a page of `search_conversations`: two queries."""
    message_ids = [getattr(i, "message_hit", None) for i in interactions]
    note_ids = [getattr(i, "note_hit", None) for i in interactions]
    messages = dict(
        Message.objects.filter(pk__in=[pk for pk in message_ids if pk]).values_list("pk", "text")
    )
    notes = dict(
        Note.objects.filter(pk__in=[pk for pk in note_ids if pk]).values_list("pk", "text")
    )
    hits = []
    for interaction in interactions:
        name = snippet(interaction.customer.display_name, terms)
        message_id = getattr(interaction, "message_hit", None)
        note_id = getattr(interaction, "note_hit", None)
        if message_id in messages:
            anchor, found_in, text = f"message-{message_id}", "message", messages[message_id]
        elif note_id in notes:
            anchor, found_in, text = f"note-{note_id}", "note", notes[note_id]
        else:
            anchor, found_in, text = "", "customer", f"PSID {interaction.customer.psid}"
        hits.append(
            SearchHit(
                interaction=interaction,
                anchor=anchor,
                found_in=found_in,
                snippet=snippet(text, terms),
                customer_name=name,
            )
        )
    return hits


def searchable_interaction(agent: Agent, interaction_id: int) -> Interaction | None:
    """The interaction if `agent` may read it (`interactions_visible_to`)."""
    return (
        interactions_visible_to(agent)
        .filter(pk=interaction_id)
        .select_related("customer", "workgroup", "agent__user")
        .first()
    )


@dataclass(frozen=True)
class TranscriptWindow:
    page: TranscriptPage  # the messages around the match, and the notes of their span
    has_newer: bool
    marked: str  # the anchor of the match ("message-<id>", "note-<id>") or ""

    @property
    def marked_message(self) -> int | None:
        return self._marked("message")

    @property
    def marked_note(self) -> int | None:
        return self._marked("note")

    def _marked(self, kind: str) -> int | None:
        marked_kind, _, marked_id = self.marked.partition("-")
        return int(marked_id) if marked_kind == kind and marked_id.isdigit() else None


def transcript_around(
    interaction: Interaction, anchor: str, *, each_side: int = AROUND_MATCH
) -> TranscriptWindow | None:
    """The messages around the message or note `anchor` names, with it marked; None when
    `anchor` names nothing of this interaction."""
    kind, _, raw_id = anchor.partition("-")
    if not raw_id.isdigit() or kind not in ("message", "note"):
        return None
    messages = transcript(interaction).select_related("author")
    if kind == "message":
        found = messages.filter(pk=int(raw_id)).values("sent_at", "pk").first()
        if found is None:
            return None
        at, pk = found["sent_at"], found["pk"]
        older = messages.filter(Q(sent_at__lt=at) | Q(sent_at=at, pk__lt=pk))
        newer = messages.filter(Q(sent_at__gt=at) | Q(sent_at=at, pk__gt=pk))
        middle = [messages.get(pk=pk)]
    else:
        note = notes_of(interaction).filter(pk=int(raw_id)).values("written_at").first()
        if note is None:
            return None
        at = note["written_at"]
        older = messages.filter(sent_at__lte=at)
        newer = messages.filter(sent_at__gt=at)
        middle = []
    before = list(older.order_by("-sent_at", "-pk")[: each_side + 1])
    after = list(newer.order_by("sent_at", "pk")[: each_side + 1])
    shown = with_quotes([*before[:each_side][::-1], *middle, *after[:each_side]])
    notes = notes_of(interaction)
    has_older, has_newer = len(before) > each_side, len(after) > each_side
    # The notes of this span: older and newer ones come with the older and newer messages.
    if has_older:
        notes = notes.filter(written_at__gte=shown[0].sent_at)
    if has_newer:
        notes = notes.filter(written_at__lte=shown[-1].sent_at)
    return TranscriptWindow(
        page=TranscriptPage(messages=shown, has_older=has_older, notes=tuple(notes)),
        has_newer=has_newer,
        marked=anchor,
    )


def transcript_after(
    interaction: Interaction, *, after_id: int, limit: int = AROUND_MATCH
) -> TranscriptWindow:
    """The `limit` messages after message `after_id`, and the notes of their span."""
    messages = transcript(interaction).select_related("author")
    anchor = messages.filter(pk=after_id).values("sent_at", "pk").first()
    if anchor is None:
        return TranscriptWindow(TranscriptPage(messages=[], has_older=False), False, "")
    at, pk = anchor["sent_at"], anchor["pk"]
    after = list(
        messages.filter(Q(sent_at__gt=at) | Q(sent_at=at, pk__gt=pk)).order_by("sent_at", "pk")[
            : limit + 1
        ]
    )
    shown = with_quotes(after[:limit])
    has_newer = len(after) > limit
    notes = notes_of(interaction).filter(written_at__gt=at)
    if has_newer:
        notes = notes.filter(written_at__lte=shown[-1].sent_at)
    return TranscriptWindow(
        TranscriptPage(messages=shown, has_older=False, notes=tuple(notes)), has_newer, ""
    )
