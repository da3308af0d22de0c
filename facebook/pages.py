"""Facebook Pages as the desktop sees them: whether Messenger still accepts their token,
still sends us their events, and has not warned or blocked them.

A code 190 from the Graph API marks the Page's token invalid; a supervisor
entering a new token in admin (or Meta accepting it again) clears it. Meta's
policy enforcement events flag the Page (`record_policy`), and the router notes
each Page's last event (`note_events`). A change agents see is announced after
commit with `page_changed`, which `connect.live` turns into a banner update for
the agents of the Page's workgroup; admin saves a Page through `save_page`.
Routing is not involved: a token is Meta's business, not a routing rule.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone

from facebook.models import FacebookPage, Subscription
from facebook.parsing import PolicyEnforcement
from routing import config_cache

logger = logging.getLogger(__name__)

# Sent after commit with `page_id` and `workgroup_ids` (the workgroups that use
# the Page now, and the one it used before an edit).
page_changed = Signal()


def announce_page_changed(*, page_id: str, workgroup_ids: set[int]) -> None:
    # Its token or its standing with Meta changed (an UPDATE, no signal).
    config_cache.configuration_changed()

    def send() -> None:
        for receiver_, result in page_changed.send_robust(
            sender=FacebookPage, page_id=page_id, workgroup_ids=frozenset(workgroup_ids)
        ):
            if isinstance(result, Exception):
                logger.error(
                    "page_changed receiver %r failed",
                    receiver_,
                    exc_info=(type(result), result, result.__traceback__),
                )

    transaction.on_commit(send)


def mark_token_invalid(page: FacebookPage) -> bool:
    """Meta refused the Page's token (code 190). True when this changed the flag."""
    changed = FacebookPage.objects.filter(pk=page.pk, token_invalid=False).update(
        token_invalid=True
    )
    if changed:
        logger.warning("The access token of Page %s is invalid: marked", page.page_id)
        announce_page_changed(page_id=page.page_id, workgroup_ids={page.workgroup_id})
    return bool(changed)


def mark_token_valid(page: FacebookPage) -> bool:
    """Meta accepted the Page's token again (the health check): clear the flag."""
    changed = FacebookPage.objects.filter(pk=page.pk, token_invalid=True).update(
        token_invalid=False
    )
    if changed:
        logger.info("The access token of Page %s is accepted again", page.page_id)
        announce_page_changed(page_id=page.page_id, workgroup_ids={page.workgroup_id})
    return bool(changed)


def pages_needing_attention(workgroup_ids) -> list[FacebookPage]:
    """Pages whose agents should know something: token refused, our app unsubscribed,
    or Meta's policy warning or block."""
    return list(
        FacebookPage.objects.filter(workgroup_id__in=list(workgroup_ids)).filter(
            Q(token_invalid=True) | Q(subscription=Subscription.UNSUBSCRIBED) | ~Q(policy_action="")
        )
    )


# "Last event" is written at most this often per Page (seconds): one write a
# minute, not one per body, under load.
EVENT_NOTE_EVERY = 60


def note_events(page_list: Iterable[FacebookPage], *, now: datetime | None = None) -> None:
    """Meta just posted events for these Pages (called by the router, in its transaction)."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=EVENT_NOTE_EVERY)
    stale_pages = [
        page for page in page_list if page.last_event_at is None or page.last_event_at < stale
    ]
    if stale_pages:
        # A Page row another router's batch is noting is skipped, not waited for:
        # routers in other processes route the same Page side by side.
        free = list(
            FacebookPage.objects.filter(pk__in=[page.pk for page in stale_pages])
            .filter(Q(last_event_at__isnull=True) | Q(last_event_at__lt=stale))
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        if free:
            FacebookPage.objects.filter(pk__in=free).update(last_event_at=now)
        for page in stale_pages:
            page.last_event_at = now  # the router's batch holds these rows for its next bodies


POLICY_WORDS = {
    "warning": "Meta warned this Page about its use of Messenger",
    "block": "Meta blocked this Page from sending Messenger messages",
}


def record_policy(page: FacebookPage, event: PolicyEnforcement) -> str | None:
    """Meta's warning or block flags the Page (admin, banner); unblock clears it."""
    action = "" if event.action == "unblock" else event.action
    changed = (
        FacebookPage.objects.filter(pk=page.pk)
        .exclude(policy_action=action, policy_reason=event.reason)
        .update(policy_action=action, policy_reason=event.reason, policy_at=event.at)
    )
    if changed:
        logger.warning("Page %s: Meta's policy enforcement %s", page.page_id, event.action)
        announce_page_changed(page_id=page.page_id, workgroup_ids={page.workgroup_id})
    return f"policy enforcement: {event.action}"


def pages_with_invalid_token(workgroup_ids) -> list[FacebookPage]:
    return list(
        FacebookPage.objects.filter(token_invalid=True, workgroup_id__in=list(workgroup_ids))
    )


def save_page(page: FacebookPage, *, new_token: str = "") -> FacebookPage:
    """Store a Page as a supervisor edited it in admin, and tell the agents concerned.

    A new token replaces the stored one (encrypted) and clears the invalid
    flag; no token keeps the stored one. Both the workgroup the Page uses now
    and the one it used before are told after commit.
    """
    with transaction.atomic():
        previous_workgroup_id = None
        if page.pk:
            previous_workgroup_id = (
                FacebookPage.objects.select_for_update()
                .filter(pk=page.pk)
                .values_list("workgroup_id", flat=True)
                .first()
            )
        if new_token:
            page.access_token = new_token
            page.token_invalid = False
        elif page.pk:
            page.access_token = FacebookPage.objects.get(pk=page.pk).access_token
        page.save()
        workgroup_ids = {page.workgroup_id, previous_workgroup_id}
        announce_page_changed(page_id=page.page_id, workgroup_ids={w for w in workgroup_ids if w})
    return page


def rotate_tokens() -> int:
    """Encrypt every stored token with the first of PAGE_TOKEN_KEYS; the count rotated."""
    rotated = 0
    with transaction.atomic():
        for page in FacebookPage.objects.select_for_update().order_by("pk"):
            # Read with any key, written with the first.
            page.save(update_fields=["access_token"])
            rotated += 1
    return rotated
