"""Meta's webhook POSTs, answered at the ASGI level: the same checks and answers
as `facebook.webhook`, without Django's request machinery.

Meta may post hundreds of bodies a second. Through Django each POST costs a
thread of its own, the whole middleware stack and a commit; here it costs a
read and an HMAC on the event loop, and a share of a group commit
(`ingest.group_commit`): the request is answered once its body is committed,
never before. The GET handshake and everything else go on to Django. Neither
a session nor a CSRF token nor the Host header means anything to Meta's
signed POSTs; the signature over the exact bytes is the check.
"""

import logging

from asgiref.sync import sync_to_async
from django.conf import settings

from facebook import ingest, webhook

logger = logging.getLogger(__name__)

PATH = "/facebook/webhook"


class WebhookFastPath:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            return await self.app(scope, receive, send)
        status, text = await self._answer(scope, receive)
        body = text.encode("utf-8")
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode("ascii")),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope, receive) -> tuple[int, str]:
        limit = settings.FACEBOOK_WEBHOOK_MAX_BYTES
        headers = dict(scope.get("headers") or ())
        try:
            declared = int(headers.get(b"content-length") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            return _refuse(webhook.Refusal(413, f"body over {limit} bytes"))
        raw = await _read(receive, limit)
        if raw is None:
            return _refuse(webhook.Refusal(400, "body could not be read"))
        signature = headers.get(webhook.SIGNATURE_HEADER.lower().encode("ascii"))
        verified = webhook.verify(raw, signature.decode("latin-1") if signature else None)
        if isinstance(verified, webhook.Refusal):
            return _refuse(verified)
        try:
            await ingest.group_commit(verified)
        except Exception:
            # Not stored, so not acknowledged: Meta delivers it again.
            return 503, webhook.STORE_FAILED
        if settings.FACEBOOK_WEBHOOK_ROUTING == "inline":
            await sync_to_async(ingest.route_due)()
        else:
            ingest.router.kick()
        return 200, "EVENT_RECEIVED"


async def _read(receive, limit: int) -> bytes | None:
    """The body, or at most one byte over `limit`; None when the client went away."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        if size <= limit:
            chunks.append(chunk)
            size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)[: limit + 1]


def _refuse(refusal: webhook.Refusal) -> tuple[int, str]:
    logger.warning("webhook refused (%s): %s", refusal.status, refusal.reason)
    return refusal.status, refusal.reason
