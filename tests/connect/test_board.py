"""The live board: who may open it, what it shows, its actions and its websocket."""

import asyncio
import re
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from connect import board_consumer
from connect.asgi import application
from routing import services
from routing.models import (
    AgentStatus,
    Interaction,
    InteractionEvent,
    InteractionState,
    PriorityMatch,
    PriorityRule,
)
from tests.factories import customer_writes, make_agent, make_page, make_workgroup, refresh
from tests.supervisors import logged_in, make_supervisor, supervisors_group

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


def figure(page: str, workgroup, name: str) -> str:
    """The value shown for one figure of one workgroup's card."""
    card = page.split(f'id="board-workgroup-{workgroup.pk}"', 1)[1]
    found = re.search(rf'data-figure="{name}"><dt>.*?</dt><dd>(.*?)</dd>', card, re.S)
    assert found, name
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


# --- who may open it -------------------------------------------------------------


def test_the_board_needs_a_login():
    response = Client().get("/board/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_agents_and_staff_without_the_permission_get_words_not_the_board(workgroup):
    agent = make_agent("agent1", workgroups=[workgroup])
    staffer = get_user_model().objects.create_user("staffer", password="x", is_staff=True)
    for user in (agent.user, staffer):
        for url in ("/board/", "/reports/", "/reports/workgroups.csv"):
            response = logged_in(user).get(url)
            assert response.status_code == 403, (user, url)
            assert "Supervisors only" in response.content.decode()


def test_a_supervisor_sees_each_workgroups_figures_and_the_definitions(workgroup, supervisor):
    agent = make_agent("agent1", workgroups=[workgroup], status=AgentStatus.AWAY)
    customer_writes(workgroup, text="Hello", psid="7300000000000001")
    customer_writes(workgroup, text="Hello", psid="7300000000000002")
    page = logged_in(supervisor).get("/board/").content.decode()

    assert figure(page, workgroup, "waiting") == "2"
    assert figure(page, workgroup, "alerting") == "0"
    assert figure(page, workgroup, "answered") == "0"
    assert figure(page, workgroup, "average-pickup") == "—"
    assert 'ws-connect="/ws/board/"' in page
    assert 'data-agent="agent1"' in page and "0/4" in page
    assert "Abandoned today</strong>: disconnected today without ever being connected" in page
    assert f'aria-label="Status of {agent.display_name}"' not in page  # a label, not an attribute
    assert f'for="status-{workgroup.pk}-{agent.pk}"' in page
    assert page.count('class="live-row"') == 2


def test_a_live_interactions_priority_shows_on_the_board(workgroup, supervisor):
    PriorityRule.objects.create(match=PriorityMatch.KEYWORD, value="urgent", priority=5)
    make_agent("agent1", workgroups=[workgroup], status=AgentStatus.AWAY)
    normal = customer_writes(workgroup, text="Hello", psid="7300000000000011").interaction
    urgent = customer_writes(workgroup, text="URGENT", psid="7300000000000012").interaction

    page = logged_in(supervisor).get("/board/").content.decode()

    row = page.split(f'id="board-interaction-{urgent.pk}"', 1)[1].split("</tr>", 1)[0]
    assert 'class="priority-badge" data-priority="5"' in row and ">P5<" in row
    row = page.split(f'id="board-interaction-{normal.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "priority-badge" not in row and "preferred-wait" not in row


def test_each_live_interaction_shows_its_channel_on_the_board(workgroup, supervisor):
    make_agent("agent1", workgroups=[workgroup], status=AgentStatus.AWAY)
    dm = customer_writes(workgroup, text="Hello", psid="7300000000000021").interaction
    comment = services.receive_page_comment(
        workgroup_id=workgroup.pk,
        page_id=workgroup.pages.get().page_id,
        commenter_id="1000000000000021",
        commenter_name="Cora Lin",
        comment_id="100000000000001_42_1",
        post_id="100000000000001_42",
        text="Still on sale?",
        commented_at=timezone.now(),
    ).interaction

    page = logged_in(supervisor).get("/board/").content.decode()

    for interaction, channel, name in (
        (dm, "messenger", "Facebook DM"),
        (comment, "comment", "Page comment"),
    ):
        row = page.split(f'id="board-interaction-{interaction.pk}"', 1)[1].split("</tr>", 1)[0]
        assert f'data-channel="{channel}"' in row and f'aria-label="{name}"' in row


def test_a_returning_customer_waiting_for_their_agent_says_so_on_the_board(workgroup, supervisor):
    workgroup.preferred_agent_seconds = 60
    workgroup.save()
    ann = make_agent("ann", workgroups=[workgroup])
    first = customer_writes(workgroup, psid="7300000000000021").interaction
    services.pickup(interaction_id=first.pk, agent=ann)
    services.disconnect(interaction_id=first.pk, agent=ann)
    services.set_agent_status(agent=ann, status=AgentStatus.AWAY)
    again = customer_writes(workgroup, psid="7300000000000021").interaction

    page = logged_in(supervisor).get("/board/").content.decode()

    row = page.split(f'id="board-interaction-{again.pk}"', 1)[1].split("</tr>", 1)[0]
    assert 'class="preferred-wait"' in row and "for ann</span>" in row


def test_the_desktop_links_to_the_board_for_staff_agents_only(workgroup):
    plain = make_agent("agent1", workgroups=[workgroup])
    boss = make_agent("agent2", workgroups=[workgroup])
    boss.user.is_staff = True
    boss.user.save(update_fields=["is_staff"])
    boss.user.groups.add(supervisors_group())
    assert "Live board" not in logged_in(plain.user).get("/").content.decode()
    plain.user.is_staff = True  # staff, but not a supervisor
    plain.user.save(update_fields=["is_staff"])
    assert "Live board" not in logged_in(plain.user).get("/").content.decode()
    assert 'href="/board/">Live board</a>' in logged_in(boss.user).get("/").content.decode()
    assert 'href="/">My desktop</a>' in logged_in(boss.user).get("/board/").content.decode()


# --- actions ------------------------------------------------------------------------


def test_a_supervisor_disconnects_a_stuck_interaction(workgroup, supervisor):
    interaction = customer_writes(workgroup, text="Anyone?").interaction
    response = logged_in(supervisor).post(
        f"/board/interactions/{interaction.pk}/disconnect", **HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "disconnected." in body and 'id="board-workgroups"' in body
    assert refresh(interaction).state == S.DISCONNECTED
    event = InteractionEvent.objects.filter(interaction=interaction).last()
    assert (event.verb, event.actor_id) == ("supervisor_disconnect", supervisor.pk)

    again = logged_in(supervisor).post(f"/board/interactions/{interaction.pk}/disconnect", **HTMX)
    assert again.status_code == 409
    assert "Cannot disconnect: the interaction is disconnected." in again.content.decode()


def test_a_supervisor_transfers_to_a_queue_or_an_agent(workgroup, supervisor):
    billing = make_workgroup("Billing")
    agent = make_agent("agent1", workgroups=[workgroup])
    interaction = customer_writes(workgroup, text="Anyone?").interaction
    client = logged_in(supervisor)

    dialog = client.get(f"/board/interactions/{interaction.pk}/transfer-dialog", **HTMX)
    assert dialog.status_code == 200
    assert f'value="workgroup:{billing.pk}"' in dialog.content.decode()
    assert f'value="agent:{agent.pk}"' in dialog.content.decode()

    response = client.post(
        f"/board/interactions/{interaction.pk}/transfer",
        {"target": f"workgroup:{billing.pk}"},
        **HTMX,
    )
    assert response.status_code == 200
    assert "Waiting in the Billing queue." in response.content.decode()
    assert (refresh(interaction).state, interaction.workgroup_id) == (S.QUEUED, billing.pk)

    response = client.post(
        f"/board/interactions/{interaction.pk}/transfer", {"target": f"agent:{agent.pk}"}, **HTMX
    )
    assert response.status_code == 200
    assert (refresh(interaction).state, interaction.agent_id) == (S.ALERTING, agent.pk)

    for target, status, words in [
        ("", 422, "Choose an agent or a workgroup to transfer to."),
        ("agent:999999", 409, "That agent does not exist."),
        ("nonsense:1", 422, "Choose an agent or a workgroup to transfer to."),
    ]:
        refused = client.post(
            f"/board/interactions/{interaction.pk}/transfer", {"target": target}, **HTMX
        )
        assert refused.status_code == status, target
        assert words in refused.content.decode()


def test_a_supervisor_sets_an_agents_status_through_the_service(workgroup, supervisor):
    agent = make_agent("agent1", workgroups=[workgroup])
    client = logged_in(supervisor)
    response = client.post(f"/board/agents/{agent.pk}/status", {"status": "dnd"}, **HTMX)
    assert response.status_code == 200
    assert "is now Do Not Disturb." in response.content.decode()
    agent.refresh_from_db()
    assert agent.status == AgentStatus.DO_NOT_DISTURB

    refused = client.post(f"/board/agents/{agent.pk}/status", {"status": "not_answering"}, **HTMX)
    assert refused.status_code == 422
    assert "Choose one of the listed statuses." in refused.content.decode()
    missing = client.post("/board/agents/999999/status", {"status": "away"}, **HTMX)
    assert missing.status_code == 404
    assert "That agent does not exist." in missing.content.decode()


def test_watching_is_not_acting(workgroup):
    watcher = get_user_model().objects.create_user("watcher", password="x", is_staff=True)
    watcher.user_permissions.add(Permission.objects.get(codename="view_interaction"))
    agent = make_agent("agent1", workgroups=[workgroup], online=False)
    interaction = customer_writes(workgroup, text="Anyone?").interaction
    client = logged_in(watcher)
    page = client.get("/board/").content.decode()
    assert ">Disconnect</button>" not in page and 'name="status"' not in page
    assert (
        client.post(f"/board/interactions/{interaction.pk}/disconnect", **HTMX).status_code == 403
    )
    assert (
        client.post(f"/board/agents/{agent.pk}/status", {"status": "away"}, **HTMX).status_code
        == 403
    )
    assert refresh(interaction).state == S.QUEUED


# --- the websocket ---------------------------------------------------------------


def board_socket(cookie: bytes | None):
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, "/ws/board/", headers=headers)


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def test_the_board_socket_refuses_anonymous_users_and_agents(workgroup):
    communicator = board_socket(None)
    connected, code = await communicator.connect()
    assert (connected, code) == (False, 4401)

    agent = await database_sync_to_async(make_agent)(workgroups=[workgroup], online=False)
    cookie = await database_sync_to_async(session_cookie)(agent.user)
    communicator = board_socket(cookie)
    connected, code = await communicator.connect()
    assert (connected, code) == (False, 4403)


async def test_the_waiting_count_rises_live(workgroup, supervisor):
    cookie = await database_sync_to_async(session_cookie)(supervisor)
    communicator = board_socket(cookie)
    connected, _ = await communicator.connect()
    assert connected
    first = await communicator.receive_from(timeout=3)  # a fresh board on connect
    assert 'hx-swap-oob="true"' in first and figure(first, workgroup, "waiting") == "0"

    await database_sync_to_async(customer_writes)(workgroup, text="Hello?")

    frame = await communicator.receive_from(timeout=3)
    assert figure(frame, workgroup, "waiting") == "1"
    await communicator.disconnect()


async def test_a_burst_of_events_is_rendered_at_most_every_half_second(workgroup, supervisor):
    cookie = await database_sync_to_async(session_cookie)(supervisor)
    communicator = board_socket(cookie)
    connected, _ = await communicator.connect()
    assert connected
    await communicator.receive_from(timeout=3)
    await asyncio.sleep(board_consumer.RENDER_INTERVAL + 0.1)  # past the first render's pause

    layer = get_channel_layer()
    loop = asyncio.get_running_loop()
    frames: list[float] = []

    async def read_frames() -> None:
        # Frames are timed as they arrive, while the events are still being
        # sent, until 1.2 s pass without one (receive_nothing, unlike a
        # receive_from that times out, leaves the consumer running).
        quiet_since = loop.time()
        while loop.time() - quiet_since < 1.2:
            if await communicator.receive_nothing(timeout=0.02):
                continue
            await communicator.receive_from()
            frames.append(loop.time() - started)
            quiet_since = loop.time()

    started = loop.time()
    reader = asyncio.ensure_future(read_frames())
    for _ in range(20):
        await layer.group_send("board", {"type": "board.changed"})
        await asyncio.sleep(0.02)
    await reader
    # 20 events over ~0.5 s: one render at once, then at most one per interval.
    assert 2 <= len(frames) <= 3, frames
    assert frames[0] < 0.3
    gaps = [later - earlier for earlier, later in zip(frames, frames[1:], strict=False)]
    assert all(gap >= board_consumer.RENDER_INTERVAL - 0.05 for gap in gaps), frames
    await communicator.disconnect()


async def test_the_board_hears_agent_status_changes(workgroup, supervisor):
    agent = await database_sync_to_async(make_agent)("agent1", workgroups=[workgroup])
    cookie = await database_sync_to_async(session_cookie)(supervisor)
    communicator = board_socket(cookie)
    await communicator.connect()
    await communicator.receive_from(timeout=3)

    await database_sync_to_async(services.set_agent_status)(agent=agent, status="lunch")

    frame = await communicator.receive_from(timeout=3)
    assert 'data-status="lunch"' in frame
    await communicator.disconnect()


# --- inactivity ------------------------------------------------------------------


def test_the_board_shows_an_inactivity_warning_and_who_let_an_interaction_lapse(supervisor):
    workgroup = make_workgroup(
        "Sales", agent_reply_timeout_seconds=300, agent_reply_warning_seconds=60
    )
    make_page(workgroup)
    ann = make_agent("ann", workgroups=[workgroup])
    chat = refresh(customer_writes(workgroup, psid="7700000000000201").interaction)
    services.pickup(interaction_id=chat.pk, agent=ann)
    Interaction.objects.filter(pk=chat.pk).update(
        reply_due_at=timezone.now() + timedelta(seconds=30)
    )
    services.run_due_timers()
    page = logged_in(supervisor).get("/board/").content.decode()
    row = page.split(f'id="board-interaction-{chat.pk}"', 1)[1].split("</tr>", 1)[0]
    assert '<span class="inactivity-badge" role="status">No reply yet</span>' in row

    Interaction.objects.filter(pk=chat.pk).update(reply_due_at=timezone.now())
    services.run_due_timers()
    page = logged_in(supervisor).get("/board/").content.decode()
    row = page.split(f'id="board-interaction-{chat.pk}"', 1)[1].split("</tr>", 1)[0]
    assert 'data-state="queued"' in page.split(f'id="board-interaction-{chat.pk}"', 1)[1][:40]
    assert "ann let it lapse" in row and "No reply yet" not in row
