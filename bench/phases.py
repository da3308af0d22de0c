"""The measured phases, run in a process whose Django points at the bench database.

Load goes to the servers over 127.0.0.1 only; the ORM here only prepares the
bench's agents and Page beforehand and checks the outcome afterwards.
"""

import asyncio
import contextlib
import itertools
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx

from bench import clients
from bench.clients import AgentSession, DesktopSocket, Sightings, open_desktop, sign
from bench.servers import DEMO_PAGE_ID, LIVE_PAGE_ID, LIVE_WORKGROUP, PASSWORD, Servers
from bench.stats import spread

TEXTS = [
    "Hi, my order #1042 has not arrived.",
    "Any news? It was due on Monday.",
    "Grüße aus München – the parcel says “delivered” but it isn't here ✓",
    "Can I change the delivery address?",
    "Thanks!",
]

# How long a live round waits for a frame, and the grace a round still running
# at the time cap gets.
WAIT_SECONDS = 20.0
ROUND_GRACE = 5.0

# How long opened or closed desktops may take to show in the presence rows.
PRESENCE_SECONDS = 15.0

# PSIDs no demo or test uses, unique across the whole run.
_psids = itertools.count(7_310_000_000_000_000)


def new_psid() -> str:
    return str(next(_psids))


# --- set-up through the ORM (before the servers start) ---------------------------------


def seed_bench(agent_count: int) -> list[str]:
    """The bench's workgroup, its Page and `agent_count` agents; returns their usernames.

    Like seed_demo, this is configuration a supervisor would make in admin.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from facebook.models import FacebookPage
    from routing.models import Agent, AgentStatus, Workgroup

    User = get_user_model()
    hashed = make_password(PASSWORD)  # once: the hasher is slow on purpose
    usernames = [f"bench{i:03d}" for i in range(1, agent_count + 1)]
    with transaction.atomic():
        workgroup, _ = Workgroup.objects.update_or_create(
            name=LIVE_WORKGROUP, defaults={"capacity_per_agent": 4, "alert_timeout_seconds": 60}
        )
        FacebookPage.objects.update_or_create(
            page_id=LIVE_PAGE_ID,
            defaults={
                "name": "Bench Live",
                "access_token": "bench-live-token",
                "workgroup": workgroup,
            },
        )
        for number, username in enumerate(usernames, start=1):
            user, _ = User.objects.update_or_create(
                username=username,
                defaults={"password": hashed, "first_name": "Bench", "last_name": f"{number:03d}"},
            )
            agent, _ = Agent.objects.update_or_create(
                user=user, defaults={"status": AgentStatus.AVAILABLE}
            )
            workgroup.members.add(agent)
    return usernames


# --- checks through the ORM (sync; called with asyncio.to_thread) -------------------------


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


def delivery_count() -> int:
    from facebook.models import WebhookDelivery

    return WebhookDelivery.objects.count()


def interaction_of(mid: str) -> int:
    from routing.models import Message

    return Message.objects.filter(mid=mid).values_list("interaction_id", flat=True).get()


def owner_of(interaction_id: int) -> str | None:
    from routing.models import Interaction

    return (
        Interaction.objects.filter(pk=interaction_id)
        .values_list("agent__user__username", flat=True)
        .first()
    )


def desktop_count() -> int:
    from routing.models import DesktopConnection

    return DesktopConnection.objects.count()


def postgres_sessions() -> int | None:
    """Connections ever opened to this database (PostgreSQL 14+), None elsewhere."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def postgres_backends() -> int | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


async def wait_until(check, done, timeout: float, every: float = 0.05) -> float | None:
    """Seconds until `done(check())` holds, polling; None if `timeout` passed first."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if done(await asyncio.to_thread(check)):
            return time.perf_counter() - started
        await asyncio.sleep(every)
    return None


class PeakSampler:
    """Samples a number (PostgreSQL backends) in the background and keeps the peak."""

    def __init__(self, sample, every: float = 0.2) -> None:
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


# --- webhook ingest -------------------------------------------------------------------------


@dataclass
class WebhookResult:
    sent: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    mids: list[str] = field(default_factory=list)
    redeliveries: int = 0
    new_customers: int = 0
    stored_once: int = 0
    missing: int = 0
    duplicated: int = 0
    deliveries: int = 0
    pg_sessions: int | None = None
    pg_peak_backends: int | None = None

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


def plan_webhooks(
    count: int, *, spacing: int, new_share: float, redelivery_share: float, seed: int
) -> tuple[list[clients.SignedBody], int, int]:
    """Signed bodies: new customers, follow-ups of earlier ones, and some of Meta's redeliveries.

    A follow-up comes from a customer introduced at least `spacing` bodies
    earlier, so with that many clients its first message is normally stored
    and its interaction live (queued in the demo workgroup).
    """
    rng = random.Random(seed)
    psids: list[str] = []
    plan: list[clients.SignedBody] = []
    redeliveries = 0
    for _ in range(count):
        if len(plan) > spacing and rng.random() < redelivery_share:
            plan.append(rng.choice(plan[: len(plan) - spacing]))
            redeliveries += 1
            continue
        eligible = psids[: max(0, len(psids) - spacing)]
        if not eligible or rng.random() < new_share:
            psid = new_psid()
            psids.append(psid)
        else:
            psid = rng.choice(eligible)
        mid = clients.new_mid()
        body = clients.customer_message(
            page_id=DEMO_PAGE_ID, psid=psid, mid=mid, text=rng.choice(TEXTS)
        )
        plan.append(sign(body, mid))
    return plan, redeliveries, len(psids)


async def webhook_load(
    servers: Servers,
    *,
    requests: int,
    concurrency: int,
    time_cap: float,
    seed: int,
    new_share: float = 0.3,
    redelivery_share: float = 0.05,
) -> WebhookResult:
    """POST `requests` signed bodies from `concurrency` clients, spread over every process."""
    plan, redeliveries, new_customers = plan_webhooks(
        requests,
        spacing=concurrency,
        new_share=new_share,
        redelivery_share=redelivery_share,
        seed=seed,
    )
    result = WebhookResult(redeliveries=redeliveries, new_customers=new_customers)
    result.mids = sorted({body.mid for body in plan})
    deliveries_before = await asyncio.to_thread(delivery_count)
    sessions_before = await asyncio.to_thread(postgres_sessions)
    queue: asyncio.Queue = asyncio.Queue()
    for body in plan:
        queue.put_nowait(body)
    started = time.perf_counter()

    async def client(number: int) -> None:
        url = servers.urls[number % len(servers.urls)] + "/facebook/webhook"
        async with httpx.AsyncClient(timeout=30) as http:
            while time.perf_counter() - started < time_cap:
                try:
                    body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                sent_at = time.perf_counter()
                try:
                    answer = await http.post(url, content=body.raw, headers=body.headers)
                    result.statuses[answer.status_code] += 1
                except httpx.HTTPError as exc:
                    result.statuses[type(exc).__name__] += 1
                    continue
                result.latencies.append(time.perf_counter() - sent_at)
                result.sent += 1

    with PeakSampler(postgres_backends) as sampler:
        await asyncio.gather(*(client(n) for n in range(concurrency)))
    result.seconds = time.perf_counter() - started
    result.pg_peak_backends = sampler.peak
    sessions_after = await asyncio.to_thread(postgres_sessions)
    if sessions_before is not None and sessions_after is not None:
        result.pg_sessions = sessions_after - sessions_before

    # Every mid of a body that was posted is stored exactly once, redeliveries included.
    posted = {body.mid for body in plan[: sum(result.statuses.values())]}
    counts = await asyncio.to_thread(stored_counts, sorted(posted))
    result.stored_once = sum(1 for mid in posted if counts.get(mid) == 1)
    result.missing = sum(1 for mid in posted if not counts.get(mid))
    result.duplicated = sum(1 for mid in posted if counts.get(mid, 0) > 1)
    result.deliveries = await asyncio.to_thread(delivery_count) - deliveries_before
    return result


# --- agents, their sockets, and live rounds ---------------------------------------------------


async def log_in_all(base_url: str, usernames: list[str]) -> dict[str, AgentSession]:
    sessions = {name: AgentSession(username=name, base_url=base_url) for name in usernames}
    # A few at a time: each login hashes a password on the server, slowly on purpose.
    limit = asyncio.Semaphore(4)

    async def one(session: AgentSession) -> None:
        async with limit:
            await session.log_in()

    await asyncio.gather(*(one(s) for s in sessions.values()))
    return sessions


@dataclass
class LiveResult:
    rounds: int = 0
    seconds: float = 0.0
    webhook: list[float] = field(default_factory=list)
    alert: list[float] = field(default_factory=list)
    pickup: list[float] = field(default_factory=list)
    send: list[float] = field(default_factory=list)
    sent: list[float] = field(default_factory=list)
    disconnect: list[float] = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)
    offered_to: Counter = field(default_factory=Counter)


async def live_rounds(
    servers: Servers,
    sessions: dict[str, AgentSession],
    sightings: Sightings,
    *,
    rounds: int,
    concurrency: int,
    time_cap: float,
) -> LiveResult:
    """Customers write to the bench Page; the offered agent picks up, replies, disconnects.

    Each round: a new customer's webhook POST (to the last process) → the
    alerting row on the offered agent's socket (on the first process) → Pickup
    → Send → the bubble's `sent` status on the socket (the fake Graph API
    answered) → Disconnect → Dismiss. `concurrency` customers do this at once.
    """
    result = LiveResult()
    counter = itertools.count()
    started = time.perf_counter()

    def patience() -> float:
        # A round still running at the time cap gets a short grace, not the full wait.
        left = started + time_cap + ROUND_GRACE - time.perf_counter()
        return max(0.5, min(WAIT_SECONDS, left))

    async def seen(key: tuple, what: str) -> tuple[float, str]:
        timeout = patience()
        try:
            return await sightings.wait(key, timeout)
        except TimeoutError:
            raise TimeoutError(f"no {what} within {timeout:.0f} s") from None

    async def one_round(http: httpx.AsyncClient) -> None:
        mid = clients.new_mid()
        body = sign(
            clients.customer_message(
                page_id=LIVE_PAGE_ID, psid=new_psid(), mid=mid, text="Hello, is anyone there?"
            ),
            mid,
        )
        posted_at = time.perf_counter()
        answer = await http.post(servers.webhook_url, content=body.raw, headers=body.headers)
        result.webhook.append(time.perf_counter() - posted_at)
        if answer.status_code != 200:
            raise clients.RefusedError(f"webhook: {answer.status_code}")
        interaction_id = await asyncio.to_thread(interaction_of, mid)
        try:
            alerted_at, owner = await seen(("row", interaction_id, "alerting"), "alerting row")
            result.alert.append(alerted_at - posted_at)
            result.offered_to[owner] += 1
            agent = sessions[owner]

            _, took = await agent.post(f"/interactions/{interaction_id}/pickup")
            result.pickup.append(took)
            sending_at = time.perf_counter()
            html, took = await agent.post(
                f"/interactions/{interaction_id}/messages",
                {"text": "Hi! I'm looking into it now.", "client_id": str(uuid.uuid4())},
            )
            result.send.append(took)
            bubble = clients.BUBBLE_ID.search(html)
            if bubble is None:
                raise clients.RefusedError("send: no bubble in the answer")
            sent_at, _ = await seen(("bubble", int(bubble.group(1)), "sent"), "sent bubble")
            result.sent.append(sent_at - sending_at)
            _, took = await agent.post(f"/interactions/{interaction_id}/disconnect")
            result.disconnect.append(took)
            await agent.post(f"/interactions/{interaction_id}/dismiss")
        except BaseException:
            await finish_off(interaction_id)
            raise

    async def finish_off(interaction_id: int) -> None:
        """End an interaction a round left behind, so its agent keeps room for the next."""
        owner = await asyncio.to_thread(owner_of, interaction_id)
        if owner in sessions:
            for action in ("disconnect", "dismiss"):
                with contextlib.suppress(clients.RefusedError, httpx.HTTPError):
                    await sessions[owner].post(f"/interactions/{interaction_id}/{action}")

    async def customer() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            while time.perf_counter() - started < time_cap and next(counter) < rounds:
                try:
                    await one_round(http)
                    result.rounds += 1
                except (TimeoutError, clients.RefusedError, httpx.HTTPError) as exc:
                    result.failures[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1

    await asyncio.gather(*(customer() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result


async def reopen_dropped(
    sockets: list[DesktopSocket], sessions: dict[str, AgentSession], sightings: Sightings
) -> dict[int, int]:
    """Reopen the desktops the server closed, as the browser does; their close codes counted."""
    codes: Counter = Counter()
    for number, socket in enumerate(sockets):
        if socket.dropped:
            codes[socket.connection.close_code] += 1
            session = sessions[socket.owner]
            sockets[number] = await open_desktop(session.base_url, session, sightings)
    return dict(codes)


# --- a burst of desktop sockets -------------------------------------------------------------


@dataclass
class BurstResult:
    attempted: int = 0
    opened: int = 0
    failures: Counter = field(default_factory=Counter)
    handshakes: list[float] = field(default_factory=list)
    refused_after: list[float] = field(default_factory=list)
    registered_after: float | None = None
    dropped: int = 0
    unregistered_after: float | None = None
    pg_peak_backends: int | None = None


async def socket_burst(
    servers: Servers, sessions: dict[str, AgentSession], *, count: int
) -> BurstResult:
    """`count` desktop tabs open at once (spread over agents and processes), then all close."""
    result = BurstResult(attempted=count)
    baseline = await asyncio.to_thread(desktop_count)
    agents = list(sessions.values())

    async def one(number: int):
        url = servers.urls[number % len(servers.urls)]
        opened_at = time.perf_counter()
        try:
            socket = await open_desktop(url, agents[number % len(agents)], None, timeout=30)
        except Exception:
            result.refused_after.append(time.perf_counter() - opened_at)
            raise
        result.handshakes.append(time.perf_counter() - opened_at)
        return socket

    with PeakSampler(postgres_backends) as sampler:
        burst_at = time.perf_counter()
        outcomes = await asyncio.gather(*(one(n) for n in range(count)), return_exceptions=True)
        sockets = [s for s in outcomes if not isinstance(s, BaseException)]
        for failure in outcomes:
            if isinstance(failure, BaseException):
                result.failures[f"{type(failure).__name__}: {str(failure)[:80]}"] += 1
        result.opened = len(sockets)
        expected = baseline + len(sockets)
        waited = await wait_until(desktop_count, lambda n: n >= expected, PRESENCE_SECONDS)
        if waited is not None:
            result.registered_after = time.perf_counter() - burst_at
        # Still open a moment later: nothing was accepted and then dropped.
        await asyncio.sleep(1.0)
        result.dropped = sum(1 for s in sockets if s.dropped)
        closing_at = time.perf_counter()
        await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)
        waited = await wait_until(desktop_count, lambda n: n <= baseline, PRESENCE_SECONDS)
        if waited is not None:
            result.unregistered_after = time.perf_counter() - closing_at
    result.pg_peak_backends = sampler.peak
    return result


def summary(values: list[float]) -> str:
    return spread(values, (50, 95))
