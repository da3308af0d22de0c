"""The customer simulator: the page, the signed webhook body it posts, the mode switch."""

import json
import time

import httpx
import pytest
from asgiref.sync import iscoroutinefunction
from django.test import Client

from facebook.fake import graph as fake_graph
from facebook.fake import modes, simulator
from facebook.models import (
    FakeComment,
    FakeGraphCall,
    FakeGraphMode,
    FakeProfile,
    InstagramAccount,
    WebhookDelivery,
)
from facebook.webhook import signature_problem
from tests.factories import PAGE_ID, make_page, make_workgroup

pytestmark = pytest.mark.django_db

TOKEN = "simulator-test-token"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def page():
    return make_page(make_workgroup(), access_token=TOKEN)


@pytest.fixture
def webhook_catcher(webhook_catcher, settings):
    """The catcher, as the address the simulator posts its webhooks to."""
    settings.FACEBOOK_SIMULATOR_WEBHOOK_URL = f"http://{webhook_catcher.host}/facebook/webhook"
    return webhook_catcher


def simulator_posts(catcher) -> list:
    """What the simulator posted to the catcher: not Meta's echoes of the Page's own
    sends, which the fake Graph API posts to the same address a moment later."""
    assert fake_graph.echoes.wait_for_idle(10)
    return [request for request in catcher.requests if b'"is_echo"' not in request.body]


def send(client, catcher, *, name="Ana Silva", text="Where is my order?", page_id=PAGE_ID):
    # The simulator posts to FACEBOOK_SIMULATOR_WEBHOOK_URL: here, the catcher.
    return client.post(
        "/simulator/send",
        {"name": name, "page": page_id, "text": text},
        **HTMX,
    )


def test_the_page_shows_the_form_and_polls_the_conversation(client, page):
    response = client.get("/simulator/")

    assert response.status_code == 200
    html = response.content.decode()
    for words in (
        '<label for="sim-name">Your name</label>',
        '<label for="sim-text">Message</label>',
        ">Send to Page</button>",
        "Acme Support (100000000000001)",
        'hx-trigger="every 1s"',
        "/static/vendor/htmx-2.0.11.min.js",
        "/static/simulator/simulator.css",
    ):
        assert words in html


def test_the_view_calling_our_own_server_is_async():
    # Under daphne a sync view calling its own server would wait on itself.
    assert iscoroutinefunction(simulator.send)


def test_sending_posts_a_signed_messenger_body_to_the_webhook(
    client, page, webhook_catcher, settings
):
    before_ms = int(time.time() * 1000)

    response = send(client, webhook_catcher, text="Où est ma commande ? 📦")

    assert response.status_code == 200
    [request] = webhook_catcher.requests
    assert request.path == "/facebook/webhook"
    assert request.headers["Content-Type"] == "application/json"
    # The webhook's own check accepts it: the HMAC of exactly these bytes.
    assert signature_problem(request.body, request.headers["X-Hub-Signature-256"]) is None
    # Serialised as Meta does: non-ASCII escaped, so the signed bytes are plain ASCII.
    assert request.body.isascii()
    body = json.loads(request.body)
    psid = simulator.psid_for_name("Ana Silva")
    [entry] = body["entry"]
    [event] = entry["messaging"]
    assert body["object"] == "page"
    assert entry["id"] == PAGE_ID
    assert event["sender"] == {"id": psid}
    assert event["recipient"] == {"id": PAGE_ID}
    assert event["message"]["text"] == "Où est ma commande ? 📦"
    assert event["message"]["mid"].startswith("m_sim_")
    assert before_ms <= event["timestamp"] == entry["time"] <= int(time.time() * 1000)

    html = response.content.decode()
    assert "the webhook answered 200" in html
    assert 'hx-swap-oob="innerHTML"' in html
    assert "Où est ma commande ? 📦" in html


def test_the_same_name_is_the_same_person(client, page, webhook_catcher):
    send(client, webhook_catcher, name="Ana Silva")
    send(client, webhook_catcher, name="  ana   SILVA ")
    send(client, webhook_catcher, name="Ben Novak")

    bodies = [webhook_catcher.json(i) for i in range(3)]
    senders = [b["entry"][0]["messaging"][0]["sender"]["id"] for b in bodies]
    mids = {b["entry"][0]["messaging"][0]["message"]["mid"] for b in bodies}
    assert senders[0] == senders[1] != senders[2]
    assert all(len(psid) == 16 and psid.isdigit() for psid in senders)
    assert len(mids) == 3


def test_the_chosen_name_becomes_the_fake_profile(client, page, webhook_catcher):
    send(client, webhook_catcher, name="Chloé Dubois")

    profile = FakeProfile.objects.get(psid=simulator.psid_for_name("Chloé Dubois"))
    assert (profile.first_name, profile.last_name) == ("Chloé", "Dubois")


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"name": "", "text": "Hi"}, "Type your name first."),
        ({"name": "Ana", "text": "  "}, "Type a message first."),
        ({"name": "Ana", "text": "Hi", "page": "404"}, "Pick a Page."),
    ],
)
def test_incomplete_forms_are_refused_with_words(client, page, webhook_catcher, fields, words):
    data = {"page": PAGE_ID, **fields}

    response = client.post("/simulator/send", data, **HTMX)

    assert response.status_code == 400
    assert words in response.content.decode()
    assert webhook_catcher.requests == []


def test_without_javascript_sending_redirects_back_to_the_page(client, page, webhook_catcher):
    response = client.post("/simulator/send", {"name": "Ana", "page": PAGE_ID, "text": "Hi"})

    assert (response.status_code, response["Location"]) == (302, "/simulator/")
    page_html = client.get("/simulator/").content.decode()
    assert "the webhook answered 200" in page_html
    assert 'value="Ana"' in page_html


def test_the_conversation_shows_both_sides(client, page, webhook_catcher):
    send(client, webhook_catcher, name="Ana Silva", text="Where is my order?")
    psid = simulator.psid_for_name("Ana Silva")
    # The agent's replies, as the fake Graph API receives them.
    for text in ("It left today.", "Anything else?"):
        client.post(
            f"/fake-graph/v24.0/me/messages?access_token={TOKEN}",
            json.dumps(
                {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": {"text": text}}
            ),
            content_type="application/json",
        )
    modes.set_mode("window_closed")
    client.post(
        f"/fake-graph/v24.0/me/messages?access_token={TOKEN}",
        json.dumps(
            {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": {"text": "Late"}}
        ),
        content_type="application/json",
    )

    response = client.get("/simulator/conversation", {"name": "Ana Silva", "page": PAGE_ID})

    html = response.content.decode()
    assert response.status_code == 200
    assert psid in html
    for text in ("Where is my order?", "It left today.", "Anything else?", "Late"):
        assert text in html
    assert "Refused by the fake Graph API: (#10) This message is sent outside" in html
    # Someone else's conversation shows none of it.
    other = client.get("/simulator/conversation", {"name": "Ben", "page": PAGE_ID})
    assert "It left today." not in other.content.decode()


def test_typing_shows_until_the_reply_arrives(client, page):
    psid = simulator.psid_for_name("Ana")
    url = f"/fake-graph/v24.0/me/messages?access_token={TOKEN}"

    client.post(
        url,
        json.dumps({"recipient": {"id": psid}, "sender_action": "typing_on"}),
        content_type="application/json",
    )
    typing = client.get("/simulator/conversation", {"name": "Ana", "page": PAGE_ID})
    client.post(
        url,
        json.dumps(
            {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": {"text": "Hi"}}
        ),
        content_type="application/json",
    )
    replied = client.get("/simulator/conversation", {"name": "Ana", "page": PAGE_ID})

    assert "The Page is typing" in typing.content.decode()
    assert "The Page is typing" not in replied.content.decode()


def test_switching_the_fake_graph_mode_over_http():
    # A bare POST, as a script or benchmark would send it: no CSRF token needed.
    scripted = Client(enforce_csrf_checks=True)

    response = scripted.post("/simulator/fake-graph-mode", {"mode": "timeout"})

    assert response.status_code == 200
    assert response.json()["mode"] == "timeout"
    assert modes.current_mode() == "timeout"
    as_json = scripted.post(
        "/simulator/fake-graph-mode", {"mode": "rate_limit"}, content_type="application/json"
    )
    assert as_json.json()["mode"] == "rate_limit"
    assert scripted.get("/simulator/fake-graph-mode").json()["mode"] == "rate_limit"
    assert FakeGraphMode.objects.count() == 1


def test_switching_from_the_page_returns_the_control(client):
    response = client.post("/simulator/fake-graph-mode", {"mode": "window_closed"}, **HTMX)

    html = response.content.decode()
    assert '<option value="window_closed" selected>' in html
    assert "Switched: Reply window closed" in html
    assert modes.current_mode() == "window_closed"


def test_an_unknown_mode_is_refused(client):
    response = client.post("/simulator/fake-graph-mode", {"mode": "explode"})

    assert response.status_code == 400
    assert modes.current_mode() == "ok"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/simulator/"),
        ("post", "/simulator/send"),
        ("get", "/simulator/conversation"),
        ("post", "/simulator/fake-graph-mode"),
        ("post", "/simulator/feedback"),
    ],
)
def test_nothing_is_served_with_the_simulator_off(client, settings, method, path):
    settings.FACEBOOK_SIMULATOR = False

    assert getattr(client, method)(path, {"mode": "timeout"}).status_code == 404
    assert modes.current_mode() == "ok"


@pytest.mark.django_db(transaction=True)
def test_through_a_real_server_the_webhook_accepts_the_signature(
    live_server, fake_graph_api, page, settings
):
    """End to end over HTTP: the simulator posts to this same server's webhook."""
    # The live server is WSGI, with no ASGI scope to tell its own address.
    settings.FACEBOOK_SIMULATOR_WEBHOOK_URL = f"{live_server.url}/facebook/webhook"
    with httpx.Client(base_url=live_server.url, timeout=20) as browser:
        browser.get("/simulator/")
        response = browser.post(
            "/simulator/send",
            data={"name": "Ana Silva", "page": PAGE_ID, "text": "Hello from the simulator"},
            headers={"HX-Request": "true", "X-CSRFToken": browser.cookies["csrftoken"]},
        )

    assert response.status_code == 200
    # Whatever the webhook did with it, it did not refuse the signature or the envelope.
    assert "answered HTTP 403" not in response.text
    assert "answered HTTP 400" not in response.text
    assert "could not be reached" not in response.text
    if "the webhook answered 200" in response.text:
        # The webhook promises 200 only once the body is stored.
        assert WebhookDelivery.objects.filter(body__contains="Hello from the simulator").exists()


def test_a_reply_under_a_persona_shows_who_answered(client, page):
    psid = simulator.psid_for_name("Ana")
    created = client.post(
        f"/fake-graph/v24.0/me/personas?access_token={TOKEN}",
        json.dumps({"name": "Alice", "profile_picture_url": "https://example.com/alice.png"}),
        content_type="application/json",
    ).json()
    for text, persona in (("From Alice", created["id"]), ("From the Page", None)):
        body = {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": {"text": text}}
        if persona:
            body["persona_id"] = persona
        client.post(
            f"/fake-graph/v24.0/me/messages?access_token={TOKEN}",
            json.dumps(body),
            content_type="application/json",
        )

    html = client.get("/simulator/conversation", {"name": "Ana", "page": PAGE_ID}).content.decode()

    assert html.count("Alice from Acme Support") == 1
    assert 'src="https://example.com/alice.png"' in html
    # The reply without a persona is signed by the Page alone, after Alice's.
    assert html.index("From the Page") < html.index("Alice from Acme Support")


# --- where the customer came from, and the Page's bot ----------------------------------


def test_a_customer_from_an_ad_sends_the_ad_as_the_messages_referral(client, page, webhook_catcher):
    response = client.post(
        "/simulator/send",
        {"name": "Ana Silva", "page": PAGE_ID, "text": "Is it in blue?", "came_from": "ad"},
        **HTMX,
    )

    assert response.status_code == 200
    [item] = webhook_catcher.json()["entry"][0]["messaging"]
    assert item["message"]["text"] == "Is it in blue?"
    assert item["message"]["referral"] == {
        "source": "ADS",
        "type": "OPEN_THREAD",
        "ad_id": simulator.DEMO_AD_ID,
        "ads_context_data": simulator.DEMO_AD,
    }


def test_a_customer_from_an_m_me_link_comes_with_a_referral_event_and_its_ref(
    client, page, webhook_catcher
):
    client.post(
        "/simulator/send",
        {
            "name": "Ana Silva",
            "page": PAGE_ID,
            "text": "Hi",
            "came_from": "link",
            "ref": "spring-flyer",
        },
        **HTMX,
    )

    referral, message = webhook_catcher.json()["entry"][0]["messaging"]
    assert referral["referral"] == {
        "ref": "spring-flyer",
        "source": "SHORTLINK",
        "type": "OPEN_THREAD",
    }
    assert referral["timestamp"] < message["timestamp"]
    assert message["message"]["text"] == "Hi"


def test_the_bot_takes_the_conversation_and_the_customer_then_writes_in_standby(
    client, page, webhook_catcher, settings
):
    psid = simulator.psid_for_name("Ana Silva")

    response = client.post(
        "/simulator/bot",
        {"name": "Ana Silva", "page": PAGE_ID, "action": "take", "metadata": "Order bot"},
        **HTMX,
    )

    assert response.status_code == 200
    assert "Controls the conversation: <strong>The bot</strong>" in response.content.decode()
    [item] = webhook_catcher.json()["entry"][0]["messaging"]
    assert item["sender"] == {"id": psid}
    assert item["take_thread_control"] == {
        "new_owner_app_id": fake_graph.DEMO_BOT_APP_ID,
        "previous_owner_app_id": None,
        "metadata": "Order bot",
    }
    assert fake_graph.thread_owner(PAGE_ID, psid) == fake_graph.DEMO_BOT_APP_ID

    send(client, webhook_catcher, text="Still there?")
    entry = webhook_catcher.json()["entry"][0]
    assert "messaging" not in entry
    assert entry["standby"][0]["message"]["text"] == "Still there?"

    client.post("/simulator/bot", {"name": "Ana Silva", "page": PAGE_ID, "action": "pass"}, **HTMX)
    passed = webhook_catcher.json()["entry"][0]["messaging"][0]["pass_thread_control"]
    assert passed["new_owner_app_id"] == settings.FACEBOOK_APP_ID
    assert passed["previous_owner_app_id"] == fake_graph.DEMO_BOT_APP_ID

    client.post(
        "/simulator/bot", {"name": "Ana Silva", "page": PAGE_ID, "action": "request"}, **HTMX
    )
    asked = webhook_catcher.json()["entry"][0]["messaging"][0]["request_thread_control"]
    assert asked == {"requested_owner_app_id": fake_graph.DEMO_BOT_APP_ID}


def test_the_bot_needs_a_customer_and_an_action_it_knows(client, page, webhook_catcher):
    no_name = client.post("/simulator/bot", {"page": PAGE_ID, "action": "take"}, **HTMX)
    odd = client.post(
        "/simulator/bot", {"name": "Ana Silva", "page": PAGE_ID, "action": "dance"}, **HTMX
    )
    assert no_name.status_code == odd.status_code == 400
    assert "Type the customer&#x27;s name first." in no_name.content.decode()
    assert "The bot can take, pass or request a conversation." in odd.content.decode()
    assert webhook_catcher.requests == []


# --- the customer feedback survey ---------------------------------------------------


SURVEY = {
    "template_type": "customer_feedback",
    "title": "How did we do?",
    "subtitle": "One question and, if you like, a comment.",
    "button_title": "Rate your experience",
    "feedback_screens": [
        {
            "questions": [
                {
                    "id": "csat",
                    "type": "csat",
                    "title": "How satisfied are you with the help you got?",
                    "score_label": "neg_pos",
                    "score_option": "five_stars",
                    "follow_up": {"type": "free_form", "placeholder": "Anything to add?"},
                }
            ]
        }
    ],
    "business_privacy": {"url": "https://acme.example/privacy"},
    "expires_in_days": 3,
}


def page_sends_survey(client, psid: str, **changes) -> dict:
    body = {
        "recipient": {"id": psid},
        "messaging_type": "RESPONSE",
        "message": {"attachment": {"type": "template", "payload": {**SURVEY, **changes}}},
    }
    response = client.post(
        f"/fake-graph/v24.0/me/messages?access_token={TOKEN}",
        json.dumps(body),
        content_type="application/json",
    )
    return response.json()


def test_the_customer_answers_the_survey_with_a_signed_messaging_feedback(
    client, page, webhook_catcher
):
    psid = simulator.psid_for_name("Ana Silva")
    assert "message_id" in page_sends_survey(client, psid)
    shown = client.get("/simulator/conversation", {"name": "Ana Silva", "page": PAGE_ID})
    html = shown.content.decode()
    assert "How did we do?" in html
    assert "<legend>How satisfied are you with the help you got?</legend>" in html
    assert 'value="4" required> 4 stars</label>' in html
    assert 'value="1" required> 1 star</label>' in html
    assert 'placeholder="Anything to add?"' in html
    call_id = FakeGraphCall.objects.get(recipient_psid=psid).pk

    answer = {"name": "Ana Silva", "page": PAGE_ID, "call": call_id, "score": "4"}
    response = client.post("/simulator/feedback", {**answer, "comment": "Kind"}, **HTMX)

    assert response.status_code == 200
    assert "You rated 4 out of 5: “Kind”" in response.content.decode()
    [request] = simulator_posts(webhook_catcher)
    assert signature_problem(request.body, request.headers["X-Hub-Signature-256"]) is None
    [item] = json.loads(request.body)["entry"][0]["messaging"]
    assert item["sender"] == {"id": psid}
    assert item["messaging_feedback"] == {
        "feedback_screens": [
            {
                "screen_id": 0,
                "questions": {
                    "csat": {
                        "type": "csat",
                        "payload": "4",
                        "follow_up": {"type": "free_form", "payload": "Kind"},
                    }
                },
            }
        ]
    }
    again = client.post("/simulator/feedback", answer, **HTMX)
    assert again.status_code == 400
    assert "You already answered this survey." in again.content.decode()
    assert len(simulator_posts(webhook_catcher)) == 1


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"score": "6"}, "Choose from 1 to 5 stars."),
        ({"call": "999999"}, "There is no such survey for this customer."),
        ({"name": "Ben"}, "There is no such survey for this customer."),
    ],
)
def test_a_wrong_answer_is_refused_with_words(client, page, webhook_catcher, changes, words):
    psid = simulator.psid_for_name("Ana Silva")
    page_sends_survey(client, psid)
    call_id = FakeGraphCall.objects.get(recipient_psid=psid).pk
    answer = {"name": "Ana Silva", "page": PAGE_ID, "call": call_id, "score": "3", **changes}

    response = client.post("/simulator/feedback", answer, **HTMX)

    assert response.status_code == 400
    assert words in response.content.decode()
    assert simulator_posts(webhook_catcher) == []


def test_the_fake_graph_refuses_a_survey_without_a_privacy_link(client, page):
    psid = simulator.psid_for_name("Ana Silva")
    answer = page_sends_survey(client, psid, business_privacy={})
    assert answer["error"]["message"] == "(#100) param business_privacy[url] is required"
    shown = client.get("/simulator/conversation", {"name": "Ana Silva", "page": PAGE_ID})
    assert "How did we do?" not in shown.content.decode()


# --- a comment and an Instagram message ---------------------------------------------


def test_a_comment_posts_the_feed_webhook_and_remembers_who_commented(
    client, page, webhook_catcher
):
    response = client.post(
        "/simulator/send",
        {"name": "Ana Silva", "page": PAGE_ID, "text": "Still in stock?", "channel": "comment"},
        **HTMX,
    )

    assert response.status_code == 200
    [request] = webhook_catcher.requests
    assert signature_problem(request.body, request.headers["X-Hub-Signature-256"]) is None
    [entry] = json.loads(request.body)["entry"]
    assert entry["id"] == PAGE_ID
    [change] = entry["changes"]
    value = change["value"]
    assert (change["field"], value["item"], value["verb"]) == ("feed", "comment", "add")
    assert value["message"] == "Still in stock?"
    assert value["from"] == {
        "id": simulator.commenter_id_for_name("Ana Silva"),
        "name": "Ana Silva",
    }
    assert value["post_id"] == f"{PAGE_ID}{simulator.DEMO_POST_SUFFIX}"
    # Meta knows the commenter's Messenger PSID: the private reply reaches it.
    commented = FakeComment.objects.get(comment_id=value["comment_id"])
    assert commented.psid == simulator.psid_for_name("Ana Silva")


def test_an_instagram_message_goes_to_the_pages_linked_account(client, page, webhook_catcher):
    InstagramAccount.objects.create(account_id="17841400000000001", page=page)

    response = client.post(
        "/simulator/send",
        {"name": "Ana Silva", "page": PAGE_ID, "text": "Hi on Instagram", "channel": "instagram"},
        **HTMX,
    )

    assert response.status_code == 200
    body = json.loads(webhook_catcher.requests[0].body)
    assert body["object"] == "instagram"
    [entry] = body["entry"]
    assert entry["id"] == "17841400000000001"
    [item] = entry["messaging"]
    igsid = simulator.igsid_for_name("Ana Silva")
    assert item["sender"] == {"id": igsid}
    assert item["recipient"] == {"id": "17841400000000001"}
    assert item["message"]["text"] == "Hi on Instagram"
    profile = FakeProfile.objects.get(psid=igsid)
    assert (profile.first_name, profile.instagram) == ("Ana", True)


def test_instagram_without_a_linked_account_says_so(client, page, webhook_catcher):
    response = client.post(
        "/simulator/send",
        {"name": "Ana Silva", "page": PAGE_ID, "text": "Hi", "channel": "instagram"},
        **HTMX,
    )

    assert response.status_code == 400
    assert "no Instagram account linked" in response.content.decode()
    assert webhook_catcher.requests == []
