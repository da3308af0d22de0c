"""Every error code of Meta's Send API table, from the fake Graph API over real HTTP,
to the state and the words on the bubble."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.html import escape

from connect import fragments, messenger_fragments
from facebook import sender
from facebook.models import FacebookPage
from routing import services
from routing.models import Message, MessageStatus
from routing.services.timers import run_due_timers

pytestmark = pytest.mark.django_db(transaction=True)

TEMPORARY = "Messenger had a temporary problem (tried 3 times)"
WINDOW_CLOSED = "Messenger's 24-hour reply window has closed"
UNAVAILABLE = "This person isn't available right now"

# fake mode → (stored error code, the words on the bubble, attempts made)
TABLE = {
    # retried with backoff a bounded number of times, then Resend
    "error_1": ("1/99", TEMPORARY, 3),
    "error_2": ("2", TEMPORARY, 3),
    "error_1200": ("1200", TEMPORARY, 3),
    # rate limits (4, 32, 613) are held back and sent later: tests/facebook/test_rate_limits.py
    # final: said at once
    "window_closed": ("10/2018278", WINDOW_CLOSED, 1),
    "window_closed_2534022": ("10/2534022", WINDOW_CLOSED, 1),
    "cannot_receive": (
        "10/2018108",
        "This person can't receive messages from this Page right now",
        1,
    ),
    "unavailable": ("551/1545041", UNAVAILABLE, 1),
    "blocked": ("200/1545041", UNAVAILABLE, 1),
    "invalid_parameter": (
        "100",
        "Messenger refused the message as invalid: (#100) Invalid parameter",
        1,
    ),
    "no_matching_user": ("100/2018001", "Messenger knows no such person for this Page", 1),
    "thread_control": ("2018300", "Another app controls this conversation right now", 1),
    "token_invalid": (
        "190/460",
        "The Page's access token is invalid or expired: a supervisor must enter a new one",
        1,
    ),
}


@pytest.mark.parametrize("mode", list(TABLE))
def test_each_error_code_shows_its_state_and_words(fake_graph_api, conversation, mode):
    code, words, attempts = TABLE[mode]
    fake_graph_api.mode(mode)
    talk = conversation()

    message = talk.reply()

    assert message.status == MessageStatus.FAILED
    assert (message.error_code, message.error_message) == (code, words)
    assert message.mid is None
    assert len(fake_graph_api.message_calls()) == attempts
    html = fragments.bubble(message, oob=False)
    assert 'data-status="failed"' in html
    assert words.replace("'", "&#x27;") in html
    assert ">Resend</button>" in html and ">Delete</button>" in html
    assert FacebookPage.objects.get(pk=talk.page.pk).token_invalid == (mode == "token_invalid")


@pytest.mark.parametrize("mode", ["error_1200", "error_2"])
def test_after_a_passing_refusal_resend_gets_it_out(fake_graph_api, conversation, mode):
    fake_graph_api.mode(mode)
    talk = conversation()
    message = talk.reply()
    assert message.status == MessageStatus.FAILED

    fake_graph_api.mode("ok")
    services.resend(message_id=message.pk, agent=talk.agent)
    assert sender.wait_for_idle(timeout=10)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert "Resend" not in fragments.bubble(message, oob=False)


# How the Graph API misbehaves → what the agent is left with: the status, the
# buttons on the bubble, the calls made (never more on its own) and whether the
# workgroup's token banner is up.
MISBEHAVIOURS = {
    "ok": (MessageStatus.SENT, (), 1, False),
    "timeout": (MessageStatus.TIMED_OUT, ("Retry",), 1, False),  # hangs past the timeout
    "http_500": (MessageStatus.FAILED, ("Resend", "Delete"), 3, False),
    "token_invalid": (MessageStatus.FAILED, ("Resend", "Delete"), 1, True),  # code 190
}
BUTTONS = ("Retry", "Resend", "Delete")
TOKEN_BANNER = "Messenger refused the access token of the Page"


@pytest.mark.parametrize("mode", list(MISBEHAVIOURS))
def test_each_misbehaviour_ends_visible_in_bounded_time_and_is_never_repeated(
    fake_graph_api, conversation, settings, mode
):
    status, buttons, attempts, banner = MISBEHAVIOURS[mode]
    fake_graph_api.mode(mode)
    talk = conversation()

    started = time.monotonic()
    message = talk.reply()
    settled_after = time.monotonic() - started

    assert message.status == status
    # Retries back off inside the send timeout; a hang ends at it.
    assert settled_after < settings.FACEBOOK_SEND_TIMEOUT + 1.5
    html = fragments.bubble(message, oob=False)
    assert f'data-status="{message.status}"' in html
    assert [b for b in BUTTONS if f">{b}</button>" in html] == list(buttons)
    if buttons:
        assert message.error_message and escape(message.error_message) in html
    assert (TOKEN_BANNER in messenger_fragments.token_banner(talk.agent)) == banner
    assert len(fake_graph_api.message_calls()) == attempts

    # Nothing sends it again by itself: not the timers, not a late signal.
    Message.objects.filter(pk=message.pk, send_deadline__isnull=False).update(
        send_deadline=timezone.now() - timedelta(seconds=1)
    )
    run_due_timers()
    sender.submit(message.pk)
    assert sender.wait_for_idle(timeout=10)
    assert len(fake_graph_api.message_calls()) == attempts
