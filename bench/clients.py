"""What talks to the servers: Meta's webhook POSTs, agents over HTTP, desktop sockets."""

import asyncio
import contextlib
import re
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.httpload import Pool
from bench.servers import APP_SECRET
from facebook.fake import webhooks

# --- Meta's side ---------------------------------------------------------------------


def customer_message(*, page_id: str, psid: str, mid: str, text: str) -> dict:
    """One customer message, in the documented webhook shape (shared/meta/samples/text.json)."""
    now_ms = webhooks.now_ms()
    item = webhooks.customer_message(page_id=page_id, psid=psid, mid=mid, text=text, at_ms=now_ms)
    return webhooks.envelope(item, page_id=page_id, at_ms=now_ms)


@dataclass(frozen=True)
class SignedBody:
    raw: bytes
    headers: dict
    mid: str


def sign(body: dict, mid: str) -> SignedBody:
    # Meta's bytes, signed exactly as sent.
    signed = webhooks.sign(body, secret=APP_SECRET)
    return SignedBody(raw=signed.raw, headers=signed.headers, mid=mid)


def new_mid() -> str:
    return f"m_bench_{uuid.uuid4().hex}"


# --- what the desktop sockets receive --------------------------------------------------

ROW_TAG = re.compile(r'<li\b[^>]*\bclass="(?:[^"]*\s)?interaction-row[\s"][^>]*>')
BUBBLE_TAG = re.compile(r'<div\b[^>]*\bid="message-\d+"[^>]*>')
ROW_ID = re.compile(r'\bid="interaction-(\d+)"')
STATE = re.compile(r'\bdata-state="([a-z_]+)"')
MESSAGE_ID = re.compile(r'\bid="message-(\d+)"')
STATUS = re.compile(r'\bdata-status="([a-z_]+)"')
# bench/server/benchsite/views.py: FLOOR_MARK, then the post's number.
FLOOR_MARK = '<template data-bench-floor="'


class Sightings:
    """When each row state and bubble was first seen on a socket, and on whose.

    Keys: ("row", interaction_id, state) for a My Interactions row (only its
    owner's list has it; the queue's rows have other ids), ("bubble",
    message_id, status), and ("message", message_id) for a bubble in any
    status. `on_seen(key, owner, at)`, when set, hears each first sighting.
    The floor's frames are only counted: (post number, when) in `floor`.
    """

    def __init__(self) -> None:
        self.first: dict[tuple, tuple[float, str]] = {}
        self.frames = 0
        self.frame_bytes = 0
        self.floor: list[tuple[int, float]] = []
        self.on_seen = None

    def feed(self, owner: str, text: str, at: float) -> None:

        self.frames += 1
        self.frame_bytes += len(text)
        if text.startswith(FLOOR_MARK):
            self.floor.append((int(text[len(FLOOR_MARK) : len(FLOOR_MARK) + 8]), at))
            return
        for tag in ROW_TAG.findall(text):
            row, state = ROW_ID.search(tag), STATE.search(tag)
            if row and state:
                self._saw(("row", int(row.group(1)), state.group(1)), owner, at)
        for tag in BUBBLE_TAG.findall(text):
            message, status = MESSAGE_ID.search(tag), STATUS.search(tag)
            if message and status:
                self._saw(("message", int(message.group(1))), owner, at)
                self._saw(("bubble", int(message.group(1)), status.group(1)), owner, at)

    def _saw(self, key: tuple, owner: str, at: float) -> None:
        if key in self.first:
            return
        self.first[key] = (at, owner)
        if self.on_seen is not None:
            self.on_seen(key, owner, at)


@dataclass
class DesktopSocket:
    """One desktop tab's websocket, read continuously into `Sightings`."""

    owner: str
    connection: ClientConnection
    reader: asyncio.Task | None = None
    closing: bool = False

    @property
    def dropped(self) -> bool:
        """The server closed it (or it broke) without the bench asking."""
        return not self.closing and (self.reader is None or self.reader.done())

    async def close(self) -> None:
        self.closing = True
        await self.connection.close()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader


async def open_desktop(
    base_url: str, agent: "AgentSession", sightings: Sightings | None, timeout: float = 30
) -> DesktopSocket:
    """Open /ws/desktop/ as a browser would: the session cookie and our own Origin."""
    parts = urlsplit(base_url)
    connection = await connect(
        f"ws://{parts.netloc}/ws/desktop/",
        origin=base_url,
        additional_headers={"Cookie": agent.cookie_header},
        open_timeout=timeout,
        ping_interval=None,
        max_size=None,
        proxy=None,
    )
    socket = DesktopSocket(owner=agent.username, connection=connection)
    socket.reader = asyncio.create_task(_read(socket, sightings))
    return socket


async def _read(socket: DesktopSocket, sightings: Sightings | None) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for frame in socket.connection:
            if sightings is not None and isinstance(frame, str):
                sightings.feed(socket.owner, frame, time.perf_counter())


# --- agents over HTTP ---------------------------------------------------------------------

BUBBLE_ID = re.compile(r'\bid="message-(\d+)"')


class RefusedError(Exception):
    pass


@dataclass
class AgentSession:
    """One logged-in agent: a session made through the ORM (bench.phases.log_in),
    its cookie and CSRF token, htmx-style requests on keep-alive connections."""

    username: str
    base_url: str
    session_key: str
    csrf_token: str
    http: Pool = field(init=False)

    def __post_init__(self) -> None:
        self.http = Pool(self.base_url, limit=8)

    @property
    def cookie_header(self) -> str:
        return f"sessionid={self.session_key}; csrftoken={self.csrf_token}"

    async def post(self, path: str, data: dict | None = None) -> tuple[str, float]:
        """An htmx POST as the desktop sends it; the body and the round trip in seconds."""
        status, body, _, took = await self.http.request(
            "POST",
            path,
            urlencode(data or {}).encode(),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": self.cookie_header,
                "HX-Request": "true",
                "HX-Current-URL": self.base_url + "/",
                "X-CSRFToken": self.csrf_token,
                "Origin": self.base_url,
            },
        )
        text = body.decode("utf-8", "replace")
        if status != 200:
            raise RefusedError(f"POST {path}: {status} {text[:200]!r}")
        return text, took

    async def get(self, path: str, *, htmx: bool = False) -> tuple[int, int, float]:
        """A GET as the browser sends it: (status, body bytes, round trip in seconds)."""
        headers = {"Cookie": self.cookie_header}
        if htmx:
            headers.update({"HX-Request": "true", "HX-Current-URL": self.base_url + "/"})
        status, body, _, took = await self.http.request("GET", path, headers=headers)
        return status, len(body), took

    def close(self) -> None:
        self.http.close()
