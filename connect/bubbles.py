"""What a message bubble shows beyond its text, read from the stored message.

Messenger's extras live in `Message.attachments` beside the real attachments:
pseudo-entries for a quick reply, a tapped button (postback), each edit, the
latest reaction, and a standby marker (another app handled the message). This
module turns them into plain values for the `bubble` partial; it decides
nothing and changes nothing.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.urls import reverse

from routing import message_entries, transcript_selectors
from routing.models import Message, MessageDirection

KEPT_TYPES = message_entries.KEPT_KINDS
# What a browser may show inline from our own origin; anything else is a download.
INLINE_CONTENT_TYPES = {
    "image": ("image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"),
    "video": ("video/mp4", "video/webm", "video/ogg", "video/quicktime"),
    "audio": (
        "audio/mpeg",
        "audio/mp4",
        "audio/aac",
        "audio/ogg",
        "audio/wav",
        "audio/x-wav",
        "audio/webm",
    ),
}
KIND_WORDS = {"image": "Image", "video": "Video", "audio": "Audio clip", "file": "File"}
QUOTE_LENGTH = 140


@dataclass(frozen=True)
class MediaView:
    # image | video | audio | file (shown from `src`), link (to Meta), unavailable
    kind: str
    src: str = ""
    label: str = ""
    note: str = ""  # why it is unavailable, or that a copy is still being kept
    kept: bool = False


@dataclass(frozen=True)
class Chip:
    kind: str  # quick_reply | postback
    title: str
    payload: str


@dataclass(frozen=True)
class EditView:
    previous_text: str
    edited_at: datetime | None


@dataclass(frozen=True)
class Quote:
    text: str
    who: str  # "the customer", "the Page"
    found: bool


@dataclass(frozen=True)
class BubbleParts:
    media: list[MediaView] = field(default_factory=list)
    chips: list[Chip] = field(default_factory=list)
    edits: list[EditView] = field(default_factory=list)
    # "message", "echo", "postback" when another app handled it; "handover" when
    # control of the conversation moved between apps (conversation routing)
    standby: str = ""
    quote: Quote | None = None
    # An automatic message that is Messenger's feedback survey (sent as its template).
    survey: bool = False


def inline_type(kind: str, content_type: str) -> bool:
    return content_type in INLINE_CONTENT_TYPES.get(kind, ())


def bubble_parts(message: Message) -> BubbleParts:
    media, chips, edits, standby, survey = [], [], [], "", False
    for index, entry in enumerate(message.attachments or []):
        if not isinstance(entry, dict):
            continue
        kind = str(entry.get("type") or "")
        if kind in (message_entries.QUICK_REPLY, message_entries.POSTBACK):
            title = str(entry.get("title") or message.text or "")
            chips.append(Chip(kind, title, str(entry.get("payload") or "")))
        elif kind == message_entries.EDIT:
            edits.append(
                EditView(str(entry.get("previous_text") or ""), _when(entry.get("edited_at")))
            )
        elif kind == message_entries.STANDBY:
            standby = str(entry.get("kind") or "message")
        elif kind == message_entries.FEEDBACK_SURVEY:
            survey = message.automatic
        elif kind not in message_entries.EXTRA_KINDS:
            media.append(_media(message, index, kind, entry))
    return BubbleParts(
        media=media,
        chips=chips,
        edits=edits,
        standby=standby,
        quote=_quote(message),
        survey=survey,
    )


def _media(message: Message, index: int, kind: str, entry: dict) -> MediaView:
    url = entry.get("url") or ""
    words = KIND_WORDS.get(kind, "Attachment")
    title = str(entry.get("title") or "")
    if kind in KEPT_TYPES:
        copy = message_entries.kept_copy(entry)
        if copy is not None:
            src = reverse("message-attachment", args=[message.pk, index])
            shown = kind if inline_type(kind, str(copy.get("content_type"))) else "file"
            return MediaView(shown, src, title or words, kept=True)
        if problem := message_entries.copy_problem(entry):
            return MediaView("unavailable", label=words, note=problem)
        if url:
            # Meta's URL works for a while; the copy replaces it once kept.
            return MediaView(kind, url, title or words, note="Keeping a copy…")
        return MediaView("unavailable", label=words)
    if kind != "fallback" and url:
        return MediaView("link", url, title or f"{kind.replace('_', ' ').capitalize()}")
    return MediaView("unavailable", label=title or "Attachment")


def _quote(message: Message) -> Quote | None:
    if not message.reply_to_mid:
        return None
    # A page of the transcript has its quotes read at once (`with_quotes`); a lone bubble now.
    quoted = transcript_selectors.quoted_message(message)
    if quoted is None:
        return Quote("", "", found=False)
    text = quoted.text or _describe(quoted)
    if len(text) > QUOTE_LENGTH:
        text = text[: QUOTE_LENGTH - 1] + "…"
    who = "the customer" if quoted.direction == MessageDirection.INBOUND else "the Page"
    return Quote(text, who, found=True)


def _describe(message: Message) -> str:
    for entry in message.attachments or []:
        if message_entries.is_attachment(entry):
            kind = entry.get("type")
            words = KIND_WORDS.get(kind, "Attachment") if isinstance(kind, str) else "Attachment"
            return f"[{words}]"
    return "[Message]"


def _when(value) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None
