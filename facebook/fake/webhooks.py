"""Meta's webhook POSTs, built, signed and posted as Meta does.

Everyone who plays Meta's side uses this: the simulator (a customer writes),
the fake Graph API (the echo of every message it accepted), the bench and the
tests. The shapes follow docs/meta (shared/meta/samples); the bytes are
compact JSON with non-ASCII escaped, signed with `X-Hub-Signature-256` on
exactly those bytes. Nothing here reads Django's settings or database: the
caller passes the app secret, so the bench can use it from outside a server.
"""

import hashlib
import hmac
import json
import time
from dataclasses import dataclass

import httpx

SIGNATURE_HEADER = "X-Hub-Signature-256"
# Meta's own patience with a webhook.
POST_TIMEOUT = 20.0


def now_ms() -> int:
    return int(time.time() * 1000)


# --- the envelope and its items -------------------------------------------------------


def envelope(*items: dict, page_id: str, key: str = "messaging", at_ms: int | None = None) -> dict:
    """One Page entry carrying `items` (`messaging`, or `standby` for another app's thread)."""
    return {
        "object": "page",
        "entry": [{"id": page_id, "time": at_ms or now_ms(), key: list(items)}],
    }


def instagram_envelope(*items: dict, account_id: str, at_ms: int | None = None) -> dict:
    """One Instagram account's entry: the same `messaging` items, with the account's id
    where a Page's would be (sender/recipient are the Instagram-scoped id and the account)."""
    return {
        "object": "instagram",
        "entry": [{"id": account_id, "time": at_ms or now_ms(), "messaging": list(items)}],
    }


def comment_added(
    *,
    page_id: str,
    post_id: str,
    comment_id: str,
    commenter_id: str,
    commenter_name: str,
    text: str,
    created_s: int | None = None,
    permalink_url: str = "",
) -> dict:
    """The Page's `feed` webhook for a comment on one of its posts (epoch seconds)."""
    created_s = created_s or int(time.time())
    value: dict = {
        "from": {"id": commenter_id, "name": commenter_name},
        "post": {
            "status_type": "added_photos",
            "is_published": True,
            "permalink_url": permalink_url or f"https://www.facebook.com/{post_id}",
            "id": post_id,
        },
        "message": text,
        "post_id": post_id,
        "comment_id": comment_id,
        "created_time": created_s,
        "item": "comment",
        "parent_id": post_id,
        "verb": "add",
    }
    return {
        "object": "page",
        "entry": [
            {"id": page_id, "time": created_s, "changes": [{"field": "feed", "value": value}]}
        ],
    }


def from_customer(
    kind: str, value: dict, *, page_id: str, psid: str, at_ms: int | None = None
) -> dict:
    """An item the customer (sender) caused on the Page (recipient): `kind` is its field."""
    return {
        "sender": {"id": psid},
        "recipient": {"id": page_id},
        "timestamp": at_ms or now_ms(),
        kind: value,
    }


def to_customer(message: dict, *, page_id: str, psid: str, at_ms: int | None = None) -> dict:
    """An echo: the Page (sender) wrote to the customer (recipient)."""
    return {
        "sender": {"id": page_id},
        "recipient": {"id": psid},
        "timestamp": at_ms or now_ms(),
        "message": {"is_echo": True, **message},
    }


def customer_message(
    *, page_id: str, psid: str, mid: str, text: str, at_ms: int | None = None
) -> dict:
    return from_customer(
        "message", {"mid": mid, "text": text}, page_id=page_id, psid=psid, at_ms=at_ms
    )


def page_echo(
    *,
    page_id: str,
    psid: str,
    mid: str,
    text: str | None = None,
    metadata: str | None = None,
    app_id: str = "",
    at_ms: int | None = None,
) -> dict:
    """The echo of a message the Page sent; `app_id` when it was sent through an app."""
    message: dict = {"mid": mid}
    if app_id.isdigit():
        message["app_id"] = int(app_id)  # Meta sends it as a number
    if text is not None:
        message["text"] = text
    if metadata is not None:
        message["metadata"] = metadata
    return to_customer(message, page_id=page_id, psid=psid, at_ms=at_ms)


def delivery(
    *, page_id: str, psid: str, mids: list[str], watermark_ms: int, at_ms: int | None = None
) -> dict:
    value = {"mids": mids, "watermark": watermark_ms}
    return from_customer("delivery", value, page_id=page_id, psid=psid, at_ms=at_ms)


def read(*, page_id: str, psid: str, watermark_ms: int, at_ms: int | None = None) -> dict:
    value = {"watermark": watermark_ms}
    return from_customer("read", value, page_id=page_id, psid=psid, at_ms=at_ms)


def reaction(
    *,
    page_id: str,
    psid: str,
    mid: str,
    reaction: str = "love",
    emoji: str = "\u2764",
    action: str = "react",
    at_ms: int | None = None,
) -> dict:
    value = {"reaction": reaction, "emoji": emoji, "action": action, "mid": mid}
    return from_customer("reaction", value, page_id=page_id, psid=psid, at_ms=at_ms)


def postback(
    *, page_id: str, psid: str, mid: str, title: str, payload: str, at_ms: int | None = None
) -> dict:
    value = {"title": title, "payload": payload, "mid": mid}
    return from_customer("postback", value, page_id=page_id, psid=psid, at_ms=at_ms)


def messaging_feedback(
    *,
    page_id: str,
    psid: str,
    question_id: str,
    score: int,
    comment: str = "",
    at_ms: int | None = None,
) -> dict:
    """The customer submitted the customer feedback survey (a CSAT question, 1-5)."""
    answer: dict = {"type": "csat", "payload": str(score)}
    if comment:
        answer["follow_up"] = {"type": "free_form", "payload": comment}
    value = {"feedback_screens": [{"screen_id": 0, "questions": {question_id: answer}}]}
    return from_customer("messaging_feedback", value, page_id=page_id, psid=psid, at_ms=at_ms)


def policy_enforcement(
    *, page_id: str, action: str, reason: str = "", at_ms: int | None = None
) -> dict:
    """Meta tells the Page about its standing (`warning`, `block`, `unblock`): no sender."""
    value = {"action": action}
    if reason:
        value["reason"] = reason
    return {
        "recipient": {"id": page_id},
        "timestamp": at_ms or now_ms(),
        "policy_enforcement": value,
    }


# --- bytes, signature, POST --------------------------------------------------------------


def to_bytes(body: dict) -> bytes:
    """Serialised as Meta does: compact, non-ASCII escaped."""
    return json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode()


def signature(raw: bytes, *, secret: str) -> str:
    """The `X-Hub-Signature-256` value Meta sends with exactly these bytes."""
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SignedBody:
    raw: bytes
    signature: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json", SIGNATURE_HEADER: self.signature}


def sign(body: dict | bytes, *, secret: str) -> SignedBody:
    """A body (built above, or bytes as they are) with its signature."""
    raw = body if isinstance(body, bytes) else to_bytes(body)
    return SignedBody(raw=raw, signature=signature(raw, secret=secret))


def post(
    url: str, body: dict | bytes, *, secret: str, timeout: float = POST_TIMEOUT
) -> httpx.Response:
    """POST a signed body to a webhook; raises httpx.HTTPError when it cannot be reached."""
    signed = sign(body, secret=secret)
    return _client.post(url, content=signed.raw, headers=signed.headers, timeout=timeout)


# One client for every post (httpx's Client is shared across threads): a client
# each builds its own TLS context, milliseconds of CPU for each echo the fake
# Graph API posts. trust_env off: a proxy from the environment must not carry
# a call to ourselves.
_client = httpx.Client(trust_env=False)


async def post_async(
    url: str,
    body: dict | bytes,
    *,
    secret: str,
    timeout: float = POST_TIMEOUT,
    client: httpx.AsyncClient | None = None,
) -> httpx.Response:
    """`post` from an event loop; on `client` when given (it keeps its own settings)."""
    signed = sign(body, secret=secret)
    if client is not None:
        return await client.post(url, content=signed.raw, headers=signed.headers)
    async with httpx.AsyncClient(timeout=timeout, trust_env=False) as own:
        return await own.post(url, content=signed.raw, headers=signed.headers)
