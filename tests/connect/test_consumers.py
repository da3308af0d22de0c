"""The desktop websocket, through the real ASGI stack (auth, origin check, layer)."""

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from connect import audience
from connect.asgi import application
from routing.models import Agent, DesktopConnection, Interaction, InteractionState
from tests.factories import customer_writes, make_agent, make_page, make_workgroup

pytestmark = pytest.mark.django_db(transaction=True)


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def desktop_socket(cookie: bytes | None, origin: bytes = b"http://testserver"):
    headers = [(b"origin", origin), (b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, "/ws/desktop/", headers=headers)


@pytest.fixture
def workgroup():
    group = make_workgroup("Facebook DM")
    make_page(group)
    return group


async def receive_until(communicator, needle: str, timeout: float = 3.0) -> str:
    """Frames until one contains `needle` (fragments for other parts may come first)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        frame = await communicator.receive_from(timeout=max(remaining, 0.01))
        if needle in frame:
            return frame


async def test_anonymous_users_are_refused():
    communicator = desktop_socket(cookie=None)
    connected, code = await communicator.connect()
    assert not connected
    assert code == 4401


async def test_foreign_origins_are_refused(workgroup):
    agent = await database_sync_to_async(make_agent)(workgroups=[workgroup], online=False)
    cookie = await database_sync_to_async(session_cookie)(agent.user)
    communicator = desktop_socket(cookie, origin=b"https://evil.example")
    connected, _ = await communicator.connect()
    assert not connected


async def desktop_registered(agent, timeout: float = 3.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await database_sync_to_async(DesktopConnection.objects.filter(agent=agent).exists)():
            return True
        await asyncio.sleep(0.02)
    return False


async def open_desktop(workgroup):
    """A member of the workgroup (away until a desktop opens) and their open desktop."""
    agent = await database_sync_to_async(make_agent)(workgroups=[workgroup], online=False)
    cookie = await database_sync_to_async(session_cookie)(agent.user)
    communicator = desktop_socket(cookie)
    connected, _ = await communicator.connect()
    assert connected
    # Registered right after the handshake, off the shared sync thread.
    assert await desktop_registered(agent)
    return agent, communicator


async def test_an_offer_reaches_the_open_desktop_live(workgroup):
    agent, communicator = await open_desktop(workgroup)

    received = await database_sync_to_async(customer_writes)(workgroup, text="Where is my parcel?")

    frame = await receive_until(communicator, 'data-state="alerting"')
    assert f'id="interaction-{received.interaction.pk}"' in frame
    assert 'hx-swap-oob="true"' in frame
    await communicator.disconnect()


async def test_closing_the_last_tab_keeps_the_offer_for_a_reload_then_returns_it(workgroup):
    from routing import services

    agent = await database_sync_to_async(make_agent)(workgroups=[workgroup], online=False)
    cookie = await database_sync_to_async(session_cookie)(agent.user)
    communicator = desktop_socket(cookie)
    await communicator.connect()
    received = await database_sync_to_async(customer_writes)(workgroup)
    await receive_until(communicator, 'data-state="alerting"')

    await communicator.disconnect()

    # The tab's row is gone when its socket is let go; the offer waits for a reload.
    assert not await database_sync_to_async(DesktopConnection.objects.filter(agent=agent).exists)()
    assert await state_within(received.interaction.pk, 0.3) == InteractionState.ALERTING
    reloaded = desktop_socket(cookie)
    assert (await reloaded.connect())[0]
    assert await desktop_registered(agent)
    await reloaded.disconnect()

    # No tab came back in time: the timers take the offer back.
    await database_sync_to_async(
        lambda: Agent.objects.filter(pk=agent.pk).update(offers_kept_until=timezone.now())
    )()
    assert await state_within(received.interaction.pk, 0.3) == InteractionState.ALERTING
    await database_sync_to_async(services.run_due_timers)()
    assert await state_within(received.interaction.pk, 3.0) == InteractionState.QUEUED
    interaction = await database_sync_to_async(Interaction.objects.get)(pk=received.interaction.pk)
    assert interaction.agent_id is None


async def test_a_customer_message_on_a_connected_interaction_is_pushed_as_a_bubble(workgroup):
    from routing import services

    agent = await database_sync_to_async(make_agent)(workgroups=[workgroup], online=False)
    cookie = await database_sync_to_async(session_cookie)(agent.user)
    communicator = desktop_socket(cookie)
    await communicator.connect()
    received = await database_sync_to_async(customer_writes)(workgroup)
    await receive_until(communicator, 'data-state="alerting"')
    await database_sync_to_async(services.pickup)(
        interaction_id=received.interaction.pk, agent=agent
    )
    await receive_until(communicator, 'data-state="connected"')

    await database_sync_to_async(customer_writes)(workgroup, text="Any news?")

    frame = await receive_until(communicator, "Any news?")
    assert f'hx-swap-oob="beforeend:#transcript-{received.interaction.pk}"' in frame
    assert 'class="bubble customer"' in frame
    await communicator.disconnect()


# --- open sockets follow membership and sessions -------------------------------------------


async def closed(communicator, timeout: float = 3.0) -> int | None:
    """The close code the server sent, skipping frames that came before it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        output = await communicator.receive_output(timeout=max(remaining, 0.01))
        if output["type"] == "websocket.close":
            return output.get("code")


async def state_within(interaction_id: int, seconds: float, wanted=InteractionState.QUEUED) -> str:
    """The interaction's state once it is `wanted`, or as it is after `seconds`."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        state = await database_sync_to_async(
            lambda: Interaction.objects.values_list("state", flat=True).get(pk=interaction_id)
        )()
        if state == wanted or asyncio.get_running_loop().time() > deadline:
            return state
        await asyncio.sleep(0.05)


def away_member(workgroup):
    from routing.models import AgentStatus

    return make_agent(workgroups=[workgroup], online=False, status=AgentStatus.AWAY)


async def test_joining_a_workgroup_brings_its_queue_to_the_open_desktop_at_once(workgroup):
    from routing import services

    other = await database_sync_to_async(make_workgroup)("Billing")
    await database_sync_to_async(make_page)(other, page_id="100000000000002")
    agent = await database_sync_to_async(away_member)(workgroup)
    cookie = await database_sync_to_async(session_cookie)(agent.user)
    communicator = desktop_socket(cookie)
    assert (await communicator.connect())[0]

    def join_billing():
        other.members.add(agent)
        services.workgroup_members_changed(workgroup_ids=[other.pk], agent_ids=[agent.pk])

    await database_sync_to_async(join_billing)()
    # The queue panel, redrawn for the agent with the new workgroup's part.
    frame = await receive_until(communicator, f'id="workgroup-queue-{other.pk}"')
    assert 'id="workgroup-queue"' in frame

    # From now on, the new workgroup's queue reaches this socket live.
    await database_sync_to_async(customer_writes)(
        other, psid="7400000000000001", page_id="100000000000002", text="Billing question"
    )
    frame = await receive_until(communicator, f'id="workgroup-queue-{other.pk}"')
    assert 'data-state="queued"' in frame

    def leave_first():
        workgroup.members.remove(agent)
        services.workgroup_members_changed(workgroup_ids=[workgroup.pk], agent_ids=[agent.pk])

    await database_sync_to_async(leave_first)()
    await receive_until(communicator, 'id="workgroup-queue"')
    await database_sync_to_async(customer_writes)(workgroup, text="Anyone?")
    # Nothing of the workgroup it left reaches it any more.
    assert not any(
        f'id="workgroup-queue-{workgroup.pk}"' in f for f in await frames_for(communicator)
    )
    await communicator.disconnect()


async def frames_for(communicator, seconds: float = 0.5) -> list[str]:
    """Every frame that arrives within `seconds`."""
    frames = []
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        while not await communicator.receive_nothing(timeout=0.05, interval=0.01):
            frames.append(await communicator.receive_from())
    return frames


async def test_logging_out_closes_that_sessions_desktop_and_takes_back_its_offers(workgroup):
    agent = await database_sync_to_async(make_agent)(workgroups=[workgroup], online=False)
    browser = Client()
    await database_sync_to_async(browser.force_login)(agent.user)
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
    other_session = await database_sync_to_async(session_cookie)(agent.user)
    this_tab, other_tab = desktop_socket(cookie), desktop_socket(other_session)
    assert (await this_tab.connect())[0] and (await other_tab.connect())[0]

    await database_sync_to_async(browser.post)("/accounts/logout/")
    assert await closed(this_tab) == 4401
    await this_tab.disconnect()  # as the server does once the socket is closed
    # The other session's tab stays open.
    assert await other_tab.receive_nothing(timeout=0.3)
    await other_tab.disconnect()
    assert not await database_sync_to_async(DesktopConnection.objects.filter(agent=agent).exists)()


async def test_a_deactivated_login_loses_its_desktop(workgroup):
    agent = await database_sync_to_async(make_agent)(workgroups=[workgroup], online=False)
    cookie = await database_sync_to_async(session_cookie)(agent.user)
    communicator = desktop_socket(cookie)
    assert (await communicator.connect())[0]
    received = await database_sync_to_async(customer_writes)(workgroup)
    await receive_until(communicator, 'data-state="alerting"')

    def deactivate():
        agent.user.is_active = False
        agent.user.save()

    await database_sync_to_async(deactivate)()
    assert await closed(communicator) == 4401
    await communicator.disconnect()
    # The offer goes back right after the closed tab's row is gone (the socket
    # is let go at that commit, not after the offers it takes back).
    assert await state_within(received.interaction.pk, 3.0) == InteractionState.QUEUED


async def test_leaving_the_supervisors_group_closes_the_board_not_the_desktop(workgroup):
    from django.contrib.auth.models import Group

    from tests.connect.test_board import board_socket
    from tests.supervisors import make_supervisor

    def supervising_agent():
        supervisor = make_supervisor("sue")
        make_agent_for(supervisor, workgroup)
        return supervisor

    user = await database_sync_to_async(supervising_agent)()
    cookie = await database_sync_to_async(session_cookie)(user)
    board, desk = board_socket(cookie), desktop_socket(cookie)
    assert (await board.connect())[0] and (await desk.connect())[0]

    def demote():
        user.groups.remove(Group.objects.get(name="Supervisors"))

    await database_sync_to_async(demote)()
    assert await closed(board) == 4401
    assert await desk.receive_nothing(timeout=0.3)
    await board.disconnect()
    await desk.disconnect()


def make_agent_for(user, workgroup):
    from routing.models import Agent

    agent = Agent.objects.create(user=user)
    workgroup.members.add(agent)
    return agent


async def test_a_member_looking_at_a_queued_interaction_hears_it_and_sees_it_go(workgroup):
    from routing import services

    looking = await database_sync_to_async(away_member)(workgroup)
    cookie = await database_sync_to_async(session_cookie)(looking.user)
    communicator = desktop_socket(cookie)
    assert (await communicator.connect())[0]
    received = await database_sync_to_async(customer_writes)(workgroup, text="First words")
    interaction_id = received.interaction.pk

    # The tab opened it from the queue: it tells its socket so.
    await communicator.send_json_to({"view": interaction_id})
    await asyncio.sleep(0.1)
    await database_sync_to_async(customer_writes)(workgroup, text="Still waiting")
    frame = await receive_until(communicator, "Still waiting")
    assert f"beforeend:#transcript-{interaction_id}" in frame

    # Offered to a colleague: the looking member's view says where it went.
    colleague = await database_sync_to_async(make_agent)(workgroups=[workgroup])
    await database_sync_to_async(services.offer_waiting)(workgroup_id=workgroup.pk)
    frame = await receive_until(communicator, f'id="workspace-{interaction_id}"')
    assert f"Offered to {colleague.display_name}" in frame
    await communicator.disconnect()


async def test_a_tab_cannot_listen_to_an_interaction_it_may_not_see(workgroup):
    stranger_group = await database_sync_to_async(make_workgroup)("Elsewhere")
    stranger = await database_sync_to_async(away_member)(stranger_group)
    cookie = await database_sync_to_async(session_cookie)(stranger.user)
    communicator = desktop_socket(cookie)
    assert (await communicator.connect())[0]
    received = await database_sync_to_async(customer_writes)(workgroup, text="Private")
    await communicator.send_json_to({"view": received.interaction.pk})
    await asyncio.sleep(0.1)
    await database_sync_to_async(customer_writes)(workgroup, text="Card 4242")
    assert not any("Card 4242" in f for f in await frames_for(communicator))
    await communicator.disconnect()


async def test_the_owners_buttons_go_only_to_their_tabs_that_show_the_interaction(workgroup):
    from routing import services

    agent = await database_sync_to_async(make_agent)(workgroups=[workgroup], online=False)
    cookie = await database_sync_to_async(session_cookie)(agent.user)
    showing, elsewhere = desktop_socket(cookie), desktop_socket(cookie)
    assert (await showing.connect())[0] and (await elsewhere.connect())[0]
    received = await database_sync_to_async(customer_writes)(workgroup, text="Hello")
    interaction_id = received.interaction.pk
    await receive_until(showing, 'data-state="alerting"')
    await receive_until(elsewhere, 'data-state="alerting"')
    await showing.send_json_to({"view": interaction_id})
    await asyncio.sleep(0.1)

    await database_sync_to_async(services.pickup)(interaction_id=interaction_id, agent=agent)

    shown = "".join(await frames_for(showing))
    assert f'id="toolbar-{interaction_id}"' in shown and 'data-state="connected"' in shown
    other = "".join(await frames_for(elsewhere))
    # Its list row moves; the buttons of an interaction it does not show are not sent.
    assert 'data-state="connected"' in other
    assert f'id="toolbar-{interaction_id}"' not in other
    await showing.disconnect()
    await elsewhere.disconnect()


async def test_a_frame_is_forwarded_while_the_shared_sync_thread_is_busy(workgroup):
    """A frame costs no hop to the one thread all thread-sensitive work shares: the
    timers' tick may hold it, and every socket's frames would wait behind it."""
    agent, communicator = await open_desktop(workgroup)
    busy = asyncio.ensure_future(sync_to_async(time.sleep, thread_sensitive=True)(3))
    await asyncio.sleep(0.1)  # the shared thread is now asleep
    await get_channel_layer().group_send(
        audience.agent_group(agent.pk), {"type": "live.frame", "html": "<p>ready</p>"}
    )
    assert await communicator.receive_from(timeout=1) == "<p>ready</p>"
    await busy
    await communicator.disconnect()
