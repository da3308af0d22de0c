"""Webhook bodies: stored on the request, routed right after it, off the request.

The webhook view calls `store` (one INSERT, committed before Meta gets its
200) and `kick`. Routing happens in `route_due`: it claims due bodies,
routes them and sets their verdicts in one transaction, so a body is routed
exactly once and a process killed half-way leaves it pending for the next
one, never half-applied.

Order and parallel routers: each body is stored with a lane, a hash of the
one conversation its events belong to (entry id and person). Every body of
a conversation is in the same lane, and a lane is routed by one router at a
time, in arrival order (PostgreSQL: a transaction-scoped advisory lock per
lane, let go at commit, rollback or a dropped connection). So routers in
several threads and processes route different customers side by side, and
one customer's events are never applied out of order or twice. A body that
touches several conversations, or none (a Page-wide notice), is in lane 0: a
barrier, routed alone once every body stored before it is routed, and no
body after it is routed before it. SQLite has one writer at a time anyway:
there a router takes the oldest due bodies whatever their lane. Rows are
claimed `FOR UPDATE SKIP LOCKED` all the same, so a body is never routed
twice whatever else touches it.

A body whose routing raises (a bug, a lock timeout, the database gone) is
retried with backoff and, after MAX_ATTEMPTS, given up with its reason
(verdict `error`, visible in admin); it never blocks the bodies behind it.
"""

import logging
import os
import socket
import threading
import time
import zlib
from datetime import timedelta

import psycopg
from django.conf import settings
from django.db import close_old_connections, connection, connections, transaction
from django.db.models import Q, Subquery
from django.db.models.functions import Now
from django.utils import timezone

from facebook import inbound, parsing
from facebook.models import WebhookDelivery, WebhookVerdict
from routing import config_cache, services
from routing.batched_writes import BatchedWrites
from routing.compiled_queries import CompiledQuery

logger = logging.getLogger(__name__)

# Bodies routed in one transaction: enough to share a commit under load, few
# enough that agents' own actions never wait long behind the router's locks.
BATCH_SIZE = 20
MAX_ATTEMPTS = 5
# An idle router looks for due bodies this often (left by a crashed process,
# or whose retry time came).
POLL_SECONDS = 2.0


def store(body: parsing.Body) -> WebhookDelivery:
    """Store a verified body durably; routing it is left to `route_due`."""
    delivery = _new_delivery(body)
    delivery.save(force_insert=True)
    return delivery


def _new_delivery(body: parsing.Body) -> WebhookDelivery:
    if not body.is_routed:
        logger.warning("webhook body for object %r stored, not handled", body.object)
        return WebhookDelivery(
            body=body.text,
            verdict=WebhookVerdict.NOT_PAGE,
            event_count=body.item_count,
            detail=f"object is {body.object!r}, not 'page' or 'instagram'",
        )
    return WebhookDelivery(
        body=body.text,
        verdict=WebhookVerdict.PENDING,
        event_count=body.item_count,
        lane=lane_of(body),
    )


# Lanes 1..LANES for one conversation's bodies: enough for routers to find
# work side by side, few enough to read which are busy in one query.
LANES = 64
BARRIER_LANE = 0


def lane_of(body: parsing.Body) -> int:
    """The lane of a body's one conversation; BARRIER_LANE when it touches several, or none."""
    people = body.people
    if not people or len(people) != 1:
        return BARRIER_LANE
    ((entry_id, person),) = people
    return 1 + zlib.crc32(f"{entry_id}:{person}".encode()) % LANES


# Bodies stored in one transaction at most: under load, requests that arrive
# while a commit runs share the next one (each still waits for its own).
GROUP_COMMIT_MAX = 64


def _store_many(bodies: list[parsing.Body]) -> list[WebhookDelivery]:
    with transaction.atomic():
        return WebhookDelivery.objects.bulk_create([_new_delivery(body) for body in bodies])


# Stores bodies for the asynchronous webhook path, many requests to a commit:
# one thread per process inserts every body waiting in one transaction, and a
# request is answered only after the commit that holds its body.
group_commit: BatchedWrites[parsing.Body, WebhookDelivery] = BatchedWrites(
    _store_many, most=GROUP_COMMIT_MAX, name="webhook-store"
)


def _due():
    # By the database's clock: the router's reads are compiled once (below).
    return WebhookDelivery.objects.filter(verdict=WebhookVerdict.PENDING).filter(
        Q(retry_at__isnull=True) | Q(retry_at__lte=Now())
    )


def _oldest_due(*, most: int):
    """The oldest due bodies' ids and lanes, each row with the oldest barrier's id."""
    due = _due()
    oldest_barrier = due.filter(lane=BARRIER_LANE).order_by("id").values("id")[:1]
    return (
        due.annotate(barrier=Subquery(oldest_barrier))
        .order_by("id")
        .values_list("id", "lane", "barrier")[:most]
    )


def _in_lanes(lanes: tuple[int, ...], *, most: int, before: int | None = None):
    """Due bodies of these lanes (none a barrier; all `before` the barrier, if any),
    oldest first, locked; one another router holds is passed over."""
    due = _due().filter(lane__in=lanes).exclude(lane=BARRIER_LANE)
    if before is not None:
        due = due.filter(id__lt=before)
    return due.select_for_update(skip_locked=True).order_by("id")[:most]


# Every router batch's reads (routing.compiled_queries).
_OLDEST_DUE = CompiledQuery(_oldest_due)
_IN_LANES = CompiledQuery(_in_lanes)
_IN_LANES_BEFORE = CompiledQuery(
    lambda lanes, barrier, *, most: _in_lanes(lanes, most=most, before=barrier)
)
_OLDEST = CompiledQuery(
    lambda *, most: _due().select_for_update(skip_locked=True).order_by("id")[:most]
)


def route_due(*, batch_size: int = BATCH_SIZE) -> int:
    """Route due bodies until none is left that this router may take.

    Returns how many bodies this call routed or gave up. Bodies in lanes
    other routers hold are left to them: each drains until it finds nothing.
    """
    done = 0
    while True:
        # After each batch, whatever was stored meanwhile: a body another router
        # left to us (its lane was held by this one) was stored before our commit.
        routed = _route_batch(batch_size)
        if not routed:
            # 0: nothing is due. None: what is due is in lanes other routers
            # hold; they drain it. Either way, this router holds no lane now.
            return done
        done += routed


def _route_batch(batch_size: int) -> int | None:
    """Route a batch of due bodies in one transaction; None when all that is due is
    in lanes other routers hold.

    First without a savepoint per body, per event or per insert that may
    conflict (each costs two round trips). Should any body fail, any event be
    refused or any insert lose a race, that transaction is undone whole and
    the batch is routed again with them, so that only what failed is undone
    (and retried, or given up).
    """
    try:
        return _route_claimed(batch_size, apart=False)
    except Exception as exc:
        logger.debug("a batch is routed again, each body apart: %r", exc)
        return _route_claimed(batch_size, apart=True)


def _route_claimed(batch_size: int, *, apart: bool) -> int | None:
    # The batch and its after-commit offers read each workgroup's configuration once.
    with config_cache.reading_config_once(), transaction.atomic():
        if connection.vendor == "postgresql":
            claimed = _claim_lanes(batch_size)
            if claimed is None:
                return None
        else:
            # One writer at a time (IMMEDIATE): the oldest due bodies, in order.
            claimed = _OLDEST.objects(most=batch_size)
        if claimed and timezone.now() - claimed[0].received_at > HELP_AFTER:
            _ask_for_help()  # delivered as this batch commits
        if apart:
            for delivery in claimed:
                _route_one(delivery)
        else:
            bodies = [_parsed(delivery) for delivery in claimed]
            with (
                services.inserts_without_savepoints(),
                services.reading_ahead(inbound.arrivals_to_read_ahead(bodies)),
            ):
                for delivery, body in zip(claimed, bodies, strict=True):
                    _route_body(delivery, body, each_event_apart=False)
            _save_outcomes(claimed)
    return len(claimed)


# Any constant: the first key of the PostgreSQL advisory locks, one per lane (the second key).
_LANE_LOCK_CLASS = 0x636F6E6E  # "conn"
# How many of the oldest due bodies a router looks at to choose its lanes.
_LOOK_AHEAD = 4


def _claim_lanes(batch_size: int) -> list[WebhookDelivery] | None:
    """Lock the lanes of the oldest due bodies that no other router holds, and claim
    up to `batch_size` of their bodies in arrival order (PostgreSQL)."""
    # One read: the oldest due bodies' lanes, each row with the oldest barrier.
    oldest = _OLDEST_DUE.values(most=batch_size * _LOOK_AHEAD)
    if not oldest:
        return []  # nothing is due
    first_id, _, barrier = oldest[0]
    if barrier is not None and barrier == first_id:
        # Everything before the barrier is routed: it goes now, alone.
        if not _try_lock_lanes([BARRIER_LANE]):
            return None
        return list(_due().filter(id=barrier).select_for_update(skip_locked=True))
    lanes = list(
        dict.fromkeys(
            lane
            for id_, lane, _ in oldest
            if lane != BARRIER_LANE and (barrier is None or id_ < barrier)
        )
    )
    held = tuple(_try_lock_lanes(lanes, most=batch_size))
    if not held:
        return None
    if barrier is None:
        return _IN_LANES.objects(held, most=batch_size)
    return _IN_LANES_BEFORE.objects(held, barrier, most=batch_size)


def _try_lock_lanes(lanes: list[int], *, most: int = 1) -> list[int]:
    """Take the advisory locks of the first `most` lanes (in the order given) that no
    other router holds, until the transaction ends; the lanes taken. A lane held
    elsewhere is passed over, so a second router works on the next lanes."""
    with connection.cursor() as cursor:
        # Without ORDER BY, the LIMIT stops the scan (and the locking) at `most` lanes taken.
        cursor.execute(
            "SELECT lane FROM unnest(%s::int[]) AS lane"
            " WHERE pg_try_advisory_xact_lock(%s, lane) LIMIT %s",
            [lanes, _LANE_LOCK_CLASS, most],
        )
        return [row[0] for row in cursor.fetchall()]


def _route_one(delivery: WebhookDelivery) -> None:
    """Route one claimed body inside the batch; a failure undoes only this body."""
    try:
        with transaction.atomic():
            _route_body(delivery, _parsed(delivery), each_event_apart=True)
            delivery.save(update_fields=_OUTCOME_FIELDS)
    except Exception as exc:
        _failed(delivery, exc)


_OUTCOME_FIELDS = ["verdict", "event_count", "detail", "routed_at", "retry_at"]


def _parsed(delivery: WebhookDelivery) -> parsing.Body:
    return parsing.parse_body(delivery.body.encode("utf-8"))


def _route_body(delivery: WebhookDelivery, body: parsing.Body, *, each_event_apart: bool) -> None:
    """Route a claimed body; its outcome is set on `delivery`, for the caller to save."""
    outcome = inbound.route(body, each_event_apart=each_event_apart)
    delivery.verdict = outcome.verdict
    delivery.event_count = outcome.event_count
    delivery.detail = outcome.detail
    delivery.routed_at = timezone.now()
    delivery.retry_at = None


def _save_outcomes(deliveries: list[WebhookDelivery]) -> None:
    """A batch's outcomes in one UPDATE per distinct outcome (most bodies of a batch
    read alike: one message, handled) instead of one per body."""
    routed_at = timezone.now()
    alike: dict[tuple[str, int, str], list[WebhookDelivery]] = {}
    for delivery in deliveries:
        key = (delivery.verdict, delivery.event_count, delivery.detail)
        alike.setdefault(key, []).append(delivery)
    for (verdict, event_count, detail), group in alike.items():
        WebhookDelivery.objects.filter(pk__in=[delivery.pk for delivery in group]).update(
            verdict=verdict,
            event_count=event_count,
            detail=detail,
            routed_at=routed_at,
            retry_at=None,
        )


def _failed(delivery: WebhookDelivery, exc: Exception) -> None:
    delivery.attempts += 1
    reason = f"{type(exc).__name__}: {exc}"[:1000]
    if delivery.attempts >= MAX_ATTEMPTS or isinstance(exc, parsing.BadEnvelope):
        logger.error("webhook body %s given up: %s", delivery.pk, reason, exc_info=exc)
        delivery.verdict = WebhookVerdict.ERROR
        delivery.detail = f"Given up after {delivery.attempts} attempt(s): {reason}"
        delivery.retry_at = None
    else:
        delivery.verdict = WebhookVerdict.PENDING
        logger.warning(
            "webhook body %s failed (attempt %s), will retry: %s",
            delivery.pk,
            delivery.attempts,
            reason,
            exc_info=exc,
        )
        delivery.detail = f"Attempt {delivery.attempts} failed: {reason}"
        delivery.retry_at = timezone.now() + timedelta(seconds=2**delivery.attempts)
    delivery.save(update_fields=["attempts", "verdict", "detail", "retry_at"])


def route_again(*, delivery_ids: list[int]) -> int:
    """A supervisor asks for given-up bodies to be routed again (mids dedupe)."""
    return WebhookDelivery.objects.filter(pk__in=delivery_ids, verdict=WebhookVerdict.ERROR).update(
        verdict=WebhookVerdict.PENDING, attempts=0, retry_at=None
    )


# --- the router of this process --------------------------------------------------------


class Router:
    """One thread per server process that routes stored bodies when kicked.

    Kicks while it works coalesce into one more pass; idle, it looks for due
    bodies every POLL_SECONDS, which picks up what a crashed process left.
    Lanes let every process route side by side; a second thread per process
    measured worse on 2 cores (webhook ingest 298 against 524 req/s, no more
    bodies routed): it takes the CPU the requests need.
    """

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._busy = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopping = False

    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="webhook-router", daemon=True
                )
                self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Let the thread finish its pass and end (tests; a server just exits)."""
        with self._lock:
            thread, self._stopping = self._thread, True
        self._wake.set()
        if thread is not None:
            thread.join(timeout)
        with self._lock:
            self._thread, self._stopping = None, False

    def kick(self) -> None:
        self.start()
        with self._idle:
            self._busy = True
        self._wake.set()

    def wait_for_idle(self, timeout: float = 10.0) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: not self._busy, timeout)

    def _run(self) -> None:
        while True:
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            if self._stopping:
                with self._idle:
                    self._busy = False
                    self._idle.notify_all()
                return
            with self._idle:
                self._busy = True
            try:
                close_old_connections()
                route_due()
            except Exception:
                logger.exception("routing stored webhook bodies failed; will retry")
            finally:
                close_old_connections()
                with self._idle:
                    if not self._wake.is_set():
                        self._busy = False
                        self._idle.notify_all()


router = Router()


# --- the other processes' routers help (PostgreSQL) -----------------------------------
#
# Meta posts to one process, which kicks its own router. When that router falls
# behind (the oldest body of a batch it claims waited over HELP_AFTER), it asks
# the routers of every other process for help (NOTIFY, delivered as its batch
# commits): they take the lanes this one does not hold, so the routing, and
# the offers, renders and profile fetches that follow each commit, spread over
# the processes (each has its own interpreter lock). Measured at 30 new
# customers a second, alerting row p50: 617–786 ms against 1.0–1.2 s alone.
# Below that one router routes alone: asking whenever it was busy cost 0.25
# of a core more at 20 a second (smaller batches in two processes), no faster;
# asking only once a batch came out full (20 waiting) came too late.

HELP_CHANNEL = "connect_routers"
HELP_AFTER = timedelta(milliseconds=100)
# Asked at most this often (seconds): a router woken drains every lane it can
# take, bodies stored meanwhile included.
HELP_EVERY = 0.2
_help_asked_at = 0.0


def _this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _ask_for_help() -> None:
    """Wake the other processes' routers (PostgreSQL, servers' background routing)."""
    global _help_asked_at
    if (
        settings.FACEBOOK_WEBHOOK_ROUTING == "background"
        and connection.vendor == "postgresql"
        and time.monotonic() - _help_asked_at >= HELP_EVERY
    ):
        _help_asked_at = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [HELP_CHANNEL, _this_process()])


class HelpListener:
    """Kicks `router` when another process asks for help: one thread LISTENing on a
    connection of its own (a pooled one would give the notifications to others)."""

    def __init__(self, router: Router, *, process: str | None = None) -> None:
        self._router = router
        self._process = process
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopping = False
        self.listening = threading.Event()

    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stopping = False
                self._thread = threading.Thread(
                    target=self._run, name="webhook-router-help", daemon=True
                )
                self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._lock:
            thread, self._stopping = self._thread, True
        if thread is not None:
            thread.join(timeout)
        with self._lock:
            self._thread = None
        self.listening.clear()

    def _run(self) -> None:
        while not self._stopping:
            try:
                self._listen()
            except Exception as exc:
                # The database gone a while: the router's own polling still finds the work.
                logger.warning("listening for routers' calls failed, again soon: %r", exc)
                self.listening.clear()
                time.sleep(POLL_SECONDS)

    def _listen(self) -> None:
        params = connections["default"].get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        with psycopg.connect(**params, autocommit=True) as listening:
            listening.execute(f"LISTEN {HELP_CHANNEL}")
            self.listening.set()
            own = self._process or _this_process()
            while not self._stopping:
                for note in listening.notifies(timeout=1.0):
                    if note.payload != own:
                        self._router.kick()


help_listener = HelpListener(router)


def start_router() -> None:
    """Start this server process's router, where stored bodies are routed in the
    background, and (PostgreSQL) its ear for the other processes' calls for help."""
    if settings.FACEBOOK_WEBHOOK_ROUTING == "background":
        router.start()
        if connection.vendor == "postgresql":
            help_listener.start()


def kick() -> None:
    """Route what was just stored: in this process's router thread, or here and now.

    `inline` (the test settings) routes in the caller, after its own commit,
    through the same `route_due`; servers use the thread so that Meta's
    request ends at the store.
    """
    if settings.FACEBOOK_WEBHOOK_ROUTING == "inline":
        route_due()
    else:
        router.kick()
