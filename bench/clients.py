"""What talks to the servers: Meta's webhook POSTs, agents over HTTP, desktop sockets."""

import asyncio
import contextlib
import hashlib
import hmac
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.servers import APP_SECRET, PASSWORD

# --- Meta's side ---------------------------------------------------------------------


def customer_message(*, page_id: str, psid: str, mid: str, text: str) -> dict:
    """One customer message, in the documented webhook shape (shared/meta/samples/text.json)."""
    now_ms = int(time.time() * 1000)
    return {
        "object": "page",
        "entry": [
            {
                "id": page_id,
                "time": now_ms,
                "messaging": [
                    {
                        "sender": {"id": psid},
                        "recipient": {"id": page_id},
                        "timestamp": now_ms,
                        "message": {"mid": mid, "text": text},
                    }
                ],
            }
        ],
    }


@dataclass(frozen=True)
class SignedBody:
    raw: bytes
    headers: dict
    mid: str


def sign(body: dict, mid: str) -> SignedBody:
    # Meta's bytes: compact JSON, non-ASCII escaped; signed exactly as sent.
    raw = json.dumps(body, separators=(",", ":")).encode()
    signature = hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return SignedBody(
        raw=raw,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": f"sha256={signature}",
        },
        mid=mid,
    )


def new_mid() -> str:
    return f"m_bench_{uuid.uuid4().hex}"


# --- what the desktop sockets receive --------------------------------------------------

ROW_TAG = re.compile(r'<li\b[^>]*\bclass="(?:[^"]*\s)?interaction-row[\s"][^>]*>')
BUBBLE_TAG = re.compile(r'<div\b[^>]*\bid="message-\d+"[^>]*>')
ROW_ID = re.compile(r'\bid="interaction-(\d+)"')
STATE = re.compile(r'\bdata-state="([a-z_]+)"')
MESSAGE_ID = re.compile(r'\bid="message-(\d+)"')
STATUS = re.compile(r'\bdata-status="([a-z_]+)"')


class Sightings:
    """When each row state and bubble status was first seen on a socket, and on whose.

    Keys: ("row", interaction_id, state) for a My Interactions row (only its
    owner's list has it) and ("bubble", message_id, status).
    """

    def __init__(self) -> None:
        self.first: dict[tuple, tuple[float, str]] = {}
        self.waiting: dict[tuple, list[asyncio.Future]] = {}
        self.frames = 0
        self.frame_bytes = 0

    def feed(self, owner: str, text: str, at: float) -> None:
        self.frames += 1
        self.frame_bytes += len(text)
        for tag in ROW_TAG.findall(text):
            row, state = ROW_ID.search(tag), STATE.search(tag)
            if row and state:
                self._saw(("row", int(row.group(1)), state.group(1)), owner, at)
        for tag in BUBBLE_TAG.findall(text):
            message, status = MESSAGE_ID.search(tag), STATUS.search(tag)
            if message and status:
                self._saw(("bubble", int(message.group(1)), status.group(1)), owner, at)

    def _saw(self, key: tuple, owner: str, at: float) -> None:
        if key in self.first:
            return
        self.first[key] = (at, owner)
        for future in self.waiting.pop(key, []):
            if not future.done():
                future.set_result((at, owner))

    async def wait(self, key: tuple, timeout: float) -> tuple[float, str]:
        if key in self.first:
            return self.first[key]
        future = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(key, []).append(future)
        return await asyncio.wait_for(future, timeout)


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

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
BUBBLE_ID = re.compile(r'\bid="message-(\d+)"')


class RefusedError(Exception):
    pass


@dataclass
class AgentSession:
    """One logged-in agent: session cookie, CSRF token, htmx-style POSTs."""

    username: str
    base_url: str
    client: httpx.AsyncClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.AsyncClient(base_url=self.base_url, timeout=30)

    @property
    def csrf_token(self) -> str:
        return self.client.cookies.get("csrftoken", "")

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.client.cookies.items())

    async def log_in(self) -> None:
        form = await self.client.get("/accounts/login/")
        token = CSRF_INPUT.search(form.text)
        if form.status_code != 200 or token is None:
            raise RefusedError(f"login form: {form.status_code}")
        answer = await self.client.post(
            "/accounts/login/",
            data={
                "username": self.username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": token.group(1),
            },
            headers={"Origin": self.base_url, "Referer": self.base_url + "/accounts/login/"},
        )
        if answer.status_code != 302 or "sessionid" not in self.client.cookies:
            raise RefusedError(f"login of {self.username}: {answer.status_code}")

    async def post(self, path: str, data: dict | None = None) -> tuple[str, float]:
        """An htmx POST as the desktop sends it; the body and the round trip in seconds."""
        started = time.perf_counter()
        answer = await self.client.post(
            path,
            data=data or {},
            headers={
                "HX-Request": "true",
                "HX-Current-URL": self.base_url + "/",
                "X-CSRFToken": self.csrf_token,
                "Origin": self.base_url,
            },
        )
        took = time.perf_counter() - started
        if answer.status_code != 200:
            raise RefusedError(f"POST {path}: {answer.status_code} {answer.text[:200]!r}")
        return answer.text, took

    async def close(self) -> None:
        await self.client.aclose()
