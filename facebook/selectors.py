"""Reads of Meta's side for the desktop and for operators: plain queries, no changes."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models
from django.db.models import Count, Sum
from django.utils import timezone

from facebook.models import FacebookPage, Subscription, WebhookDelivery


def page_name(page_id: str) -> str:
    """The Page's name as entered in admin, else its id."""
    return (
        FacebookPage.objects.filter(page_id=page_id).values_list("name", flat=True).first()
        or page_id
    )


@dataclass(frozen=True)
class DeliveryCount:
    bodies: int  # webhook bodies stored
    events: int  # Messenger events in them


def delivery_counts() -> dict[str, DeliveryCount]:
    """Stored webhook bodies and their events, per verdict (absent: none)."""
    return {
        row["verdict"]: DeliveryCount(row["bodies"], row["events"] or 0)
        for row in WebhookDelivery.objects.order_by()
        .values("verdict")
        .annotate(bodies=Count("pk"), events=Sum("event_count"))
    }


class HealthState(models.TextChoices):
    HEALTHY = "healthy", "Healthy"
    SILENT = "silent", "Silent longer than usual"
    TOKEN_INVALID = "token_invalid", "Token invalid"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"


@dataclass(frozen=True)
class PageHealth:
    page: FacebookPage
    state: HealthState
    words: str  # why, for supervisors

    @property
    def healthy(self) -> bool:
        return self.state == HealthState.HEALTHY


def page_health(page: FacebookPage, *, now: datetime | None = None) -> PageHealth:
    """Whether Meta is still telling us about the Page, worst first."""
    now = now or timezone.now()
    if page.token_invalid:
        return PageHealth(
            page, HealthState.TOKEN_INVALID, "Meta refused the access token: enter a new one."
        )
    if page.subscription == Subscription.UNSUBSCRIBED:
        return PageHealth(
            page,
            HealthState.UNSUBSCRIBED,
            "Our app is not subscribed to the Page's webhooks and could not subscribe again.",
        )
    usual = timedelta(minutes=page.usual_silence_minutes)
    if page.last_event_at is not None and now - page.last_event_at > usual:
        return PageHealth(
            page,
            HealthState.SILENT,
            f"No event from Meta for over {page.usual_silence_minutes} minutes.",
        )
    if page.last_event_at is None:
        return PageHealth(page, HealthState.HEALTHY, "No event received yet.")
    return PageHealth(page, HealthState.HEALTHY, "Meta's events arrive.")


def pages_health(*, now: datetime | None = None) -> list[PageHealth]:
    """Every Page's health, for the board."""
    return [page_health(page, now=now) for page in FacebookPage.objects.order_by("name", "pk")]


def human_agent_allowed(page_id: str) -> bool:
    """May replies to this Page's customers carry the HUMAN_AGENT tag? Yes unless Meta's
    review said otherwise (never checked: as before, yes)."""
    status = (
        FacebookPage.objects.filter(page_id=page_id)
        .values_list("human_agent_status", flat=True)
        .first()
    )
    return not status or status == "approved"
