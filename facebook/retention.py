"""Webhook bodies and attachment copies are kept RETENTION_DAYS, then deleted.

Run by the timer loop of every server process (now and then) and by
`manage.py purge_retention`; both delete in batches, each its own short
transaction, so a large backlog never holds a lock for long. Bodies are
deleted only once routed: a pending or given-up body stays until it is.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from facebook.models import WebhookDelivery
from routing.services import forget_attachment_copies

logger = logging.getLogger(__name__)

BATCH = 500


@dataclass
class Purged:
    webhook_bodies: int = 0
    attachment_copies: int = 0


def purge(*, batch: int = BATCH, max_batches: int | None = None) -> Purged:
    """Delete what is older than the retention; `max_batches` bounds one call's work."""
    purged = Purged()
    days = settings.RETENTION_DAYS
    if days <= 0:
        return purged
    cutoff = timezone.now() - timedelta(days=days)
    batches = 0
    while max_batches is None or batches < max_batches:
        batches += 1
        ids = list(
            WebhookDelivery.objects.filter(received_at__lt=cutoff, routed_at__isnull=False)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            break
        purged.webhook_bodies += WebhookDelivery.objects.filter(pk__in=ids).delete()[0]
    while max_batches is None or batches < max_batches:
        batches += 1
        # Committed when it returns: only then are the files deleted.
        paths = forget_attachment_copies(received_before=cutoff, limit=batch)
        if not paths:
            break
        media_root = Path(settings.MEDIA_ROOT).resolve()
        for path in paths:
            file = (media_root / path).resolve()
            if file.is_relative_to(media_root / "attachments"):
                file.unlink(missing_ok=True)
        purged.attachment_copies += len(paths)
    if purged.webhook_bodies or purged.attachment_copies:
        logger.info(
            "Retention (%d days): deleted %d webhook bodies and %d attachment copies",
            days,
            purged.webhook_bodies,
            purged.attachment_copies,
        )
    return purged
