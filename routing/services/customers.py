"""The customer's profile (name and picture), as the Messenger adapter reports it.

The adapter fetches the profile off the request when `profile_is_stale` says
so and stores the answer with `update_customer_profiles`, which announces the
change so that open desktops show the name without a reload. A profile that
cannot be had leaves the readable fallback name (`Customer.display_name`).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from routing.compiled_queries import CompiledQuery, id_tuple
from routing.events import interaction_event, publish_on_commit
from routing.lookups import save_fields
from routing.models import Customer, Interaction

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


@dataclass(frozen=True)
class ProfileAnswer:
    """What the profile API said of one customer, asked at `fetched_at`; no names
    given: it was tried, and nothing is known."""

    customer_id: int
    fetched_at: datetime
    first_name: str | None = None
    last_name: str | None = None
    profile_pic: str | None = None
    username: str | None = None  # Instagram's


_PROFILE_FIELDS = ["profile_fetched_at", "first_name", "last_name", "username", "profile_pic"]


def update_customer_profiles(answers: list[ProfileAnswer]) -> list[Customer | None]:
    """Store fetched profiles; one customer (or None, gone) per answer. An answer
    with no names (Instagram's has a `username`) only notes that it was tried.

    An older answer than the one stored changes nothing. When the name or the
    picture changes, every interaction of the customer still on a desktop is
    announced.

    The customers free now are stored in one transaction that waits for no
    lock; each one a router's batch holds is stored after, alone. A router
    locks its batch's customers in arrival order: a transaction holding some
    customers while waiting for another could deadlock with it.
    """
    ids = {answer.customer_id for answer in answers}
    if len(ids) == 1:
        return _store_profiles(answers, _LOCKED)
    stored = _store_profiles(answers, _LOCKED_IF_FREE)
    held = {
        answer.customer_id
        for answer, customer in zip(answers, stored, strict=True)
        if customer is None
    }
    later = {
        customer_id: _store_profiles(
            [answer for answer in answers if answer.customer_id == customer_id], _LOCKED
        )[0]
        for customer_id in sorted(held)
    }
    return [
        later[answer.customer_id] if answer.customer_id in held else customer
        for answer, customer in zip(answers, stored, strict=True)
    ]


# The customers of a batch of answers, locked in id order; or those free now, each
# another transaction holds passed over (routing.compiled_queries).
_LOCKED = CompiledQuery(
    lambda ids: Customer.objects.select_for_update().filter(pk__in=ids).order_by("pk")
)
_LOCKED_IF_FREE = CompiledQuery(
    lambda ids: (
        Customer.objects.select_for_update(skip_locked=True).filter(pk__in=ids).order_by("pk")
    )
)
# The interactions of renamed customers still on a desktop.
_ON_DESKTOPS = CompiledQuery(
    lambda ids: Interaction.objects.filter(customer_id__in=ids, dismissed_at__isnull=True).order_by(
        "pk"
    )
)


def _store_profiles(answers: list[ProfileAnswer], lockable: CompiledQuery) -> list[Customer | None]:
    """One transaction: the answers of the customers `lockable` locks (None: not stored)."""
    with transaction.atomic():
        ids = id_tuple(answer.customer_id for answer in answers)
        locked = {customer.pk: customer for customer in lockable.objects(ids)}
        written: dict[int, Customer] = {}
        renamed: set[int] = set()
        for answer in answers:
            customer = locked.get(answer.customer_id)
            if customer is None:
                continue
            if customer.profile_fetched_at and customer.profile_fetched_at > answer.fetched_at:
                continue
            if _apply(customer, answer):
                renamed.add(customer.pk)
            written[customer.pk] = customer
        save_fields(Customer, written.values(), _PROFILE_FIELDS)
        if renamed:
            for interaction in _ON_DESKTOPS.objects(id_tuple(renamed)):
                publish_on_commit(interaction_event(interaction))
    return [locked.get(answer.customer_id) for answer in answers]


def _apply(customer: Customer, answer: ProfileAnswer) -> bool:
    """Set `answer` on `customer`; whether a name or the picture changed."""
    changed = False
    if answer.first_name is not None or answer.last_name is not None:
        names = {
            "first_name": _clean_name(answer.first_name),
            "last_name": _clean_name(answer.last_name),
        }
        if not any(names.values()):
            names = {}  # an empty answer keeps what we know
        for field, value in names.items():
            if getattr(customer, field) != value:
                setattr(customer, field, value)
                changed = True
    if answer.username is not None:
        handle = _clean_name(answer.username).lstrip("@").replace(" ", "")
        if handle and handle != customer.username:
            customer.username = handle
            changed = True
    if answer.profile_pic is not None:
        picture = _clean_picture(answer.profile_pic)
        if picture and picture != customer.profile_pic:
            customer.profile_pic = picture
            changed = True
    customer.profile_fetched_at = answer.fetched_at
    return changed
