"""Ask for help on the desktop; Monitor, Coach and Take over from the live board."""

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from routing import services
from routing.models import Agent, InteractionEvent, InteractionState
from tests.connect.test_board import board_socket, session_cookie
from tests.factories import customer_writes, make_agent, make_page, make_workgroup, refresh
from tests.supervisors import logged_in, make_supervisor

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HTTP_HX_REQUEST": "true"}
S = InteractionState


@pytest.fixture
def workgroup():
    group = make_workgroup("Facebook DM")
    make_page(group)
    return group


@pytest.fixture
def supervisor():
    return make_supervisor()


def agent_client(agent) -> Client:
    client = Client()
    client.force_login(agent.user)
    return client


def working(workgroup, text="My card was charged twice"):
    agent = make_agent("ann", workgroups=[workgroup])
    received = customer_writes(workgroup, text=text)
    chat = services.pickup(interaction_id=received.interaction.pk, agent=agent)
    return agent, chat


def test_ask_for_help_on_the_desktop_shows_needs_help_on_the_board(workgroup, supervisor):
    agent, chat = working(workgroup)
    page = agent_client(agent).get(f"/?interaction={chat.pk}").content.decode()
    assert ">Ask for help</button>" in page

    response = agent_client(agent).post(f"/interactions/{chat.pk}/help", **HTMX)

    assert response.status_code == 200
    assert "Help asked" in response.content.decode()
    board = logged_in(supervisor).get("/board/").content.decode()
    assert f'class="needs-help" role="status" data-interaction-id="{chat.pk}">Needs help' in board
    assert ">Monitor</button>" in board


def test_monitor_opens_a_read_only_transcript_and_answers_help(workgroup, supervisor):
    agent, chat = working(workgroup)
    services.ask_for_help(interaction_id=chat.pk, agent=agent)
    services.add_note(interaction_id=chat.pk, agent=agent, text="Card ends 4242")

    response = logged_in(supervisor).get(f"/board/interactions/{chat.pk}/monitor", **HTMX)

    body = response.content.decode()
    assert response.status_code == 200
    assert "My card was charged twice" in body and "Card ends 4242" in body
    assert ">Coach</button>" in body and ">Take over</button>" in body
    assert ">Coaching note</label>" in body and ">Send to agent</button>" in body
    assert "Type your message" not in body  # read-only: no composer
    assert refresh(chat).help_requested_at is None
    assert InteractionEvent.objects.filter(interaction=chat, verb="monitor").count() == 1


def test_coaching_reaches_the_agent_desktop_as_a_notice(workgroup, supervisor):
    agent, chat = working(workgroup)
    response = logged_in(supervisor).post(
        f"/board/interactions/{chat.pk}/coach", {"text": "Offer the voucher"}, **HTMX
    )
    assert response.status_code == 200
    assert "Coaching sent to" in response.content.decode()
    row = InteractionEvent.objects.get(interaction=chat, verb="coach")
    assert row.detail == {"text": "Offer the voucher"}

    empty = logged_in(supervisor).post(f"/board/interactions/{chat.pk}/coach", {"text": ""}, **HTMX)
    assert empty.status_code == 409
    assert "Type the coaching note first." in empty.content.decode()


def test_take_over_opens_the_supervisors_own_desktop_with_it_connected(workgroup, supervisor):
    agent, chat = working(workgroup)

    response = logged_in(supervisor).post(
        f"/board/interactions/{chat.pk}/take-over", {"reason": "VIP customer"}, **HTMX
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/?interaction={chat.pk}"
    chat = refresh(chat)
    assert (chat.state, chat.agent.user_id) == (S.CONNECTED, supervisor.pk)
    desk = logged_in(supervisor).get(response["HX-Redirect"]).content.decode()
    assert "My card was charged twice" in desk and ">Disconnect</button>" in desk
    # The agent no longer has it.
    assert agent_client(agent).get(f"/interactions/{chat.pk}/", **HTMX).status_code == 404


def test_watching_without_acting_may_monitor_but_not_coach_or_take_over(workgroup):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    agent, chat = working(workgroup)
    watcher = get_user_model().objects.create_user("watcher", password="x", is_staff=True)
    watcher.user_permissions.add(Permission.objects.get(codename="view_interaction"))
    client = logged_in(watcher)

    monitor = client.get(f"/board/interactions/{chat.pk}/monitor", **HTMX)
    assert monitor.status_code == 200 and ">Coach</button>" not in monitor.content.decode()
    for verb in ("coach", "take-over"):
        refused = client.post(f"/board/interactions/{chat.pk}/{verb}", {"text": "x"}, **HTMX)
        assert refused.status_code == 403
    assert not Agent.objects.filter(user=watcher).exists()
    assert refresh(chat).agent_id == agent.pk


async def test_the_monitor_view_hears_the_conversation_live(workgroup, supervisor):
    agent, chat = await database_sync_to_async(working)(workgroup)
    cookie = await database_sync_to_async(session_cookie)(supervisor)
    socket = board_socket(cookie)
    connected, _ = await socket.connect()
    assert connected
    await socket.receive_from(timeout=3)  # the fresh board

    await socket.send_json_to({"monitor": chat.pk})
    await socket.receive_nothing(timeout=0.2)
    await database_sync_to_async(customer_writes)(workgroup, text="Are you still there?")

    heard = ""
    for _ in range(5):
        heard = await socket.receive_from(timeout=3)
        if "Are you still there?" in heard:
            break
    assert "Are you still there?" in heard and f"#transcript-{chat.pk}" in heard

    await socket.send_json_to({"monitor": None})  # the view closed
    await socket.receive_nothing(timeout=0.2)
    while not await socket.receive_nothing(timeout=0.3):
        await socket.receive_from()
    await database_sync_to_async(customer_writes)(workgroup, text="Hello??")
    frames = []
    while not await socket.receive_nothing(timeout=0.8):
        frames.append(await socket.receive_from())
    assert not any("Hello??" in f for f in frames)
    await socket.disconnect()


def test_the_agent_is_shown_the_coaching_and_why_it_was_taken(workgroup, supervisor):
    from connect import audience, fragments

    agent, chat = working(workgroup)
    coaching = services.coach(
        interaction_id=chat.pk, supervisor_user_id=supervisor.pk, text="Be brief"
    )
    services.take_over(interaction_id=chat.pk, supervisor_user_id=supervisor.pk, reason="VIP")
    taken = InteractionEvent.objects.get(interaction=chat, verb="supervisor_take_over")

    def shown(row) -> str:
        return fragments.render(
            audience.Fragment(
                audience.SUPERVISOR_NOTICE,
                agent_id=agent.pk,
                interaction_id=chat.pk,
                event_row_id=row.pk,
            )
        )

    assert "Coaching from sam</strong>" in shown(coaching) and "Be brief" in shown(coaching)
    assert "<strong>sam</strong> took over" in shown(taken) and "VIP" in shown(taken)
