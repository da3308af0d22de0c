"""Reads of Meta's side for the desktop and for operators: plain queries, no changes."""

from dataclasses import dataclass

from django.db.models import Count, Sum

from facebook.models import FacebookPage, WebhookDelivery


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
