"""The gate every websocket passes: a burst opens a few at a time, in turn, and
a socket gone while it waits costs nothing."""

import asyncio

import pytest
from channels.testing import ApplicationCommunicator

from connect.socket_stack import OPENING_AT_ONCE, OpeningGate


class CountingApp:
    """A consumer stand-in: accepts when let go, counting how many are opening at once."""

    def __init__(self, *, held: bool = False) -> None:
        self.opening = 0
        self.most_at_once = 0
        self.started = 0
        self.go = asyncio.Event()
        if not held:
            self.go.set()

    async def __call__(self, scope, receive, send):
        message = await receive()
        assert message["type"] == "websocket.connect"
        self.started += 1
        self.opening += 1
        self.most_at_once = max(self.most_at_once, self.opening)
        await self.go.wait()
        await asyncio.sleep(0.001)
        self.opening -= 1
        await send({"type": "websocket.accept"})
        while (await receive())["type"] != "websocket.disconnect":
            pass


def socket(app) -> ApplicationCommunicator:
    return ApplicationCommunicator(OpeningGate(app), {"type": "websocket", "path": "/ws/desktop/"})


async def opened(communicator: ApplicationCommunicator) -> str:
    await communicator.send_input({"type": "websocket.connect"})
    return (await communicator.receive_output(timeout=5))["type"]


async def test_a_burst_opens_a_few_at_a_time_and_every_socket_is_accepted():
    app = CountingApp()
    sockets = [socket(app) for _ in range(OPENING_AT_ONCE * 5)]

    answers = await asyncio.gather(*(opened(s) for s in sockets))

    assert answers == ["websocket.accept"] * len(sockets)
    assert app.most_at_once == OPENING_AT_ONCE
    for s in sockets:
        await s.send_input({"type": "websocket.disconnect", "code": 1000})
        await s.wait(timeout=1)


async def test_a_socket_gone_while_waiting_its_turn_never_reaches_the_consumer():
    app = CountingApp(held=True)
    first = [socket(app) for _ in range(OPENING_AT_ONCE)]
    for s in first:
        await s.send_input({"type": "websocket.connect"})
    await asyncio.sleep(0.05)
    assert app.started == OPENING_AT_ONCE  # the gate is full

    impatient = socket(app)
    await impatient.send_input({"type": "websocket.connect"})
    await impatient.send_input({"type": "websocket.disconnect", "code": 1006})
    await asyncio.sleep(0.05)

    app.go.set()
    for s in first:
        assert (await s.receive_output(timeout=2))["type"] == "websocket.accept"
    await impatient.wait(timeout=1)
    assert app.started == OPENING_AT_ONCE  # the impatient one never started
    later = socket(app)
    assert await opened(later) == "websocket.accept"
    assert app.started == OPENING_AT_ONCE + 1
    for s in [*first, later]:
        await s.send_input({"type": "websocket.disconnect", "code": 1000})
        await s.wait(timeout=1)


async def test_a_refused_socket_leaves_the_gate():
    async def refusing(scope, receive, send):
        await receive()
        await send({"type": "websocket.close", "code": 4401})

    for _ in range(OPENING_AT_ONCE * 2):
        s = socket(refusing)
        assert await opened(s) == "websocket.close"
        await s.wait(timeout=1)


@pytest.mark.parametrize("kind", ["http"])
async def test_other_connections_pass_untouched(kind):
    calls = []

    async def app(scope, receive, send):
        calls.append(scope["type"])

    communicator = ApplicationCommunicator(OpeningGate(app), {"type": kind})
    await communicator.wait(timeout=1)
    assert calls == [kind]
