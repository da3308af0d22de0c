"""`GET /metrics`: figures for operators, in Prometheus' text format (version 0.0.4).

Who may read it: a request with `Authorization: Bearer <METRICS_TOKEN>` when
that environment variable is set (for the scraper), or a logged-in staff
user allowed on the live board. Everyone else gets 403.

Counters are counts of stored rows (interaction events, webhook bodies), so
they only grow while rows are kept, and every server process answers the same.
The text is written by prometheus_client: a registry per request holding one
collector, which reads the figures from the database when it is collected.
"""

import hmac
import os
from collections.abc import Iterator
from datetime import datetime

from django.db.models import Count, Min, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from connect.board import may_watch
from facebook.models import WebhookDelivery, WebhookVerdict
from routing.models import (
    LIVE_STATES,
    Agent,
    AgentStatus,
    DesktopConnection,
    Interaction,
    InteractionEvent,
    InteractionState,
    Message,
    MessageDirection,
    MessageStatus,
    Workgroup,
)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Counter name → the InteractionEvent verb it counts.
EVENT_COUNTERS = {
    "connect_offers_total": ("offer", "Interactions the ACD offered to an agent."),
    "connect_pickups_total": ("pickup", "Pickups by agents."),
    "connect_alert_timeouts_total": (
        "alert_timeout",
        "Offers that rang out unanswered (the agent went Not answering).",
    ),
}


class ConnectCollector(Collector):
    """Every figure, read from the database each time it is collected.

    Counters are CounterMetricFamily with explicit values (no `_created`
    sample): they are counts of rows, not counters living in this process.
    """

    def __init__(self, *, now: datetime | None = None) -> None:
        self.now = now

    def collect(self) -> Iterator[Metric]:
        now = self.now or timezone.now()
        workgroups = dict(Workgroup.objects.order_by("name").values_list("pk", "name"))

        live: dict[tuple[int, str], int] = {}
        oldest: dict[int, datetime] = {}
        for row in (
            Interaction.objects.filter(state__in=LIVE_STATES)
            .order_by()
            .values("workgroup", "state")
            .annotate(n=Count("pk"), oldest=Min("queued_at"))
        ):
            live[(row["workgroup"], row["state"])] = row["n"]
            if row["state"] == InteractionState.QUEUED:
                oldest[row["workgroup"]] = row["oldest"]

        depth = GaugeMetricFamily(
            "connect_queue_depth",
            "Interactions waiting in the workgroup's queue.",
            labels=["workgroup"],
        )
        for pk, name in workgroups.items():
            depth.add_metric([name], live.get((pk, InteractionState.QUEUED), 0))
        yield depth

        longest = GaugeMetricFamily(
            "connect_queue_longest_wait_seconds",
            "How long the oldest waiting interaction has waited (0 when none waits).",
            labels=["workgroup"],
        )
        for pk, name in workgroups.items():
            waited = max(int((now - oldest[pk]).total_seconds()), 0) if pk in oldest else 0
            longest.add_metric([name], waited)
        yield longest

        by_state = GaugeMetricFamily(
            "connect_live_interactions",
            "Live interactions by workgroup and state.",
            labels=["workgroup", "state"],
        )
        for pk, name in workgroups.items():
            for state in LIVE_STATES:
                by_state.add_metric([name, state], live.get((pk, state), 0))
        yield by_state

        verbs = dict(
            InteractionEvent.objects.filter(verb__in=[v for v, _ in EVENT_COUNTERS.values()])
            .order_by()
            .values("verb")
            .annotate(n=Count("pk"))
            .values_list("verb", "n")
        )
        for name, (verb, help_text) in EVENT_COUNTERS.items():
            yield CounterMetricFamily(name, help_text, value=verbs.get(verb, 0))

        deliveries = {
            row["verdict"]: row
            for row in WebhookDelivery.objects.order_by()
            .values("verdict")
            .annotate(bodies=Count("pk"), events=Sum("event_count"))
        }
        bodies = CounterMetricFamily(
            "connect_webhook_deliveries_total",
            "Webhook bodies Meta posted (signature checked), by verdict.",
            labels=["verdict"],
        )
        events = CounterMetricFamily(
            "connect_webhook_events_total",
            "Messenger events in those bodies, by the body's verdict.",
            labels=["verdict"],
        )
        for verdict in WebhookVerdict.values:
            row = deliveries.get(verdict, {})
            bodies.add_metric([verdict], row.get("bodies", 0))
            events.add_metric([verdict], row.get("events") or 0)
        yield bodies
        yield events

        outcomes = {
            (row["status"], row["error_code"]): row["n"]
            for row in Message.objects.filter(direction=MessageDirection.OUTBOUND)
            .order_by()
            .values("status", "error_code")
            .annotate(n=Count("pk"))
        }
        for status in MessageStatus.values:
            if status != MessageStatus.RECEIVED:
                outcomes.setdefault((status, ""), 0)
        outbound = GaugeMetricFamily(
            "connect_outbound_messages",
            "Replies by send outcome (status) and Graph API error code.",
            labels=["status", "error_code"],
        )
        for (status, code), n in sorted(outcomes.items()):
            outbound.add_metric([status, code], n)
        yield outbound

        yield GaugeMetricFamily(
            "connect_desktop_connections",
            "Open desktop websockets (agent tabs), in all server processes.",
            value=DesktopConnection.objects.count(),
        )
        statuses = dict(
            Agent.objects.order_by()
            .values("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
        agents = GaugeMetricFamily("connect_agents", "Agents by status.", labels=["status"])
        for status in AgentStatus.values:
            agents.add_metric([status], statuses.get(status, 0))
        yield agents


def exposition(*, now: datetime | None = None) -> str:
    # A registry of its own per scrape: nothing is kept in the process between scrapes.
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ConnectCollector(now=now))
    return generate_latest(registry).decode("utf-8")


def _allowed(request: HttpRequest) -> bool:
    token = os.environ.get("METRICS_TOKEN", "")
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer "):
        return hmac.compare_digest(given.removeprefix("Bearer ").encode(), token.encode())
    return may_watch(request.user)


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse(
            "Metrics need a staff login or the METRICS_TOKEN bearer token.",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(exposition(), content_type=CONTENT_TYPE)
