"""Messenger personas, end to end: replies go to the fake Graph API over real HTTP
under the agent's persona, created once per agent and Page; a failed creation
never holds a reply back."""

import logging
import time
from datetime import timedelta

import httpx
import pytest
from django.db import transaction
from django.utils import timezone

from facebook import personas, sender
from facebook.models import MessengerPersona
from routing import services
from routing.models import AgentStatus, MessageStatus
from tests.factories import customer_writes, make_agent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def public_url(live_server, settings):
    """The live server is this project's public address: Meta fetches the picture there."""
    settings.PUBLIC_BASE_URL = live_server.url
    return live_server.url


def persona_calls(fake_graph_api):
    return [call for call in fake_graph_api.calls(method="POST") if call.path.endswith("/personas")]


def name_agent(agent, first_name: str, last_name: str = "Agent"):
    agent.user.first_name, agent.user.last_name = first_name, last_name
    agent.user.save()
    return agent


def test_replies_go_under_the_agents_persona_created_once(fake_graph_api, conversation, public_url):
    talk = conversation()
    name_agent(talk.agent, "Alice")

    first = talk.reply("Let me check that for you.")
    second = talk.reply("It left the warehouse today.")

    assert (first.status, second.status) == (MessageStatus.SENT, MessageStatus.SENT)
    [created] = persona_calls(fake_graph_api)
    picture = f"{public_url}/static/personas/agent.png"
    assert created.path == f"/fake-graph/v24.0/{talk.page.page_id}/personas"
    assert created.body == {"name": "Alice", "profile_picture_url": picture}
    assert created.answer == {"id": created.persona_id} and created.persona_id
    sends = fake_graph_api.message_calls()
    assert [call.persona_id for call in sends] == [created.persona_id] * 2
    assert sends[0].body["persona_id"] == created.persona_id
    persona = MessengerPersona.objects.get(page=talk.page, agent=talk.agent)
    assert (persona.persona_id, persona.name, persona.picture_url, persona.last_error) == (
        created.persona_id,
        "Alice",
        picture,
        "",
    )
    # The default picture is served where Meta is told to fetch it.
    served = httpx.get(picture)
    assert served.status_code == 200 and served.content.startswith(b"\x89PNG")


def test_each_agent_has_a_persona_of_their_own(fake_graph_api, conversation, public_url):
    talk = conversation()
    name_agent(talk.agent, "Alice")
    talk.reply("Hello from Alice.")
    bob = name_agent(make_agent(workgroups=[talk.page.workgroup]), "Bob")
    # Alice steps away, so the next customer is offered to Bob.
    services.set_agent_status(agent=talk.agent, status=AgentStatus.AWAY)
    other = customer_writes(talk.page.workgroup, psid="7300000000000043").interaction
    services.pickup(interaction_id=other.pk, agent=bob)
    with transaction.atomic():
        services.store_reply(interaction_id=other.pk, agent=bob, text="Hello from Bob.")
    assert sender.wait_for_idle(timeout=15)
    talk.reply("Alice again.")

    created = {call.body["name"]: call.persona_id for call in persona_calls(fake_graph_api)}
    assert set(created) == {"Alice", "Bob"} and len(set(created.values())) == 2
    sent = {
        call.body["message"]["text"]: call.persona_id for call in fake_graph_api.message_calls()
    }
    assert sent == {
        "Hello from Alice.": created["Alice"],
        "Hello from Bob.": created["Bob"],
        "Alice again.": created["Alice"],
    }


def test_a_refused_creation_sends_without_persona_and_is_tried_again_later(
    fake_graph_api, conversation, public_url, caplog
):
    talk = conversation()
    name_agent(talk.agent, "Alice")
    fake_graph_api.mode("persona_refused")

    with caplog.at_level(logging.WARNING, logger="facebook.personas"):
        refused = talk.reply("Sent while personas are refused.")

    assert refused.status == MessageStatus.SENT
    [send] = fake_graph_api.message_calls()
    assert send.persona_id == "" and "persona_id" not in send.body
    persona = MessengerPersona.objects.get(page=talk.page, agent=talk.agent)
    assert persona.persona_id == "" and persona.failures == 1
    assert persona.last_error.startswith("100: Messenger refused the message as invalid")
    assert "No persona for agent" in caplog.text

    # Right after a failure, replies do not wait for another try.
    fake_graph_api.mode("ok")
    talk.reply("Still without persona.")
    assert len(persona_calls(fake_graph_api)) == 1
    assert fake_graph_api.message_calls()[-1].persona_id == ""

    # A later reply tries again, and from then on the persona is used.
    MessengerPersona.objects.filter(pk=persona.pk).update(
        attempted_at=timezone.now() - personas.RETRY_AFTER - timedelta(seconds=1)
    )
    talk.reply("Now with persona.")
    assert len(persona_calls(fake_graph_api)) == 2
    persona.refresh_from_db()
    assert persona.persona_id and persona.last_error == ""
    assert fake_graph_api.message_calls()[-1].persona_id == persona.persona_id


def test_an_unanswered_creation_delays_the_reply_only_briefly(
    fake_graph_api, conversation, public_url, settings
):
    settings.FACEBOOK_SEND_TIMEOUT = 2  # a persona gets at most 0.4 s of it
    talk = conversation()
    fake_graph_api.mode("persona_late")

    started = time.monotonic()
    message = talk.reply("Sent although the persona did not answer.")

    assert time.monotonic() - started < 1.5
    assert message.status == MessageStatus.SENT
    assert fake_graph_api.message_calls()[0].persona_id == ""
    persona = MessengerPersona.objects.get(page=talk.page, agent=talk.agent)
    assert persona.last_error == "No answer from the Graph API within 0.8 s"
    assert persona.creating_until is None  # the next try is not held back by a claim


def test_a_page_with_personas_off_sends_as_the_page(fake_graph_api, conversation, public_url):
    talk = conversation()
    talk.page.personas_enabled = False
    talk.page.save()

    talk.reply()

    assert persona_calls(fake_graph_api) == []
    assert fake_graph_api.message_calls()[0].persona_id == ""
    assert not MessengerPersona.objects.exists()


def test_without_a_public_address_no_persona_is_made_and_admin_says_why(
    fake_graph_api, conversation, settings
):
    settings.PUBLIC_BASE_URL = ""
    talk = conversation()

    message = talk.reply()

    assert message.status == MessageStatus.SENT
    assert persona_calls(fake_graph_api) == []
    persona = MessengerPersona.objects.get(page=talk.page, agent=talk.agent)
    assert persona.last_error == personas.NO_PUBLIC_URL


def test_a_creation_under_way_elsewhere_is_not_repeated(fake_graph_api, conversation, public_url):
    talk = conversation()
    # Another process has claimed the creation and not finished yet.
    MessengerPersona.objects.create(
        page=talk.page, agent=talk.agent, creating_until=timezone.now() + timedelta(seconds=5)
    )

    talk.reply()

    assert persona_calls(fake_graph_api) == []
    assert fake_graph_api.message_calls()[0].persona_id == ""


def test_a_new_name_makes_a_new_persona(fake_graph_api, conversation, public_url):
    talk = conversation()
    name_agent(talk.agent, "Alice")
    talk.reply("As Alice.")
    name_agent(talk.agent, "Alicia")
    talk.reply("As Alicia.")

    assert [call.body["name"] for call in persona_calls(fake_graph_api)] == ["Alice", "Alicia"]
    persona = MessengerPersona.objects.get()
    assert persona.name == "Alicia"
    assert fake_graph_api.message_calls()[-1].persona_id == persona.persona_id
