"""Files an agent sends, as Meta takes them: uploaded once per Page, then sent by id.

A file is uploaded with the Attachment Upload API as a reusable attachment and
its `attachment_id` kept per (Page, SHA-256 of the file, type): the same file
sent again (Resend, a stored response's file, another customer) goes by that
id without a second upload. Meta allows a Page fewer audio and video sends
than text ones: those are paced per Page here.
"""

import contextlib
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError

from facebook import graph
from facebook.models import FacebookPage, UploadedAttachment
from routing import message_entries
from routing.models import Channel, Message

# Meta: 10 Send API calls a second per Page with audio or video (300 for text).
# Per server process; with N processes a Page may reach N times this, which
# Meta answers with a rate-limit error the sender retries.
PACED_KINDS = frozenset({"audio", "video"})
PACED_INTERVAL = 0.1

_pacing = threading.Lock()
_next_slot: dict[str, float] = {}


class FileMissing(Exception):
    """The kept file of a message is gone (retention, or a lost disk)."""


def known_attachment_id(*, page_id: str, sha256: str, kind: str) -> str:
    found = UploadedAttachment.objects.filter(page_id=page_id, sha256=sha256, kind=kind).first()
    return found.attachment_id if found else ""


def remember(*, page_id: str, sha256: str, kind: str, attachment_id: str) -> None:
    # Another send of the same file may remember its upload first: either id works.
    with contextlib.suppress(IntegrityError):
        UploadedAttachment.objects.update_or_create(
            page_id=page_id, sha256=sha256, kind=kind, defaults={"attachment_id": attachment_id}
        )


def forget(*, page_id: str, sha256: str, kind: str) -> None:
    UploadedAttachment.objects.filter(page_id=page_id, sha256=sha256, kind=kind).delete()


def wait_for_slot(page_id: str, kind: str, *, until: float) -> None:
    """Hold an audio or video send until the Page's next slot (not past `until`)."""
    if kind not in PACED_KINDS:
        return
    with _pacing:
        now = time.monotonic()
        slot = max(now, _next_slot.get(page_id, 0.0))
        _next_slot[page_id] = slot + PACED_INTERVAL
    delay = min(slot, until) - now
    if delay > 0:
        time.sleep(delay)


def send_file(
    *,
    message: Message,
    page: FacebookPage,
    messaging_type: str,
    tag: str,
    budget_end: float,
    persona_id: str = "",
) -> graph.SendResult:
    """Upload the message's file unless this Page has it already, then send it by id."""
    entry = message_entries.sent_file(message.attachments)
    copy = message_entries.kept_copy(entry)
    if entry is None or copy is None:
        raise FileMissing("The file of this message is no longer kept here.")
    path = Path(settings.MEDIA_ROOT) / str(copy.get("path") or "")
    kind = str(entry["type"])
    sha256 = message_entries.sent_file_sha256(entry)
    # Meta keeps Instagram's uploads apart from Messenger's: so do we.
    platform = "instagram" if message.interaction.customer.channel == Channel.INSTAGRAM else ""
    page_id = f"{page.page_id}/instagram" if platform else page.page_id
    attachment_id = known_attachment_id(page_id=page_id, sha256=sha256, kind=kind)
    reused = bool(attachment_id)
    if not attachment_id:
        if not path.is_file():
            raise FileMissing("The file of this message is no longer kept here.")
        attachment_id = graph.upload_attachment(
            page=page,
            kind=kind,
            path=path,
            name=str(entry.get("title") or path.name),
            content_type=str(copy.get("content_type") or "application/octet-stream"),
            timeout=min(settings.FACEBOOK_UPLOAD_TIMEOUT, budget_end - time.monotonic()),
            platform=platform,
        )
        remember(page_id=page_id, sha256=sha256, kind=kind, attachment_id=attachment_id)
    wait_for_slot(page_id, kind, until=budget_end)

    def send(attachment_id: str) -> graph.SendResult:
        return graph.send_attachment(
            page=page,
            psid=message.interaction.customer.psid,
            kind=kind,
            attachment_id=attachment_id,
            messaging_type=messaging_type,
            tag=tag,
            metadata=str(message.client_id),
            timeout=budget_end - time.monotonic(),
            persona_id=persona_id,
        )

    try:
        return send(attachment_id)
    except graph.GraphError as error:
        if not reused or error.kind != graph.ErrorKind.INVALID_PARAMETER or not path.is_file():
            raise
    # Meta no longer knows the id we kept: upload the file again, once.
    forget(page_id=page_id, sha256=sha256, kind=kind)
    attachment_id = graph.upload_attachment(
        page=page,
        kind=kind,
        path=path,
        name=str(entry.get("title") or path.name),
        content_type=str(copy.get("content_type") or "application/octet-stream"),
        timeout=min(settings.FACEBOOK_UPLOAD_TIMEOUT, budget_end - time.monotonic()),
        platform=platform,
    )
    remember(page_id=page_id, sha256=sha256, kind=kind, attachment_id=attachment_id)
    return send(attachment_id)
