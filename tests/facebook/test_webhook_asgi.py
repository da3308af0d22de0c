"""Meta's POSTs through the ASGI fast path: the contract's answers, a body stored before its 200.

The same checks as the Django view (`facebook.webhook.verify`), driven through
the project's real ASGI application, with the group commit's own thread and
the real database.
"""

import json

import pytest
from channels.testing import HttpCommunicator

from connect.asgi import application
from facebook.models import WebhookDelivery, WebhookVerdict
from routing.models import Message
from tests.facebook.bodies import envelope, from_customer, new_mid, sign, text
from tests.factories import make_page, make_workgroup

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/facebook/webhook"


@pytest.fixture
def page():
    return make_page(make_workgroup("Facebook DM"))


async def post(raw: bytes, *, signature: str | None = "sign", length: int | None = None):
    headers = [(b"content-type", b"application/json")]
    if signature == "sign":
        signature = sign(raw)
    if signature is not None:
        headers.append((b"x-hub-signature-256", signature.encode()))
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    communicator = HttpCommunicator(application, "POST", PATH, body=raw, headers=headers)
    response = await communicator.get_response(timeout=10)
    return response["status"], response["body"].decode()


def raw_message(mid: str) -> bytes:
    return json.dumps(envelope(from_customer("message", text("Hi there", mid=mid)))).encode()


async def test_a_signed_body_is_stored_before_its_200_and_routed(page):
    from channels.db import database_sync_to_async

    mid = new_mid()
    assert await post(raw_message(mid)) == (200, "EVENT_RECEIVED")
    delivery = await database_sync_to_async(WebhookDelivery.objects.get)()
    assert delivery.verdict == WebhookVerdict.PROCESSED  # routed inline under test
    assert await database_sync_to_async(Message.objects.filter(mid=mid).count)() == 1


@pytest.mark.parametrize(
    "signature, status, reason",
    [
        (None, 403, "X-Hub-Signature-256 is missing"),
        ("md5=abc", 403, "X-Hub-Signature-256 is not sha256=<hex>"),
        ("sha256=" + "0" * 64, 403, "X-Hub-Signature-256 does not match the body"),
    ],
)
async def test_a_bad_signature_is_refused_and_nothing_is_stored(page, signature, status, reason):
    from channels.db import database_sync_to_async

    assert await post(raw_message(new_mid()), signature=signature) == (status, reason)
    assert not await database_sync_to_async(WebhookDelivery.objects.exists)()


async def test_what_is_not_an_envelope_is_a_400(page):
    status, reason = await post(b"not json")
    assert status == 400 and reason


async def test_over_the_limit_is_a_413_by_declared_or_actual_size(page, settings):
    settings.FACEBOOK_WEBHOOK_MAX_BYTES = 100
    raw = raw_message(new_mid())
    assert await post(raw, length=10_000) == (413, "body over 100 bytes")
    assert await post(raw) == (413, "body over 100 bytes")


async def test_the_handshake_and_other_paths_still_reach_django(settings):
    communicator = HttpCommunicator(
        application,
        "GET",
        PATH + "?hub.mode=subscribe&hub.verify_token=test-verify-token&hub.challenge=42",
        headers=[(b"host", b"testserver")],
    )
    response = await communicator.get_response(timeout=10)
    assert (response["status"], response["body"]) == (200, b"42")
