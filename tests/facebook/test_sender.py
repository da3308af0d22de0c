"""The sender, end to end: a committed reply goes to the fake Graph API over real HTTP."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from facebook import sender
from facebook.models import FacebookPage
from routing import services
from routing.models import MessageStatus
from tests.facebook.conftest import PAGE_TOKEN

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_reply_is_sent_with_its_client_id_as_metadata(fake_graph_api, conversation):
    talk = conversation()

    message = talk.reply("Your parcel left the warehouse today.")

    assert message.status == MessageStatus.SENT
    [call] = fake_graph_api.message_calls()
    assert message.mid == call.message_id
    assert message.mid.startswith("m_fake_")
    assert (call.page_id, call.recipient_psid, call.answer_status) == (
        talk.page.page_id,
        talk.psid,
        200,
    )
    assert call.path == f"/fake-graph/v24.0/{talk.page.page_id}/messages"
    assert call.body == {
        "recipient": {"id": talk.psid},
        "messaging_type": "RESPONSE",
        "message": {
            "text": "Your parcel left the warehouse today.",
            "metadata": str(message.client_id),
        },
    }


def test_after_24_hours_the_reply_goes_as_human_agent(fake_graph_api, conversation):
    talk = conversation(last_written=timezone.now() - timedelta(days=2))

    message = talk.reply()

    assert message.status == MessageStatus.SENT
    assert message.messaging_type == "MESSAGE_TAG"
    [call] = fake_graph_api.message_calls()
    assert call.body["messaging_type"] == "MESSAGE_TAG"
    assert call.body["tag"] == "HUMAN_AGENT"


def test_an_unanswered_send_times_out_and_an_echo_settles_it(
    fake_graph_api, conversation, settings
):
    settings.FACEBOOK_SEND_TIMEOUT = 1
    fake_graph_api.mode("timeout")
    talk = conversation()

    message = talk.reply()

    assert message.status == MessageStatus.TIMED_OUT
    assert message.error_code == "timeout"
    assert message.error_message == (
        "Not confirmed by Messenger within 1 s. It may not have been sent."
    )
    # Not retried: the first attempt may well have gone out.
    assert len(fake_graph_api.message_calls()) == 1

    # Meta's echo carries the mid: the message did go out after all.
    services.record_sent(message_id=message.pk, mid="m_from_the_echo")
    message.refresh_from_db()
    assert (message.status, message.mid, message.error_message) == (
        MessageStatus.SENT,
        "m_from_the_echo",
        "",
    )


@pytest.mark.parametrize(
    ("mode", "code", "words"),
    [
        ("window_closed", "10/2018278", "Messenger's 24-hour reply window has closed"),
        ("unavailable", "551/1545041", "This person isn't available right now"),
    ],
)
def test_a_final_refusal_fails_at_once_with_words_for_the_agent(
    fake_graph_api, conversation, mode, code, words
):
    fake_graph_api.mode(mode)
    talk = conversation()

    message = talk.reply()

    assert message.status == MessageStatus.FAILED
    assert (message.error_code, message.error_message) == (code, words)
    assert message.mid is None
    assert len(fake_graph_api.message_calls()) == 1


def test_an_invalid_token_fails_and_marks_the_page(fake_graph_api, conversation):
    fake_graph_api.mode("token_invalid")
    talk = conversation()

    message = talk.reply()

    assert message.status == MessageStatus.FAILED
    assert message.error_code == "190/460"
    assert message.error_message == (
        "The Page's access token is invalid or expired: a supervisor must enter a new one"
    )
    assert FacebookPage.objects.get(pk=talk.page.pk).token_invalid
    assert len(fake_graph_api.message_calls()) == 1


@pytest.mark.parametrize(
    ("mode", "code", "words"),
    [
        ("error_1", "1/99", "Messenger had a temporary problem (tried 3 times)"),
        (
            "http_500",
            "http_500",
            "Messenger answered with a server error (HTTP 500) (tried 3 times)",
        ),
    ],
)
def test_a_passing_refusal_is_retried_then_fails(fake_graph_api, conversation, mode, code, words):
    fake_graph_api.mode(mode)
    talk = conversation()

    message = talk.reply()

    assert message.status == MessageStatus.FAILED
    assert (message.error_code, message.error_message) == (code, words)
    # The first attempt and two retries, all within the send timeout.
    assert len(fake_graph_api.message_calls()) == 3
    assert not FacebookPage.objects.get(pk=talk.page.pk).token_invalid


def test_a_message_settled_meanwhile_is_not_sent(fake_graph_api, conversation):
    talk = conversation()
    message = talk.reply()
    assert message.status == MessageStatus.SENT

    # A late OUTBOUND_READY for a message that is no longer `sending` changes nothing.
    sender.submit(message.pk)
    assert sender.wait_for_idle(timeout=5)
    assert len(fake_graph_api.message_calls()) == 1


def test_a_reply_for_a_page_no_longer_set_up_fails(fake_graph_api, conversation):
    talk = conversation()
    talk.page.delete()

    message = talk.reply()

    assert (message.status, message.error_code) == (MessageStatus.FAILED, "no_page")
    assert fake_graph_api.message_calls() == []


def test_the_page_token_never_reaches_the_logs(fake_graph_api, conversation, caplog):
    caplog.set_level(logging.DEBUG)
    # Even with httpx itself turned up, which logs every request URL.
    caplog.set_level(logging.DEBUG, logger="httpx")
    caplog.set_level(logging.DEBUG, logger="httpcore")
    talk = conversation()

    sent = talk.reply("First")
    fake_graph_api.mode("token_invalid")
    failed = talk.reply("Second")

    assert (sent.status, failed.status) == (MessageStatus.SENT, MessageStatus.FAILED)
    assert "HTTP Request" in caplog.text  # httpx did log the calls
    assert PAGE_TOKEN not in caplog.text
    assert PAGE_TOKEN not in failed.error_message
