"""Stored webhook bodies are routed off the request: once, in order, surviving a kill.

The view only stores; `facebook.ingest` routes. These tests run the router
in this process's thread (as a server does), in a process killed half-way,
and in two processes draining one backlog at once.
"""

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from facebook import inbound, ingest, parsing
from facebook.fake import webhooks
from facebook.models import WebhookDelivery, WebhookVerdict
from routing.models import Customer, Interaction, InteractionEvent, Message
from tests.facebook.bodies import envelope, from_customer, new_mid, now_ms, post, text
from tests.factories import PAGE_ID, make_page, make_workgroup
from tests.processes import shared_database_url

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def page():
    return make_page(make_workgroup("Facebook DM"))


def store(raw: bytes) -> WebhookDelivery:
    return ingest.store(parsing.parse_body(raw))


def _message_from(psid: str, mid: str) -> bytes:
    """One customer's "Hi", as Meta posts it."""
    return json.dumps(envelope(from_customer("message", text("Hi", mid=mid), psid=psid))).encode()


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


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has one writer at a time: no insert races"
)
def test_a_customer_created_elsewhere_mid_batch_reroutes_the_batch_apart_once(page, caplog):
    """The batch inserts without savepoints; an insert that loses a race spoils its
    transaction, and the batch is routed again apart, where it finds the winner's row."""
    psid = "7300000000200001"
    first, second = new_mid(), new_mid()
    for mid in (first, second):
        store(_message_from(psid, mid))
    holding, release = threading.Event(), threading.Event()

    def another_writer() -> None:
        # The customer's row, not yet committed when the router looks for it.
        try:
            with transaction.atomic():
                Customer.objects.create(page_id=page.page_id, psid=psid)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    routed: list[int] = []

    def router() -> None:
        try:
            routed.append(ingest.route_due())
        finally:
            connection.close()

    caplog.set_level(logging.DEBUG, logger="facebook.ingest")
    writer = threading.Thread(target=another_writer)
    writer.start()
    assert holding.wait(10)
    routing = threading.Thread(target=router)
    routing.start()
    # The router's INSERT now waits on the writer's uncommitted row.
    deadline = time.monotonic() + 10
    while not _someone_waits_on_a_lock():
        assert time.monotonic() < deadline, "the router never reached its insert"
        time.sleep(0.02)
    release.set()
    writer.join(10)
    routing.join(30)

    assert routed == [2]
    assert "ConflictInBatch" in caplog.text  # routed again, each body apart
    assert Customer.objects.filter(psid=psid).count() == 1
    assert list(
        Message.objects.filter(interaction__customer__psid=psid)
        .order_by("pk")
        .values_list("mid", flat=True)
    ) == [first, second]
    assert Interaction.objects.filter(customer__psid=psid).count() == 1
    assert set(WebhookDelivery.objects.values_list("verdict", flat=True)) == {
        WebhookVerdict.PROCESSED
    }


def test_a_router_woken_for_one_body_reads_the_due_bodies_once_before_and_once_after(page):
    """The quiet hour: each body is a batch of its own, so what a batch reads
    around its bodies is paid once per customer."""
    store(_message_from("7300000000900001", new_mid()))
    with CaptureQueriesContext(connection) as queries:
        assert ingest.route_due() == 1
    deliveries = [
        sql.split(" WHERE ")[0]
        for sql in (query["sql"] for query in queries.captured_queries)
        if sql.startswith("SELECT") and '"facebook_webhookdelivery"' in sql
    ]
    if connection.vendor == "postgresql":
        # The oldest due bodies' lanes (with the oldest barrier), the claim of the
        # bodies in the lanes taken; after the commit, again: nothing is left.
        assert len(deliveries) == 3
        assert deliveries[0] == deliveries[2] != deliveries[1]
    else:
        # One writer at a time: the claim, then the claim that finds nothing.
        assert len(deliveries) == 2
    assert WebhookDelivery.objects.get().verdict == WebhookVerdict.PROCESSED


def _someone_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_a_batch_of_new_customers_takes_no_savepoint_and_writes_each_row_once(page):
    psids = [f"73000000004{n:05d}" for n in range(5)]
    for psid in psids:
        store(
            json.dumps(
                envelope(from_customer("message", text("Hi", mid=new_mid()), psid=psid))
            ).encode()
        )
    with CaptureQueriesContext(connection) as queries:
        assert ingest.route_due() == 5
    statements = [query["sql"] for query in queries.captured_queries]
    assert not [sql for sql in statements if "SAVEPOINT" in sql]
    # The customer and the interaction are born with the message's time and the
    # waiting clock (nobody is online: nothing is offered); the outcomes are saved together.
    updates = Counter(sql.split('"')[1] for sql in statements if sql.startswith("UPDATE"))
    assert updates["routing_customer"] == updates["routing_interaction"] == 0
    assert updates["facebook_webhookdelivery"] == 1
    for interaction in Interaction.objects.select_related("customer"):
        assert interaction.customer_waiting_since == interaction.customer.last_message_at
    assert set(WebhookDelivery.objects.values_list("verdict", flat=True)) == {
        WebhookVerdict.PROCESSED
    }


def _body(*items, **kwargs) -> parsing.Body:
    return parsing.parse_body(json.dumps(envelope(*items, **kwargs)).encode())


def test_only_messages_of_customers_with_no_other_event_in_the_batch_are_read_ahead():
    ann, bob, cy = "7300000000500001", "7300000000500002", "7300000000500003"
    ann_mid, cy_mid = new_mid(), new_mid()
    bodies = [
        _body(from_customer("message", text("Hi", mid=ann_mid), psid=ann)),
        _body(from_customer("message", text("Hi", mid=new_mid()), psid=bob)),
        # Bob again: what his first message does may change what the second finds.
        _body(from_customer("message", text("Again", mid=new_mid()), psid=bob)),
        _body(from_customer("message", text("Hi", mid=cy_mid), psid=cy)),
    ]
    read_ahead = inbound.arrivals_to_read_ahead(bodies)
    assert [(arrival.psid, arrival.mid) for arrival in read_ahead] == [(ann, ann_mid), (cy, cy_mid)]
    # Another kind of event of Cy's counts as well.
    read = webhooks.read(page_id=PAGE_ID, psid=cy, watermark_ms=now_ms())
    with_read = [*bodies, _body(read)]
    assert [arrival.psid for arrival in inbound.arrivals_to_read_ahead(with_read)] == [ann]
    # A Page-wide event (nobody's) leaves nothing to read ahead.
    policy = webhooks.policy_enforcement(page_id=PAGE_ID, action="block", reason="Spam")
    assert inbound.arrivals_to_read_ahead([*bodies, _body(policy)]) == []


def _reads_by_table(statements: list[str]) -> Counter:
    tables = ("routing_message", "routing_customer", "routing_interaction")
    return Counter(
        table
        for sql in statements
        if sql.startswith("SELECT")
        for table in tables
        if sql.split(" WHERE ")[0].split(" FROM ")[1].startswith(f'"{table}"')
    )


def test_a_batchs_messages_ask_for_mids_customers_and_interactions_once_whatever_its_size(page):
    """Whether each mid is stored, each customer's row and live interaction: read
    for the whole batch, the same few queries for 2 customers as for 12."""

    def route(psids: list[str]) -> Counter:
        for psid in psids:
            item = from_customer("message", text("Hi", mid=new_mid()), psid=psid)
            store(json.dumps(envelope(item)).encode())
        with CaptureQueriesContext(connection) as queries:
            assert ingest.route_due() == len(psids)
        return _reads_by_table([query["sql"] for query in queries.captured_queries])

    few = [f"73000000006{n:05d}" for n in range(2)]
    many = [f"73000000007{n:05d}" for n in range(12)]
    new_few, new_many = route(few), route(many)
    assert new_few == new_many
    assert new_many["routing_message"] == 1
    # Again, each customer writing in their live interaction.
    again_few, again_many = route(few), route(many)
    assert again_few == again_many
    assert again_many["routing_customer"] == 0  # their row comes with the interaction
    for psid in few + many:
        [interaction] = Interaction.objects.filter(customer__psid=psid)
        assert interaction.messages.count() == 2


def test_a_batch_mixing_read_ahead_and_asked_messages_stores_each_once_in_order(page):
    ann, bob = "7300000000800001", "7300000000800002"
    earlier = new_mid()
    store(_message_from(ann, earlier))
    assert ingest.route_due() == 1
    bob_mids = [new_mid(), new_mid()]
    for raw_body in (
        # Meta redelivers Ann's message: read ahead as stored already.
        envelope(from_customer("message", text("Hi", mid=earlier), psid=ann)),
        envelope(from_customer("message", text("Hi", mid=bob_mids[0]), psid=bob)),
        envelope(from_customer("message", text("Still there?", mid=bob_mids[1]), psid=bob)),
    ):
        store(json.dumps(raw_body).encode())
    assert ingest.route_due() == 3

    assert Message.objects.filter(mid=earlier).count() == 1
    [bobs] = Interaction.objects.filter(customer__psid=bob)
    assert list(bobs.messages.order_by("pk").values_list("mid", flat=True)) == bob_mids
    assert Customer.objects.filter(psid=bob).count() == 1
    assert set(WebhookDelivery.objects.values_list("verdict", flat=True)) == {
        WebhookVerdict.PROCESSED
    }


def _notified(queries) -> int:
    return sum("pg_notify" in query["sql"] for query in queries.captured_queries)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="one process on SQLite")
def test_a_router_behind_asks_the_other_processes_routers_for_help(page, settings):
    settings.FACEBOOK_WEBHOOK_ROUTING = "background"
    time.sleep(ingest.HELP_EVERY)  # since any call an earlier test made
    store(_message_from("7300000000300001", new_mid()))
    with CaptureQueriesContext(connection) as queries:
        assert ingest.route_due() == 1
    assert _notified(queries) == 0  # routed as it came: nobody is asked

    store(_message_from("7300000000300002", new_mid()))
    store(_message_from("7300000000300003", new_mid()))
    time.sleep(ingest.HELP_AFTER.total_seconds())  # as if this router were busy meanwhile
    with CaptureQueriesContext(connection) as queries:
        assert ingest.route_due(batch_size=1) == 2
    assert _notified(queries) == 1  # and not again within HELP_EVERY


@pytest.mark.skipif(connection.vendor != "postgresql", reason="one process on SQLite")
def test_a_call_for_help_from_another_process_wakes_this_ones_router(page, settings):
    settings.FACEBOOK_WEBHOOK_ROUTING = "background"
    helper = ingest.Router()
    listener = ingest.HelpListener(helper, process="this process")
    listener.start()
    try:
        assert listener.listening.wait(10)
        waiting = store(_message_from("7300000000300020", new_mid()))
        with connection.cursor() as cursor:
            # Its own process's call is not for it.
            cursor.execute("SELECT pg_notify(%s, %s)", [ingest.HELP_CHANNEL, "this process"])
            time.sleep(0.5)
            waiting.refresh_from_db()
            assert waiting.verdict == WebhookVerdict.PENDING
            cursor.execute("SELECT pg_notify(%s, %s)", [ingest.HELP_CHANNEL, "a busy process"])
        deadline = time.monotonic() + 10
        while waiting.verdict == WebhookVerdict.PENDING:
            assert time.monotonic() < deadline, "the call woke no router"
            time.sleep(0.05)
            waiting.refresh_from_db()
        assert waiting.verdict == WebhookVerdict.PROCESSED
        assert Message.objects.filter(interaction__customer__psid="7300000000300020").count() == 1
    finally:
        listener.stop()
        helper.stop()
