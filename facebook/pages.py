"""Facebook Pages as the desktop sees them: whether Messenger still accepts their token.

A code 190 from the Graph API marks the Page's token invalid; a supervisor
entering a new token in admin clears it. Either change is announced after
commit with `page_changed`, which `connect.live` turns into a banner update for
the agents of the Page's workgroup. Routing is not involved: a token is Meta's
business, not a routing rule.
"""

import logging

from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch import Signal, receiver

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


@receiver(pre_save, sender=FacebookPage, dispatch_uid="facebook.pages.before_save")
def _note_previous_workgroup(sender, instance: FacebookPage, **kwargs) -> None:
    instance._previous_workgroup_id = (
        FacebookPage.objects.filter(pk=instance.pk).values_list("workgroup_id", flat=True).first()
        if instance.pk
        else None
    )


@receiver(post_save, sender=FacebookPage, dispatch_uid="facebook.pages.after_save")
def _announce_saved_page(sender, instance: FacebookPage, **kwargs) -> None:
    # Saved in admin (a new token clears the flag, or the workgroup moved).
    workgroup_ids = {instance.workgroup_id, getattr(instance, "_previous_workgroup_id", None)}
    announce_page_changed(page_id=instance.page_id, workgroup_ids={w for w in workgroup_ids if w})
