"""Real-shaped Messenger webhook bodies, built per test, and posting them signed.

The tests' defaults (their Page, customer and app secret) over
`facebook.fake.webhooks`, which builds and signs for everyone playing Meta.
"""

import itertools

from facebook.fake import webhooks
from facebook.models import WebhookDelivery
from tests.factories import PAGE_ID

URL = "/facebook/webhook"
APP_SECRET = "test-app-secret"
OUR_APP_ID = "100000000000777"
PSID = "7300000000000001"

_mids = itertools.count(1)

now_ms = webhooks.now_ms


def new_mid(prefix: str = "m_T") -> str:
    return f"{prefix}{next(_mids):05d}"


def envelope(*items: dict, page_id: str = PAGE_ID, key: str = "messaging") -> dict:
    return webhooks.envelope(*items, page_id=page_id, key=key)


def from_customer(
    kind: str, value: dict, *, psid: str = PSID, at_ms: int | None = None, page_id: str = PAGE_ID
) -> dict:
    return webhooks.from_customer(kind, value, page_id=page_id, psid=psid, at_ms=at_ms)


def to_customer(
    message: dict, *, psid: str = PSID, at_ms: int | None = None, page_id: str = PAGE_ID
) -> dict:
    """An echo: the Page (sender) wrote to the customer (recipient)."""
    return webhooks.to_customer(message, page_id=page_id, psid=psid, at_ms=at_ms)


def text(words: str = "Hello", *, mid: str | None = None, **fields) -> dict:
    return {"mid": mid or new_mid(), "text": words, **fields}


def sign(raw: bytes, secret: str = APP_SECRET) -> str:
    return webhooks.signature(raw, secret=secret)


def raw(body: dict) -> bytes:
    return webhooks.to_bytes(body)


def post(client, body: dict | bytes, *, secret: str = APP_SECRET):
    """POST a body to the webhook, signed, through Django's HTTP handling."""
    signed = webhooks.sign(body, secret=secret)
    return client.post(
        URL,
        data=signed.raw,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signed.signature,
    )


def last_delivery() -> WebhookDelivery:
    return WebhookDelivery.objects.order_by("-id").first()
