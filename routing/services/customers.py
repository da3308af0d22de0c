"""The customer's profile (name and picture), as the Messenger adapter reports it.

The adapter fetches the profile off the request when `profile_is_stale` says
so and stores the answer with `update_customer_profile`, which announces the
change so that open desktops show the name without a reload. A profile that
cannot be had leaves the readable fallback name (`Customer.display_name`).
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from routing.events import interaction_event, publish_on_commit
from routing.lookups import row_or_none
from routing.models import Customer

# Names change rarely and Meta's picture URLs expire: fetched again after this.
PROFILE_FRESH_FOR = timedelta(hours=24)
MAX_NAME_LENGTH = 100  # Customer.first_name / last_name
MAX_PICTURE_URL_LENGTH = 1000  # Customer.profile_pic


def profile_is_stale(customer: Customer, *, now: datetime | None = None) -> bool:
    """Never fetched, or fetched (or tried) longer ago than PROFILE_FRESH_FOR."""
    fetched = customer.profile_fetched_at
    return fetched is None or fetched < (now or timezone.now()) - PROFILE_FRESH_FOR


def _clean_name(value: str | None) -> str:
    # "None" is what a careless str() of a missing name reads as: never a name.
    value = " ".join(str(value or "").split())
    return "" if value in ("None", "null") else value[:MAX_NAME_LENGTH]


def _clean_picture(value: str) -> str:
    value = str(value or "").strip()
    if not value.startswith(("https://", "http://")) or len(value) > MAX_PICTURE_URL_LENGTH:
        return ""
    return value


def update_customer_profile(
    *,
    customer_id: int,
    first_name: str | None = None,
    last_name: str | None = None,
    profile_pic: str | None = None,
    username: str | None = None,
    fetched_at: datetime,
) -> Customer | None:
    """Store a fetched profile (Instagram's has a `username`); with no names given,
    only note that it was tried.

    An older answer than the one stored changes nothing. When the name or the
    picture changes, every interaction of the customer still on a desktop is
    announced. None when the customer is gone.
    """
    with transaction.atomic():
        customer = row_or_none(Customer.objects.select_for_update().filter(pk=customer_id))
        if customer is None:
            return None
        if customer.profile_fetched_at and customer.profile_fetched_at > fetched_at:
            return customer
        changed = []
        if first_name is not None or last_name is not None:
            names = {
                "first_name": _clean_name(first_name),
                "last_name": _clean_name(last_name),
            }
            if not any(names.values()):
                names = {}  # an empty answer keeps what we know
            for field, value in names.items():
                if getattr(customer, field) != value:
                    setattr(customer, field, value)
                    changed.append(field)
        if username is not None:
            handle = _clean_name(username).lstrip("@").replace(" ", "")
            if handle and handle != customer.username:
                customer.username = handle
                changed.append("username")
        if profile_pic is not None:
            picture = _clean_picture(profile_pic)
            if picture and picture != customer.profile_pic:
                customer.profile_pic = picture
                changed.append("profile_pic")
        customer.profile_fetched_at = fetched_at
        customer.save(update_fields=["profile_fetched_at", *changed])
        if changed:
            on_desktops = customer.interactions.filter(dismissed_at__isnull=True)
            for interaction in on_desktops:
                publish_on_commit(interaction_event(interaction))
    return customer
