"""The desktop's HTTP side: login, isolation between agents, actions and their errors."""

import pytest
from django.test import Client

from connect import fragments
from routing import services
from routing.models import (
    AgentStatus,
    InteractionState,
    Message,
    MessageStatus,
    PriorityMatch,
    PriorityRule,
)
from tests.factories import customer_writes, make_agent, make_page, make_workgroup, refresh

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def workgroup():
    group = make_workgroup("Facebook DM")
    make_page(group)
    return group


def logged_in(agent) -> Client:
    client = Client()
    client.force_login(agent.user)
    return client


def test_the_desktop_needs_a_login():
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_login_form_has_the_promised_fields(workgroup):
    make_agent("agent1", workgroups=[workgroup])
    page = Client().get("/accounts/login/").content.decode()
    assert 'name="username"' in page and 'name="password"' in page
    assert ">Log in<" in page
    response = Client().post(
        "/accounts/login/", {"username": "agent1", "password": "demo-pass"}, follow=False
    )
    assert response.status_code == 302 and response["Location"] == "/"


def test_the_desktop_lists_my_interactions_with_their_state(workgroup):
    agent = make_agent(workgroups=[workgroup])
    received = customer_writes(workgroup, text="Hello there")
    page = logged_in(agent).get("/").content.decode()
    assert f'id="interaction-{received.interaction.pk}"' in page
    assert 'data-state="alerting"' in page
    for name in ("Pickup", "Hold", "Transfer", "Record", "Disconnect"):
        assert f">{name}</button>" in page


def test_an_agent_cannot_open_or_act_on_another_agents_interaction(workgroup):
    owner = make_agent(workgroups=[workgroup])
    received = customer_writes(workgroup)
    services.pickup(interaction_id=received.interaction.pk, agent=owner)
    intruder = make_agent(workgroups=[workgroup])
    client = logged_in(intruder)
    pk = received.interaction.pk

    assert client.get(f"/interactions/{pk}/", **HTMX).status_code == 404
    page = client.get(f"/?interaction={pk}").content.decode()
    assert "Hello" not in page
    response = client.post(f"/interactions/{pk}/disconnect", **HTMX)
    assert response.status_code == 404
    assert "not yours" not in response.content.decode()
    assert "You cannot see this interaction." in response.content.decode()
    assert refresh(received.interaction).state == InteractionState.CONNECTED
    response = client.post(f"/interactions/{pk}/messages", {"text": "hi"}, **HTMX)
    assert response.status_code == 404
    assert not Message.objects.filter(direction="out").exists()


def test_pickup_hold_record_and_disconnect_through_the_toolbar(workgroup):
    agent = make_agent(workgroups=[workgroup])
    received = customer_writes(workgroup)
    client = logged_in(agent)
    pk = received.interaction.pk

    response = client.post(f"/interactions/{pk}/pickup", **HTMX)
    assert response.status_code == 200
    assert refresh(received.interaction).state == InteractionState.CONNECTED
    assert 'data-state="connected"' in response.content.decode()

    client.post(f"/interactions/{pk}/record", {"on": "1"}, **HTMX)
    assert refresh(received.interaction).recording is True
    assert 'aria-pressed="true"' in client.get(f"/interactions/{pk}/", **HTMX).content.decode()

    client.post(f"/interactions/{pk}/hold", **HTMX)
    assert refresh(received.interaction).state == InteractionState.HELD

    response = client.post(f"/interactions/{pk}/disconnect", **HTMX)
    assert refresh(received.interaction).state == InteractionState.DISCONNECTED
    assert 'data-state="disconnected"' in response.content.decode()


def test_a_refused_action_says_why_on_screen(workgroup):
    agent = make_agent(workgroups=[workgroup])
    received = customer_writes(workgroup)
    response = logged_in(agent).post(f"/interactions/{received.interaction.pk}/hold", **HTMX)
    assert response.status_code == 409
    assert 'role="alert"' in response.content.decode()
    assert "Cannot hold" in response.content.decode()


def test_send_stores_the_reply_and_shows_it_sending(workgroup):
    agent = make_agent(workgroups=[workgroup])
    received = customer_writes(workgroup)
    services.pickup(interaction_id=received.interaction.pk, agent=agent)
    response = logged_in(agent).post(
        f"/interactions/{received.interaction.pk}/messages",
        {"text": "We are on it", "client_id": "0b5c7a52-8a4b-4a67-9a7e-1f1c3b1f0a11"},
        **HTMX,
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "We are on it" in body
    message = Message.objects.get(direction="out")
    assert str(message.client_id) == "0b5c7a52-8a4b-4a67-9a7e-1f1c3b1f0a11"
    assert f'id="message-{message.pk}"' in body


def test_send_refuses_an_overlong_reply_and_keeps_the_text(workgroup):
    agent = make_agent(workgroups=[workgroup])
    received = customer_writes(workgroup)
    services.pickup(interaction_id=received.interaction.pk, agent=agent)
    text = "x" * 2500
    response = logged_in(agent).post(
        f"/interactions/{received.interaction.pk}/messages", {"text": text}, **HTMX
    )
    assert response.status_code == 422
    assert "at most 1999 characters" in response.content.decode()
    assert text in response.content.decode()
    assert not Message.objects.filter(direction="out").exists()


def test_failed_messages_offer_resend_and_delete(workgroup):
    agent = make_agent(workgroups=[workgroup])
    received = customer_writes(workgroup)
    services.pickup(interaction_id=received.interaction.pk, agent=agent)
    client = logged_in(agent)
    client.post(f"/interactions/{received.interaction.pk}/messages", {"text": "Same"}, **HTMX)
    client.post(f"/interactions/{received.interaction.pk}/messages", {"text": "Same"}, **HTMX)
    duplicate = Message.objects.get(status=MessageStatus.DUPLICATE)
    page = client.get(f"/interactions/{received.interaction.pk}/", **HTMX).content.decode()
    assert f'hx-post="/messages/{duplicate.pk}/resend"' in page
    assert f'hx-post="/messages/{duplicate.pk}/delete"' in page

    response = client.post(f"/messages/{duplicate.pk}/delete", **HTMX)
    assert response.status_code == 200
    duplicate.refresh_from_db()
    assert duplicate.deleted_at is not None

    again = client.post(f"/messages/{duplicate.pk}/resend", **HTMX)
    assert again.status_code == 409
    assert again.content.decode().startswith('<p class="error" role="alert">')


def test_status_change_from_the_desktop(workgroup):
    agent = make_agent(workgroups=[workgroup])
    response = logged_in(agent).post("/desktop/status", {"status": "away"}, **HTMX)
    assert response.status_code == 200
    agent.refresh_from_db()
    assert agent.status == AgentStatus.AWAY
    response = logged_in(agent).post("/desktop/status", {"status": "not_answering"}, **HTMX)
    assert response.status_code == 422
    assert response.content.decode() == (
        '<p class="error" role="alert">Choose one of the listed statuses.</p>'
    )


def test_healthz_answers_ok():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


def test_who_may_not_see_an_interaction_gets_one_answer_whatever_its_state(workgroup):
    owner = make_agent("owner", workgroups=[workgroup])
    outsider = logged_in(make_agent("outsider", workgroups=[make_workgroup("Elsewhere")]))
    connected = customer_writes(workgroup, psid="7300000000000501").interaction
    services.pickup(interaction_id=connected.pk, agent=owner)
    queued = customer_writes(workgroup, psid="7300000000000502").interaction
    ended = customer_writes(workgroup, psid="7300000000000503").interaction
    services.disconnect(interaction_id=ended.pk, agent=None)

    answers = set()
    for pk in (connected.pk, queued.pk, ended.pk, 999999):
        for action in ("pickup", "hold", "disconnect"):
            response = outsider.post(f"/interactions/{pk}/{action}", **HTMX)
            body = response.content.decode().replace(str(pk), "ID")
            answers.add((response.status_code, body))
    [(status, body)] = answers
    assert status == 404 and "You cannot see this interaction." in body

    # The owner still hears the precise reason.
    refused = logged_in(owner).post(f"/interactions/{connected.pk}/pickup", **HTMX)
    assert refused.status_code == 409 and "connected" in refused.content.decode()


def test_the_workgroup_queue_shows_the_higher_priority_first_with_its_badge(workgroup):
    PriorityRule.objects.create(match=PriorityMatch.KEYWORD, value="urgent", priority=5)
    agent = make_agent("agent1", workgroups=[workgroup], status=AgentStatus.AWAY)
    normal = customer_writes(workgroup, psid="7300000000000601", text="Hello").interaction
    urgent = customer_writes(workgroup, psid="7300000000000602", text="urgent!").interaction

    page = logged_in(agent).get("/").content.decode()
    pushed = fragments.workgroup_queue(workgroup.pk)  # what members' open desktops receive

    for html in (page.split('id="workgroup-queue"', 1)[1], pushed):
        assert html.index(f'id="queue-{urgent.pk}"') < html.index(f'id="queue-{normal.pk}"')
        assert html.count('class="priority-badge"') == 1
        assert 'data-priority="5"' in html and ">P5<" in html


def test_a_returning_customer_waiting_for_their_agent_says_so_in_the_queue(workgroup):
    workgroup.preferred_agent_seconds = 60
    workgroup.save()
    ann = make_agent("ann", workgroups=[workgroup])
    first = customer_writes(workgroup, psid="7300000000000701").interaction
    services.pickup(interaction_id=first.pk, agent=ann)
    services.disconnect(interaction_id=first.pk, agent=ann)
    services.set_agent_status(agent=ann, status=AgentStatus.AWAY)
    bob = make_agent("bob", workgroups=[workgroup], status=AgentStatus.AWAY)
    again = customer_writes(workgroup, psid="7300000000000701").interaction

    pushed = fragments.workgroup_queue(workgroup.pk)
    row = pushed.split(f'id="queue-{again.pk}"', 1)[1].split("</li>", 1)[0]
    assert 'class="preferred-wait"' in row and "for ann</span>" in row
    assert "for ann</span>" in logged_in(bob).get("/").content.decode()

    services.set_agent_status(agent=ann, status=AgentStatus.AVAILABLE)  # offered to her
    assert "preferred-wait" not in fragments.workgroup_queue(workgroup.pk)


def test_automatic_messages_are_marked_and_the_satisfaction_shows_in_the_head(workgroup):
    workgroup.acknowledgement_message = "Thanks! You are number {position} in the queue."
    workgroup.feedback_survey = True
    workgroup.save()
    agent = make_agent("ann", workgroups=[workgroup])
    chat = refresh(customer_writes(workgroup, psid="7300000000000031").interaction)
    services.pickup(interaction_id=chat.pk, agent=agent)
    services.disconnect(interaction_id=chat.pk, agent=agent)
    acknowledgement, survey = Message.objects.filter(interaction=chat, automatic=True)

    page = logged_in(agent).get(f"/interactions/{chat.pk}/", **HTMX).content.decode()

    for message in (acknowledgement, survey):
        assert f'id="message-{message.pk}" class="bubble agent automatic"' in page
    assert page.count(">Automatic</span>") == 2
    assert "Thanks! You are number 1 in the queue." in page
    assert '<span class="chip-kind">Feedback survey</span> How satisfied are you' in page
    assert "Customer satisfaction" not in page

    services.record_feedback(
        page_id=chat.customer.page_id,
        psid=chat.customer.psid,
        score=5,
        comment="Lovely",
        answered_at=chat.disconnected_at,
    )
    page = logged_in(agent).get(f"/interactions/{chat.pk}/", **HTMX).content.decode()
    assert "Customer satisfaction 5/5: “Lovely”" in page
    # When the customer writes again, the panel's past interactions carry the score.
    again = refresh(customer_writes(workgroup, psid="7300000000000031").interaction)
    services.pickup(interaction_id=again.pk, agent=agent)
    page = logged_in(agent).get(f"/interactions/{again.pk}/", **HTMX).content.decode()
    assert ">Rated 5/5</span>" in page
