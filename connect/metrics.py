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

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from connect.board import may_watch
from facebook import selectors as facebook_selectors
from facebook.models import WebhookVerdict
from routing import board, metric_selectors, selectors
from routing.models import LIVE_STATES, AgentStatus, InteractionState, MessageStatus

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
        workgroups = selectors.workgroup_names()
        live = board.live_counts()

        depth = GaugeMetricFamily(
            "connect_queue_depth",
            "Interactions waiting in the workgroup's queue.",
            labels=["workgroup"],
        )
        for pk, name in workgroups.items():
            queued = live.get((pk, InteractionState.QUEUED))
            depth.add_metric([name], queued.count if queued else 0)
        yield depth

        longest = GaugeMetricFamily(
            "connect_queue_longest_wait_seconds",
            "How long the oldest waiting interaction has waited (0 when none waits).",
            labels=["workgroup"],
        )
        for pk, name in workgroups.items():
            queued = live.get((pk, InteractionState.QUEUED))
            oldest = queued.oldest_queued_at if queued else None
            waited = max(int((now - oldest).total_seconds()), 0) if oldest else 0
            longest.add_metric([name], waited)
        yield longest

        by_state = GaugeMetricFamily(
            "connect_live_interactions",
            "Live interactions by workgroup and state.",
            labels=["workgroup", "state"],
        )
        for pk, name in workgroups.items():
            for state in LIVE_STATES:
                counted = live.get((pk, state))
                by_state.add_metric([name, state], counted.count if counted else 0)
        yield by_state

        verbs = metric_selectors.verb_counts([verb for verb, _ in EVENT_COUNTERS.values()])
        for name, (verb, help_text) in EVENT_COUNTERS.items():
            yield CounterMetricFamily(name, help_text, value=verbs.get(verb, 0))

        deliveries = facebook_selectors.delivery_counts()
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
            stored = deliveries.get(verdict)
            bodies.add_metric([verdict], stored.bodies if stored else 0)
            events.add_metric([verdict], stored.events if stored else 0)
        yield bodies
        yield events

        outcomes = metric_selectors.outbound_outcomes()
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
            value=metric_selectors.desktop_connection_count(),
        )
        statuses = metric_selectors.agent_status_counts()
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
