"""Files an agent attaches to a reply: the rules they must pass, and their bytes kept.

Each file is checked (size, type) and written under MEDIA_ROOT before any row
is stored, so a refused file never leaves a half-written message and a stored
one always has its bytes to send, and to send again on Retry or Resend. The
sender (`facebook.sender`) reads the kept file; the bubble shows it like a
customer's attachment.

Meta takes attachments up to 25 MB. One Send carries at most `MAX_FILES`
files and `max_bytes()` in all: the request that brings them is the one
upload the reverse proxy lets through (deploy/nginx.conf.template).
"""

import hashlib
import mimetypes
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils import timezone

# Meta's own limit; settings.FACEBOOK_ATTACHMENT_MAX_BYTES overrides it (inbound copies too).
DEFAULT_MAX_BYTES = 25 * 1024 * 1024
MAX_FILES = 10
SUBDIRECTORY = "attachments/sent"

# What Messenger shows as a picture, a player or a clip; anything else goes as a file.
KIND_OF_CONTENT_TYPE = {
    "image/png": "image",
    "image/jpeg": "image",
    "image/gif": "image",
    "video/mp4": "video",
    "audio/mpeg": "audio",
    "audio/mp4": "audio",
    "audio/aac": "audio",
    "audio/wav": "audio",
    "audio/x-wav": "audio",
    "audio/ogg": "audio",
}
# Programs and scripts: Messenger refuses them, and so do we, before the upload.
REFUSED_SUFFIXES = frozenset(
    [
        ".apk",
        ".app",
        ".bat",
        ".cmd",
        ".com",
        ".cpl",
        ".dll",
        ".exe",
        ".hta",
        ".jar",
        ".js",
        ".jse",
        ".lnk",
        ".msi",
        ".msp",
        ".ps1",
        ".reg",
        ".scr",
        ".sh",
        ".vb",
        ".vbe",
        ".vbs",
        ".wsf",
    ]
)
# An image's first bytes: a file named .png that is not one goes as a plain file.
IMAGE_SIGNATURES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}
MAX_NAME_LENGTH = 120


class FileRefused(Exception):
    """A file that may not be sent; `too_large` when its size is the reason."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


class Upload(Protocol):
    """What Django's UploadedFile offers and we use."""

    name: str | None
    size: int | None
    content_type: str | None

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]: ...


@dataclass(frozen=True)
class KeptFile:
    kind: str  # image | video | audio | file
    name: str
    path: str  # relative to MEDIA_ROOT
    content_type: str
    size: int
    sha256: str

    def delete(self) -> None:
        (Path(settings.MEDIA_ROOT) / self.path).unlink(missing_ok=True)


def max_bytes() -> int:
    return getattr(settings, "FACEBOOK_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES)


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")


def clean_name(name: str) -> str:
    """The file's own name, without any folder a browser sent along."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable())
    if len(name) > MAX_NAME_LENGTH:
        stem, suffix = Path(name).stem, Path(name).suffix[:12]
        name = stem[: MAX_NAME_LENGTH - len(suffix)] + suffix
    return name or "file"


def check(files: Sequence[Upload]) -> None:
    """Refuse, with the reason, a set of files that may not be sent together."""
    if len(files) > MAX_FILES:
        raise FileRefused(f"Send at most {MAX_FILES} files at once; {len(files)} were chosen.")
    limit = max_bytes()
    total = 0
    for upload in files:
        name = clean_name(upload.name or "")
        size = upload.size or 0
        if size == 0:
            raise FileRefused(f"{name} is empty.")
        if size > limit:
            raise FileRefused(
                f"{name} is {megabytes(size)}; Messenger takes files up to {megabytes(limit)}.",
                too_large=True,
            )
        if Path(name).suffix.lower() in REFUSED_SUFFIXES:
            raise FileRefused(f"{name} is a program or script; Messenger does not send those.")
        total += size
    if total > limit:
        raise FileRefused(
            f"These files are {megabytes(total)} together; one Send takes up to "
            f"{megabytes(limit)}. Send them in parts.",
            too_large=True,
        )


def keep(files: Sequence[Upload]) -> list[KeptFile]:
    """Check the files, then write each under MEDIA_ROOT; nothing is kept if one is refused."""
    check(files)
    kept: list[KeptFile] = []
    try:
        for upload in files:
            kept.append(_keep_one(upload))
    except BaseException:
        forget(kept)
        raise
    return kept


def forget(kept: Iterable[KeptFile]) -> None:
    """Delete kept files whose message was not stored after all."""
    for file in kept:
        file.delete()


def _keep_one(upload: Upload) -> KeptFile:
    name = clean_name(upload.name or "")
    suffix = Path(name).suffix.lower()[:12]
    relative = (
        Path(SUBDIRECTORY)
        / timezone.now().strftime("%Y/%m")
        / (secrets.token_hex(16) + (suffix if suffix.isascii() else ""))
    )
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    with target.open("xb") as out:
        for chunk in upload.chunks():
            if len(head) < 16:
                head += chunk[:16]
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    content_type = content_type_of(name, upload.content_type or "", head)
    return KeptFile(
        kind=KIND_OF_CONTENT_TYPE.get(content_type, "file"),
        name=name,
        path=relative.as_posix(),
        content_type=content_type,
        size=size,
        sha256=digest.hexdigest(),
    )


def content_type_of(name: str, declared: str, head: bytes) -> str:
    """The type from the file's name (the browser's word otherwise); an image must look like one."""
    guessed = mimetypes.guess_type(name)[0] or declared.split(";")[0].strip().lower()
    guessed = guessed or "application/octet-stream"
    signatures = IMAGE_SIGNATURES.get(guessed)
    if signatures is not None and not head.startswith(signatures):
        return "application/octet-stream"
    return guessed
