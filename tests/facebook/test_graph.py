"""The Graph API client against the fake Graph API over real HTTP, and Meta's error table."""

import json
import socket

import pytest

from facebook import graph
from facebook.fake.graph import remember_profile
from facebook.graph import ErrorKind, GraphError, GraphTimeout
from facebook.models import FacebookPage
from tests.facebook.conftest import PAGE_TOKEN
from tests.factories import make_page, make_workgroup

PSID = "7300000000000042"


@pytest.fixture
def page():
    return make_page(make_workgroup(), access_token=PAGE_TOKEN)


@pytest.mark.django_db(transaction=True)
class TestAgainstTheFake:
    def test_send_text(self, fake_graph_api, page):
        result = graph.send_text(
            page=page, psid=PSID, text="Hello", messaging_type="RESPONSE", metadata="m-1"
        )

        [call] = fake_graph_api.calls()
        assert result == graph.SendResult(recipient_id=PSID, message_id=call.message_id)
        assert call.body == {
            "recipient": {"id": PSID},
            "messaging_type": "RESPONSE",
            "message": {"text": "Hello", "metadata": "m-1"},
        }

    def test_send_text_with_a_tag(self, fake_graph_api, page):
        graph.send_text(
            page=page, psid=PSID, text="Hi", messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT"
        )

        [call] = fake_graph_api.calls()
        assert call.body == {
            "recipient": {"id": PSID},
            "messaging_type": "MESSAGE_TAG",
            "tag": "HUMAN_AGENT",
            "message": {"text": "Hi"},
        }

    @pytest.mark.parametrize("action", ["typing_on", "typing_off", "mark_seen"])
    def test_sender_actions(self, fake_graph_api, page, action):
        graph.send_sender_action(page=page, psid=PSID, action=action)

        [call] = fake_graph_api.calls()
        assert call.body == {"recipient": {"id": PSID}, "sender_action": action}
        assert call.answer == {"recipient_id": PSID}

    def test_an_unknown_sender_action_is_not_sent(self, fake_graph_api, page):
        with pytest.raises(ValueError):
            graph.send_sender_action(page=page, psid=PSID, action="wave")
        assert fake_graph_api.calls() == []

    @pytest.mark.parametrize(
        ("mode", "kind", "code", "retryable"),
        [
            ("error_1", ErrorKind.TEMPORARY, "1/99", True),
            ("rate_limit", ErrorKind.RATE_LIMIT, "613", True),
            ("http_500", ErrorKind.SERVER_ERROR, "http_500", True),
            ("window_closed", ErrorKind.WINDOW_CLOSED, "10/2018278", False),
            ("unavailable", ErrorKind.UNAVAILABLE, "551/1545041", False),
            ("token_invalid", ErrorKind.TOKEN_INVALID, "190/460", False),
        ],
    )
    def test_refusals_are_typed(self, fake_graph_api, page, mode, kind, code, retryable):
        fake_graph_api.mode(mode)

        with pytest.raises(GraphError) as caught:
            graph.send_text(page=page, psid=PSID, text="Hello")

        error = caught.value
        assert (error.kind, error.error_code, error.retryable, error.final) == (
            kind,
            code,
            retryable,
            not retryable,
        )
        assert PAGE_TOKEN not in str(error)

    def test_an_unknown_token(self, fake_graph_api, page):
        stranger = FacebookPage(page_id=page.page_id, name="x", access_token="never-issued")

        with pytest.raises(GraphError) as caught:
            graph.send_text(page=stranger, psid=PSID, text="Hello")

        assert (caught.value.kind, caught.value.code, caught.value.final) == (
            ErrorKind.TOKEN_INVALID,
            190,
            True,
        )
        assert "never-issued" not in str(caught.value)

    def test_too_long_a_text_is_an_invalid_parameter(self, fake_graph_api, page):
        with pytest.raises(GraphError) as caught:
            graph.send_text(page=page, psid=PSID, text="x" * 2000)

        assert (caught.value.kind, caught.value.code) == (ErrorKind.INVALID_PARAMETER, 100)
        assert caught.value.reason.startswith("Messenger refused the message as invalid: (#100)")

    def test_no_answer_in_time_is_a_timeout(self, fake_graph_api, page, settings):
        settings.FACEBOOK_SEND_TIMEOUT = 1
        fake_graph_api.mode("timeout")

        with pytest.raises(GraphTimeout) as caught:
            graph.send_text(page=page, psid=PSID, text="Hello", timeout=0.3)

        assert caught.value.seconds == 0.3
        # Meta got it; only the answer was late.
        assert len(fake_graph_api.calls()) == 1

    def test_a_profile(self, fake_graph_api, page):
        remember_profile(psid=PSID, name="Ana Maria Silva")

        profile = graph.fetch_profile(page=page, psid=PSID)

        assert (profile.first_name, profile.last_name) == ("Ana", "Maria Silva")
        assert profile.profile_pic.endswith("/static/simulator/avatar.svg")
        [call] = fake_graph_api.calls()
        assert (call.method, call.path, call.recipient_psid, call.page_id) == (
            "GET",
            f"/fake-graph/v24.0/{PSID}",
            PSID,
            page.page_id,
        )
        assert call.body == {"fields": "first_name,last_name,profile_pic"}

    def test_a_profile_for_a_stranger_is_made_up_but_stable(self, fake_graph_api, page):
        first = graph.fetch_profile(page=page, psid="7300000000009999")
        again = graph.fetch_profile(page=page, psid="7300000000009999")

        assert first == again
        assert first.first_name and first.last_name

    def test_no_profile_is_a_typed_error(self, fake_graph_api, page):
        fake_graph_api.mode("no_profile")

        with pytest.raises(GraphError) as caught:
            graph.fetch_profile(page=page, psid=PSID)

        assert (caught.value.kind, caught.value.subcode, caught.value.final) == (
            ErrorKind.NO_PROFILE,
            2018218,
            True,
        )
        # Sending still works in that mode.
        graph.send_text(page=page, psid=PSID, text="Hello")


@pytest.mark.django_db
def test_an_unreachable_graph_api_is_a_retryable_network_error(settings, page):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.FACEBOOK_GRAPH_URL = f"http://127.0.0.1:{port}"  # nobody listens there

    with pytest.raises(GraphError) as caught:
        graph.send_text(page=page, psid=PSID, text="Hello")

    assert (caught.value.kind, caught.value.error_code, caught.value.retryable) == (
        ErrorKind.NETWORK,
        "network",
        True,
    )
    assert PAGE_TOKEN not in str(caught.value)


# --- Meta's error table, straight from parse_error --------------------------------


def _meta(code, subcode=None, **extra) -> bytes:
    error = {"message": "words", "type": "OAuthException", "code": code, **extra}
    if subcode is not None:
        error["error_subcode"] = subcode
    return json.dumps({"error": error}).encode()


@pytest.mark.parametrize(
    ("code", "subcode", "kind", "retryable"),
    [
        (1, None, ErrorKind.TEMPORARY, True),
        (2, None, ErrorKind.TEMPORARY, True),
        (1200, None, ErrorKind.TEMPORARY, True),
        (4, None, ErrorKind.RATE_LIMIT, True),
        (32, None, ErrorKind.RATE_LIMIT, True),
        (613, None, ErrorKind.RATE_LIMIT, True),
        (190, None, ErrorKind.TOKEN_INVALID, False),
        (10, 2018278, ErrorKind.WINDOW_CLOSED, False),
        (10, 2534022, ErrorKind.WINDOW_CLOSED, False),
        (10, 2018108, ErrorKind.CANNOT_RECEIVE, False),
        (551, None, ErrorKind.UNAVAILABLE, False),
        (200, 1545041, ErrorKind.UNAVAILABLE, False),
        (100, None, ErrorKind.INVALID_PARAMETER, False),
        (100, 2018001, ErrorKind.NO_MATCHING_USER, False),
        (100, 2018218, ErrorKind.NO_PROFILE, False),
        (2018300, None, ErrorKind.THREAD_CONTROL, False),
        (12345, None, ErrorKind.OTHER, False),
    ],
)
def test_meta_error_table(code, subcode, kind, retryable):
    error = graph.parse_error(400, _meta(code, subcode, fbtrace_id="AbC"))

    assert (error.kind, error.code, error.subcode, error.retryable) == (
        kind,
        code,
        subcode,
        retryable,
    )
    assert error.fbtrace_id == "AbC"


def test_an_unlisted_transient_error_is_retryable():
    assert graph.parse_error(400, _meta(99999, is_transient=True)).retryable


def test_a_5xx_without_json_is_a_retryable_server_error():
    error = graph.parse_error(502, b"<html>Bad gateway</html>")
    assert (error.kind, error.error_code, error.retryable) == (
        ErrorKind.SERVER_ERROR,
        "http_502",
        True,
    )


def test_a_4xx_without_json_is_final():
    assert graph.parse_error(404, b"not found").final


def test_a_token_echoed_in_meta_words_is_masked():
    body = _meta(100)[:-2] + b', "message": "bad access_token=abc123 for tok-xyz"}}'
    error = graph.parse_error(400, body, token="tok-xyz")
    assert "abc123" not in error.reason
    assert "tok-xyz" not in error.reason
