"""Every error code of Meta's Send API table, from the fake Graph API over real HTTP,
to the state and the words on the bubble."""

import pytest

from connect import fragments
from facebook import sender
from facebook.models import FacebookPage
from routing import services
from routing.models import MessageStatus

pytestmark = pytest.mark.django_db(transaction=True)

TEMPORARY = "Messenger had a temporary problem (tried 3 times)"
RATE_LIMITED = (
    "Messenger is limiting how fast this Page may send; try again shortly (tried 3 times)"
)
WINDOW_CLOSED = "Messenger's 24-hour reply window has closed"
UNAVAILABLE = "This person isn't available right now"

# fake mode → (stored error code, the words on the bubble, attempts made)
TABLE = {
    # retried with backoff a bounded number of times, then Resend
    "error_1": ("1/99", TEMPORARY, 3),
    "error_2": ("2", TEMPORARY, 3),
    "error_1200": ("1200", TEMPORARY, 3),
    "rate_limit_4": ("4", RATE_LIMITED, 3),
    "rate_limit_32": ("32", RATE_LIMITED, 3),
    "rate_limit": ("613", RATE_LIMITED, 3),
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


@pytest.mark.parametrize("mode", ["error_1200", "rate_limit_32"])
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
