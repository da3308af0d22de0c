"""Conversation routing over real HTTP: the fake Graph API keeps which app controls each
conversation, refuses our sends with 2018300 while a bot has it, takes and passes
control, and Meta's handover webhooks reach us signed, as from Meta."""

import time

import httpx
import pytest
from django.conf import settings
from django.test import Client

from connect import fragments
from facebook import sender, thread_control
from facebook.fake import graph as fake_graph
from facebook.fake import webhooks
from facebook.models import FacebookPage
from routing import services
from routing.models import Customer, Interaction, InteractionEvent, Message, MessageStatus
from routing.rules import reply_window
from tests.factories import make_page, make_workgroup

pytestmark = pytest.mark.django_db(transaction=True)

BOT = fake_graph.DEMO_BOT_APP_ID


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


def meta_posts(live_server, body: dict) -> None:
    """Meta posts a webhook body to us, signed with the app secret."""
    url = f"{live_server.url}/facebook/webhook"
    response = webhooks.post(url, body, secret=settings.FACEBOOK_APP_SECRET)
    assert response.status_code == 200


def owner_of(talk) -> str:
    return Customer.objects.get(page_id=talk.page.page_id, psid=talk.psid).thread_owner_app_id


def workspace_html(talk) -> str:
    return fragments.workspace(talk.agent, Interaction.objects.get(pk=talk.interaction_id))


def logged_in(agent) -> Client:
    client = Client()
    client.force_login(agent.user)
    return client


def test_a_bot_owning_the_thread_the_agent_taking_over_and_passing_back(
    fake_graph_api, conversation, live_server
):
    talk = conversation()
    page_id = talk.page.page_id
    FacebookPage.objects.filter(pk=talk.page.pk).update(primary_app_id=BOT)

    # The bot takes the conversation; Meta tells us (we lost control).
    meta_posts(
        live_server,
        fake_graph.bot_handover(
            "take_thread_control", page_id=page_id, psid=talk.psid, metadata="Order bot"
        ),
    )
    wait_until(lambda: owner_of(talk) == BOT)
    html = workspace_html(talk)
    assert "The Page&#x27;s primary app (app 100000000000888) controls this conversation" in html
    assert "The Page&#x27;s primary app (app 100000000000888) took the conversation: Order bot" in (
        html
    )

    # Our reply is refused with 2018300; the bubble offers Take over.
    refused = talk.reply("Hello, Ann here.")
    assert (refused.status, refused.error_code) == (MessageStatus.FAILED, "2018300")
    assert refused.error_message == "Another app controls this conversation right now"
    bubble = fragments.bubble(refused, oob=False)
    assert ">Take over</button>" in bubble
    assert 'aria-label="Reason for taking over"' in bubble
    assert f'hx-post="/interactions/{talk.interaction_id}/take-thread-control"' in bubble

    # The agent takes the conversation over, saying why.
    agent_desk = logged_in(talk.agent)
    response = agent_desk.post(
        f"/interactions/{talk.interaction_id}/take-thread-control",
        {"reason": "The customer asked for a person"},
    )
    assert response.status_code == 200
    [take] = fake_graph_api.calls(path__endswith="/take_thread_control")
    assert take.body == {
        "recipient": {"id": talk.psid},
        "metadata": "The customer asked for a person",
    }
    assert (take.answer_status, take.answer) == (200, {"success": True})
    assert fake_graph.thread_owner(page_id, talk.psid) == settings.FACEBOOK_APP_ID
    assert owner_of(talk) == ""
    assert 'class="thread-owner"' not in response.content.decode()
    took = InteractionEvent.objects.get(verb="thread_control", actor__isnull=False)
    assert took.actor == talk.agent.user
    assert took.detail["reason"] == "The customer asked for a person"
    assert Message.objects.filter(
        text=f"{talk.agent.display_name} took the conversation over from the Page's primary "
        "app (app 100000000000888): The customer asked for a person"
    ).exists()

    # Now the reply goes through.
    assert agent_desk.post(f"/messages/{refused.pk}/resend").status_code == 200
    assert sender.wait_for_idle(timeout=15)
    refused.refresh_from_db()
    assert refused.status == MessageStatus.SENT

    # Disconnect passes the conversation back to the Page's primary app.
    services.disconnect(interaction_id=talk.interaction_id, agent=talk.agent)
    assert thread_control.wait_for_idle(timeout=15)
    [passed] = fake_graph_api.calls(path__endswith="/pass_thread_control")
    assert passed.body == {
        "recipient": {"id": talk.psid},
        "target_app_id": BOT,
        "metadata": "The agent ended the conversation",
    }
    assert fake_graph.thread_owner(page_id, talk.psid) == BOT
    assert owner_of(talk) == BOT
    assert Message.objects.filter(
        text="The conversation went back to the Page's primary app (app 100000000000888) "
        "when it ended."
    ).exists()


def test_the_bot_passing_the_conversation_and_asking_for_it_are_shown(
    fake_graph_api, conversation, live_server
):
    talk = conversation()
    page_id = talk.page.page_id
    meta_posts(
        live_server, fake_graph.bot_handover("take_thread_control", page_id=page_id, psid=talk.psid)
    )
    wait_until(lambda: owner_of(talk) == BOT)

    meta_posts(
        live_server,
        fake_graph.bot_handover(
            "pass_thread_control", page_id=page_id, psid=talk.psid, metadata="Wants a refund"
        ),
    )
    wait_until(lambda: owner_of(talk) == "")
    assert "The conversation was passed to this desktop by app 100000000000888: Wants a refund" in (
        workspace_html(talk)
    )
    assert talk.reply().status == MessageStatus.SENT

    meta_posts(
        live_server,
        fake_graph.bot_handover(
            "request_thread_control", page_id=page_id, psid=talk.psid, metadata="Order status"
        ),
    )
    wait_until(lambda: Message.objects.filter(text__startswith="App 100000000000888 asks").exists())
    assert "App 100000000000888 asks for the conversation: Order status" in workspace_html(talk)
    assert owner_of(talk) == ""  # a request changes nothing until we pass it


def test_a_refusal_without_any_handover_heard_still_shows_the_conversation_taken(
    fake_graph_api, conversation
):
    talk = conversation()
    fake_graph.set_thread_owner(talk.page.page_id, talk.psid, fake_graph.DEMO_BOT_APP_ID)

    assert talk.reply().error_code == "2018300"

    assert owner_of(talk) == "unknown"
    assert "Another app controls this conversation" in workspace_html(talk)


def test_a_take_over_meta_refuses_says_why(fake_graph_api, conversation):
    talk = conversation()
    fake_graph_api.mode("token_invalid")

    response = logged_in(talk.agent).post(
        f"/interactions/{talk.interaction_id}/take-thread-control", {"reason": ""}
    )

    assert response.status_code == 409
    assert "Could not take the conversation over: The Page&#x27;s access token is invalid" in (
        response.content.decode()
    )
    assert not InteractionEvent.objects.filter(verb="thread_control").exists()
    assert FacebookPage.objects.get(pk=talk.page.pk).token_invalid


def test_a_too_long_reason_is_refused_in_words(fake_graph_api, conversation):
    talk = conversation()
    response = logged_in(talk.agent).post(
        f"/interactions/{talk.interaction_id}/take-thread-control", {"reason": "x" * 301}
    )
    assert (response.status_code, response.content) == (
        400,
        b"Keep the reason under 300 characters.",
    )
    assert fake_graph_api.calls(path__endswith="/take_thread_control") == []


def test_without_a_primary_app_disconnect_passes_nothing(fake_graph_api, conversation):
    talk = conversation()
    services.disconnect(interaction_id=talk.interaction_id, agent=talk.agent)
    assert thread_control.wait_for_idle(timeout=15)
    assert fake_graph_api.calls(path__endswith="/pass_thread_control") == []


def test_the_fake_refuses_a_pass_without_a_target(fake_graph_api, conversation):
    talk = conversation()
    response = httpx.post(
        f"{fake_graph_api.url}/v24.0/{talk.page.page_id}/pass_thread_control",
        params={"access_token": talk.page.access_token},
        json={"recipient": {"id": talk.psid}},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 100
    assert fake_graph.thread_owner(talk.page.page_id, talk.psid) == ""


def test_standby_messages_tell_the_desktop_another_app_has_the_conversation(
    fake_graph_api, conversation, live_server
):
    talk = conversation()
    written = webhooks.customer_message(
        page_id=talk.page.page_id, psid=talk.psid, mid="m_standby_1", text="To the bot"
    )

    meta_posts(live_server, webhooks.envelope(written, page_id=talk.page.page_id, key="standby"))

    wait_until(lambda: owner_of(talk) == "unknown")
    assert "Another app controls this conversation" in workspace_html(talk)
    assert Message.objects.get(mid="m_standby_1").text == "To the bot"


def test_a_conversation_the_bot_had_from_the_start_is_queued_when_it_is_passed_to_us(
    fake_graph_api, live_server
):
    workgroup = make_workgroup()
    page = make_page(workgroup, access_token="bot-first-token")
    psid = "7300000000000099"
    fake_graph.set_thread_owner(page.page_id, psid, BOT)
    # The customer talks to the bot: we get it as standby, with no interaction to show it in.
    written = webhooks.customer_message(
        page_id=page.page_id, psid=psid, mid="m_to_the_bot", text="I need a person"
    )
    meta_posts(live_server, webhooks.envelope(written, page_id=page.page_id, key="standby"))
    wait_until(lambda: Customer.objects.filter(psid=psid, last_message_at__isnull=False).exists())
    assert not Interaction.objects.filter(customer__psid=psid).exists()

    meta_posts(
        live_server,
        fake_graph.bot_handover(
            "pass_thread_control", page_id=page.page_id, psid=psid, metadata="Asked for a person"
        ),
    )

    wait_until(lambda: Interaction.objects.filter(customer__psid=psid).exists())
    interaction = Interaction.objects.get(customer__psid=psid)
    assert (interaction.state, interaction.workgroup_id) == ("queued", workgroup.pk)
    assert list(interaction.messages.values_list("text", flat=True)) == [
        "The conversation was passed to this desktop by app 100000000000888: Asked for a person"
    ]
    assert reply_window(interaction.customer).messaging_type == "RESPONSE"
    assert fake_graph.thread_owner(page.page_id, psid) == settings.FACEBOOK_APP_ID
