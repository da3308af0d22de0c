"""The webhook health guard: is Meta still telling us about each Page?

Per Page we keep when Meta last posted an event (`note_events`, from the
router) and when it last accepted one of our calls (`facebook.graph`). A
check (`check_page`: the `facebook_health` command, and the timer loop every
FACEBOOK_HEALTH_CHECK_SECONDS) asks Meta which fields our app is subscribed
to, subscribes again with the fields we need when some are missing, reads the
Human Agent feature's review, and after an outage reads back the messages
the webhook missed (`backfill`) through the Conversations API, no faster than
Meta allows (2 calls a second per Page). Missed messages go through the
webhook's own path (`facebook.inbound.route_missed`), deduplicated by `mid`.

Meta's `messaging_policy_enforcement` events (warning, block, unblock) land
in `facebook.pages.record_policy`. Every change an agent should see is
announced with `facebook.pages.page_changed`, which updates their banner.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from facebook import graph, inbound, pages
from facebook.background import BackgroundPool
from facebook.models import FacebookPage, Subscription
from facebook.parsing import CustomerMessage
from facebook.selectors import HealthState, page_health

logger = logging.getLogger(__name__)

# The Conversations API allows 2 calls a second per Page.
CONVERSATION_CALLS_PER_SECOND = 2.0
# Items a list call asks for (Meta's default page size).
PAGE_SIZE = 25
# A backfill reads at most this many threads (the most recently updated).
MAX_BACKFILL_THREADS = 500

# Checks started by the timer run here, never in the timer loop itself: a
# backfill may take minutes at 2 calls a second.
pool = BackgroundPool("facebook-health", max_workers=2)


# --- what Meta tells us --------------------------------------------------------------


# --- the backfill -----------------------------------------------------------------------


class Throttle:
    """At most `per_second` calls a second: `wait()` before each call.

    `clock` and `sleep` are time.monotonic and time.sleep unless a test gives
    its own, to run the backfill on a clock it controls.
    """

    def __init__(
        self,
        per_second: float = CONVERSATION_CALLS_PER_SECOND,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / per_second
        self.clock = clock
        self.sleep = sleep
        self._next_at: float | None = None

    def wait(self) -> None:
        now = self.clock()
        if self._next_at is not None and now < self._next_at:
            self.sleep(self._next_at - now)
            now = self.clock()
        self._next_at = now + self.interval


@dataclass
class BackfillReport:
    threads: int = 0
    found: int = 0  # the customer's messages since the time asked
    stored: int = 0  # of those, new here (the others were already stored)
    calls: int = 0
    error: str = ""

    @property
    def words(self) -> str:
        if self.error:
            return f"backfill stopped: {self.error}"
        return (
            f"backfill read {self.threads} thread(s): {self.found} message(s) since then, "
            f"{self.stored} new"
        )


def _meta_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None


def backfill(
    page: FacebookPage,
    *,
    since: datetime,
    throttle: Throttle | None = None,
    page_size: int = PAGE_SIZE,
) -> BackfillReport:
    """Store every customer message of the Page's threads since `since` that we do not
    have, through the webhook's own path, oldest first. Never raises for Meta's refusals."""
    throttle = throttle or Throttle()
    report = BackfillReport()
    # Meta's created_time has whole seconds: start at the second `since` falls in.
    since = since.replace(microsecond=0)
    missed: list[tuple[datetime, int, CustomerMessage]] = []
    try:
        for thread_id in _recent_threads(page, since, throttle, report, page_size):
            report.threads += 1
            missed.extend(
                _thread_messages_since(page, thread_id, since, throttle, report, page_size)
            )
    except (graph.GraphError, graph.GraphTimeout) as exc:
        report.error = str(exc)
        if isinstance(exc, graph.GraphError) and exc.kind == graph.ErrorKind.TOKEN_INVALID:
            pages.mark_token_invalid(page)
    # Meta's times have whole seconds; within one, its newest-first listing gives the order.
    missed.sort(key=lambda found: (found[0], found[1]))
    report.found = len(missed)
    report.stored = inbound.route_missed(page, [event for _, _, event in missed])
    if report.stored:
        logger.info("Page %s: backfill stored %s missed message(s)", page.page_id, report.stored)
    return report


def _recent_threads(
    page: FacebookPage,
    since: datetime,
    throttle: Throttle,
    report: BackfillReport,
    page_size: int,
) -> Iterable[str]:
    after = ""
    seen = 0
    while True:
        throttle.wait()
        report.calls += 1
        listing = graph.conversations(page=page, after=after, limit=page_size)
        for thread in listing.items:
            updated = _meta_time(thread.get("updated_time"))
            if updated is not None and updated < since:
                return  # most recently updated first: the rest is older still
            if thread.get("id") and seen < MAX_BACKFILL_THREADS:
                seen += 1
                yield str(thread["id"])
        if not listing.after or seen >= MAX_BACKFILL_THREADS:
            return
        after = listing.after


def _thread_messages_since(
    page: FacebookPage,
    thread_id: str,
    since: datetime,
    throttle: Throttle,
    report: BackfillReport,
    page_size: int,
) -> list[tuple[datetime, int, CustomerMessage]]:
    """The customer's messages of one thread since `since`: (time, order, event)."""
    found: list[tuple[datetime, int, CustomerMessage]] = []
    after = ""
    position = 0  # newest first: a larger position is older
    while True:
        throttle.wait()
        report.calls += 1
        listing = graph.conversation_messages(
            page=page, conversation_id=thread_id, after=after, limit=page_size
        )
        for item in listing.items:
            position += 1
            created = _meta_time(item.get("created_time"))
            if created is None:
                continue
            if created < since:
                return found
            sender = item.get("from")
            psid = str(sender.get("id") or "") if isinstance(sender, dict) else ""
            mid = str(item.get("id") or "")
            if not psid or psid == page.page_id or not mid:
                continue  # the Page's own messages: their echoes tell us of them
            text = item.get("message")
            event = CustomerMessage(
                page_id=page.page_id,
                timestamp_ms=int(created.timestamp() * 1000),
                psid=psid[:64],
                mid=mid[:200],
                text=text if isinstance(text, str) else "",
            )
            found.append((created, -position, event))
        if not listing.after:
            return found
        after = listing.after


# --- the check ----------------------------------------------------------------------------


@dataclass
class CheckReport:
    page: FacebookPage
    subscription: str = Subscription.UNKNOWN
    resubscribed: bool = False
    token: str = "unknown"  # "ok", "invalid", or what went wrong
    human_agent: str = ""
    backfill: BackfillReport | None = None
    problems: list[str] = field(default_factory=list)

    def line(self, now: datetime | None = None) -> str:
        """One line for the command's output."""
        health = page_health(self.page, now=now)
        last = self.page.last_event_at
        parts = [
            f"{self.page.page_id} {self.page.name}: {health.state.label}",
            f"subscription {self.subscription}"
            + (" (subscribed again)" if self.resubscribed else ""),
            f"token {self.token}",
            f"last event {timezone.localtime(last):%Y-%m-%d %H:%M:%S}" if last else "no event yet",
        ]
        if self.human_agent:
            parts.append(f"Human Agent {self.human_agent}")
        if self.page.policy_action:
            parts.append(f"policy {self.page.policy_action}")
        if self.backfill is not None:
            parts.append(self.backfill.words)
        parts.extend(self.problems)
        return "; ".join(parts)


def check_page(
    page: FacebookPage,
    *,
    backfill_since: datetime | None = None,
    throttle: Throttle | None = None,
    page_size: int = PAGE_SIZE,
    now: datetime | None = None,
) -> CheckReport:
    """Ask Meta about the Page; subscribe again when fields are missing (and then read back
    what the outage cost, from the last event on); backfill from `backfill_since` if given."""
    now = now or timezone.now()
    report = CheckReport(page=page)
    # Silent longer than usual: events may have been lost while the app stayed subscribed
    # (our server down past Meta's retries), so what came since the last one is read back.
    silent = page_health(page, now=now).state == HealthState.SILENT
    was_missing = False
    try:
        fields = graph.subscribed_fields(page=page)
        report.token = "ok"
        missing = [f for f in graph.SUBSCRIBED_FIELDS if f not in (fields or [])]
        if missing:
            was_missing = True
            graph.subscribe(page=page)
            report.resubscribed = True
            logger.warning(
                "Page %s: our app missed the fields %s: subscribed again",
                page.page_id,
                ",".join(missing),
            )
        report.subscription = Subscription.SUBSCRIBED
    except (graph.GraphError, graph.GraphTimeout) as exc:
        if isinstance(exc, graph.GraphError) and exc.kind == graph.ErrorKind.TOKEN_INVALID:
            report.token = "invalid"
            pages.mark_token_invalid(page)
        elif was_missing:
            report.problems.append(f"could not subscribe again: {exc}")
        else:
            report.token = "not checked"
            report.problems.append(f"subscription not checked: {exc}")
        # Missing fields that could not be subscribed again: Meta is not telling us.
        report.subscription = Subscription.UNSUBSCRIBED if was_missing else page.subscription
    if report.token == "ok":
        try:
            report.human_agent = graph.human_agent_status(page=page)
        except (graph.GraphError, graph.GraphTimeout) as exc:
            report.problems.append(f"Human Agent review not read: {exc}")
            report.human_agent = page.human_agent_status
    if report.token == "ok" and page.token_invalid:
        pages.mark_token_valid(page)
    _store_check(page, report, now)
    since = backfill_since
    if since is None and (report.resubscribed or silent) and page.last_event_at is not None:
        since = page.last_event_at  # what Meta did not deliver while we were missing
    if since is not None and report.token == "ok":
        report.backfill = backfill(page, since=since, throttle=throttle, page_size=page_size)
    page.refresh_from_db()
    return report


def _store_check(page: FacebookPage, report: CheckReport, now: datetime) -> None:
    changes = {"health_checked_at": now, "subscription": report.subscription}
    if report.human_agent:
        changes["human_agent_status"] = report.human_agent
    before = (page.subscription, page.human_agent_status)
    FacebookPage.objects.filter(pk=page.pk).update(**changes)
    if before != (report.subscription, changes.get("human_agent_status", page.human_agent_status)):
        pages.announce_page_changed(page_id=page.page_id, workgroup_ids={page.workgroup_id})


# --- the timer --------------------------------------------------------------------------


def claim_due_checks(*, now: datetime | None = None) -> list[FacebookPage]:
    """The Pages whose check is due, each claimed by one process only."""
    now = now or timezone.now()
    due_before = now - timedelta(seconds=settings.FACEBOOK_HEALTH_CHECK_SECONDS)
    claimed = []
    for page in FacebookPage.objects.filter(
        Q(health_checked_at__isnull=True) | Q(health_checked_at__lt=due_before)
    ):
        # The row's old value decides: of many processes, one wins the update.
        won = FacebookPage.objects.filter(
            pk=page.pk, health_checked_at=page.health_checked_at
        ).update(health_checked_at=now)
        if won:
            claimed.append(page)
    return claimed


_running: set[int] = set()
_running_lock = threading.Lock()


def check_due_pages(*, now: datetime | None = None) -> int:
    """The timer loop's step: start the due checks in the background; how many."""
    if settings.FACEBOOK_HEALTH_CHECK_SECONDS <= 0:
        return 0
    started = 0
    for page in claim_due_checks(now=now):
        with _running_lock:
            if page.pk in _running:
                continue
            _running.add(page.pk)
        pool.submit(_check_in_background, page.pk)
        started += 1
    return started


def _check_in_background(page_pk: int) -> None:
    try:
        page = FacebookPage.objects.filter(pk=page_pk).first()
        if page is not None:
            check_page(page)
    finally:
        with _running_lock:
            _running.discard(page_pk)


def parse_since(value: str) -> datetime:
    """An ISO time for `--backfill`; without a zone it is UTC."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
