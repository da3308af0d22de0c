"""Real-shaped Messenger webhook bodies, built per test, and posting them signed."""

import hashlib
import hmac
import itertools
import json
import time

from facebook.models import WebhookDelivery
from tests.factories import PAGE_ID

URL = "/facebook/webhook"
APP_SECRET = "test-app-secret"
OUR_APP_ID = "100000000000777"
PSID = "7300000000000001"

_mids = itertools.count(1)


def now_ms() -> int:
    return int(time.time() * 1000)


def new_mid(prefix: str = "m_T") -> str:
    return f"{prefix}{next(_mids):05d}"


def envelope(*items: dict, page_id: str = PAGE_ID, key: str = "messaging") -> dict:
    return {"object": "page", "entry": [{"id": page_id, "time": now_ms(), key: list(items)}]}


def from_customer(
    kind: str, value: dict, *, psid: str = PSID, at_ms: int | None = None, page_id: str = PAGE_ID
) -> dict:
    return {
        "sender": {"id": psid},
        "recipient": {"id": page_id},
        "timestamp": at_ms or now_ms(),
        kind: value,
    }


def to_customer(
    message: dict, *, psid: str = PSID, at_ms: int | None = None, page_id: str = PAGE_ID
) -> dict:
    """An echo: the Page (sender) wrote to the customer (recipient)."""
    return {
        "sender": {"id": page_id},
        "recipient": {"id": psid},
        "timestamp": at_ms or now_ms(),
        "message": {"is_echo": True, **message},
    }


def text(words: str = "Hello", *, mid: str | None = None, **fields) -> dict:
    return {"mid": mid or new_mid(), "text": words, **fields}


def sign(raw: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def raw(body: dict) -> bytes:
    # Serialised as Meta does: non-ASCII escaped.
    return json.dumps(body, ensure_ascii=True).encode()


def post(client, body: dict | bytes):
    """POST a body to the webhook, signed, through Django's HTTP handling."""
    data = body if isinstance(body, bytes) else raw(body)
    return client.post(
        URL, data=data, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=sign(data)
    )


def last_delivery() -> WebhookDelivery:
    return WebhookDelivery.objects.order_by("-id").first()
