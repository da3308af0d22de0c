"""The entries of `Message.attachments`: one constructor and one reader per kind.

Beside the customer's real attachments (image, video, audio, file, and the
other kinds Meta sends), a message keeps Messenger's extras as entries of
their own kind: the quick reply or button (postback) the customer tapped,
each edit with the text before it, the latest reaction, and a standby marker
(another app handled the message). Everything that writes or reads them goes
through here, so that an extra is never shown, exported or copied as an
attachment.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

QUICK_REPLY = "quick_reply"
POSTBACK = "postback"
EDIT = "edit"
REACTION = "reaction"
STANDBY = "standby"
# An automatic message that is Messenger's customer feedback survey (sent as its template).
FEEDBACK_SURVEY = "feedback_survey"
# Entries that are not attachments at all; a customer's attachment of one of
# these types is renamed by the webhook adapter before it is stored.
EXTRA_KINDS = frozenset({QUICK_REPLY, POSTBACK, EDIT, REACTION, STANDBY, FEEDBACK_SURVEY})
# Real attachments of which we keep a copy of our own.
KEPT_KINDS = ("image", "video", "audio", "file")

Entry = dict[str, Any]


def _extra(entry_type: str, /, **fields: Any) -> Entry:
    return {"type": entry_type, "url": None, "title": "", **fields}


def quick_reply(payload: str | None) -> Entry:
    return _extra(QUICK_REPLY, payload=payload)


def postback(title: str, payload: str | None) -> Entry:
    return _extra(POSTBACK, title=title, payload=payload)


def edit(previous_text: str, num_edit: int | None, edited_at: datetime) -> Entry:
    return _extra(
        EDIT, previous_text=previous_text, num_edit=num_edit, edited_at=edited_at.isoformat()
    )


def reaction(action: str, reaction_name: str, emoji: str, at: datetime) -> Entry:
    return _extra(REACTION, action=action, reaction=reaction_name, emoji=emoji, at=at.isoformat())


def standby(kind: str) -> Entry:
    return _extra(STANDBY, kind=kind)


def feedback_survey(*, question_id: str, title: str) -> Entry:
    return _extra(FEEDBACK_SURVEY, question_id=question_id, title=title)


def kind_of(entry: object) -> str:
    return str(entry.get("type") or "") if isinstance(entry, dict) else ""


def is_attachment(entry: object) -> bool:
    """A real attachment (kept or not), as opposed to one of the extras."""
    return isinstance(entry, dict) and kind_of(entry) not in EXTRA_KINDS


def attachments(entries: Iterable[object] | None) -> list[tuple[int, Entry]]:
    """The real attachments with their index (the index names a kept copy's URL)."""
    found = []
    for index, entry in enumerate(entries or []):
        if isinstance(entry, dict) and kind_of(entry) not in EXTRA_KINDS:
            found.append((index, entry))
    return found


def of_kind(entries: Iterable[object] | None, kind: str) -> list[Entry]:
    return [e for e in entries or [] if isinstance(e, dict) and kind_of(e) == kind]


def payloads(entries: Iterable[object] | None) -> list[str]:
    """The payloads of the buttons and quick replies the customer tapped."""
    return [
        str(e["payload"])
        for e in entries or []
        if isinstance(e, dict) and kind_of(e) in (POSTBACK, QUICK_REPLY) and e.get("payload")
    ]


# --- the copy we keep of a real attachment -------------------------------------------


def with_copy(entry: Entry, *, path: str, content_type: str, size: int) -> Entry:
    """The attachment with the copy kept of it (a path under MEDIA_ROOT)."""
    return {**entry, "copy": {"path": path, "content_type": content_type, "size": size}}


def with_copy_failed(entry: Entry, problem: str) -> Entry:
    """The attachment with why no copy could be kept."""
    return {**entry, "copy_failed": problem}


def kept_copy(entry: object) -> dict[str, Any] | None:
    """The copy kept of an attachment (`path`, `content_type`, `size`), if any."""
    copy = entry.get("copy") if isinstance(entry, dict) else None
    return copy if isinstance(copy, dict) else None


def copy_problem(entry: object) -> str:
    """Why no copy of an attachment could be kept; "" when none failed."""
    return str(entry.get("copy_failed") or "") if isinstance(entry, dict) else ""


def copy_settled(entry: object) -> bool:
    """A copy was kept or failed: the first outcome stays."""
    return isinstance(entry, dict) and ("copy" in entry or "copy_failed" in entry)


def reaction_at(entry: Entry) -> datetime | None:
    """When a reaction entry was written; None for one that is not ours (no valid aware time)."""
    try:
        at = datetime.fromisoformat(entry["at"])
    except (KeyError, TypeError, ValueError):
        return None
    return at if at.tzinfo is not None else None


# --- a file an agent sends ---------------------------------------------------------
# Stored like a received attachment (its Meta type, and `copy` for the bytes
# kept under MEDIA_ROOT), so the bubble shows it the same way; `sent_file`
# marks it as ours and carries what the sender needs: the file's name and its
# SHA-256, which names the Page's reusable upload at Meta.


def outbound_file(
    *, kind: str, name: str, path: str, content_type: str, size: int, sha256: str
) -> Entry:
    if kind not in KEPT_KINDS:
        raise ValueError(f"not a kind of file Messenger sends: {kind!r}")
    entry: Entry = {"type": kind, "url": None, "title": name, "sent_file": {"sha256": sha256}}
    return with_copy(entry, path=path, content_type=content_type, size=size)


def sent_file(entries: Iterable[object] | None) -> Entry | None:
    """The file an agent's message carries, if it carries one."""
    for entry in entries or []:
        if isinstance(entry, dict) and isinstance(entry.get("sent_file"), dict):
            return entry
    return None


def sent_file_sha256(entry: Entry) -> str:
    return str(entry["sent_file"].get("sha256") or "")
