"""Meta's echo settles our sends: the fake Graph API posts it to our webhook over
real HTTP, signed, as Meta does; a timed-out bubble turns sent by itself, and
Retry never sends again what Meta already has."""

import json
import time

import pytest
from django.test import Client

from connect import fragments
from facebook import sender
from facebook.models import WebhookDelivery, WebhookVerdict
from routing import events, services
from routing.events import routing_event
from routing.models import Message, MessageDirection, MessageStatus
from routing.services import RoutingError
from tests.facebook.bodies import OUR_APP_ID

pytestmark = pytest.mark.django_db(transaction=True)


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


def status_of(message: Message) -> str:
    return Message.objects.values_list("status", flat=True).get(pk=message.pk)


@pytest.fixture
def published():
    seen = []

    def note(sender, event, **kwargs):
        seen.append(event)

    routing_event.connect(note, dispatch_uid="tests.echo.published")
    yield seen
    routing_event.disconnect(dispatch_uid="tests.echo.published")


def echoes_of(message: Message) -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.filter(body__contains=message.mid))


def test_every_accepted_message_comes_back_as_our_signed_echo(fake_graph_api, conversation):
    talk = conversation()

    message = talk.reply("Your parcel left the warehouse today.")

    # Stored, then routed by the request after its commit: wait for both.
    wait_until(lambda: [e.verdict for e in echoes_of(message)] == [WebhookVerdict.PROCESSED])
    [delivery] = echoes_of(message)
    item = json.loads(delivery.body)["entry"][0]["messaging"][0]
    assert item["sender"] == {"id": talk.page.page_id}
    assert item["recipient"] == {"id": talk.psid}
    assert item["message"] == {
        "mid": message.mid,
        "is_echo": True,
        "app_id": int(OUR_APP_ID),
        "text": "Your parcel left the warehouse today.",
        "metadata": str(message.client_id),
    }
    # Recognised as ours: no second row, no customer message.
    assert Message.objects.filter(direction=MessageDirection.OUTBOUND).count() == 1
    assert status_of(message) == MessageStatus.SENT


def test_a_timed_out_send_turns_sent_by_its_echo(fake_graph_api, conversation, settings, published):
    settings.FACEBOOK_SEND_TIMEOUT = 1
    fake_graph_api.mode("timeout")
    talk = conversation()

    message = talk.reply()

    assert message.status == MessageStatus.TIMED_OUT
    assert ">Retry</button>" in fragments.bubble(message, oob=False)
    published.clear()

    # Meta did send it: its echo arrives after the late answer, and settles it.
    wait_until(lambda: status_of(message) == MessageStatus.SENT)
    message.refresh_from_db()
    [call] = fake_graph_api.message_calls()
    assert (message.mid, message.error_message) == (call.message_id, "")
    html = fragments.bubble(message, oob=False)
    assert "Retry" not in html
    assert 'aria-label="Sent"' in html
    # The open desktop hears of it: published after the commit, so a moment after
    # the row reads sent.
    wait_until(
        lambda: any(
            event.type == events.EventType.MESSAGE_CHANGED and event.message_id == message.pk
            for event in published
        )
    )

    # A Retry clicked on a bubble not yet updated sends nothing, and shows it sent.
    with pytest.raises(RoutingError, match="Messenger has confirmed this message"):
        services.resend(message_id=message.pk, agent=talk.agent)
    browser = Client()
    browser.force_login(talk.agent.user)
    response = browser.post(f"/messages/{message.pk}/retry")
    assert response.status_code == 409
    assert 'data-status="sent"' in response.content.decode()
    assert "Retry" not in response.content.decode()
    assert len(fake_graph_api.message_calls()) == 1


def test_an_echo_arriving_while_a_retry_waits_stops_the_second_send(
    fake_graph_api, conversation, settings, sender_pool
):
    settings.FACEBOOK_SEND_TIMEOUT = 1
    fake_graph_api.mode("timeout")
    talk = conversation()
    message = talk.reply()
    assert message.status == MessageStatus.TIMED_OUT
    fake_graph_api.mode("ok")

    # The agent presses Retry; the send is queued behind others when the echo comes.
    sender_pool.pause()
    services.resend(message_id=message.pk, agent=talk.agent)
    assert (status_of(message), sender_pool.busy) == (MessageStatus.SENDING, True)
    wait_until(lambda: status_of(message) == MessageStatus.SENT)
    assert sender_pool.busy  # the send is still queued

    sender_pool.resume()
    assert sender.wait_for_idle(timeout=5)

    assert len(fake_graph_api.message_calls()) == 1
    assert status_of(message) == MessageStatus.SENT


def test_a_resent_message_whose_first_copy_went_out_ends_sent_and_is_not_resent_again(
    fake_graph_api, conversation, settings
):
    settings.FACEBOOK_SEND_TIMEOUT = 1
    fake_graph_api.mode("timeout")
    talk = conversation()
    message = talk.reply()
    # Retried while Meta still answers too late: both attempts time out.
    services.resend(message_id=message.pk, agent=talk.agent)
    assert sender.wait_for_idle(timeout=10)
    assert len(fake_graph_api.message_calls()) == 2

    # Both echoes arrive: the message is sent, once in our transcript.
    wait_until(lambda: len(WebhookDelivery.objects.all()) >= 2)
    wait_until(lambda: status_of(message) == MessageStatus.SENT)
    assert Message.objects.filter(direction=MessageDirection.OUTBOUND).count() == 1
    with pytest.raises(RoutingError):
        services.resend(message_id=message.pk, agent=talk.agent)
    assert len(fake_graph_api.message_calls()) == 2


def test_no_echo_for_what_meta_refused(fake_graph_api, conversation):
    fake_graph_api.mode("unavailable")
    talk = conversation()

    message = talk.reply()

    assert message.status == MessageStatus.FAILED
    time.sleep(0.3)
    assert not WebhookDelivery.objects.exists()
