"""PostgreSQL goes away under a burst of webhooks, and comes back.

The machine's PostgreSQL is shared, so it is not stopped: a TCP proxy of the
test's own stands between a real daphne process and it. Cutting the proxy
(every connection closed, new ones refused) is the database stopping. While
it is cut the webhook answers 503 (Meta delivers again), /healthz says 503
and open desktops are closed so that they show "Reconnecting…"; once it is
back, everything resumes without a restart and every body answered 200 is
stored and routed.
"""

import asyncio
import contextlib
import json
import socket
import threading
import time

import httpx
import pytest
from django.db import connection
from django.test import Client
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from connect.database_watch import CLOSE_DATABASE_DOWN
from facebook.models import WebhookDelivery, WebhookVerdict
from routing.models import Message
from tests.facebook.bodies import envelope, from_customer, sign, text
from tests.factories import make_agent, make_page, make_workgroup
from tests.processes import free_port, shared_database_url, start_daphne

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fault]


class DatabaseProxy:
    """A TCP proxy to PostgreSQL that can be cut (all connections closed, new
    ones refused) and restored on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.lock = threading.Lock()
        self.open: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        listener.listen(128)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        assert self.listener is not None
        listener, self.listener = self.listener, None
        # shutdown wakes the thread blocked in accept(); a close alone leaves it
        # able to accept one more connection, which would outlive the cut.
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        with self.lock:
            for sock in self.open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self.listener is not listener:
                client.close()  # accepted as the cut happened: refused all the same
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self.lock:
                self.open += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def signed_message(mid: str, n: int) -> bytes:
    item = from_customer("message", text("Hello", mid=mid), psid=f"75{n:014d}")
    return json.dumps(envelope(item)).encode()


async def post_burst(base: str, count: int, start: int, cut_after: int | None, proxy) -> dict:
    """`count` new customers' messages at once; the proxy cut after `cut_after` answers."""
    answers: dict[str, int] = {}

    async def one(client: httpx.AsyncClient, n: int) -> None:
        mid = f"m_outage_{n}"
        raw = signed_message(mid, n)
        try:
            response = await client.post(
                base + "/facebook/webhook",
                content=raw,
                headers={"X-Hub-Signature-256": sign(raw), "Content-Type": "application/json"},
            )
            answers[mid] = response.status_code
        except httpx.HTTPError:
            answers[mid] = 0
        if cut_after is not None and len(answers) == cut_after:
            proxy.cut()

    async with httpx.AsyncClient(timeout=10) as client:
        await asyncio.gather(*(one(client, n) for n in range(start, start + count)))
    return answers


def wait_for(check, seconds: float) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds
        time.sleep(0.1)
    return time.monotonic() - started


def test_the_database_stopping_under_a_burst_loses_nothing_acknowledged(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("a TCP proxy to PostgreSQL (this run uses SQLite)")
    workgroup = make_workgroup("Facebook DM")
    make_page(workgroup)
    agent = make_agent("agent1", workgroups=[workgroup], online=False)
    browser = Client()
    browser.force_login(agent.user)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    db = connection.settings_dict
    proxy = DatabaseProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    proxied = shared_database_url().replace(
        f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}", f"127.0.0.1:{proxy.port}"
    )
    assert str(proxy.port) in proxied
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_daphne(port, tmp_path / "daphne.log", DATABASE_URL=proxied)
    log = tmp_path / "daphne.log"

    async def scenario() -> dict:
        desktop = await connect(
            f"ws://127.0.0.1:{port}/ws/desktop/",
            additional_headers={"Cookie": cookie, "Origin": base},
        )
        # The burst, with the database cut half-way.
        answers = await post_burst(base, 60, 0, 30, proxy)
        started = time.monotonic()
        async with httpx.AsyncClient(timeout=10) as client:
            raw = signed_message("m_outage_during", 999)
            refused = await client.post(
                base + "/facebook/webhook", content=raw, headers={"X-Hub-Signature-256": sign(raw)}
            )
            health = await client.get(base + "/healthz")
        assert (refused.status_code, health.status_code) == (503, 503), log.read_text()
        assert time.monotonic() - started < 5
        assert "database" in health.text
        # The open desktop is told, within seconds: it shows "Reconnecting…".
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(desktop.recv(), timeout=8)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == CLOSE_DATABASE_DOWN

        proxy.restore()
        async with httpx.AsyncClient(timeout=10) as client:
            deadline = time.monotonic() + 15
            while (await client.get(base + "/healthz")).status_code != 200:
                assert time.monotonic() < deadline, log.read_text()
                await asyncio.sleep(0.2)
        # Back without a restart: a desktop opens, new webhooks are taken.
        again = await connect(
            f"ws://127.0.0.1:{port}/ws/desktop/",
            additional_headers={"Cookie": cookie, "Origin": base},
        )
        await again.close()
        answers.update(await post_burst(base, 20, 100, None, proxy))
        return answers

    try:
        answers = asyncio.run(scenario())
        acknowledged = {mid for mid, status in answers.items() if status == 200}
        assert {status for status in answers.values()} <= {200, 503, 0}
        assert all(answers[f"m_outage_{n}"] == 200 for n in range(100, 120))
        assert len(acknowledged) >= 30

        # Every body answered 200 is stored and routed, by the same process.
        def all_routed() -> bool:
            stored = set(Message.objects.values_list("mid", flat=True))
            return acknowledged <= stored

        wait_for(all_routed, 30)
        bodies = list(WebhookDelivery.objects.values_list("body", "verdict"))
        for mid in acknowledged:
            assert [v for body, v in bodies if f'"{mid}"' in body] == [WebhookVerdict.PROCESSED]
        assert process.poll() is None, "it recovered without a restart"
    finally:
        process.terminate()
        process.wait(10)
        if proxy.listener is not None:
            proxy.cut()
