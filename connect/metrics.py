"""`GET /metrics`: figures for operators, in Prometheus' text format (version 0.0.4).

Who may read it: a request with `Authorization: Bearer <METRICS_TOKEN>` when
that environment variable is set (for the scraper), or a logged-in staff
user allowed on the live board. Everyone else gets 403.

Counters are counts of stored rows (interaction events, webhook bodies), so
they only grow while rows are kept, and every server process answers the same.
"""

import hmac
import os
from collections.abc import Iterable
from datetime import datetime

from django.db.models import Count, Min, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

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


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{name}="{_escape(str(value))}"' for name, value in labels.items())
    return "{" + inner + "}"


class Exposition:
    """Builds the text format: HELP and TYPE once per metric, then its samples."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(
        self, name: str, kind: str, help_text: str, samples: Iterable[tuple[dict, int]]
    ) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            self.lines.append(f"{name}{_labels(labels)} {value}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def exposition(*, now: datetime | None = None) -> str:
    now = now or timezone.now()
    out = Exposition()
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

    out.metric(
        "connect_queue_depth",
        "gauge",
        "Interactions waiting in the workgroup's queue.",
        (
            ({"workgroup": name}, live.get((pk, InteractionState.QUEUED), 0))
            for pk, name in workgroups.items()
        ),
    )
    out.metric(
        "connect_queue_longest_wait_seconds",
        "gauge",
        "How long the oldest waiting interaction has waited (0 when none waits).",
        (
            (
                {"workgroup": name},
                max(int((now - oldest[pk]).total_seconds()), 0) if pk in oldest else 0,
            )
            for pk, name in workgroups.items()
        ),
    )
    out.metric(
        "connect_live_interactions",
        "gauge",
        "Live interactions by workgroup and state.",
        (
            ({"workgroup": name, "state": state}, live.get((pk, state), 0))
            for pk, name in workgroups.items()
            for state in LIVE_STATES
        ),
    )

    verbs = dict(
        InteractionEvent.objects.filter(verb__in=[v for v, _ in EVENT_COUNTERS.values()])
        .order_by()
        .values("verb")
        .annotate(n=Count("pk"))
        .values_list("verb", "n")
    )
    for name, (verb, help_text) in EVENT_COUNTERS.items():
        out.metric(name, "counter", help_text, [({}, verbs.get(verb, 0))])

    deliveries = {
        row["verdict"]: row
        for row in WebhookDelivery.objects.order_by()
        .values("verdict")
        .annotate(bodies=Count("pk"), events=Sum("event_count"))
    }
    out.metric(
        "connect_webhook_deliveries_total",
        "counter",
        "Webhook bodies Meta posted (signature checked), by verdict.",
        (
            ({"verdict": verdict}, deliveries.get(verdict, {}).get("bodies", 0))
            for verdict in WebhookVerdict.values
        ),
    )
    out.metric(
        "connect_webhook_events_total",
        "counter",
        "Messenger events in those bodies, by the body's verdict.",
        (
            ({"verdict": verdict}, deliveries.get(verdict, {}).get("events") or 0)
            for verdict in WebhookVerdict.values
        ),
    )

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
    out.metric(
        "connect_outbound_messages",
        "gauge",
        "Replies by send outcome (status) and Graph API error code.",
        (
            ({"status": status, "error_code": code}, n)
            for (status, code), n in sorted(outcomes.items())
        ),
    )

    out.metric(
        "connect_desktop_connections",
        "gauge",
        "Open desktop websockets (agent tabs), in all server processes.",
        [({}, DesktopConnection.objects.count())],
    )
    statuses = dict(
        Agent.objects.order_by().values("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    out.metric(
        "connect_agents",
        "gauge",
        "Agents by status.",
        (({"status": status}, statuses.get(status, 0)) for status in AgentStatus.values),
    )
    return out.text()


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
