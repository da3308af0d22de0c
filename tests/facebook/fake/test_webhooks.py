"""Meta's webhook POSTs as the fake builds them: Meta's documented shapes, Meta's
bytes, a signature our webhook accepts, and a POST that reaches it."""

import json
from pathlib import Path

import pytest

from facebook.fake import webhooks
from facebook.parsing import (
    CustomerMessage,
    Delivery,
    PageEcho,
    Postback,
    Reaction,
    Read,
    parse_body,
)
from facebook.webhook import signature_problem
from tests.factories import make_page, make_workgroup

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
AT = 1764057600000  # the samples' "now"
PAGE = "100000000000001"
PSID = "7300000000000001"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())


@pytest.mark.parametrize(
    ("name", "item"),
    [
        (
            "text.json",
            webhooks.customer_message(
                page_id=PAGE,
                psid=PSID,
                mid="m_AAAA0001",
                text="Hi, my order #1042 has not arrived.",
                at_ms=AT,
            ),
        ),
        (
            "echo_from_page_inbox.json",
            webhooks.page_echo(
                page_id=PAGE,
                psid=PSID,
                mid="m_E0001",
                text="Replied from the Page inbox",
                app_id="263902037430900",
                at_ms=AT,
            ),
        ),
        (
            "delivery.json",
            webhooks.delivery(
                page_id=PAGE, psid=PSID, mids=["m_OUT0001"], watermark_ms=AT + 1000, at_ms=AT
            ),
        ),
        ("read.json", webhooks.read(page_id=PAGE, psid=PSID, watermark_ms=AT + 2000, at_ms=AT)),
        ("reaction.json", webhooks.reaction(page_id=PAGE, psid=PSID, mid="m_OUT0001", at_ms=AT)),
        (
            "postback.json",
            webhooks.postback(
                page_id=PAGE,
                psid=PSID,
                mid="m_P0001",
                title="Get Started",
                payload="GET_STARTED",
                at_ms=AT,
            ),
        ),
    ],
)
def test_each_builder_makes_metas_documented_body(name, item):
    assert webhooks.envelope(item, page_id=PAGE, at_ms=AT) == sample(name)


def test_each_built_item_parses_into_its_event():
    items = [
        webhooks.customer_message(page_id=PAGE, psid=PSID, mid="m_1", text="Olá 📦", at_ms=AT),
        webhooks.page_echo(
            page_id=PAGE, psid=PSID, mid="m_2", text="Hi", metadata="abc", app_id="77", at_ms=AT + 1
        ),
        webhooks.delivery(page_id=PAGE, psid=PSID, mids=["m_2"], watermark_ms=AT + 5, at_ms=AT + 2),
        webhooks.read(page_id=PAGE, psid=PSID, watermark_ms=AT + 6, at_ms=AT + 3),
        webhooks.reaction(
            page_id=PAGE, psid=PSID, mid="m_2", reaction="like", emoji="👍", at_ms=AT + 4
        ),
        webhooks.postback(
            page_id=PAGE, psid=PSID, mid="m_3", title="Start", payload="GO", at_ms=AT + 5
        ),
    ]
    raw = webhooks.to_bytes(webhooks.envelope(*items, page_id=PAGE))

    body = parse_body(raw)

    assert raw.isascii() and b", " not in raw and b": " not in raw  # Meta's compact bytes
    assert body.skipped == ()
    kinds = [type(event) for event in body.events]
    assert kinds == [CustomerMessage, PageEcho, Delivery, Read, Reaction, Postback]
    message, echo, delivered, read, reaction, postback = body.events
    assert (message.psid, message.mid, message.text) == (PSID, "m_1", "Olá 📦")
    assert (echo.psid, echo.mid, echo.app_id, echo.metadata) == (PSID, "m_2", "77", "abc")
    assert (delivered.mids, delivered.watermark_ms) == (("m_2",), AT + 5)
    assert read.watermark_ms == AT + 6
    assert (reaction.mid, reaction.action, reaction.emoji) == ("m_2", "react", "👍")
    assert (postback.title, postback.payload, postback.mid) == ("Start", "GO", "m_3")


def test_the_signature_is_the_one_our_webhook_checks(settings):
    signed = webhooks.sign({"object": "page", "entry": []}, secret=settings.FACEBOOK_APP_SECRET)

    assert signed.headers["X-Hub-Signature-256"] == signed.signature
    assert signature_problem(signed.raw, signed.signature) is None
    assert signature_problem(signed.raw + b" ", signed.signature) is not None
    other = webhooks.sign(signed.raw, secret="another-secret")
    assert other.raw == signed.raw  # bytes are signed as they are
    assert signature_problem(other.raw, other.signature) is not None


@pytest.mark.django_db(transaction=True)
def test_a_post_reaches_the_webhook_signed_and_a_wrong_secret_is_refused(live_server, settings):
    make_page(make_workgroup(), page_id=PAGE)
    url = f"{live_server.url}/facebook/webhook"
    body = webhooks.envelope(
        webhooks.customer_message(page_id=PAGE, psid=PSID, mid="m_post", text="Hello"), page_id=PAGE
    )

    assert webhooks.post(url, body, secret=settings.FACEBOOK_APP_SECRET).status_code == 200
    assert webhooks.post(url, body, secret="another-secret").status_code == 403
