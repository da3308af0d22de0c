"""The customer's name and picture from the User Profile API, fetched off the request.

On a customer's message, when routing says the cached profile is stale (never
fetched, or older than a day), the fetch is queued after commit. The answer is
stored through `routing.customers.update_customer_profile`, which shows the
name live. A refusal (2018218: no profile for this person) is noted so that it
is not asked again until stale, and the readable fallback name stays.
"""

import logging
import threading

from django.db import transaction
from django.utils import timezone

from facebook import graph, pages
from facebook.background import BackgroundPool
from facebook.models import FacebookPage
from routing.models import Channel, Customer
from routing.services import profile_is_stale, update_customer_profile

logger = logging.getLogger(__name__)

PROFILE_TIMEOUT = 10.0

pool = BackgroundPool("facebook-profiles", max_workers=4)
# Customers whose fetch is queued or running in this process: a batch of
# messages from one person asks once.
_in_flight: set[int] = set()
_in_flight_lock = threading.Lock()


def refresh_after_commit(*, page: FacebookPage, customer: Customer) -> None:
    if not profile_is_stale(customer):
        return
    page_pk, customer_id = page.pk, customer.pk

    def queue() -> None:
        with _in_flight_lock:
            if customer_id in _in_flight:
                return
            _in_flight.add(customer_id)
        pool.submit(_refresh, page_pk, customer_id)

    transaction.on_commit(queue)


def _refresh(page_pk: int, customer_id: int) -> None:
    try:
        refresh_profile(page_pk=page_pk, customer_id=customer_id)
    finally:
        with _in_flight_lock:
            _in_flight.discard(customer_id)


def refresh_profile(*, page_pk: int, customer_id: int) -> None:
    page = FacebookPage.objects.filter(pk=page_pk).first()
    customer = Customer.objects.filter(pk=customer_id).first()
    if page is None or customer is None or not profile_is_stale(customer):
        return
    if page.token_invalid:
        return  # asked again on a later message, once a supervisor entered a new token
    asked_at = timezone.now()
    try:
        if customer.channel == Channel.INSTAGRAM:
            _refresh_instagram(page, customer, asked_at)
            return
        profile = graph.fetch_profile(page=page, psid=customer.psid, timeout=PROFILE_TIMEOUT)
    except graph.GraphTimeout:
        logger.info("Profile of customer %s: no answer in time", customer_id)
        return
    except graph.GraphError as error:
        logger.info("Profile of customer %s not available: %s", customer_id, error.error_code)
        if error.kind == graph.ErrorKind.TOKEN_INVALID:
            pages.mark_token_invalid(page)
        if error.final:
            # Not asked again until stale; the fallback name stays.
            update_customer_profile(customer_id=customer_id, fetched_at=asked_at)
        return
    update_customer_profile(
        customer_id=customer_id,
        first_name=profile.first_name,
        last_name=profile.last_name,
        profile_pic=profile.profile_pic,
        fetched_at=asked_at,
    )


def _refresh_instagram(page: FacebookPage, customer: Customer, asked_at) -> None:
    """Instagram gives one `name` and a `username`; raises as `graph.fetch_profile` does."""
    profile = graph.fetch_instagram_profile(page=page, igsid=customer.psid, timeout=PROFILE_TIMEOUT)
    first_name, _, last_name = " ".join(profile.name.split()).partition(" ")
    update_customer_profile(
        customer_id=customer.pk,
        first_name=first_name,
        last_name=last_name,
        profile_pic=profile.profile_pic,
        username=profile.username,
        fetched_at=asked_at,
    )
