"""The measured phases, run in a process whose Django points at the bench database.

Load goes to the servers over 127.0.0.1 only. The ORM here prepares the
bench's data beforehand (as a supervisor would in admin, or as past traffic
would have left it) and checks the outcome afterwards; during a measurement it
only maps what the bench posted to the rows the servers made.
"""

import asyncio
import itertools
import json
import math
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from bench import clients
from bench.clients import AgentSession, DesktopSocket, Sightings, open_desktop, sign
from bench.httpload import HttpError, Pool
from bench.servers import (
    INGEST_PAGE_ID,
    INGEST_WORKGROUP,
    LIVE_PAGE_ID,
    LIVE_WORKGROUP,
    RENDER_PAGE_ID,
    RENDER_WORKGROUP,
    SOCKETS_WORKGROUP,
    Servers,
)

TEXTS = [
    "Hi, my order #1042 has not arrived.",
    "Any news? It was due on Monday.",
    "Grüße aus München – the parcel says “delivered” but it isn't here ✓",
    "Can I change the delivery address?",
    "Thanks!",
]

# A message answered 200 but not on its owner's socket within this is lost.
LOST_AFTER = 10.0
# A customer writes again this long after their agent picked up.
FOLLOW_UP_DELAY = 0.5
# The password of the bench's users: never typed, the bench makes their sessions.
UNUSABLE = "!bench"

# perf_counter() + WALL = time.time(): the servers stamp rows with the wall clock.
WALL = time.time() - time.perf_counter()

# PSIDs no demo or test uses, unique across the whole run.
_psids = itertools.count(7_310_000_000_000_000)


def new_psid() -> str:
    return str(next(_psids))


# --- set-up through the ORM (before the servers start) ---------------------------------


@dataclass
class Seeded:
    live_agents: list[str]
    socket_agents: list[str]
    live_workgroup_id: int
    capacity: int
    list_agent: str
    list_size: int
    conversation_agent: str
    conversation_id: int
    conversation_size: int


def seed_bench(
    *, live_agents: int, capacity: int, socket_agents: int, list_size: int, conversation: int
) -> Seeded:
    """The bench's Pages, workgroups, agents, and the rows the render phase shows.

    Like seed_demo, configuration a supervisor would make in admin; the render
    phase's interactions and messages stand for past traffic.
    """
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from facebook.models import FacebookPage
    from routing.models import Agent, AgentStatus, Workgroup

    def agents(prefix: str, count: int, workgroup: Workgroup) -> list[str]:
        users = User.objects.bulk_create(
            User(
                username=f"{prefix}{n:03d}",
                password=UNUSABLE,
                first_name="Bench",
                last_name=f"{prefix} {n:03d}",
            )
            for n in range(1, count + 1)
        )
        made = Agent.objects.bulk_create(
            Agent(user=user, status=AgentStatus.AVAILABLE) for user in users
        )
        workgroup.members.add(*made)
        return [user.username for user in users]

    User = get_user_model()
    with transaction.atomic():
        ingest = Workgroup.objects.create(name=INGEST_WORKGROUP, alert_timeout_seconds=3600)
        live = Workgroup.objects.create(
            name=LIVE_WORKGROUP, capacity_per_agent=capacity, alert_timeout_seconds=3600
        )
        sockets = Workgroup.objects.create(name=SOCKETS_WORKGROUP)
        render = Workgroup.objects.create(name=RENDER_WORKGROUP, alert_timeout_seconds=3600)
        for page_id, name, workgroup in (
            (INGEST_PAGE_ID, "Bench Ingest", ingest),
            (LIVE_PAGE_ID, "Bench Live", live),
            (RENDER_PAGE_ID, "Bench Render", render),
        ):
            FacebookPage.objects.create(
                page_id=page_id, name=name, access_token=f"token-{page_id}", workgroup=workgroup
            )
        live_names = agents("live", live_agents, live)
        socket_names = agents("sock", socket_agents, sockets)
        list_agent, conversation_agent = agents("render", 2, render)
        now = timezone.now()
        _past_interactions(render, list_agent, count=list_size, messages_each=3, now=now)
        (conversation_id,) = _past_interactions(
            render, conversation_agent, count=1, messages_each=conversation, now=now
        )
    return Seeded(
        live_agents=live_names,
        socket_agents=socket_names,
        live_workgroup_id=live.pk,
        capacity=capacity,
        list_agent=list_agent,
        list_size=list_size,
        conversation_agent=conversation_agent,
        conversation_id=conversation_id,
        conversation_size=conversation,
    )


def _past_interactions(workgroup, username: str, *, count: int, messages_each: int, now):
    """`count` connected interactions of the agent, each with `messages_each` messages."""
    from datetime import timedelta

    from routing.models import (
        Agent,
        Customer,
        Interaction,
        InteractionState,
        Message,
        MessageDirection,
        MessageStatus,
    )

    agent = Agent.objects.select_related("user").get(user__username=username)
    customers = Customer.objects.bulk_create(
        Customer(page_id=RENDER_PAGE_ID, psid=new_psid(), first_name="Past", last_name=f"{n}")
        for n in range(count)
    )
    started = now - timedelta(seconds=30 * messages_each + 60)
    interactions = Interaction.objects.bulk_create(
        Interaction(
            workgroup=workgroup,
            customer=customer,
            state=InteractionState.CONNECTED,
            agent=agent,
            connected_at=started,
        )
        for customer in customers
    )
    messages = []
    for interaction in interactions:
        for n in range(messages_each):
            outbound = n % 2 == 1
            messages.append(
                Message(
                    interaction=interaction,
                    direction=MessageDirection.OUTBOUND if outbound else MessageDirection.INBOUND,
                    text=TEXTS[n % len(TEXTS)],
                    status=MessageStatus.SENT if outbound else MessageStatus.RECEIVED,
                    author=agent.user if outbound else None,
                    sent_at=started + timedelta(seconds=30 * n),
                )
            )
    Message.objects.bulk_create(messages, batch_size=500)
    return [interaction.pk for interaction in interactions]


def log_in(usernames: list[str]) -> dict[str, tuple[str, str]]:
    """A session for each user, as a login makes it; (session key, CSRF token) by username.

    Made through the ORM rather than POST /accounts/login/: a login hashes the
    password on the server (slow on purpose) and the bench needs hundreds.
    """
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.db import transaction
    from django.utils.crypto import get_random_string

    store = import_module(settings.SESSION_ENGINE).SessionStore
    made = {}
    with transaction.atomic():
        for user in get_user_model().objects.filter(username__in=usernames):
            session = store()
            session[SESSION_KEY] = user._meta.pk.value_to_string(user)
            session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.create()
            # A CSRF secret as the cookie carries it; the header repeats it.
            made[user.username] = (session.session_key, get_random_string(32))
    return made


def sessions_for(base_url: str, keys: dict[str, tuple[str, str]], names) -> dict:
    return {
        name: AgentSession(
            username=name, base_url=base_url, session_key=keys[name][0], csrf_token=keys[name][1]
        )
        for name in names
    }


# --- checks through the ORM (sync; called with asyncio.to_thread) -------------------------


def desktop_count() -> int:
    from routing.models import DesktopConnection

    return DesktopConnection.objects.count()


def postgres_backends() -> int | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def close_db() -> None:
    from django.db import connections

    connections.close_all()


async def wait_until(check, done, timeout: float, every: float = 0.1) -> float | None:
    """Seconds until `done(check())` holds, polling; None if `timeout` passed first."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if done(await asyncio.to_thread(check)):
            return time.perf_counter() - started
        await asyncio.sleep(every)
    return None


class PeakSampler:
    """Samples a number (PostgreSQL backends) in the background and keeps the peak."""

    def __init__(self, sample, every: float = 0.25) -> None:
        self.sample = sample
        self.every = every
        self.peak: int | None = None
        self.task: asyncio.Task | None = None

    async def _run(self) -> None:
        while True:
            value = await asyncio.to_thread(self.sample)
            if value is not None:
                self.peak = max(self.peak or 0, value)
            await asyncio.sleep(self.every)

    def __enter__(self) -> "PeakSampler":
        self.task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc) -> None:
        if self.task:
            self.task.cancel()


class Meter:
    """CPU the servers and the bench itself used over a phase, in cores (1.0 = one core)."""

    def __init__(self, servers: Servers) -> None:
        self.servers = servers
        self.started = time.perf_counter()
        self.used = servers.cpu_seconds()
        self.meta = servers.meta_cpu_seconds()
        self.bench = time.process_time()
        self.statements = servers.statement_counts()
        self.meta_statements = servers.statement_counts(meta=True)

    def servers_busy(self) -> str:
        wall = time.perf_counter() - self.started
        now = self.servers.cpu_seconds()
        return " + ".join(f"{(b - a) / wall:.2f}" for a, b in zip(self.used, now, strict=True))

    def meta_busy(self) -> str:
        wall = time.perf_counter() - self.started
        return f"{(self.servers.meta_cpu_seconds() - self.meta) / wall:.2f}"

    def bench_busy(self) -> str:
        return f"{(time.process_time() - self.bench) / (time.perf_counter() - self.started):.2f}"

    def statements_run(self) -> Counter[str]:
        """SQL statements the servers ran since the start, by part."""
        return self.servers.statement_counts() - self.statements

    def meta_statements_run(self) -> int:
        """SQL statements Meta's side (the fake Graph API) ran since the start."""
        run = self.servers.statement_counts(meta=True) - self.meta_statements
        return sum(run.values())


async def settle(servers: Servers, *, idle: float = 0.15, cap: float = 20.0) -> float:
    """Wait until every server process is nearly idle (under `idle` cores over 0.3 s),
    so that a phase does not measure the previous one's leftovers; the seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < cap:
        before = servers.cpu_seconds()
        await asyncio.sleep(0.3)
        if all((b - a) / 0.3 < idle for a, b in zip(before, servers.cpu_seconds(), strict=True)):
            break
    return time.perf_counter() - started


# --- 1. webhook ingest vs an empty view ------------------------------------------------------


@dataclass
class Closed:
    """A closed loop: each connection posts again as soon as it is answered."""

    sent: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    answered: list[clients.SignedBody] = field(default_factory=list)
    servers_busy: str = ""
    bench_busy: str = ""

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


@dataclass
class IngestResult:
    empty: Closed
    webhook: Closed
    connections: int
    empty_after: Closed | None = None
    new_customers: int = 0
    redeliveries: int = 0
    bodies_stored_once: int = 0
    bodies_answered: int = 0
    routed_after: float | None = None
    drain_busy: str = ""
    verdicts: Counter = field(default_factory=Counter)
    mids_once: int = 0
    mids_posted: int = 0
    mids_missing: int = 0
    mids_twice: int = 0


def plan_webhooks(
    count: int, *, spacing: int, new_share: float, redelivery_share: float, seed: int
) -> tuple[list[clients.SignedBody], set[int], set[int]]:
    """Signed bodies: new customers, follow-ups of earlier ones, and some of Meta's redeliveries.

    A follow-up comes from a customer introduced at least `spacing` bodies
    earlier; a redelivery repeats an earlier body byte for byte. Returns the
    plan and the positions of new customers and of redeliveries.
    """
    rng = random.Random(seed)
    psids: list[str] = []
    plan: list[clients.SignedBody] = []
    new: set[int] = set()
    redelivered: set[int] = set()
    for position in range(count):
        if len(plan) > spacing and rng.random() < redelivery_share:
            plan.append(rng.choice(plan[: len(plan) - spacing]))
            redelivered.add(position)
            continue
        eligible = psids[: max(0, len(psids) - spacing)]
        if not eligible or rng.random() < new_share:
            psid = new_psid()
            psids.append(psid)
            new.add(position)
        else:
            psid = rng.choice(eligible)
        mid = clients.new_mid()
        body = clients.customer_message(
            page_id=INGEST_PAGE_ID, psid=psid, mid=mid, text=rng.choice(TEXTS)
        )
        plan.append(sign(body, mid))
    return plan, new, redelivered


async def _closed_loop(
    servers: Servers, path: str, bodies, *, connections: int, seconds: float
) -> Closed:
    result = Closed()
    pools = [Pool(url, limit=connections) for url in servers.urls]
    meter = Meter(servers)
    started = time.perf_counter()

    async def client(number: int) -> None:
        pool = pools[number % len(pools)]
        async with pool.connection() as connection:
            while time.perf_counter() - started < seconds:
                try:
                    body = next(bodies)
                except StopIteration:
                    return
                sent_at = time.perf_counter()
                try:
                    status, _ = await connection.request("POST", path, body.raw, body.headers)
                except HttpError as exc:
                    result.statuses[str(exc)[:60]] += 1
                    continue
                result.latencies.append(time.perf_counter() - sent_at)
                result.statuses[status] += 1
                result.sent += 1
                if status == 200:
                    result.answered.append(body)

    await asyncio.gather(*(client(n) for n in range(connections)))
    result.seconds = time.perf_counter() - started
    result.servers_busy = meter.servers_busy()
    result.bench_busy = meter.bench_busy()
    for pool in pools:
        pool.close()
    return result


def _delivery_mark() -> int:
    from django.db.models import Max

    from facebook.models import WebhookDelivery

    return WebhookDelivery.objects.aggregate(m=Max("id"))["m"] or 0


def _pending_since(mark: int) -> int:
    from facebook.models import WebhookDelivery

    return WebhookDelivery.objects.filter(id__gt=mark, verdict="pending").count()


def _deliveries_since(mark: int) -> list[tuple[str, str]]:
    from facebook.models import WebhookDelivery

    return list(WebhookDelivery.objects.filter(id__gt=mark).values_list("body", "verdict"))


def stored_counts(mids: list[str]) -> Counter:
    """How many Message rows each mid has."""
    from django.db.models import Count

    from routing.models import Message

    counts: Counter = Counter()
    for start in range(0, len(mids), 500):
        chunk = mids[start : start + 500]
        for row in (
            Message.objects.filter(mid__in=chunk).values("mid").annotate(n=Count("pk")).order_by()
        ):
            counts[row["mid"]] = row["n"]
    return counts


async def ingest(
    servers: Servers, *, connections: int, seconds: float, bodies: int, settle_cap: float
) -> IngestResult:
    """Signed single-event POSTs at saturation, and the empty view with the same bodies.

    The same `connections` keep-alive connections, spread over every process,
    post as fast as they are answered: to /bench/empty (the bodies are sent
    and not read), then to /facebook/webhook for `seconds` or `bodies` POSTs,
    whichever comes first (every body posted must be routed before the next
    phase); the bench waits until every stored body is routed, ends the
    customers' interactions (clean-up), waits for the servers to settle, posts
    to /bench/empty again (the machine is shared: two windows around the
    webhook's even out some of its drift), and checks each body was stored and
    routed once.
    """
    plan, new, redelivered = plan_webhooks(
        bodies,
        spacing=connections,
        new_share=0.3,
        redelivery_share=0.05,
        seed=1,
    )
    # Warm up: open the connections and let each process import and connect.
    await _closed_loop(
        servers,
        "/bench/empty",
        iter(plan[: connections * 10]),
        connections=connections,
        seconds=seconds,
    )
    # The empty view gets the same number of POSTs (and the same time cap) as the webhook.
    empty = await _closed_loop(
        servers, "/bench/empty", iter(plan), connections=connections, seconds=seconds
    )
    mark = await asyncio.to_thread(_delivery_mark)
    webhook = await _closed_loop(
        servers, "/facebook/webhook", iter(plan), connections=connections, seconds=seconds
    )
    result = IngestResult(empty=empty, webhook=webhook, connections=connections)
    posted = webhook.sent
    result.new_customers = len([p for p in new if p < posted])
    result.redeliveries = len([p for p in redelivered if p < posted])
    ended = time.perf_counter()
    meter = Meter(servers)
    waited = await wait_until(lambda: _pending_since(mark), lambda n: n == 0, 60, every=0.2)
    if waited is not None:
        result.routed_after = time.perf_counter() - ended
    result.drain_busy = meter.servers_busy()
    # The customers' queue leaves (bench clean-up, see end_queued) and the servers
    # settle, so that the second empty window does not pay for the first one's aftermath.
    await asyncio.to_thread(end_queued, INGEST_WORKGROUP)
    await settle(servers, cap=settle_cap)
    result.empty_after = await _closed_loop(
        servers, "/bench/empty", iter(plan), connections=connections, seconds=seconds
    )

    # Every body answered 200 left one stored row per POST (a redelivery is a POST
    # of its own), routed; every mid posted has exactly one Message row.
    rows = await asyncio.to_thread(_deliveries_since, mark)
    stored = Counter(body for body, _ in rows)
    answered = Counter(body.raw.decode() for body in webhook.answered)
    result.bodies_answered = sum(answered.values())
    result.bodies_stored_once = sum(n for text, n in answered.items() if stored.get(text, 0) == n)
    result.verdicts = Counter(verdict for _, verdict in rows)
    mids = sorted({body.mid for body in webhook.answered})
    counts = await asyncio.to_thread(stored_counts, mids)
    result.mids_posted = len(mids)
    result.mids_once = sum(1 for mid in mids if counts.get(mid) == 1)
    result.mids_missing = sum(1 for mid in mids if not counts.get(mid))
    result.mids_twice = sum(1 for mid in mids if counts.get(mid, 0) > 1)
    return result


# --- 2 and 4. end to end under load, with the agents' actions -------------------------------


async def open_sockets(
    base_url: str,
    sessions: list[AgentSession],
    sightings: Sightings | None,
    *,
    at_once: int,
    timeout: float = 30,
) -> tuple[list[DesktopSocket], Counter, list[float]]:
    """One socket per session (a session may appear many times), `at_once` at a time.

    Returns the sockets opened, the failures by reason, and each handshake's time.
    """
    limit = asyncio.Semaphore(at_once)
    failures: Counter = Counter()
    handshakes: list[float] = []

    async def one(session: AgentSession) -> DesktopSocket | None:
        async with limit:
            started = time.perf_counter()
            try:
                socket = await open_desktop(base_url, session, sightings, timeout=timeout)
            except Exception as exc:
                failures[f"{type(exc).__name__}: {str(exc)[:70]}"] += 1
                return None
            handshakes.append(time.perf_counter() - started)
            return socket

    opened = await asyncio.gather(*(one(s) for s in sessions))
    return [s for s in opened if s is not None], failures, handshakes


@dataclass
class Posted:
    mid: str
    started: float = 0.0
    seconds: float = 0.0
    status: int | str = 0


@dataclass
class SendItem:
    client_id: str
    wall: float
    started: float
    seconds: float
    message_id: int | None


@dataclass
class Stages:
    """Where a message's time went, from the rows' own timestamps (the servers' clock)."""

    routed: list[float] = field(default_factory=list)  # POST start → Message row
    offered: list[float] = field(default_factory=list)  # Message row → offer event
    shown: list[float] = field(default_factory=list)  # the last stamp → seen on the socket


@dataclass
class EndToEndResult:
    agents: int = 0
    rate: float = 0.0
    seconds: float = 0.0
    posting_seconds: float = 0.0
    new: list[Posted] = field(default_factory=list)
    follow_ups: list[Posted] = field(default_factory=list)
    alert: list[float] = field(default_factory=list)
    alert_lost: Counter = field(default_factory=Counter)
    bubble: list[float] = field(default_factory=list)
    bubble_lost: Counter = field(default_factory=Counter)
    wrong_socket: int = 0
    alert_stages: Stages = field(default_factory=Stages)
    bubble_stages: Stages = field(default_factory=Stages)
    pickups: list[float] = field(default_factory=list)
    sends: list[SendItem] = field(default_factory=list)
    send_answer: list[float] = field(default_factory=list)
    send_graph: list[float] = field(default_factory=list)
    send_graph_missing: int = 0
    send_sent: list[float] = field(default_factory=list)
    send_sent_missing: int = 0
    failures: Counter = field(default_factory=Counter)
    frames: int = 0
    frame_bytes: int = 0
    servers_busy: str = ""
    bench_busy: str = ""
    meta_busy: str = ""
    pg_peak_backends: int | None = None
    dropped: int = 0
    statements: Counter = field(default_factory=Counter)
    meta_statements: int = 0

    def statuses(self, items: list[Posted]) -> Counter:
        return Counter(item.status for item in items)


def _psid_of(interaction_id: int) -> str:
    from routing.models import Interaction

    return Interaction.objects.values_list("customer__psid", flat=True).get(pk=interaction_id)


def _where_mids_went(mids: list[str]) -> dict[str, tuple]:
    """mid → (message id, interaction id, its state, its agent's username, stored at)."""
    from routing.models import Message

    found = {}
    for start in range(0, len(mids), 500):
        for row in Message.objects.filter(mid__in=mids[start : start + 500]).values_list(
            "mid",
            "pk",
            "interaction_id",
            "interaction__state",
            "interaction__agent__user__username",
            "created_at",
        ):
            found[row[0]] = (*row[1:5], row[5].timestamp())
    return found


def _offered_at(interaction_ids: list[int]) -> dict[int, float]:
    """When each interaction was first offered (its `offer` event)."""
    from django.db.models import Min

    from routing.models import InteractionEvent

    found = {}
    for start in range(0, len(interaction_ids), 500):
        for interaction_id, at in (
            InteractionEvent.objects.filter(
                interaction_id__in=interaction_ids[start : start + 500], verb="offer"
            )
            .values("interaction_id")
            .annotate(at=Min("at"))
            .values_list("interaction_id", "at")
        ):
            found[interaction_id] = at.timestamp()
    return found


def _graph_calls_since(wall: float) -> dict[str, float]:
    """The fake Graph API's recorded sends since `wall`: client id (metadata) → when."""
    from datetime import UTC, datetime

    from facebook.models import FakeGraphCall

    calls = {}
    since = datetime.fromtimestamp(wall - 1, tz=UTC)
    for body, at in FakeGraphCall.objects.filter(at__gte=since, method="POST").values_list(
        "body", "at"
    ):
        message = body.get("message") if isinstance(body, dict) else None
        metadata = message.get("metadata") if isinstance(message, dict) else None
        if metadata and metadata not in calls:
            calls[metadata] = at.timestamp()
    return calls


async def end_to_end(
    servers: Servers,
    sessions: dict[str, AgentSession],
    sightings: Sightings,
    desktops: dict[str, clients.DesktopSocket],
    *,
    rate: float,
    seconds: float,
    pick_every: int,
) -> EndToEndResult:
    """New customers at `rate` for `seconds`; every `pick_every`-th offer is picked up.

    A new customer's webhook goes to the last process; the offered agent's
    socket is on the first. When an agent's socket shows an alerting row the
    bench may pick it up (htmx POST), as the agent would; the tab then shows
    that interaction (it tells its socket, as the desktop does), the agent
    replies (Send) and the customer writes again `FOLLOW_UP_DELAY` later.
    """
    result = EndToEndResult(agents=len(sessions), rate=rate)
    pool = Pool(servers.live_base, limit=128)
    flows: list[asyncio.Task] = []
    picking = True
    alerts = itertools.count(1)
    frames, frame_bytes = sightings.frames, sightings.frame_bytes
    meter = Meter(servers)
    wall_started = time.time()

    async def post(page_id: str, psid: str, text: str, into: list[Posted]) -> None:
        mid = clients.new_mid()
        body = sign(clients.customer_message(page_id=page_id, psid=psid, mid=mid, text=text), mid)
        item = Posted(mid=mid)
        into.append(item)
        try:
            item.status, _, item.started, item.seconds = await pool.request(
                "POST", "/facebook/webhook", body.raw, body.headers
            )
        except HttpError as exc:
            item.status = str(exc)[:60]

    async def reply(agent: AgentSession, interaction_id: int) -> None:
        client_id = str(uuid.uuid4())
        wall, started = time.time(), time.perf_counter()
        html, took = await agent.post(
            f"/interactions/{interaction_id}/messages",
            {"text": "Hi! I'm looking into it now.", "client_id": client_id},
        )
        bubble = clients.BUBBLE_ID.search(html)
        result.sends.append(
            SendItem(client_id, wall, started, took, int(bubble.group(1)) if bubble else None)
        )

    async def follow_up(interaction_id: int) -> None:
        psid = await asyncio.to_thread(_psid_of, interaction_id)
        await asyncio.sleep(FOLLOW_UP_DELAY)
        await post(
            LIVE_PAGE_ID, psid, "Still there? Here is my order number: 1042.", result.follow_ups
        )

    async def flow(interaction_id: int, owner: str) -> None:
        agent = sessions[owner]
        try:
            _, took = await agent.post(f"/interactions/{interaction_id}/pickup")
            result.pickups.append(took)
            if owner in desktops:
                await desktops[owner].connection.send(json.dumps({"view": interaction_id}))
            await asyncio.gather(reply(agent, interaction_id), follow_up(interaction_id))
        except Exception as exc:  # counted and shown under the table, never fatal
            result.failures[f"{type(exc).__name__}: {str(exc)[:90]}"] += 1

    def on_seen(key: tuple, owner: str, at: float) -> None:
        alerting = key[0] == "row" and key[2] == "alerting" and owner in sessions
        if alerting and picking and next(alerts) % pick_every == 0:
            flows.append(asyncio.create_task(flow(key[1], owner)))

    sightings.on_seen = on_seen
    posts: list[asyncio.Task] = []
    started = time.perf_counter()
    with PeakSampler(postgres_backends) as sampler:
        for number in range(round(rate * seconds)):
            delay = started + number / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            posts.append(asyncio.create_task(post(LIVE_PAGE_ID, new_psid(), TEXTS[0], result.new)))
        result.posting_seconds = time.perf_counter() - started
        await asyncio.gather(*posts)
        picking = False
        # Stragglers: until every flow ended and each item was seen, at most
        # LOST_AFTER after the last POST.
        while True:
            await asyncio.gather(*flows)
            last = max(item.started for item in result.new + result.follow_ups)
            if time.perf_counter() > last + LOST_AFTER:
                break
            alerts_seen = sum(
                1 for key in sightings.first if key[0] == "row" and key[2] == "alerting"
            )
            sent_seen = all(
                ("bubble", s.message_id, "sent") in sightings.first
                for s in result.sends
                if s.message_id
            )
            if alerts_seen >= len(result.new) and sent_seen:
                went = await asyncio.to_thread(
                    _where_mids_went, [item.mid for item in result.follow_ups]
                )
                if len(went) == len(result.follow_ups) and all(
                    ("message", where[0]) in sightings.first for where in went.values()
                ):
                    break
            await asyncio.sleep(0.25)
    sightings.on_seen = None
    result.seconds = time.perf_counter() - started
    result.servers_busy = meter.servers_busy()
    result.bench_busy = meter.bench_busy()
    result.meta_busy = meter.meta_busy()
    result.statements = meter.statements_run()
    result.meta_statements = meter.meta_statements_run()
    result.pg_peak_backends = sampler.peak
    result.frames = sightings.frames - frames
    result.frame_bytes = sightings.frame_bytes - frame_bytes
    pool.close()
    await _tally(result, sightings, wall_started)
    return result


async def _tally(result: EndToEndResult, sightings: Sightings, wall_started: float) -> None:
    """Match what was posted with what the sockets showed, through the rows the servers made."""
    went = await asyncio.to_thread(
        _where_mids_went, [item.mid for item in result.new + result.follow_ups]
    )
    offered = await asyncio.to_thread(_offered_at, sorted({w[1] for w in went.values()}))

    def seen(key: tuple, item: Posted, agent: str | None) -> float | None:
        at, owner = sightings.first.get(key, (None, None))
        if at is None or at - item.started > LOST_AFTER:
            return None
        if owner != agent:
            result.wrong_socket += 1
        return at - item.started

    for item in result.new:
        if item.status != 200:
            continue
        if item.mid not in went:
            result.alert_lost["not routed (no message row)"] += 1
            continue
        _, interaction_id, state, agent, stored = went[item.mid]
        took = seen(("row", interaction_id, "alerting"), item, agent)
        if took is not None:
            result.alert.append(took)
            stages = result.alert_stages
            stages.routed.append(stored - (item.started + WALL))
            if interaction_id in offered:
                stages.offered.append(offered[interaction_id] - stored)
                stages.shown.append(item.started + took + WALL - offered[interaction_id])
        elif agent is None:
            result.alert_lost[f"never offered (still {state})"] += 1
        else:
            result.alert_lost[f"offered, no alerting row within {LOST_AFTER:g} s"] += 1
    for item in result.follow_ups:
        if item.status != 200:
            continue
        if item.mid not in went:
            result.bubble_lost["not routed (no message row)"] += 1
            continue
        message_id, _, _, agent, stored = went[item.mid]
        took = seen(("message", message_id), item, agent)
        if took is not None:
            result.bubble.append(took)
            result.bubble_stages.routed.append(stored - (item.started + WALL))
            result.bubble_stages.shown.append(item.started + took + WALL - stored)
        else:
            result.bubble_lost[f"not on the owner's socket within {LOST_AFTER:g} s"] += 1

    graph = await asyncio.to_thread(_graph_calls_since, wall_started)
    for send in result.sends:
        result.send_answer.append(send.seconds)
        if send.client_id in graph:
            result.send_graph.append(graph[send.client_id] - send.wall)
        else:
            result.send_graph_missing += 1
        at, _ = sightings.first.get(("bubble", send.message_id, "sent"), (None, None))
        if at is not None and at - send.started <= LOST_AFTER:
            result.send_sent.append(at - send.started)
        else:
            result.send_sent_missing += 1


# --- 3. the framework's floor ----------------------------------------------------------------


@dataclass
class FloorResult:
    available: bool = True
    why: str = ""
    posts: int = 0
    sockets: int = 0
    statuses: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    missing: int = 0
    servers_busy: str = ""
    bench_busy: str = ""
    # Frames seen per second, from the first POST to the last frame seen.
    delivered_rate: float = 0.0


_floor_numbers = itertools.count(1)


async def floor(
    servers: Servers,
    sightings: Sightings,
    groups: list[str],
    per_group: int,
    *,
    rate: float,
    seconds: float,
    wait: float,
) -> FloorResult:
    """POST /bench/floor at `rate`, each one group_send of a constant-size fragment.

    The POSTs go to `groups` in turn; each group has `per_group` sockets. The
    bench waits at most `wait` after the last answer for the frames.
    """
    result = FloorResult(sockets=per_group)
    pool = Pool(servers.live_base, limit=128)
    probe = next(_floor_numbers)
    status, body, _, _ = await pool.request("POST", f"/bench/floor?group={groups[0]}&n={probe}")
    if status != 200:
        result.available = False
        result.why = f"/bench/floor answered {status}: {body.decode(errors='replace')[:80]}"
        pool.close()
        return result
    await wait_until(lambda: len(sightings.floor), lambda n: n >= per_group, 5, every=0.05)
    sightings.floor.clear()
    starts: dict[int, float] = {}
    meter = Meter(servers)

    async def one(number: int, group: str) -> None:
        try:
            status, _, starts[number], _ = await pool.request(
                "POST", f"/bench/floor?group={group}&n={number}"
            )
        except HttpError as exc:
            status = str(exc)[:60]
        result.statuses[status] += 1

    posts = []
    started = time.perf_counter()
    for index in range(round(rate * seconds)):
        delay = started + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        posts.append(asyncio.create_task(one(next(_floor_numbers), groups[index % len(groups)])))
    await asyncio.gather(*posts)
    result.posts = len(posts)
    expected = result.statuses[200] * per_group

    def seen() -> int:
        return sum(1 for n, _ in sightings.floor if n in starts)

    await wait_until(seen, lambda n: n >= expected, wait, every=0.05)
    result.servers_busy = meter.servers_busy()
    result.bench_busy = meter.bench_busy()
    mine = [(n, at) for n, at in sightings.floor if n in starts]
    result.latencies = [at - starts[n] for n, at in mine]
    result.missing = expected - len(result.latencies)
    if mine:
        span = max(at for _, at in mine) - min(starts.values())
        result.delivered_rate = len(mine) / span if span > 0 else 0.0
    sightings.floor.clear()
    pool.close()
    return result


def agent_ids(usernames: list[str]) -> list[int]:
    from routing.models import Agent

    ids = dict(
        Agent.objects.filter(user__username__in=usernames).values_list("user__username", "pk")
    )
    return [ids[name] for name in usernames]


def end_queued(workgroup_name: str) -> int:
    """Bench clean-up, not a measurement: the ingest phase's customers leave the queue
    through the ORM, without events, so that later windows and phases do not pay for
    re-rendering a queue of hundreds of rows that nobody in the bench looks at."""
    from django.utils import timezone

    from routing.models import Interaction

    now = timezone.now()
    return (
        Interaction.objects.filter(workgroup__name=workgroup_name)
        .exclude(state="disconnected")
        .update(state="disconnected", disconnected_at=now, dismissed_at=now)
    )


def end_live_interactions(workgroup_id: int) -> int:
    """Bench clean-up, not a measurement: the live phase's interactions end through the ORM,
    without events, so that closing 200 desktops does not send thousands of offers back
    to the queue while the next phase measures."""
    from django.utils import timezone

    from routing.models import Interaction

    now = timezone.now()
    return (
        Interaction.objects.filter(workgroup_id=workgroup_id)
        .exclude(state="disconnected")
        .update(state="disconnected", disconnected_at=now, dismissed_at=now)
    )


async def close_all(sockets: list[DesktopSocket], *, at_once: int = 500) -> None:
    limit = asyncio.Semaphore(at_once)

    async def one(socket: DesktopSocket) -> None:
        async with limit:
            try:
                await asyncio.wait_for(socket.close(), 10)
            except Exception:  # already gone: nothing to close
                return

    await asyncio.gather(*(one(s) for s in sockets))


# --- 5. sockets: many idle ones in one process, and a burst ------------------------------------


@dataclass
class SocketsResult:
    agents: int = 0
    wanted: int = 0
    opened: int = 0
    failures: Counter = field(default_factory=Counter)
    burst: int = 0
    burst_opened: int = 0
    burst_failures: Counter = field(default_factory=Counter)
    burst_handshakes: list[float] = field(default_factory=list)
    burst_seconds: float = 0.0
    fill_seconds: float = 0.0
    registered_after: float | None = None
    rss_before: int = 0
    rss_after: int = 0
    dropped: int = 0
    unregistered_after: float | None = None
    left: int = 0
    servers_busy: str = ""

    @property
    def fill_rate(self) -> float:
        """Connects accepted per second after the burst."""
        filled = self.opened - self.burst_opened
        return filled / self.fill_seconds if self.fill_seconds else math.nan

    @property
    def per_socket(self) -> float:
        return (self.rss_after - self.rss_before) / self.opened if self.opened else math.nan


async def sockets(
    servers: Servers,
    sessions: list[AgentSession],
    *,
    total: int,
    burst: int,
    cap: float,
    presence: float,
) -> SocketsResult:
    """`burst` desktop tabs at once on the first process, then more up to `total`, all idle.

    A modest number of agents each open many tabs. Memory per socket is the
    process's RSS growth divided by the sockets open.
    """
    result = SocketsResult(agents=len(sessions), wanted=total, burst=burst)
    url = servers.desktop_url
    baseline = await asyncio.to_thread(desktop_count)
    result.rss_before = servers.rss_bytes(0)
    meter = Meter(servers)

    def tabs(count: int, offset: int) -> list[AgentSession]:
        return [sessions[(offset + n) % len(sessions)] for n in range(count)]

    started = time.perf_counter()
    opened, result.burst_failures, result.burst_handshakes = await open_sockets(
        url, tabs(burst, 0), None, at_once=burst
    )
    result.burst_seconds = time.perf_counter() - started
    result.burst_opened = len(opened)
    started = time.perf_counter()
    while len(opened) < total and time.perf_counter() - started < cap:
        batch, failures, _ = await open_sockets(
            url, tabs(min(200, total - len(opened)), len(opened)), None, at_once=200
        )
        opened += batch
        result.failures.update(failures)
        if not batch:
            break
    result.fill_seconds = time.perf_counter() - started
    result.opened = len(opened)
    expected = baseline + len(opened)
    waited = await wait_until(desktop_count, lambda n: n >= expected, presence, 0.25)
    if waited is not None:
        result.registered_after = waited
    await asyncio.sleep(1.0)
    result.rss_after = servers.rss_bytes(0)
    result.dropped = sum(1 for s in opened if s.dropped)
    closing = time.perf_counter()
    await close_all(opened)
    waited = await wait_until(desktop_count, lambda n: n <= baseline, presence, 0.25)
    if waited is not None:
        result.unregistered_after = time.perf_counter() - closing
    result.left = await asyncio.to_thread(desktop_count) - baseline
    result.servers_busy = meter.servers_busy()
    return result


# --- 6. render: the desktop page and a long conversation ---------------------------------------


@dataclass
class RenderResult:
    timings: dict[str, list[float]] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    failures: Counter = field(default_factory=Counter)


async def render(
    list_agent: AgentSession, talk_agent: AgentSession, conversation_id: int, *, requests: int
) -> RenderResult:
    """GET each page `requests` times, one at a time, after one warm-up GET."""
    result = RenderResult()
    pages = {
        "list": (list_agent, "/", False),
        "page": (talk_agent, f"/?interaction={conversation_id}", False),
        "partial": (talk_agent, f"/interactions/{conversation_id}/", True),
    }
    for name, (agent, path, htmx) in pages.items():
        timings = result.timings.setdefault(name, [])
        for number in range(requests + 1):
            status, size, took = await agent.get(path, htmx=htmx)
            if status != 200:
                result.failures[f"GET {path}: {status}"] += 1
                continue
            result.sizes[name] = size
            if number:
                timings.append(took)
    return result
