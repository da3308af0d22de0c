"""Meta's Send API rate limits (codes 4, 32, 613), from the fake Graph API over HTTP:
a refused reply is held back and sent later, once, in order; never dropped."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from connect import fragments
from facebook import sender
from facebook.models import DeferredSend, FacebookPage
from routing import services
from routing.models import MessageStatus
from routing.services.timers import run_due_timers

pytestmark = pytest.mark.django_db(transaction=True)


def later(seconds: float = 3600):
    return timezone.now() + timedelta(seconds=seconds)


def accepted(fake_graph_api) -> list[str]:
    """The texts Meta accepted, in the order it accepted them."""
    return [
        call.body["message"]["text"]
        for call in fake_graph_api.message_calls()
        if call.answer_status == 200
    ]


@pytest.mark.parametrize("mode", ["rate_limit", "rate_limit_4", "rate_limit_32"])
def test_a_rate_limited_reply_is_held_back_then_sent_once(fake_graph_api, conversation, mode):
    fake_graph_api.mode(mode)
    talk = conversation()

    message = talk.reply("Your parcel left today.")

    # Not failed, not hammered: one call, then the reply waits, still sending.
    assert message.status == MessageStatus.SENDING
    assert len(fake_graph_api.message_calls()) == 1
    held = DeferredSend.objects.get(message_id=message.pk)
    assert held.attempts == 1 and held.due_at > timezone.now()
    assert message.send_deadline > held.due_at  # the stuck-send timer leaves it alone
    assert FacebookPage.objects.get(pk=talk.page.pk).send_paused_until == held.due_at
    html = fragments.bubble(message, oob=False)
    assert 'aria-label="Sending"' in html
    assert "Messenger is limiting how fast this Page may send: it goes out by itself" in html
    assert ">Resend</button>" not in html
    run_due_timers()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENDING

    # Nothing goes before its time.
    assert sender.send_deferred_due() == 0

    fake_graph_api.mode("ok")
    assert sender.send_deferred_due(now=later()) == 1
    assert sender.wait_for_idle(timeout=15)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.error_message == ""
    assert accepted(fake_graph_api) == ["Your parcel left today."]
    assert not DeferredSend.objects.exists()
    # Once: a second pass finds nothing to send.
    assert sender.send_deferred_due(now=later()) == 0


def test_refused_again_the_backoff_doubles(fake_graph_api, conversation, settings):
    settings.FACEBOOK_RATE_LIMIT_BACKOFF = 5.0
    fake_graph_api.mode("rate_limit")
    talk = conversation()
    message = talk.reply()
    first = DeferredSend.objects.get(message_id=message.pk)
    assert 4 <= (first.due_at - timezone.now()).total_seconds() <= 5

    assert sender.send_deferred_due(now=later()) == 1
    assert sender.wait_for_idle(timeout=15)

    second = DeferredSend.objects.get(message_id=message.pk)
    assert second.attempts == 2
    assert 9 <= (second.due_at - timezone.now()).total_seconds() <= 10
    assert len(fake_graph_api.message_calls()) == 2
    message.refresh_from_db()
    assert message.status == MessageStatus.SENDING


def test_later_replies_wait_behind_and_go_out_in_order(fake_graph_api, conversation):
    fake_graph_api.mode("rate_limit")
    talk = conversation()
    first = talk.reply("one")
    fake_graph_api.mode("ok")  # the limit lifts, but the Page waits out its pause
    second = talk.reply("two")
    third = talk.reply("three")

    # Held behind the first without asking Meta again.
    assert len(fake_graph_api.message_calls()) == 1
    assert [m.status for m in (first, second, third)] == [MessageStatus.SENDING] * 3
    assert DeferredSend.objects.count() == 3

    assert sender.send_deferred_due(now=later()) == 3
    assert sender.wait_for_idle(timeout=15)

    assert accepted(fake_graph_api) == ["one", "two", "three"]
    for message in (first, second, third):
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT


def test_a_held_reply_deleted_meanwhile_is_not_sent(fake_graph_api, conversation):
    fake_graph_api.mode("rate_limit")
    talk = conversation()
    message = talk.reply()
    fake_graph_api.mode("ok")
    with transaction.atomic():
        # As the agent's Delete would, once the reply shows as not sent.
        services.record_send_failed(message_id=message.pk, code="613", reason="held")
        services.delete_unsent(message_id=message.pk, agent=talk.agent)

    sender.send_deferred_due(now=later())
    assert sender.wait_for_idle(timeout=15)

    assert accepted(fake_graph_api) == []
    assert not DeferredSend.objects.exists()
