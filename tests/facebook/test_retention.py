"""Routed webhook bodies and attachment copies are deleted after RETENTION_DAYS."""

from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from facebook import retention
from facebook.models import WebhookDelivery, WebhookVerdict
from routing import message_entries
from routing.models import Message
from tests.factories import customer_writes, make_page, make_workgroup

pytestmark = pytest.mark.django_db

OLD = timezone.now() - timedelta(days=91)


def delivery(*, received_at, routed: bool) -> WebhookDelivery:
    row = WebhookDelivery.objects.create(
        body="{}",
        verdict=WebhookVerdict.PROCESSED if routed else WebhookVerdict.PENDING,
        routed_at=timezone.now() if routed else None,
    )
    WebhookDelivery.objects.filter(pk=row.pk).update(received_at=received_at)
    return row


def message_with_copy(workgroup, settings, *, name: str, created_at) -> tuple[Message, Path]:
    received = customer_writes(workgroup, psid=f"73000000000{len(name):05d}", text=name)
    path = f"attachments/2025/01/{name}"
    file = Path(settings.MEDIA_ROOT) / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(b"kept")
    entry = {"type": "image", "url": "https://cdn.example/x", "title": ""}
    Message.objects.filter(pk=received.message.pk).update(
        attachments=[message_entries.with_copy(entry, path=path, content_type="image/png", size=4)],
        created_at=created_at,
    )
    return received.message, file


@pytest.fixture
def retained(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RETENTION_DAYS = 90
    return settings


def test_old_routed_bodies_and_old_copies_go_in_batches(retained):
    workgroup = make_workgroup("Facebook DM")
    make_page(workgroup)
    old_routed = [delivery(received_at=OLD, routed=True) for _ in range(3)]
    old_pending = delivery(received_at=OLD, routed=False)
    recent = delivery(received_at=timezone.now(), routed=True)
    old_message, old_file = message_with_copy(workgroup, retained, name="old.png", created_at=OLD)
    new_message, new_file = message_with_copy(
        workgroup, retained, name="recent.png", created_at=timezone.now()
    )

    out = StringIO()
    call_command("purge_retention", "--batch", "2", stdout=out)

    assert "Deleted 3 webhook bodies and 1 attachment copies." in out.getvalue()
    assert not WebhookDelivery.objects.filter(pk__in=[d.pk for d in old_routed]).exists()
    # A body not routed yet stays, whatever its age; a recent one stays.
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) >= {
        old_pending.pk,
        recent.pk,
    }
    assert not old_file.exists() and new_file.exists()
    [entry] = Message.objects.get(pk=old_message.pk).attachments
    assert message_entries.kept_copy(entry) is None
    assert "retention" in message_entries.copy_problem(entry)
    assert message_entries.kept_copy(Message.objects.get(pk=new_message.pk).attachments[0])


def test_zero_days_keeps_everything(retained):
    retained.RETENTION_DAYS = 0
    kept = delivery(received_at=OLD, routed=True)
    assert retention.purge() == retention.Purged()
    assert WebhookDelivery.objects.filter(pk=kept.pk).exists()


def test_one_call_of_the_timer_loop_is_bounded(retained):
    for _ in range(5):
        delivery(received_at=OLD, routed=True)
    assert retention.purge(batch=2, max_batches=1).webhook_bodies == 2
    assert WebhookDelivery.objects.count() == 3
