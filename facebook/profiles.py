"""The customer's name and picture from the User Profile API, fetched off the request.

On a customer's message, when routing says the cached profile is stale (never
fetched, or older than a day), the fetch is queued after commit. The answer is
stored through `routing.services.update_customer_profiles`, which shows the
name live. A refusal (2018218: no profile for this person) is noted so that it
is not asked again until stale, and the readable fallback name stays.
"""

import contextlib
import logging
import queue
import threading
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from facebook import graph, pages
from facebook.background import BackgroundPool
from facebook.models import FacebookPage
from routing.models import Channel, Customer
from routing.services import ProfileAnswer, profile_is_stale, update_customer_profiles

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
    # The rows as routing read them: the fetch reads neither again.
    asking = _Asking(
        page=page, customer_id=customer.pk, psid=customer.psid, channel=customer.channel
    )

    def enqueue() -> None:
        with _in_flight_lock:
            if asking.customer_id in _in_flight:
                return
            _in_flight.add(asking.customer_id)
        pool.submit(_refresh, asking)

    transaction.on_commit(enqueue)


@dataclass(frozen=True)
class _Asking:
    page: FacebookPage
    customer_id: int
    psid: str
    channel: str


def _refresh(asking: _Asking) -> None:
    try:
        answer = _fetch(asking)
        if answer is not None:
            _store(answer)
    finally:
        with _in_flight_lock:
            _in_flight.discard(asking.customer_id)


def _fetch(asking: _Asking) -> ProfileAnswer | None:
    """What to store of the Graph API's answer; None when nothing is to be stored."""
    page, customer_id = asking.page, asking.customer_id
    if page.token_invalid:
        return None  # asked again on a later message, once a supervisor entered a new token
    asked_at = timezone.now()
    try:
        if asking.channel == Channel.INSTAGRAM:
            return _instagram_answer(asking, asked_at)
        profile = graph.fetch_profile(page=page, psid=asking.psid, timeout=PROFILE_TIMEOUT)
    except graph.GraphTimeout:
        logger.info("Profile of customer %s: no answer in time", customer_id)
        return None
    except graph.GraphError as error:
        logger.info("Profile of customer %s not available: %s", customer_id, error.error_code)
        if error.kind == graph.ErrorKind.TOKEN_INVALID:
            pages.mark_token_invalid(page)
        if error.final:
            # Not asked again until stale; the fallback name stays.
            return ProfileAnswer(customer_id=customer_id, fetched_at=asked_at)
        return None
    return ProfileAnswer(
        customer_id=customer_id,
        first_name=profile.first_name,
        last_name=profile.last_name,
        profile_pic=profile.profile_pic,
        fetched_at=asked_at,
    )


def _instagram_answer(asking: _Asking, asked_at) -> ProfileAnswer:
    """Instagram gives one `name` and a `username`; raises as `graph.fetch_profile` does."""
    profile = graph.fetch_instagram_profile(
        page=asking.page, igsid=asking.psid, timeout=PROFILE_TIMEOUT
    )
    first_name, _, last_name = " ".join(profile.name.split()).partition(" ")
    return ProfileAnswer(
        customer_id=asking.customer_id,
        first_name=first_name,
        last_name=last_name,
        profile_pic=profile.profile_pic,
        username=profile.username,
        fetched_at=asked_at,
    )


# Answers fetched and not yet stored. Whichever fetching thread finds no other
# storing stores every answer waiting, in one transaction: under load, many
# customers' names share one commit instead of a transaction each.
_answers: queue.SimpleQueue[ProfileAnswer] = queue.SimpleQueue()
_storing = threading.Lock()
STORE_MOST = 64


def _store(answer: ProfileAnswer) -> None:
    _answers.put(answer)
    # Checked again after letting go: an answer put while this thread stored
    # (its thread found the lock held and left) is stored by this one.
    while not _answers.empty():
        if not _storing.acquire(blocking=False):
            return  # the thread storing takes ours too
        try:
            batch: list[ProfileAnswer] = []
            with contextlib.suppress(queue.Empty):
                while len(batch) < STORE_MOST:
                    batch.append(_answers.get_nowait())
            if batch:
                update_customer_profiles(batch)
        finally:
            _storing.release()
