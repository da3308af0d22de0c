"""The fake Graph API: Meta-like checks, recorded calls, and its modes."""

import json
import time

import pytest
from asgiref.sync import iscoroutinefunction

from facebook.fake import graph as fake_graph
from facebook.fake import modes
from facebook.models import FakeGraphCall, FakeGraphMode
from tests.factories import PAGE_ID, make_page, make_workgroup

pytestmark = pytest.mark.django_db

TOKEN = "fake-graph-test-token"
PSID = "7300000000000042"
MESSAGES = f"/fake-graph/v24.0/{PAGE_ID}/messages"
PERSONAS = f"/fake-graph/v24.0/{PAGE_ID}/personas"
PICTURE = "https://connect.example.com/static/personas/agent.png"


@pytest.fixture
def page():
    return make_page(make_workgroup(), access_token=TOKEN)


def text_body(text="Hello", **changes) -> dict:
    body = {"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": {"text": text}}
    body.update(changes)
    return body


def post(client, body, *, token=TOKEN, path=MESSAGES):
    query = f"?access_token={token}" if token is not None else ""
    return client.post(path + query, data=json.dumps(body), content_type="application/json")


def error_of(response) -> tuple:
    error = response.json()["error"]
    return error["code"], error.get("error_subcode")


def test_the_views_are_async_so_a_slow_answer_never_stalls_daphne():
    assert iscoroutinefunction(fake_graph.messages)
    assert iscoroutinefunction(fake_graph.profile)
    assert iscoroutinefunction(fake_graph.personas)


def test_a_text_message_is_answered_and_recorded(client, page):
    response = post(client, text_body())

    assert response.status_code == 200
    answer = response.json()
    assert answer["recipient_id"] == PSID
    assert answer["message_id"].startswith("m_fake_")
    assert len(answer["message_id"]) == len("m_fake_") + 32
    [call] = FakeGraphCall.objects.all()
    assert (call.method, call.path, call.page_id, call.recipient_psid) == (
        "POST",
        MESSAGES,
        PAGE_ID,
        PSID,
    )
    assert call.body["message"] == {"text": "Hello"}
    assert (call.answer_status, call.answer, call.message_id) == (
        200,
        answer,
        answer["message_id"],
    )
    assert TOKEN not in call.path


def test_the_echo_goes_to_the_configured_webhook_never_to_the_host_the_request_named(
    client, page, settings, webhook_catcher
):
    # As the simulator's posts: a body signed with the app secret goes where the
    # operator said, not where a caller's Host header points (the bench's Meta
    # runs apart from the server its echoes are for).
    settings.FACEBOOK_SIMULATOR_WEBHOOK_URL = f"http://{webhook_catcher.host}/facebook/webhook"
    response = client.post(
        MESSAGES + f"?access_token={TOKEN}",
        data=json.dumps(text_body("Your parcel is on its way")),
        content_type="application/json",
    )

    assert response.status_code == 200
    assert fake_graph.echoes.wait_for_idle(10)
    [echo] = webhook_catcher.requests
    assert echo.path == "/facebook/webhook"
    item = json.loads(echo.body)["entry"][0]["messaging"][0]
    assert item["message"]["mid"] == response.json()["message_id"]
    assert item["message"]["is_echo"] is True


def test_me_stands_for_the_token_s_page(client, page):
    response = post(client, text_body(), path="/fake-graph/v24.0/me/messages")

    assert response.status_code == 200
    assert FakeGraphCall.objects.get().page_id == PAGE_ID


def test_another_page_s_id_in_the_path_is_refused(client, page):
    response = post(client, text_body(), path="/fake-graph/v24.0/999/messages")

    assert (response.status_code, error_of(response)) == (400, (100, None))


@pytest.mark.parametrize("token", [None, "", "not-a-page-token"])
def test_a_missing_or_unknown_token_is_error_190(client, page, token):
    response = post(client, text_body(), token=token)

    assert response.status_code == 400
    assert error_of(response) == (190, None)
    assert response.json()["error"]["type"] == "OAuthException"
    assert response.json()["error"]["fbtrace_id"]
    call = FakeGraphCall.objects.get()
    assert (call.page_id, call.answer_status) == ("", 400)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(text_body("x" * 2000), id="text of 2000 characters"),
        pytest.param({"messaging_type": "RESPONSE", "message": {"text": "Hi"}}, id="no recipient"),
        pytest.param(text_body(recipient={}), id="recipient without id"),
        pytest.param({"recipient": {"id": PSID}, "message": {"text": "Hi"}}, id="no type"),
        pytest.param(text_body(messaging_type="MESSAGE_TAG"), id="MESSAGE_TAG without a tag"),
        pytest.param(text_body(message={}), id="empty message"),
        pytest.param(text_body(sender_action="dance"), id="unknown sender action"),
    ],
)
def test_meta_s_parameter_checks_answer_error_100(client, page, body):
    response = post(client, body)

    assert (response.status_code, error_of(response)) == (400, (100, None))
    assert FakeGraphCall.objects.get().answer_status == 400


def test_1999_characters_are_accepted(client, page):
    assert post(client, text_body("x" * 1999)).status_code == 200


def test_a_body_that_is_not_json_is_refused(client, page):
    response = client.post(
        f"{MESSAGES}?access_token={TOKEN}", data="recipient=1", content_type="text/plain"
    )
    assert (response.status_code, error_of(response)) == (400, (100, None))


def test_a_sender_action_gets_no_message_id(client, page):
    response = post(client, {"recipient": {"id": PSID}, "sender_action": "typing_on"})

    assert response.status_code == 200
    assert response.json() == {"recipient_id": PSID}


def test_without_a_mode_row_it_answers_normally(client, page):
    assert not FakeGraphMode.objects.exists()
    assert modes.current_mode() == "ok"
    assert post(client, text_body()).status_code == 200


@pytest.mark.parametrize(
    ("mode", "status", "error"),
    [
        ("error_1", 500, (1, 99)),
        ("rate_limit", 400, (613, None)),
        ("window_closed", 400, (10, 2018278)),
        ("unavailable", 400, (551, 1545041)),
        ("token_invalid", 400, (190, 460)),
    ],
)
def test_error_modes(client, page, mode, status, error):
    # In-process, as a test would: the row itself.
    FakeGraphMode.objects.create(mode=mode)

    response = post(client, text_body())

    assert (response.status_code, error_of(response)) == (status, error)
    call = FakeGraphCall.objects.get()
    assert (call.answer_status, call.message_id) == (status, "")


def test_http_500_mode_answers_an_html_page(client, page):
    modes.set_mode("http_500")

    response = post(client, text_body())

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert b"<html" in response.content
    assert FakeGraphCall.objects.get().answer_status == 500


def test_set_mode_keeps_a_single_current_mode():
    modes.set_mode("rate_limit")
    modes.set_mode("window_closed")

    assert FakeGraphMode.objects.count() == 1
    assert modes.current_mode() == "window_closed"
    with pytest.raises(ValueError):
        modes.set_mode("explode")


def test_timeout_mode_records_at_once_and_answers_late(client, page, settings):
    settings.FACEBOOK_SEND_TIMEOUT = 0.1
    modes.set_mode("timeout")

    started = time.monotonic()
    response = post(client, text_body())

    assert time.monotonic() - started >= settings.FACEBOOK_SEND_TIMEOUT + 1
    assert response.status_code == 200
    assert FakeGraphCall.objects.get().message_id == response.json()["message_id"]


# --- the User Profile API ----------------------------------------------------------


def get_profile(client, psid=PSID, token=TOKEN, fields="first_name,last_name,profile_pic"):
    return client.get(f"/fake-graph/v24.0/{psid}", {"fields": fields, "access_token": token})


def test_a_profile_uses_the_name_the_simulator_user_chose(client, page):
    fake_graph.remember_profile(psid=PSID, name="Chloé  Dubois")

    response = get_profile(client)

    assert response.status_code == 200
    answer = response.json()
    assert (answer["id"], answer["first_name"], answer["last_name"]) == (PSID, "Chloé", "Dubois")
    assert answer["profile_pic"].startswith("http://testserver/static/")
    call = FakeGraphCall.objects.get()
    assert (call.method, call.recipient_psid, call.page_id) == ("GET", PSID, PAGE_ID)


def test_a_profile_answers_only_the_fields_asked(client, page):
    answer = get_profile(client, fields="first_name").json()

    assert set(answer) == {"id", "first_name"}
    assert answer["first_name"] in fake_graph.FIRST_NAMES


def test_a_profile_needs_a_known_token(client, page):
    response = get_profile(client, token="nope")

    assert (response.status_code, error_of(response)) == (400, (190, None))


@pytest.mark.parametrize(
    ("mode", "error"),
    [("no_profile", (100, 2018218)), ("token_invalid", (190, 460)), ("rate_limit", (613, None))],
)
def test_profile_refusals(client, page, mode, error):
    modes.set_mode(mode)

    response = get_profile(client)

    assert (response.status_code, error_of(response)) == (400, error)


def test_send_only_refusals_leave_profiles_alone(client, page):
    modes.set_mode("window_closed")

    assert get_profile(client).status_code == 200


@pytest.mark.parametrize("path", [MESSAGES, f"/fake-graph/v24.0/{PSID}", PERSONAS])
def test_nothing_is_served_with_the_simulator_off(client, page, settings, path):
    settings.FACEBOOK_SIMULATOR = False

    assert client.get(f"{path}?access_token={TOKEN}").status_code == 404
    assert post(client, text_body(), path=path).status_code == 404
    assert not FakeGraphCall.objects.exists()


# --- personas ---------------------------------------------------------------------


def test_a_persona_is_created_and_recorded_with_its_id(client, page):
    response = post(client, {"name": "Alice", "profile_picture_url": PICTURE}, path=PERSONAS)

    assert response.status_code == 200
    persona_id = response.json()["id"]
    assert persona_id.isdigit()
    [call] = FakeGraphCall.objects.all()
    assert (call.path, call.page_id, call.persona_id, call.body) == (
        PERSONAS,
        PAGE_ID,
        persona_id,
        {"name": "Alice", "profile_picture_url": PICTURE},
    )
    assert fake_graph.personas_of(PAGE_ID) == {
        persona_id: fake_graph.FakePersona(name="Alice", picture_url=PICTURE)
    }


@pytest.mark.parametrize(
    ("body", "token", "path", "error"),
    [
        ({"profile_picture_url": PICTURE}, TOKEN, PERSONAS, "(#100) The parameter name is"),
        ({"name": "Alice"}, TOKEN, PERSONAS, "(#100) The parameter profile_picture_url"),
        ({"name": "Alice", "profile_picture_url": "agent.png"}, TOKEN, PERSONAS, "(#100)"),
        ({"name": "Alice", "profile_picture_url": PICTURE}, "nope", PERSONAS, "Invalid OAuth"),
        (
            {"name": "Alice", "profile_picture_url": PICTURE},
            TOKEN,
            "/fake-graph/v24.0/999/personas",
            "(#100) The access token does not belong",
        ),
    ],
)
def test_a_persona_meta_would_refuse_is_refused(client, page, body, token, path, error):
    response = post(client, body, token=token, path=path)

    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(error)
    assert fake_graph.personas_of(PAGE_ID) == {}


def test_sends_and_sender_actions_record_their_persona(client, page):
    post(client, text_body(persona_id="4242"))
    post(client, {"recipient": {"id": PSID}, "sender_action": "typing_on", "persona_id": "4242"})
    post(client, text_body())

    assert [call.persona_id for call in FakeGraphCall.objects.order_by("id")] == [
        "4242",
        "4242",
        "",
    ]
