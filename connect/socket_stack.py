"""What every websocket passes before its consumer (a gate, then the session's user),
and what its consumer is built on.

A burst of sockets (every agent back at once after a restart) must all be
let in. Opened all together, each socket's steps (its user, its groups in
Redis, its accept) queued behind every other socket's, so they all finished
together, late: daphne drops a handshake not accepted within 5 s, and under
a burst of 1,000 nearly all were. Each also took a Redis connection of its
own. So a few sockets of a process open at a time, in arrival order, each
soon done; the rest wait their turn at the gate.

channels' auth loads the user on the one thread that all its thread-sensitive
work shares; here it runs in the pool of threads for work that needs no
particular thread, and reads the user's agent and workgroups in the same
call (one thread hop and one pooled connection per socket, not two).
"""

import asyncio
import functools
import weakref

from channels.auth import AuthMiddleware, get_user
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.sessions import CookieMiddleware, SessionMiddleware

from routing import selectors

# Sockets of one process between their handshake and their accept (or refusal).
OPENING_AT_ONCE = 8

_gates: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@functools.partial(database_sync_to_async, thread_sensitive=False)
def _user_and_agent_of(scope) -> tuple:
    """The session's user, and their agent id and workgroups ((None, []) for no agent)."""
    user = get_user.func(scope)
    if not user.is_authenticated:
        return user, (None, [])
    return user, selectors.agent_id_and_workgroup_ids(user)


def _gate() -> asyncio.Semaphore:
    # One per event loop: an asyncio primitive belongs to the loop it first waits on.
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(OPENING_AT_ONCE)
    return gate


class OpeningGate:
    """Lets OPENING_AT_ONCE sockets open at a time; each leaves at its accept or close.

    A socket whose client gives up while it waits its turn (daphne drops a
    handshake after 5 s) leaves without costing anything.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        gate = _gate()
        replay = [await receive()]  # websocket.connect, there from the start
        if not await _enter_unless_gone(gate, receive, replay):
            return None
        inside = True

        def leave() -> None:
            nonlocal inside
            if inside:
                inside = False
                gate.release()

        async def receive_after_opening():
            return replay.pop(0) if replay else await receive()

        async def send_leaving(message) -> None:
            if message["type"] in ("websocket.accept", "websocket.close"):
                leave()
            await send(message)

        try:
            return await self.app(scope, receive_after_opening, send_leaving)
        finally:
            leave()


async def _enter_unless_gone(gate: asyncio.Semaphore, receive, replay: list) -> bool:
    """Wait for a turn at the gate; False when the socket went away meanwhile.

    Messages read while waiting are kept in `replay` for the consumer.
    """
    entering = asyncio.ensure_future(gate.acquire())
    while True:
        hearing = asyncio.ensure_future(receive())
        await asyncio.wait({entering, hearing}, return_when=asyncio.FIRST_COMPLETED)
        if not hearing.done():
            hearing.cancel()
            return True
        message = hearing.result()
        replay.append(message)
        if message["type"] == "websocket.disconnect":
            if entering.done():
                gate.release()
            else:
                entering.cancel()
            return False
        if entering.done():
            return True


class SocketAuthMiddleware(AuthMiddleware):
    """channels' AuthMiddleware; the scope also gets "agent": (agent id or None, workgroup ids)."""

    async def resolve_scope(self, scope):
        scope["user"]._wrapped, scope["agent"] = await _user_and_agent_of(scope)


def socket_stack(inner):
    """The gate, then channels' AuthMiddlewareStack with the user loaded off the shared thread."""
    return OpeningGate(CookieMiddleware(SessionMiddleware(SocketAuthMiddleware(inner))))


class ForwardingConsumer(AsyncWebsocketConsumer):
    """A consumer whose messages from the layer are frames to forward.

    channels closes stale database connections before every message a
    consumer handles, on the one shared sync thread: a thread hop per frame,
    in line behind whatever else that thread is doing (the timers' tick).
    Measured under load, it was a fifth of the event loop's time on the
    sockets' process. Frames from the layer skip it: these consumers touch
    the database only through `database_sync_to_async`, which closes stale
    connections around each call in the thread it runs in. The socket's own
    events (connect, receive, disconnect) keep it: it also paces a burst of
    closes, and without it 3,000 sockets closing at once held more Redis
    connections than the layer's pool has.
    """

    async def dispatch(self, message: dict) -> None:
        if message["type"].startswith("websocket."):
            await super().dispatch(message)
            return
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
