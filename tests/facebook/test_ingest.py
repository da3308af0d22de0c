"""Stored webhook bodies are routed off the request: once, in order, surviving a kill.

The view only stores; `facebook.ingest` routes. These tests run the router
in this process's thread (as a server does), in a process killed half-way,
and in two processes draining one backlog at once.
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

from facebook import ingest, parsing
from facebook.models import WebhookDelivery, WebhookVerdict
from routing.models import Customer, Interaction, InteractionEvent, Message
from tests.facebook.bodies import envelope, from_customer, new_mid, now_ms, post, text
from tests.factories import make_page, make_workgroup
from tests.processes import shared_database_url

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def page():
    return make_page(make_workgroup("Facebook DM"))


def store(raw: bytes) -> WebhookDelivery:
    return ingest.store(parsing.parse_body(raw))


def worker(log: Path, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": shared_database_url(),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.facebook.ingest_worker", str(log), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(log.with_suffix(".err"), "w"),  # noqa: SIM115 (closed with the process)
    )


@pytest.fixture
def router_thread(settings):
    """Route as a server does: in this process's router thread, stopped after the test."""
    settings.FACEBOOK_WEBHOOK_ROUTING = "background"
    yield ingest.router
    ingest.router.stop()


def test_the_router_thread_routes_what_the_view_stored(client, page, router_thread):
    mid = new_mid()
    response = post(client, envelope(from_customer("message", text("Hi", mid=mid))))
    assert response.status_code == 200
    assert router_thread.wait_for_idle(timeout=10)
    delivery = WebhookDelivery.objects.get()
    assert delivery.verdict == WebhookVerdict.PROCESSED
    assert delivery.routed_at is not None
    assert Message.objects.get().mid == mid


def test_a_process_killed_while_routing_leaves_the_body_whole_for_the_next(page, tmp_path):
    mids = [new_mid() for _ in range(3)]
    items = [from_customer("message", text("Hi", mid=mid)) for mid in mids]
    delivery = store(json.dumps(envelope(*items)).encode())
    log = tmp_path / "killed.log"
    process = worker(log, "--hang")
    try:
        deadline = time.monotonic() + 30
        while "inside" not in (log.read_text() if log.exists() else ""):
            assert process.poll() is None, log.with_suffix(".err").read_text()
            assert time.monotonic() < deadline, "the worker never started routing"
            time.sleep(0.05)
        # It has written the first message inside its transaction: kill it there.
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()

    # Nothing half-applied: the body is still pending and untouched.
    delivery.refresh_from_db()
    assert (delivery.verdict, delivery.attempts) == (WebhookVerdict.PENDING, 0)
    assert not Message.objects.exists()
    assert not Interaction.objects.exists()

    # The next router applies it whole, once.
    assert ingest.route_due() == 1
    delivery.refresh_from_db()
    assert delivery.verdict == WebhookVerdict.PROCESSED
    assert sorted(Message.objects.values_list("mid", flat=True)) == sorted(mids)
    assert InteractionEvent.objects.filter(verb="create").count() == 1


def test_two_processes_draining_one_backlog_apply_each_event_once_in_order(page, tmp_path):
    customers = [f"73000000000{n:05d}" for n in range(12)]
    start = now_ms() - 60_000
    sent: dict[str, list[str]] = {psid: [] for psid in customers}

    def item(n: int, psid: str) -> dict:
        mid = new_mid()
        sent[psid].append(mid)
        return from_customer("message", text(f"message {n}", mid=mid), psid=psid, at_ms=start + n)

    # 60 bodies in arrival order; each customer's messages arrive in time order.
    # Every tenth carries two customers' messages (a barrier: routed alone, in order).
    barriers = 0
    for n in range(60):
        psid = customers[n % len(customers)]
        if n % 10 == 9:
            other = customers[(n + 5) % len(customers)]
            delivery = store(json.dumps(envelope(item(n, psid), item(n, other))).encode())
            assert delivery.lane == ingest.BARRIER_LANE
            barriers += 1
        else:
            delivery = store(json.dumps(envelope(item(n, psid))).encode())
            assert delivery.lane != ingest.BARRIER_LANE

    log = tmp_path / "handled.log"
    go = tmp_path / "go"
    # Slowed down (a few ms per message) so that both are surely at work at once.
    workers = [worker(log, str(go), "--slow") for _ in range(2)]
    go.touch()
    for process in workers:
        assert process.wait(timeout=120) == 0, log.with_suffix(".err").read_text()
    ingest.route_due()  # whatever both left (none, normally)

    lines = [line.split() for line in log.read_text().splitlines()]
    counts = Counter(mid for _, mid in lines)
    assert len(counts) == 60 + barriers
    assert max(counts.values()) == 1, "an event was handed to routing twice"
    if connection.vendor == "postgresql":
        # Different customers' lanes were routed side by side.
        assert len({pid for pid, _ in lines}) == 2
    assert set(WebhookDelivery.objects.values_list("verdict", flat=True)) == {
        WebhookVerdict.PROCESSED
    }
    assert Message.objects.count() == 60 + barriers
    for psid, mids in sent.items():
        stored = list(
            Message.objects.filter(interaction__customer__psid=psid)
            .order_by("pk")
            .values_list("mid", flat=True)
        )
        assert stored == mids, f"{psid}'s messages were applied out of order"
    assert Customer.objects.count() == len(customers)


def test_a_conversations_bodies_share_a_lane_and_page_wide_ones_are_barriers(page):
    def lane(*items, **kwargs) -> int:
        return ingest.lane_of(parsing.parse_body(json.dumps(envelope(*items, **kwargs)).encode()))

    ann, bob = "7300000000100001", "7300000000100002"
    first = lane(from_customer("message", text("Hi", mid=new_mid()), psid=ann))
    assert first == lane(from_customer("message", text("Again", mid=new_mid()), psid=ann))
    assert 1 <= first <= ingest.LANES
    both = lane(
        from_customer("message", text("Hi", mid=new_mid()), psid=ann),
        from_customer("message", text("Hi", mid=new_mid()), psid=bob),
    )
    assert both == ingest.BARRIER_LANE
