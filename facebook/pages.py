"""Facebook Pages as the desktop sees them: whether Messenger still accepts their token.

A code 190 from the Graph API marks the Page's token invalid; a supervisor
entering a new token in admin clears it. Either change is announced after
commit with `page_changed`, which `connect.live` turns into a banner update for
the agents of the Page's workgroup; admin saves a Page through `save_page`.
Routing is not involved: a token is Meta's business, not a routing rule.
"""

import logging

from django.db import transaction
from django.dispatch import Signal

from facebook.models import FacebookPage

logger = logging.getLogger(__name__)

# Sent after commit with `page_id` and `workgroup_ids` (the workgroups that use
# the Page now, and the one it used before an edit).
page_changed = Signal()


def announce_page_changed(*, page_id: str, workgroup_ids: set[int]) -> None:
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
