"""The one table of modes decides every answer of the fake Graph API and the simulator's switch."""

import json

import pytest

from facebook.fake import modes
from facebook.fake.modes import MODES, Answer, Call
from facebook.models import FakeGraphCall
from tests.factories import PAGE_ID, make_page, make_workgroup

pytestmark = pytest.mark.django_db

TOKEN = "fake-graph-modes-token"
PSID = "7300000000000043"
REFUSING = [name for name, mode in MODES.items() if mode.refusal is not None]


@pytest.fixture
def page():
    return make_page(make_workgroup(), access_token=TOKEN)


def send(client, body=None):
    body = body or {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "Hi"},
    }
    return client.post(
        f"/fake-graph/v24.0/{PAGE_ID}/messages?access_token={TOKEN}",
        data=json.dumps(body),
        content_type="application/json",
    )


def get_profile(client):
    return client.get(f"/fake-graph/v24.0/{PSID}", {"fields": "first_name", "access_token": TOKEN})


def create_persona(client):
    return client.post(
        f"/fake-graph/v24.0/{PAGE_ID}/personas?access_token={TOKEN}",
        data=json.dumps({"name": "Alice", "profile_picture_url": "https://example.com/a.png"}),
        content_type="application/json",
    )


def refused_as(response, refusal) -> bool:
    error = response.json().get("error")
    return error is not None and (
        response.status_code == refusal.status
        and error["code"] == refusal.code
        and error.get("error_subcode") == refusal.subcode
        and error.get("is_transient", False) == refusal.is_transient
        and error["message"] == refusal.message
    )


@pytest.mark.parametrize("name", REFUSING)
def test_each_refusing_mode_refuses_exactly_the_calls_it_names(client, page, name):
    mode = MODES[name]
    modes.set_mode(name)

    sent, profile, persona = send(client), get_profile(client), create_persona(client)

    assert mode.refusal is not None
    assert refused_as(sent, mode.refusal) == (Call.SEND in mode.refuses)
    assert refused_as(profile, mode.refusal) == (Call.PROFILE in mode.refuses)
    assert refused_as(persona, mode.refusal) == (Call.PERSONA in mode.refuses)
    if Call.SEND not in mode.refuses:
        assert sent.status_code == 200 and sent.json()["message_id"]
    if Call.PROFILE not in mode.refuses:
        assert profile.status_code == 200 and profile.json()["first_name"]
    if Call.PERSONA not in mode.refuses:
        assert persona.status_code == 200 and persona.json()["id"]
    assert FakeGraphCall.objects.count() == 3


@pytest.mark.parametrize("name", REFUSING)
def test_a_body_meta_would_reject_is_rejected_first_unless_the_token_is_refused(client, page, name):
    modes.set_mode(name)

    response = send(client, {"recipient": {"id": PSID}, "messaging_type": "SOMETIMES"})

    if MODES[name].before_checks:
        assert refused_as(response, MODES[name].refusal)
    else:
        assert response.status_code == 400
        assert response.json()["error"]["message"].startswith("(#100) param messaging_type")


def test_the_html_500_mode_answers_every_call_with_an_html_page(client, page):
    assert MODES["http_500"].answer == Answer.HTML_500
    modes.set_mode("http_500")

    for response in (send(client), get_profile(client), create_persona(client)):
        assert response.status_code == 500
        assert response["Content-Type"].startswith("text/html")


def test_the_simulator_offers_every_mode_in_the_tables_order(client):
    answer = client.get("/simulator/fake-graph-mode").json()

    assert answer == {"mode": "ok", "modes": list(MODES)}
    page = client.get("/simulator/").content.decode()
    for name, mode in MODES.items():
        assert f'<option value="{name}"' in page
        assert mode.label in page
