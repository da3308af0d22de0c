"""A copy of every attachment a customer sends, kept on receipt: Meta's URLs expire.

The webhook stores the message first; after commit this module downloads each
image, video, audio clip and file off the request, into MEDIA_ROOT, refusing
anything over the size limit, and records the outcome through routing (the
kept copy, or why there is none), which updates the bubble live. The desktop
serves kept copies to the agents who may see the interaction (`connect`).
"""

import ipaddress
import logging
import mimetypes
import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from facebook.background import BackgroundPool
from routing import message_entries
from routing.models import Message
from routing.services import record_attachment_copy

logger = logging.getLogger(__name__)

# The attachment types that are files worth keeping; `fallback`, `template`,
# `reel`… are links or nothing.
KEPT_TYPES = message_entries.KEPT_KINDS
# Meta's own limit for attachments; settings.FACEBOOK_ATTACHMENT_MAX_BYTES overrides it.
DEFAULT_MAX_BYTES = 25 * 1024 * 1024
DOWNLOAD_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
ATTEMPTS = 2  # a second try for a dropped connection or a 5xx
MAX_REDIRECTS = 5
SUBDIRECTORY = "attachments"
CHUNK = 64 * 1024

WORDS = {"image": "image", "video": "video", "audio": "audio clip", "file": "file"}

pool = BackgroundPool("facebook-attachments", max_workers=4)
# Redirects are followed by hand: every hop is checked like the first URL.
_client = httpx.Client(
    headers={"User-Agent": "connect-messenger/1"},
    follow_redirects=False,
    timeout=DOWNLOAD_TIMEOUT,
)


def max_bytes() -> int:
    return getattr(settings, "FACEBOOK_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES)


def is_kept(attachment: object) -> bool:
    """An attachment of a kind we copy, with a URL, and no outcome recorded yet."""
    return (
        isinstance(attachment, dict)
        and attachment.get("type") in KEPT_TYPES
        and bool(attachment.get("url"))
        and not message_entries.copy_settled(attachment)
    )


def keep_copies_after_commit(message: Message) -> None:
    """Once the message is committed, download its attachments off the request."""
    if any(is_kept(attachment) for attachment in message.attachments):
        message_id = message.pk
        transaction.on_commit(lambda: pool.submit(keep_copies, message_id))


def keep_copies(message_id: int) -> None:
    attachments = (
        Message.objects.filter(pk=message_id).values_list("attachments", flat=True).first()
    )
    for index, attachment in enumerate(attachments or []):
        if not is_kept(attachment):
            continue
        url = attachment["url"]
        try:
            kept = download(url, message_id=message_id, index=index, kind=attachment["type"])
        except NotKept as refused:
            logger.info("Attachment %s of message %s not kept: %s", index, message_id, refused)
            record_attachment_copy(
                message_id=message_id, index=index, url=url, problem=str(refused)
            )
            continue
        message = record_attachment_copy(
            message_id=message_id,
            index=index,
            url=url,
            path=kept.path,
            content_type=kept.content_type,
            size=kept.size,
        )
        recorded = message_entries.kept_copy(message.attachments[index]) if message else None
        if not recorded or recorded.get("path") != kept.path:
            # Another download of the same attachment won, or the message is gone.
            kept.delete()


@dataclass(frozen=True)
class KeptFile:
    path: str  # relative to MEDIA_ROOT
    content_type: str
    size: int

    def delete(self) -> None:
        (Path(settings.MEDIA_ROOT) / self.path).unlink(missing_ok=True)


class NotKept(Exception):
    """The attachment could not be kept; the message is the placeholder's words."""


def download(url: str, *, message_id: int, index: int, kind: str) -> KeptFile:
    what = WORDS.get(kind, "attachment")
    limit = max_bytes()
    problem = ""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _download_once(url, message_id=message_id, index=index, limit=limit)
        except _TooBig:
            raise NotKept(
                f"This {what} is over the {_megabytes(limit)} limit, so no copy was kept."
            ) from None
        except _Forbidden as forbidden:
            logger.warning("Attachment %s/%s not fetched: %s", message_id, index, forbidden)
            problem = "not a public https address"
            break
        except _Refused as refused:
            problem = f"HTTP {refused.status}"
            if refused.status < 500:
                break
        except httpx.HTTPError as exc:
            problem = type(exc).__name__
        logger.info(
            "Download %d of attachment %s/%s failed: %s", attempt, message_id, index, problem
        )
    raise NotKept(f"This {what} could not be downloaded from Messenger ({problem}).")


class _TooBig(Exception):
    pass


class _Forbidden(Exception):
    """A URL we never fetch: not https, or an address that is not on the public internet."""


def _allowed_host(parts) -> bool:
    """A host the settings allow over http and on any address (the fake CDN of tests and
    the demo): `host` allows every port, `host:port` that port only."""
    allowed = set(getattr(settings, "FACEBOOK_ATTACHMENT_ALLOWED_HOSTS", ()))
    host = (parts.hostname or "").lower()
    return host in allowed or f"{host}:{parts.port}" in allowed


def check_url(url: str) -> str | None:
    """Refuse what is not https to a host whose every address is public (_Forbidden).

    Returns the address checked, for the request to connect to that one and no
    other (a DNS answer that changed since would otherwise get past the check);
    None for a host the settings allow as it is.
    """
    parts = urlsplit(url)
    if not parts.hostname:
        raise _Forbidden(f"no host in {url!r}")
    if _allowed_host(parts):
        if parts.scheme not in ("http", "https"):
            raise _Forbidden(f"scheme {parts.scheme!r}")
        return None
    if parts.scheme != "https":
        raise _Forbidden(f"scheme {parts.scheme!r}, not https")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise _Forbidden(f"{parts.hostname} does not resolve ({exc})") from None
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        # Private, loopback, link-local, reserved, shared and multicast ranges are not global.
        if not address.is_global or address.is_multicast:
            raise _Forbidden(f"{parts.hostname} resolves to {address}, not a public address")
        addresses.append(address)
    if not addresses:
        raise _Forbidden(f"{parts.hostname} does not resolve")
    return str(addresses[0])


def pinned(url: str, address: str | None) -> tuple[str, dict, dict]:
    """The URL, headers and httpx extensions that reach `url`'s host at `address` only.

    TLS still names the host (SNI, and the certificate is checked against it);
    None leaves the request as it is.
    """
    if address is None:
        return url, {}, {}
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = f"{host}:{parts.port}" if parts.port else host
    return (
        urlunsplit(parts._replace(netloc=netloc)),
        {"Host": parts.netloc.rsplit("@", 1)[-1]},
        {"sni_hostname": parts.hostname},
    )


class _Refused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _download_once(url: str, *, message_id: int, index: int, limit: int) -> KeptFile:
    media_root = Path(settings.MEDIA_ROOT)
    now = timezone.now()
    folder = Path(SUBDIRECTORY) / f"{now:%Y}" / f"{now:%m}"
    (media_root / folder).mkdir(parents=True, exist_ok=True)
    with _open(url) as response:
        if not response.is_success:
            raise _Refused(response.status_code)
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _TooBig()
        content_type = (
            response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            or "application/octet-stream"
        )
        name = f"{message_id}-{index}-{secrets.token_hex(6)}{_extension(url, content_type)}"
        final = media_root / folder / name
        partial = final.with_name(final.name + ".part")
        size = 0
        try:
            with partial.open("wb") as out:
                for chunk in response.iter_bytes(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise _TooBig()
                    out.write(chunk)
            os.replace(partial, final)
        finally:
            partial.unlink(missing_ok=True)
    return KeptFile(path=str(folder / name), content_type=content_type, size=size)


@contextmanager
def _open(url: str) -> Iterator[httpx.Response]:
    """GET `url`, following redirects, each hop checked before it is requested."""
    for _hop in range(MAX_REDIRECTS + 1):
        target, headers, extensions = pinned(url, check_url(url))
        with _client.stream("GET", target, headers=headers, extensions=extensions) as response:
            location = response.headers.get("Location")
            if response.is_redirect and location:
                url = urljoin(url, location)
                continue
            yield response
            return
    raise httpx.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects")


def _extension(url: str, content_type: str) -> str:
    guessed = mimetypes.guess_extension(content_type) or ""
    if guessed:
        return guessed
    suffix = Path(urlsplit(url).path).suffix.lower()
    return suffix if suffix[1:].isalnum() and len(suffix) <= 6 else ""


def _megabytes(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):g} MB"
    return f"{limit // 1024} KB" if limit >= 1024 else f"{limit} bytes"
