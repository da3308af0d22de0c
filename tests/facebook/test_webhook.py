"""POST/GET /facebook/webhook through the real view, routing and database."""

import hashlib
import json
import logging
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from facebook import ingest
from facebook.models import WebhookDelivery, WebhookVerdict
from facebook.parsing import CustomerMessage
from routing import services
from routing.events import routing_event
from routing.models import (
    Customer,
    Interaction,
    InteractionState,
    Message,
    MessageDirection,
    MessageStatus,
    PriorityMatch,
    PriorityRule,
)
from tests.facebook.bodies import sign
from tests.factories import PAGE_ID, customer_writes, make_agent, make_page, make_workgroup

URL = "/facebook/webhook"
SAMPLES = Path(__file__).parent / "samples"
SAMPLE_TIME_MS = 1764057600000  # the "now" the sample bodies were written at
PSID = "7300000000000001"
OUR_APP_ID = "100000000000777"


# --- helpers -------------------------------------------------------------------------


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def now_ms() -> int:
    return int(time.time() * 1000)


def fresh(name: str, *, edit=None) -> bytes:
    """A sample moved to the current time (relative order kept), as new bytes to sign."""
    body = json.loads(sample(name))
    shift = now_ms() - SAMPLE_TIME_MS
    _shift_times(body, shift)
    if edit:
        edit(body)
    return json.dumps(body).encode()


def _shift_times(node, shift: int) -> None:
    if isinstance(node, list):
        for child in node:
            _shift_times(child, shift)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in ("time", "timestamp", "watermark") and isinstance(value, int):
                node[key] = value + shift
            else:
                _shift_times(value, shift)


def first_item(body: dict) -> dict:
    return body["entry"][0]["messaging"][0]


def post(client, raw: bytes, *, signature: str | None = None):
    headers = {"HTTP_X_HUB_SIGNATURE_256": signature or sign(raw)}
    return client.post(URL, data=raw, content_type="application/json", **headers)


def last_delivery() -> WebhookDelivery:
    return WebhookDelivery.objects.order_by("-id").first()


@pytest.fixture
def workgroup(db):
    return make_workgroup("Facebook DM")


@pytest.fixture
def page(workgroup):
    return make_page(workgroup)


def outbound(interaction: Interaction, *, status: str, mid: str | None = None, **fields) -> Message:
    fields.setdefault("sent_at", timezone.now() - timedelta(seconds=1))
    return Message.objects.create(
        interaction=interaction,
        direction=MessageDirection.OUTBOUND,
        text="Let me check that for you.",
        status=status,
        mid=mid,
        **fields,
    )


# --- handshake -------------------------------------------------------------------------


def test_handshake_answers_the_challenge(client):
    response = client.get(
        URL,
        {"hub.mode": "subscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "1234"},
    )
    assert response.status_code == 200
    assert response.content == b"1234"
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "1"},
        {"hub.verify_token": "test-verify-token", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
    ],
)
def test_handshake_refuses_anything_else(client, query):
    response = client.get(URL, query)
    assert response.status_code == 403
    assert response.content not in (b"", b"1")  # a short reason, never the challenge


def test_other_methods_are_not_allowed(client):
    assert client.put(URL, data=b"{}").status_code == 405


# --- refusals --------------------------------------------------------------------------


@pytest.mark.django_db
def test_missing_signature_is_refused(client, page):
    raw = sample("text.json")
    response = client.post(URL, data=raw, content_type="application/json")
    assert response.status_code == 403
    assert b"X-Hub-Signature-256" in response.content
    assert not WebhookDelivery.objects.exists()
    assert not Message.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "signature",
    [
        sign(sample("text.json"), secret="another-secret"),
        "sha1=" + hashlib.sha1(sample("text.json")).hexdigest(),
        "sha256=",
        "sha256=zz",
        "sha256=\u00e9\u00e9",
    ],
)
def test_wrong_signature_is_refused(client, page, signature):
    response = post(client, sample("text.json"), signature=signature)
    assert response.status_code == 403
    assert not WebhookDelivery.objects.exists()
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_signature_is_over_the_exact_bytes_not_reserialised_json(client, page):
    raw = sample("unicode.json")
    reserialised = json.dumps(json.loads(raw), ensure_ascii=False).encode()
    assert post(client, raw, signature=sign(reserialised)).status_code == 403
    assert not Message.objects.exists()

    assert post(client, raw, signature=sign(raw)).status_code == 200
    assert Message.objects.get(mid="m_U0001").text == "Grüße — заказ 😀 مرحبا"
    assert last_delivery().body == raw.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"this is not json", b"not JSON"),
        (b'[{"object": "page"}]', b"not a JSON object"),
        (b'{"object": "page"}', b"entry"),
        (b'{"object": "page", "entry": "x"}', b"entry"),
        (b'{"entry": []}', b"object"),
    ],
)
def test_what_is_not_an_envelope_is_a_400(client, page, raw, reason):
    response = post(client, raw)
    assert response.status_code == 400
    assert reason in response.content


@pytest.mark.django_db
def test_a_body_over_the_limit_is_a_413(client, page, settings):
    settings.FACEBOOK_WEBHOOK_MAX_BYTES = 100
    raw = sample("text.json")
    assert len(raw) > 100
    response = post(client, raw)
    assert response.status_code == 413
    assert response.content == b"body over 100 bytes"
    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db
def test_meta_needs_no_csrf_token(page):
    raw = fresh("text.json")
    response = post(Client(enforce_csrf_checks=True), raw)
    assert response.status_code == 200
    assert Message.objects.filter(mid="m_AAAA0001").exists()


# --- envelopes that are stored but not handled ------------------------------------------


@pytest.mark.django_db
def test_another_object_is_stored_and_answered_200(client, page):
    raw = b'{"object": "whatsapp_business_account", "entry": [{"id": "1", "messaging": []}]}'
    assert post(client, raw).status_code == 200
    delivery = last_delivery()
    assert delivery.verdict == WebhookVerdict.NOT_PAGE
    assert delivery.body == raw.decode()
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_an_instagram_account_not_linked_to_a_page_is_stored_and_refused(client, page):
    raw = b'{"object": "instagram", "entry": [{"id": "1", "time": 1, "messaging": []}]}'
    assert post(client, raw).status_code == 200
    delivery = last_delivery()
    assert delivery.verdict == WebhookVerdict.UNKNOWN_PAGE
    assert "unknown Instagram account 1" in delivery.detail
    assert delivery.body == raw.decode()
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_an_unknown_page_is_stored_and_answered_200(client, workgroup):
    make_page(workgroup, page_id="100000000000099")
    raw = fresh("text.json")
    assert post(client, raw).status_code == 200
    delivery = last_delivery()
    assert delivery.verdict == WebhookVerdict.UNKNOWN_PAGE
    assert delivery.body == raw.decode()
    assert delivery.event_count == 1
    assert PAGE_ID in delivery.detail
    assert not Message.objects.exists()
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_an_unknown_event_kind_is_partly_ignored(client, page):
    def add_optin(body):
        items = body["entry"][0]["messaging"]
        items.append({**items[0], "optin": {"ref": "x"}})
        del items[-1]["message"]

    assert post(client, fresh("text.json", edit=add_optin)).status_code == 200
    delivery = last_delivery()
    assert delivery.verdict == WebhookVerdict.PARTLY_IGNORED
    assert delivery.event_count == 2
    assert "optin" in delivery.detail
    assert Message.objects.filter(mid="m_AAAA0001").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "garbage",
    [
        "a string",
        42,
        None,
        {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": 1},
        {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": 1, "message": {}},
        {"sender": "x", "message": {"mid": "m_X"}},
        {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": 1, "read": "x"},
        {
            "sender": {"id": PSID},
            "recipient": {"id": PAGE_ID},
            "timestamp": 1,
            "message": {"mid": "m_NUL", "text": "a\u0000b", "attachments": [1, {"type": 2}]},
        },
    ],
)
def test_garbage_items_never_crash(client, page, garbage):
    def add_garbage(body):
        body["entry"][0]["messaging"].insert(0, garbage)
        body["entry"].append("not an entry")

    response = post(client, fresh("text.json", edit=add_garbage))
    assert response.status_code == 200
    assert last_delivery().verdict == WebhookVerdict.PARTLY_IGNORED
    assert Message.objects.filter(mid="m_AAAA0001").exists()


# --- customer messages -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_batch_makes_every_message_once(client, page):
    raw = fresh("batched.json")
    assert post(client, raw).status_code == 200
    delivery = last_delivery()
    assert (delivery.verdict, delivery.event_count) == (WebhookVerdict.PROCESSED, 3)
    assert Message.objects.filter(direction=MessageDirection.INBOUND).count() == 3
    assert Customer.objects.count() == 2
    assert Interaction.objects.count() == 2
    first = Customer.objects.get(psid=PSID).interactions.get()
    assert [m.text for m in first.messages.all()] == ["first", "second"]
    assert first.workgroup == page.workgroup
    assert first.state == InteractionState.QUEUED

    # Meta redelivers the same body: nothing new but the stored delivery.
    assert post(client, raw).status_code == 200
    assert Message.objects.count() == 3
    assert Customer.objects.count() == 2
    assert Interaction.objects.count() == 2
    assert WebhookDelivery.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_new_interaction_is_offered_to_an_online_available_agent(client):
    workgroup = make_workgroup("Facebook DM")
    make_page(workgroup)
    agent = make_agent(workgroups=[workgroup])
    assert post(client, fresh("text.json")).status_code == 200
    interaction = Interaction.objects.get()
    assert interaction.state == InteractionState.ALERTING
    assert interaction.agent == agent
    message = interaction.messages.get()
    assert message.text == "Hi, my order #1042 has not arrived."
    assert message.status == MessageStatus.RECEIVED
    assert interaction.customer.last_message_at == message.sent_at


@pytest.mark.django_db(transaction=True)
def test_a_listener_failing_after_commit_undoes_nothing_and_the_offer_still_happens(client, caplog):
    workgroup = make_workgroup("Facebook DM")
    make_page(workgroup)
    agent = make_agent(workgroups=[workgroup])

    def broken_listener(sender, event, **kwargs):
        raise RuntimeError("a listener broke")

    # Routing's after-commit announcement: a receiver of its signal that fails.
    routing_event.connect(broken_listener, dispatch_uid="tests.broken_listener", weak=False)
    try:
        with caplog.at_level(logging.ERROR):
            assert post(client, fresh("text.json")).status_code == 200
    finally:
        routing_event.disconnect(dispatch_uid="tests.broken_listener")
    assert "a listener broke" in caplog.text  # it did run, and failed
    assert WebhookDelivery.objects.get().verdict == WebhookVerdict.PROCESSED
    assert Message.objects.filter(mid="m_AAAA0001").exists()
    interaction = Interaction.objects.get()
    assert (interaction.state, interaction.agent) == (InteractionState.ALERTING, agent)


@pytest.mark.django_db
def test_after_disconnect_a_new_message_opens_a_new_interaction(client, page):
    assert post(client, fresh("text.json")).status_code == 200
    first = Interaction.objects.get()
    services.disconnect(interaction_id=first.pk, agent=None)

    def new_mid(body):
        first_item(body)["message"]["mid"] = "m_AAAA0002"

    assert post(client, fresh("text.json", edit=new_mid)).status_code == 200
    assert Interaction.objects.count() == 2
    second = Interaction.objects.exclude(pk=first.pk).get()
    assert second.state == InteractionState.QUEUED
    assert second.customer == first.customer
    assert second.messages.get().mid == "m_AAAA0002"


@pytest.mark.django_db
def test_attachments_are_stored(client, page):
    assert post(client, fresh("image.json")).status_code == 200
    assert post(client, fresh("fallback.json")).status_code == 200
    assert Message.objects.get(mid="m_I0001").attachments == [
        {"type": "image", "url": "https://scontent.example/photo.jpg", "title": ""}
    ]
    assert Message.objects.get(mid="m_F0001").attachments == [
        {"type": "fallback", "url": None, "title": "Attachment Unavailable"}
    ]
    assert Interaction.objects.count() == 1


@pytest.mark.django_db
def test_a_quick_reply_keeps_its_text_and_payload(client, page):
    def quick_reply(body):
        quick = {"mid": "m_Q1", "text": "Yes", "quick_reply": {"payload": "Y"}}
        first_item(body)["message"] = quick

    assert post(client, fresh("text.json", edit=quick_reply)).status_code == 200
    message = Message.objects.get(mid="m_Q1")
    assert message.text == "Yes"
    assert message.attachments == [
        {"type": "quick_reply", "url": None, "title": "", "payload": "Y"}
    ]


@pytest.mark.django_db
def test_a_postback_is_a_customer_message_with_its_title(client, page):
    raw = fresh("postback.json")
    assert post(client, raw).status_code == 200
    assert post(client, raw).status_code == 200
    message = Message.objects.get()
    assert (message.mid, message.text, message.direction) == (
        "m_P0001",
        "Get Started",
        MessageDirection.INBOUND,
    )
    assert message.attachments[0]["payload"] == "GET_STARTED"


@pytest.mark.django_db
def test_a_postback_without_mid_still_dedupes(client, page):
    def drop_mid(body):
        del first_item(body)["postback"]["mid"]

    raw = fresh("postback.json", edit=drop_mid)
    assert post(client, raw).status_code == 200
    assert post(client, raw).status_code == 200
    assert Message.objects.get().mid.startswith(f"postback:{PSID}:")


# --- echoes ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_echo_from_the_page_inbox_is_a_page_reply(client, page):
    received = customer_writes(page.workgroup)
    customer = received.interaction.customer
    last_message_at = Customer.objects.get(pk=customer.pk).last_message_at

    raw = fresh("echo_from_page_inbox.json")
    assert post(client, raw).status_code == 200
    assert post(client, raw).status_code == 200  # redelivered

    assert Interaction.objects.count() == 1
    echo = Message.objects.get(mid="m_E0001")
    assert echo.interaction == received.interaction
    assert (echo.direction, echo.status, echo.author) == (
        MessageDirection.OUTBOUND,
        MessageStatus.SENT,
        None,
    )
    assert echo.text == "Replied from the Page inbox"
    assert Message.objects.filter(direction=MessageDirection.INBOUND).count() == 1
    assert Customer.objects.get(pk=customer.pk).last_message_at == last_message_at
    assert last_delivery().verdict == WebhookVerdict.PROCESSED


@pytest.mark.django_db
def test_an_echo_goes_to_the_latest_interaction_when_none_is_live(client, page):
    received = customer_writes(page.workgroup)
    services.disconnect(interaction_id=received.interaction.pk, agent=None)
    assert post(client, fresh("echo_from_page_inbox.json")).status_code == 200
    assert Interaction.objects.count() == 1
    assert Message.objects.get(mid="m_E0001").interaction == received.interaction


@pytest.mark.django_db
def test_an_echo_to_a_customer_without_interaction_is_only_stored(client, page):
    assert post(client, fresh("echo_from_page_inbox.json")).status_code == 200
    assert not Message.objects.exists()
    assert not Interaction.objects.exists()
    assert not Customer.objects.exists()
    assert last_delivery().verdict == WebhookVerdict.PROCESSED


@pytest.mark.django_db
@pytest.mark.parametrize("status", [MessageStatus.SENDING, MessageStatus.TIMED_OUT])
def test_the_echo_of_our_own_send_settles_it(client, page, status):
    interaction = customer_writes(page.workgroup).interaction
    ours = outbound(interaction, status=status)

    def from_our_app(body):
        message = first_item(body)["message"]
        message.update(mid="m_OURS1", app_id=int(OUR_APP_ID), metadata=str(ours.client_id))

    assert post(client, fresh("echo_from_page_inbox.json", edit=from_our_app)).status_code == 200
    ours.refresh_from_db()
    assert (ours.status, ours.mid) == (MessageStatus.SENT, "m_OURS1")
    assert Message.objects.filter(direction=MessageDirection.OUTBOUND).count() == 1


@pytest.mark.django_db
def test_an_echo_with_our_metadata_but_another_app_id_is_not_ours(client, page):
    interaction = customer_writes(page.workgroup).interaction
    ours = outbound(interaction, status=MessageStatus.TIMED_OUT)

    def other_app(body):
        first_item(body)["message"]["metadata"] = str(ours.client_id)

    assert post(client, fresh("echo_from_page_inbox.json", edit=other_app)).status_code == 200
    ours.refresh_from_db()
    assert ours.status == MessageStatus.TIMED_OUT
    assert Message.objects.get(mid="m_E0001").author is None


# --- delivery, read, reaction, edit ---------------------------------------------------------


@pytest.mark.django_db
def test_delivery_then_read_move_our_message_forward(client, page):
    interaction = customer_writes(page.workgroup).interaction
    message = outbound(interaction, status=MessageStatus.SENT, mid="m_OUT0001")
    unsent = outbound(interaction, status=MessageStatus.FAILED)

    assert post(client, fresh("delivery.json")).status_code == 200
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED

    assert post(client, fresh("read.json")).status_code == 200
    message.refresh_from_db()
    assert message.status == MessageStatus.READ

    # A late delivery never takes it back.
    assert post(client, fresh("delivery.json")).status_code == 200
    message.refresh_from_db()
    assert message.status == MessageStatus.READ
    unsent.refresh_from_db()
    assert unsent.status == MessageStatus.FAILED


@pytest.mark.django_db
def test_delivery_by_mid_and_by_watermark(client, page):
    interaction = customer_writes(page.workgroup).interaction
    named = outbound(
        interaction, status=MessageStatus.SENT, mid="m_OUT0001", sent_at=timezone.now()
    )
    older = outbound(interaction, status=MessageStatus.SENT, mid="m_OUT0000")
    later = outbound(
        interaction,
        status=MessageStatus.SENT,
        mid="m_OUT0002",
        sent_at=timezone.now() + timedelta(minutes=5),
    )

    def early_watermark(body):
        first_item(body)["delivery"]["watermark"] = now_ms() - 500

    assert post(client, fresh("delivery.json", edit=early_watermark)).status_code == 200
    statuses = {m.mid: m.status for m in Message.objects.filter(pk__in=[named.pk, older.pk])}
    assert statuses == {"m_OUT0001": MessageStatus.DELIVERED, "m_OUT0000": MessageStatus.DELIVERED}
    later.refresh_from_db()
    assert later.status == MessageStatus.SENT


@pytest.mark.django_db
def test_read_marks_only_this_customers_messages(client, page):
    ours = outbound(customer_writes(page.workgroup).interaction, status=MessageStatus.DELIVERED)
    other = customer_writes(page.workgroup, psid="7300000000000002").interaction
    theirs = outbound(other, status=MessageStatus.SENT)
    assert post(client, fresh("read.json")).status_code == 200
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert (ours.status, theirs.status) == (MessageStatus.READ, MessageStatus.SENT)


@pytest.mark.django_db
def test_a_reaction_is_stored(client, page):
    assert post(client, fresh("reaction.json")).status_code == 200
    assert last_delivery().verdict == WebhookVerdict.PROCESSED


@pytest.mark.django_db
def test_an_edit_replaces_the_text_and_keeps_the_old_one(client, page):
    assert post(client, fresh("text.json")).status_code == 200
    raw = fresh("message_edit.json")
    assert post(client, raw).status_code == 200
    assert post(client, raw).status_code == 200  # redelivered
    message = Message.objects.get(mid="m_AAAA0001")
    assert message.text == "Hi, my order #1043 has not arrived."
    (edit,) = message.attachments
    assert edit["type"] == "edit"
    assert edit["previous_text"] == "Hi, my order #1042 has not arrived."
    assert edit["num_edit"] == 1


@pytest.mark.django_db
def test_standby_events_are_recorded_without_messages(client, page):
    def to_standby(body):
        entry = body["entry"][0]
        entry["standby"] = entry.pop("messaging")

    assert post(client, fresh("text.json", edit=to_standby)).status_code == 200
    delivery = last_delivery()
    assert (delivery.verdict, delivery.event_count) == (WebhookVerdict.PROCESSED, 1)
    assert not Message.objects.exists()


# --- a bug while processing -------------------------------------------------------------------


def _fail_on_the_third_customer_message(handlers) -> list[str]:
    """Break routing through its handler table (a seam), as a bug would: always
    on the same message, the third one it is handed (however often it is tried)."""
    real = handlers.original(CustomerMessage)
    calls: list[str] = []

    def fails_on_the_third(page, event):
        calls.append(event.mid)
        seen = list(dict.fromkeys(calls))
        if len(seen) >= 3 and event.mid == seen[2]:
            raise RuntimeError("a bug")
        return real(page, event)

    handlers.replace(CustomerMessage, fails_on_the_third)
    return calls


def _due_now() -> None:
    WebhookDelivery.objects.filter(verdict=WebhookVerdict.PENDING).update(retry_at=None)


@pytest.mark.django_db
def test_an_unexpected_error_rolls_back_the_body_and_retries_it_later(
    client, page, inbound_handlers
):
    _fail_on_the_third_customer_message(inbound_handlers)
    raw = fresh("batched.json")
    # Stored before the answer, so Meta gets its 200 whatever routing does.
    assert post(client, raw).status_code == 200
    assert not Message.objects.exists()
    assert not Interaction.objects.exists()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.verdict, delivery.body, delivery.attempts) == (
        WebhookVerdict.PENDING,
        raw.decode(),
        1,
    )
    assert "a bug" in delivery.detail
    assert delivery.retry_at > timezone.now()
    # Not due yet: nothing is tried again before its time.
    assert ingest.route_due() == 0

    # Once the bug is gone, the retry stores everything once.
    inbound_handlers.restore()
    _due_now()
    assert ingest.route_due() == 1
    assert Message.objects.count() == 3
    delivery.refresh_from_db()
    assert delivery.verdict == WebhookVerdict.PROCESSED


@pytest.mark.django_db
def test_a_body_that_always_fails_is_given_up_and_blocks_nothing_behind_it(
    client, page, inbound_handlers
):
    calls = _fail_on_the_third_customer_message(inbound_handlers)
    poison = fresh("batched.json")
    assert post(client, poison).status_code == 200
    for _ in range(ingest.MAX_ATTEMPTS - 1):
        calls.clear()
        _due_now()
        ingest.route_due()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.verdict, delivery.attempts) == (WebhookVerdict.ERROR, ingest.MAX_ATTEMPTS)
    assert delivery.detail.startswith(f"Given up after {ingest.MAX_ATTEMPTS} attempt(s)")
    assert "a bug" in delivery.detail
    _due_now()
    assert ingest.route_due() == 0  # never retried on its own again

    # The bodies behind it are routed as usual.
    inbound_handlers.restore()
    later = fresh("text.json", edit=lambda body: first_item(body)["message"].update(mid="m_later"))
    assert post(client, later).status_code == 200
    assert Message.objects.filter(mid="m_later").exists()

    # A supervisor routes the given-up body again: what it holds is stored once.
    assert ingest.route_again(delivery_ids=[delivery.pk]) == 1
    ingest.route_due()
    delivery.refresh_from_db()
    assert delivery.verdict == WebhookVerdict.PROCESSED
    assert Message.objects.filter(direction=MessageDirection.INBOUND).count() == 4


@pytest.mark.django_db(transaction=True)
def test_a_message_dated_in_year_9999_is_taken_as_now_and_its_desktop_still_opens(client):
    workgroup = make_workgroup("Facebook DM")
    make_page(workgroup)
    agent = make_agent(workgroups=[workgroup])

    def far_future(body):
        first_item(body)["timestamp"] = 253_402_300_799_000  # 9999-12-31

    assert post(client, fresh("text.json", edit=far_future)).status_code == 200
    interaction = Interaction.objects.get()
    customer = interaction.customer
    assert customer.last_message_at <= timezone.now() + timedelta(hours=1)
    services.pickup(interaction_id=interaction.pk, agent=agent)
    desktop = Client()
    desktop.force_login(agent.user)
    page = desktop.get(f"/?interaction={interaction.pk}")
    assert page.status_code == 200
    assert "Hi, my order #1042 has not arrived." in page.content.decode()


@pytest.mark.django_db
def test_a_tapped_payload_or_a_keyword_sets_the_priority_the_rules_give(client, page):
    PriorityRule.objects.create(match=PriorityMatch.PAYLOAD, value="GET_STARTED", priority=4)
    PriorityRule.objects.create(
        match=PriorityMatch.KEYWORD, value="hello", priority=2, page_id=PAGE_ID
    )
    PriorityRule.objects.create(
        match=PriorityMatch.KEYWORD, value="hello", priority=9, page_id="100000000000999"
    )

    assert post(client, fresh("postback.json")).status_code == 200
    tapped = Interaction.objects.get()
    assert tapped.priority == 4

    def another_customer_says_hello(body):
        first_item(body)["sender"]["id"] = "7300000000000777"
        first_item(body)["message"]["text"] = "Hello there"

    assert post(client, fresh("text.json", edit=another_customer_says_hello)).status_code == 200
    assert Interaction.objects.exclude(pk=tapped.pk).get().priority == 2
