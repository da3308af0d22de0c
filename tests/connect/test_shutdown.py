"""A loaded server stops within seconds of SIGTERM, and what it acknowledged is kept.

A real daphne process takes a burst of webhooks from new customers while the
Graph API it fetches their profiles from accepts connections and never
answers; then it is told to stop. It must exit promptly (queued background
work is dropped, not run first), every body it answered 200 must be stored,
and what it had not routed yet is routed by the next process.
"""

import asyncio
import signal
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from facebook import ingest
from facebook.fake import webhooks
from facebook.models import WebhookDelivery, WebhookVerdict
from routing.models import Message
from tests.facebook.bodies import APP_SECRET, envelope, from_customer, new_mid, text
from tests.factories import make_page, make_workgroup
from tests.processes import free_port, start_daphne

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


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


async def burst(url: str, count: int) -> list[str]:
    """Signed bodies from `count` new customers; the mids answered 200."""
    answered = []

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
