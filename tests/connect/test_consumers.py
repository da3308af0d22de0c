"""The desktop websocket, through the real ASGI stack (auth, origin check, layer)."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from connect.asgi import application
from routing.models import DesktopConnection, Interaction, InteractionState
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


async def test_an_offer_reaches_the_open_desktop_live(workgroup):
    agent = await database_sync_to_async(make_agent)(workgroups=[workgroup], online=False)
    cookie = await database_sync_to_async(session_cookie)(agent.user)
    communicator = desktop_socket(cookie)
    connected, _ = await communicator.connect()
    assert connected
    assert await database_sync_to_async(DesktopConnection.objects.filter(agent=agent).count)() == 1

    received = await database_sync_to_async(customer_writes)(workgroup, text="Where is my parcel?")

    frame = await receive_until(communicator, 'data-state="alerting"')
    assert f'id="interaction-{received.interaction.pk}"' in frame
    assert 'hx-swap-oob="true"' in frame
    await communicator.disconnect()


async def test_closing_the_last_tab_returns_the_offer_to_the_queue(workgroup):
    agent = await database_sync_to_async(make_agent)(workgroups=[workgroup], online=False)
    cookie = await database_sync_to_async(session_cookie)(agent.user)
    communicator = desktop_socket(cookie)
    await communicator.connect()
    received = await database_sync_to_async(customer_writes)(workgroup)
    await receive_until(communicator, 'data-state="alerting"')

    await communicator.disconnect()

    interaction = await database_sync_to_async(Interaction.objects.get)(pk=received.interaction.pk)
    assert interaction.state == InteractionState.QUEUED
    assert interaction.agent_id is None
    assert not await database_sync_to_async(DesktopConnection.objects.filter(agent=agent).exists)()


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
