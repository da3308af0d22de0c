"""A loaded server stops within seconds of SIGTERM, and what it acknowledged is kept.

A real daphne process takes a burst of webhooks from new customers while the
Graph API it fetches their profiles from accepts connections and never
answers; then it is told to stop. It must exit promptly (queued background
work is dropped, not run first), every body it answered 200 must be stored,
and what it had not routed yet is routed by the next process. The same holds
with a thousand desktop sockets open, and with request threads that wait on
a database lock the test holds (the process ends them after a short grace:
connect.process_exit).
"""

import asyncio
import contextlib
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from django.db import transaction
from django.test import Client
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake

from facebook import ingest
from facebook.fake import webhooks
from facebook.models import WebhookDelivery, WebhookVerdict
from routing.models import Agent, AgentStatus, Message
from tests.facebook.bodies import APP_SECRET, envelope, from_customer, new_mid, text
from tests.factories import make_agent, make_page, make_workgroup
from tests.processes import free_port, start_daphne

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
# A CSRF secret the test sends as both cookie and form field, as a form would.
CSRF = "x" * 32


class SilentGraph:
    """Accepts connections and never answers: every Graph call hangs until its timeout."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self) -> None:
        self.sock.close()
        for connection in self.held:
            connection.close()


async def burst(url: str, count: int, answered: list[str] | None = None) -> list[str]:
    """Signed bodies from `count` new customers; the mids answered 200."""
    answered = [] if answered is None else answered

    async def one(client: httpx.AsyncClient, n: int) -> None:
        mid = new_mid("m_stop")
        item = from_customer("message", text("Hello", mid=mid), psid=f"76{n:014d}")
        try:
            response = await webhooks.post_async(
                url + "/facebook/webhook", envelope(item), secret=APP_SECRET, client=client
            )
        except httpx.HTTPError:
            return
        if response.status_code == 200:
            answered.append(mid)

    async with httpx.AsyncClient(timeout=10) as client:
        await asyncio.gather(*(one(client, n) for n in range(count)))
    return answered


def test_sigterm_stops_a_loaded_server_within_seconds_and_keeps_what_it_acknowledged(tmp_path):
    make_page(make_workgroup("Facebook DM"))
    graph = SilentGraph()
    port = free_port()
    process = start_daphne(
        port,
        tmp_path / "daphne.log",
        FACEBOOK_GRAPH_URL=f"http://127.0.0.1:{graph.port}",
        FACEBOOK_SEND_TIMEOUT="10",
    )
    try:
        answered = asyncio.run(burst(f"http://127.0.0.1:{port}", 150))
        assert answered, (tmp_path / "daphne.log").read_text()
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        stopped_after = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
        graph.close()
    assert stopped_after < 8, f"took {stopped_after:.1f} s to stop"

    stored = set(WebhookDelivery.objects.values_list("body", flat=True))
    assert all(any(mid in body for body in stored) for mid in answered)
    # What it had not routed yet (or had to retry) the next router routes, once due.
    WebhookDelivery.objects.update(retry_at=None)
    ingest.route_due()
    assert set(WebhookDelivery.objects.values_list("verdict", flat=True)) == {
        WebhookVerdict.PROCESSED
    }
    assert set(Message.objects.values_list("mid", flat=True)) >= set(answered)


def seconds_to_exit(process, since: float, cap: float = 30) -> float:
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=cap)
    return time.monotonic() - since


async def open_desktops(port: int, cookie: str, count: int) -> list:
    """`count` desktop tabs of one agent, all open (a few failures are tolerated)."""
    gate = asyncio.Semaphore(100)

    async def one():
        async with gate:
            try:
                return await connect(
                    f"ws://127.0.0.1:{port}/ws/desktop/",
                    additional_headers={"Cookie": cookie, "Origin": f"http://127.0.0.1:{port}"},
                    open_timeout=30,
                    ping_interval=None,
                )
            except (OSError, TimeoutError, InvalidHandshake):
                return None

    return [s for s in await asyncio.gather(*(one() for _ in range(count))) if s is not None]


def test_sigterm_stops_a_server_holding_a_thousand_desktops_mid_burst(tmp_path):
    workgroup = make_workgroup("Facebook DM")
    make_page(workgroup)
    agent = make_agent("agent1", workgroups=[workgroup])
    client = Client()
    client.force_login(agent.user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    port = free_port()
    # As `make run` and production start it: a burst of connects waits its turn.
    process = start_daphne(
        port,
        tmp_path / "daphne.log",
        daphne_args=("--websocket_connect_timeout", "30", "--application-close-timeout", "30"),
    )

    async def scenario() -> tuple[list[str], float, int]:
        sockets = await open_desktops(port, cookie, 1000)
        held = len(sockets)
        answered: list[str] = []
        sending = asyncio.create_task(burst(f"http://127.0.0.1:{port}", 300, answered))
        while len(answered) < 30 and not sending.done():
            await asyncio.sleep(0.01)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        stopped_after = await asyncio.to_thread(seconds_to_exit, process, started)
        await sending
        for socket_ in sockets:
            socket_.transport.abort()
        return answered, stopped_after, held

    try:
        answered, stopped_after, held = asyncio.run(scenario())
    finally:
        if process.poll() is None:
            process.kill()
    assert held >= 900, f"only {held} of 1000 desktops opened"
    assert stopped_after < 5, f"took {stopped_after:.1f} s to stop with {held} sockets open"

    stored = set(WebhookDelivery.objects.values_list("body", flat=True))
    assert all(any(mid in body for body in stored) for mid in answered)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_stop_signal_ends_a_server_whose_requests_wait_on_a_database_lock(tmp_path, stop_signal):
    """Requests stuck on a lock the test holds: the server still ends within seconds.

    Before, daphne waited for each of them (SQLite's busy timeout, or a
    PostgreSQL row lock for ever). What they would have written is not written.
    """
    workgroup = make_workgroup("Facebook DM")
    make_page(workgroup)
    agent = make_agent("agent1", workgroups=[workgroup], status=AgentStatus.AVAILABLE)
    client = Client()
    client.force_login(agent.user)
    cookie = f"sessionid={client.cookies['sessionid'].value}; csrftoken={CSRF}"
    port = free_port()
    log = tmp_path / "daphne.log"
    process = start_daphne(port, log)

    async def stuck_requests() -> list:
        async with httpx.AsyncClient(timeout=30) as http:
            posts = [
                asyncio.create_task(
                    http.post(
                        f"http://127.0.0.1:{port}/desktop/status",
                        data={"status": AgentStatus.AWAY, "csrfmiddlewaretoken": CSRF},
                        headers={"Cookie": cookie, "Origin": f"http://127.0.0.1:{port}"},
                    )
                )
                for _ in range(4)
            ]
            await asyncio.sleep(1.5)
            assert not any(post.done() for post in posts), "the requests did not wait"
            process.send_signal(stop_signal)
            return await asyncio.gather(*posts, return_exceptions=True)

    try:
        with transaction.atomic():
            # PostgreSQL: the agent's row; SQLite (IMMEDIATE): the whole database.
            Agent.objects.select_for_update().get(pk=agent.pk)
            Agent.objects.filter(pk=agent.pk).update(status_changed_at=agent.status_changed_at)
            started = time.monotonic()
            answers = asyncio.run(stuck_requests())
            while process.poll() is None and time.monotonic() - started < 30:
                time.sleep(0.05)
            stopped_after = time.monotonic() - started - 1.5
    finally:
        if process.poll() is None:
            process.kill()
    assert stopped_after < 5, f"took {stopped_after:.1f} s to stop"
    assert all(isinstance(answer, httpx.HTTPError) for answer in answers), answers
    agent.refresh_from_db()
    assert agent.status == AgentStatus.AVAILABLE
    assert "request thread(s) cut short" in log.read_text()
