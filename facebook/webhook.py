"""The Messenger webhook: handshake, size, signature, envelope; then `ingest`.

No business rules here: the view answers Meta in HTTP once the verified body
is stored; `ingest` routes it right after, off the request.
"""

import hashlib
import hmac
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, UnreadablePostError
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from facebook import ingest, parsing

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
SIGNATURE_PREFIX = "sha256="
# Not stored, so not acknowledged: Meta delivers it again.
STORE_FAILED = "could not store the body; please retry"


def _plain(text: str, status: int = 200) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


def _refuse(text: str, status: int) -> HttpResponse:
    logger.warning("webhook refused (%s): %s", status, text)
    return _plain(text, status)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _handshake(request)
    return _receive(request)


def _handshake(request: HttpRequest) -> HttpResponse:
    if request.GET.get("hub.mode") != "subscribe":
        return _refuse("hub.mode is not subscribe", 403)
    token = request.GET.get("hub.verify_token", "")
    expected = settings.FACEBOOK_VERIFY_TOKEN
    if not expected or not hmac.compare_digest(
        token.encode("utf-8", "replace"), expected.encode("utf-8")
    ):
        return _refuse("hub.verify_token does not match", 403)
    challenge = request.GET.get("hub.challenge")
    if challenge is None:
        return _refuse("hub.challenge is missing", 403)
    return _plain(challenge)


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str


def verify(raw: bytes, signature: str | None) -> parsing.Body | Refusal:
    """The verified body, or why it is refused: 413, then 403, then 400, as the contract says."""
    limit = settings.FACEBOOK_WEBHOOK_MAX_BYTES
    if len(raw) > limit:
        return Refusal(413, f"body over {limit} bytes")
    problem = signature_problem(raw, signature)
    if problem:
        return Refusal(403, problem)
    try:
        return parsing.parse_body(raw)
    except parsing.BadEnvelope as exc:
        return Refusal(400, str(exc))


def _receive(request: HttpRequest) -> HttpResponse:
    limit = settings.FACEBOOK_WEBHOOK_MAX_BYTES
    # Refuse by the declared length before reading; then read at most one byte
    # over the limit, for bodies that declare none (or lie).
    if _declared_length(request) > limit:
        return _refuse(f"body over {limit} bytes", 413)
    try:
        raw = request.read(limit + 1)
    except UnreadablePostError:
        return _refuse("body could not be read", 400)
    verified = verify(raw, request.headers.get(SIGNATURE_HEADER))
    if isinstance(verified, Refusal):
        return _refuse(verified.reason, verified.status)
    # Stored (committed) before the answer; routed after it, off the request.
    try:
        ingest.store(verified)
    except DatabaseError:
        logger.exception("webhook body could not be stored")
        return _plain(STORE_FAILED, 503)
    ingest.kick()
    return _plain("EVENT_RECEIVED")


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def signature_problem(raw: bytes, header: str | None) -> str | None:
    """Why `header` is not Meta's HMAC-SHA256 of exactly these bytes, or None when it is."""
    if not header:
        return f"{SIGNATURE_HEADER} is missing"
    if not header.startswith(SIGNATURE_PREFIX):
        return f"{SIGNATURE_HEADER} is not {SIGNATURE_PREFIX}<hex>"
    secret = settings.FACEBOOK_APP_SECRET
    if not secret:
        return "FACEBOOK_APP_SECRET is not configured"
    expected = hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).hexdigest()
    given = header.removeprefix(SIGNATURE_PREFIX).strip().lower()
    # Bytes: compare_digest refuses non-ASCII str, and a header may carry any.
    if not hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8", "replace")):
        return f"{SIGNATURE_HEADER} does not match the body"
    return None
