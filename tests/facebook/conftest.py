"""Fixtures for the Facebook adapter: the fake Graph API over real HTTP, and replies to send.

Only what leaves the project is faked, and by a real HTTP server: the fake
Graph API served by `live_server`, or a small catcher standing in for a
webhook. Our own code runs unpatched.
"""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction

from facebook import actions, background, inbound, sender
from facebook.fake import modes
from facebook.models import FakeGraphCall
from routing import services
from routing.models import Message
from tests.factories import customer_writes, make_agent, make_page, make_workgroup

PAGE_TOKEN = "secret-page-token-0123456789"


class FakeGraph:
    """The fake Graph API as the tests see it: its mode and the calls it recorded."""

    def __init__(self, url: str) -> None:
        self.url = url

    def mode(self, mode: str) -> None:
        modes.set_mode(mode)

    def calls(self, **filters) -> list[FakeGraphCall]:
        return list(FakeGraphCall.objects.filter(**filters).order_by("id"))

    def message_calls(self) -> list[FakeGraphCall]:
        return [call for call in self.calls(method="POST") if "message" in call.body]


@pytest.fixture
def fake_graph_api(live_server, settings):
    """Points the Graph API client at the fake, served over HTTP by the live server."""
    settings.FACEBOOK_GRAPH_URL = f"{live_server.url}/fake-graph"
    yield FakeGraph(settings.FACEBOOK_GRAPH_URL)
    sender.pool.resume()  # in case a test paused it (`sender_pool`)
    # Before the database is emptied: a send still running would write into the next test.
    assert sender.wait_for_idle(timeout=15), "a send was still running after the test"
    assert background.wait_for_all(timeout=15), "background work was still running"


@pytest.fixture(autouse=True)
def facebook_background(settings, tmp_path):
    """Attachment copies land in a fresh folder; background work (downloads,
    profiles, sender actions, the fake's echoes) ends with the test."""
    settings.MEDIA_ROOT = tmp_path / "media"
    actions.forget_throttle()
    yield
    assert background.wait_for_all(timeout=15), "background work was still running"


@pytest.fixture
def sender_pool():
    """The sender's thread pool: a test may `pause()` it so that a stored reply stays
    queued while something else happens; it is resumed after the test."""
    yield sender.pool
    sender.pool.resume()


class InboundHandlers:
    """facebook.inbound's dispatch table (event type → handler), changed for one test."""

    def __init__(self) -> None:
        self.saved = dict(inbound.HANDLERS)

    def replace(self, event_type: type, handler) -> None:
        inbound.HANDLERS[event_type] = handler

    def original(self, event_type: type):
        return self.saved[event_type]

    def restore(self) -> None:
        inbound.HANDLERS.clear()
        inbound.HANDLERS.update(self.saved)


@pytest.fixture
def inbound_handlers():
    """The inbound dispatch table, for a test to break or wrap; put back after the test."""
    handlers = InboundHandlers()
    yield handlers
    handlers.restore()


@dataclass
class Conversation:
    """A connected interaction an agent can reply to, on a Page with a known token."""

    interaction_id: int
    agent: object
    page: object
    psid: str

    def reply(self, text: str = "Your parcel left the warehouse today.") -> Message:
        """Store a reply as the desktop would (committed), then wait for the sender."""
        with transaction.atomic():
            message = services.store_reply(
                interaction_id=self.interaction_id, agent=self.agent, text=text
            )
        assert sender.wait_for_idle(timeout=15)
        message.refresh_from_db()
        return message


@pytest.fixture
def conversation():
    """Builds a Conversation; `last_written` sets when the customer last wrote."""

    def build(*, last_written=None, token: str = PAGE_TOKEN) -> Conversation:
        workgroup = make_workgroup()
        agent = make_agent(workgroups=[workgroup])
        page = make_page(workgroup, access_token=token)
        psid = "7300000000000042"
        received = customer_writes(workgroup, psid=psid, sent_at=last_written)
        services.pickup(interaction_id=received.interaction.pk, agent=agent)
        return Conversation(received.interaction.pk, agent, page, psid)

    return build


@dataclass
class CaughtRequest:
    path: str
    headers: dict
    body: bytes


@dataclass
class WebhookCatcher:
    """A stand-in HTTP server that answers 200 and keeps every request it got."""

    host: str
    requests: list[CaughtRequest] = field(default_factory=list)

    def json(self, index: int = -1) -> dict:
        return json.loads(self.requests[index].body)


@pytest.fixture
def webhook_catcher():
    caught: list[CaughtRequest] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            caught.append(CaughtRequest(self.path, dict(self.headers), self.rfile.read(length)))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"EVENT_RECEIVED")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield WebhookCatcher(host=f"127.0.0.1:{server.server_port}", requests=caught)
    finally:
        server.shutdown()
        server.server_close()
