"""Reads of Meta's side for the desktop and for operators: plain queries, no changes."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Count, Sum
from django.utils import timezone

from facebook.models import FacebookPage, Subscription, WebhookDelivery
from routing.compiled_queries import CompiledQuery
from routing.models import Customer
from routing.services.conversation_routing import UNKNOWN_APP

# Meta's fixed app id of the Page inbox (Meta Business Suite) in conversation routing.
PAGE_INBOX_APP_ID = "263902037430900"


def page_name(page_id: str) -> str:
    """The Page's name as entered in admin, else its id."""
    names = _PAGE_FIELD.values(page_id, field="name")
    return (names[0][0] if names else "") or page_id


# Every desktop render reads a Page's name and standing (routing.compiled_queries).
_PAGE_FIELD = CompiledQuery(
    lambda page_id, *, field: (
        FacebookPage.objects.filter(page_id=page_id).order_by().values_list(field)[:1]
    )
)


def app_name(app_id: str, page: FacebookPage | None = None) -> str:
    """What the desktop calls an app that may control a conversation."""
    if app_id == PAGE_INBOX_APP_ID:
        return "the Page inbox"
    if not app_id or app_id == UNKNOWN_APP:
        return "another app"
    if settings.FACEBOOK_APP_ID and app_id == settings.FACEBOOK_APP_ID:
        return "this desktop"
    if page is not None and app_id == page.primary_app_id:
        return f"the Page's primary app (app {app_id})"
    return f"app {app_id}"


def thread_owner_name(customer: Customer) -> str:
    """Who controls the customer's conversation when it is not us; "" when we may answer."""
    app_id = customer.thread_owner_app_id
    if not app_id or app_id == settings.FACEBOOK_APP_ID:
        return ""
    return app_name(app_id, FacebookPage.objects.filter(page_id=customer.page_id).first())


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
    statuses = _PAGE_FIELD.values(page_id, field="human_agent_status")
    status = statuses[0][0] if statuses else None
    return not status or status == "approved"
