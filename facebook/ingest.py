"""Webhook bodies: stored on the request, routed right after it, off the request.

The webhook view calls `store` (one INSERT, committed before Meta gets its
200) and `kick`. Routing happens in `route_due`: it claims the oldest pending
bodies, routes them and sets their verdicts in one transaction, so a body is
routed exactly once and a process killed half-way leaves it pending for the
next one, never half-applied.

Order: bodies are routed in arrival order by one router at a time (a lease:
a PostgreSQL advisory lock held for each batch's transaction; SQLite's
IMMEDIATE transactions serialise on their own). A router that finds the
lease taken leaves everything to its holder, which drains until nothing is
due; so a customer's events are never applied by two processes at once, nor
out of order. Rows are claimed `FOR UPDATE SKIP LOCKED` all the same, so a
body is never routed twice whatever else touches it. Routing a body costs a
few milliseconds against the HTTP work of taking it in, so one router at a
time keeps up with many server processes.

A body whose routing raises (a bug, a lock timeout, the database gone) is
retried with backoff and, after MAX_ATTEMPTS, given up with its reason
(verdict `error`, visible in admin); it never blocks the bodies behind it.
"""

import asyncio
import logging
import queue
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

from facebook import inbound, parsing
from facebook.models import WebhookDelivery, WebhookVerdict

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
        body=body.text, verdict=WebhookVerdict.PENDING, event_count=body.item_count
    )


# Bodies stored in one transaction at most: under load, requests that arrive
# while a commit runs share the next one (each still waits for its own).
GROUP_COMMIT_MAX = 64


class GroupCommit:
    """Stores bodies for the asynchronous webhook path, many requests to a commit.

    One thread per process takes every body waiting, inserts them in one
    transaction and then settles each request's future: a request is answered
    only after the commit that holds its body.
    """

    def __init__(self) -> None:
        self._waiting: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def store(self, body: parsing.Body) -> WebhookDelivery:
        loop = asyncio.get_running_loop()
        stored = loop.create_future()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="webhook-store", daemon=True)
                self._thread.start()
        self._waiting.put((body, loop, stored))
        return await stored

    def _run(self) -> None:
        while True:
            batch = [self._waiting.get()]
            while len(batch) < GROUP_COMMIT_MAX:
                try:
                    batch.append(self._waiting.get_nowait())
                except queue.Empty:
                    break
            try:
                close_old_connections()
                with transaction.atomic():
                    deliveries = WebhookDelivery.objects.bulk_create(
                        [_new_delivery(body) for body, _, _ in batch]
                    )
                outcomes: list = deliveries
            except Exception as exc:
                logger.exception("%s webhook bodies could not be stored", len(batch))
                outcomes = [exc] * len(batch)
            finally:
                # Kept for the next batch unless CONN_MAX_AGE says otherwise.
                close_old_connections()
            for (_, loop, stored), outcome in zip(batch, outcomes, strict=True):
                loop.call_soon_threadsafe(_settle, stored, outcome)


def _settle(stored, outcome) -> None:
    if stored.done():
        return  # the request went away
    if isinstance(outcome, Exception):
        stored.set_exception(outcome)
    else:
        stored.set_result(outcome)


group_commit = GroupCommit()


def _due():
    now = timezone.now()
    return WebhookDelivery.objects.filter(verdict=WebhookVerdict.PENDING).filter(
        Q(retry_at__isnull=True) | Q(retry_at__lte=now)
    )


def route_due(*, batch_size: int = BATCH_SIZE) -> int:
    """Route due bodies until none is left, unless another process is routing.

    Returns how many bodies this call routed or gave up.
    """
    done = 0
    rechecked = False
    while True:
        routed = _route_batch(batch_size)
        if routed is None:
            return done  # another router drains everything, ours included
        done += routed
        if routed:
            continue
        # Once more after our lease ended: a body stored while we held it may
        # have been left to us by a router that found the lease taken.
        if rechecked or not _due().exists():
            return done
        rechecked = True


def _route_batch(batch_size: int) -> int | None:
    """Route the oldest due bodies in one transaction; None when another router holds the lease."""
    with transaction.atomic():
        if not _router_lease():
            return None
        claimed = list(_due().select_for_update(skip_locked=True).order_by("id")[:batch_size])
        for delivery in claimed:
            _route_one(delivery)
    return len(claimed)


# Any constant: the key of the PostgreSQL advisory lock that one router holds at a time.
_ROUTER_LEASE_KEY = 0x636F6E6E656374  # "connect"


def _router_lease() -> bool:
    """One router at a time, so each customer's events are applied in arrival order.

    PostgreSQL: a transaction-scoped advisory lock, let go at commit, rollback
    or a dropped connection (a killed process). SQLite: the IMMEDIATE
    transaction already serialises writers.
    """
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_ROUTER_LEASE_KEY])
        return bool(cursor.fetchone()[0])


def _route_one(delivery: WebhookDelivery) -> None:
    """Route one claimed body inside the batch; a failure undoes only this body."""
    try:
        with transaction.atomic():
            outcome = inbound.route(parsing.parse_body(delivery.body.encode("utf-8")))
            delivery.verdict = outcome.verdict
            delivery.event_count = outcome.event_count
            delivery.detail = outcome.detail
            delivery.routed_at = timezone.now()
            delivery.retry_at = None
            delivery.save(
                update_fields=["verdict", "event_count", "detail", "routed_at", "retry_at"]
            )
    except Exception as exc:
        _failed(delivery, exc)


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


def start_router() -> None:
    """Start this server process's router, where stored bodies are routed in the background."""
    if settings.FACEBOOK_WEBHOOK_ROUTING == "background":
        router.start()


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
