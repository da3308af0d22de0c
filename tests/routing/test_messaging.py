"""Messages in and out: the reply window, storing replies, and settling sends."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from routing import events, rules, services
from routing.events import RoutingEvent
from routing.models import (
    Agent,
    Customer,
    Interaction,
    Message,
    MessageDirection,
    MessageStatus,
)
from routing.rules import reply_window
from routing.services import NotYours, RoutingError, TransitionRefused
from tests.factories import customer_writes, make_agent, refresh
from tests.routing.conftest import changed

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(workgroup) -> Agent:
    return make_agent("ann", workgroups=[workgroup])


@pytest.fixture
def other(workgroup) -> Agent:
    return make_agent("bob", workgroups=[workgroup])


@pytest.fixture
def after_commit(django_capture_on_commit_callbacks):
    def block():
        return django_capture_on_commit_callbacks(execute=True)

    return block


@pytest.fixture
def chat(desk, agent) -> Interaction:
    """A connected interaction whose customer wrote just now."""
    return desk.connected(agent)


def reply(interaction: Interaction, agent: Agent, text: str = "How can I help?", **kw) -> Message:
    return services.store_reply(interaction_id=interaction.pk, agent=agent, text=text, **kw)


def customer_wrote(interaction: Interaction, ago: timedelta) -> Customer:
    customer = interaction.customer
    Customer.objects.filter(pk=customer.pk).update(last_message_at=timezone.now() - ago)
    customer.refresh_from_db()
    return customer


def message_event(message: Message) -> RoutingEvent:
    return events.message_event(message, Interaction.objects.get(pk=message.interaction_id))


def with_status(message: Message, status: str, **fields) -> Message:
    Message.objects.filter(pk=message.pk).update(status=status, **fields)
    return refreshed(message)


def refreshed(message: Message) -> Message:
    message.refresh_from_db()
    return message


def outbound() -> list[Message]:
    return list(Message.objects.filter(direction=MessageDirection.OUTBOUND).order_by("pk"))


# --- the reply window ---------------------------------------------------------------

LAST = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def customer_at(last: datetime | None) -> Customer:
    return Customer(page_id="1", psid="2", last_message_at=last)


@pytest.mark.parametrize(
    "elapsed, messaging_type, tag, closes_after",
    [
        (timedelta(0), "RESPONSE", "", timedelta(hours=24)),
        (timedelta(hours=23, minutes=59, seconds=59), "RESPONSE", "", timedelta(hours=24)),
        (timedelta(hours=24), "MESSAGE_TAG", "HUMAN_AGENT", timedelta(days=7)),
        (timedelta(days=6, hours=23, minutes=59), "MESSAGE_TAG", "HUMAN_AGENT", timedelta(days=7)),
    ],
)
def test_the_reply_window_is_open(elapsed, messaging_type, tag, closes_after):
    window = reply_window(customer_at(LAST), now=LAST + elapsed)
    assert window.open
    assert (window.messaging_type, window.tag, window.reason) == (messaging_type, tag, "")
    assert window.closes_at == LAST + closes_after


@pytest.mark.parametrize("elapsed", [timedelta(days=7), timedelta(days=30)])
def test_the_reply_window_closes_after_seven_days_and_says_since_when(elapsed):
    window = reply_window(customer_at(LAST), now=LAST + elapsed)
    assert not window.open
    assert window.messaging_type == "" and window.tag == ""
    assert window.closes_at == LAST + timedelta(days=7)
    assert window.reason == (
        "Messenger allows replies for 7 days after the customer's last message; "
        "this conversation closed on 2025-03-08 12:00."
    )


def test_the_reply_window_is_closed_before_the_customer_writes():
    window = reply_window(customer_at(None))
    assert not window.open
    assert window.reason == "The customer has not written yet."


def test_the_window_counts_from_the_latest_message_even_if_an_older_one_arrives_last(
    workgroup,
):
    now = timezone.now()
    customer_writes(workgroup, psid="7700", mid="m_new", sent_at=now)
    customer_writes(workgroup, psid="7700", mid="m_old", sent_at=now - timedelta(days=2))
    customer = Customer.objects.get(psid="7700")
    assert customer.last_message_at == now
    assert reply_window(customer).messaging_type == "RESPONSE"


# --- storing a reply ----------------------------------------------------------------


def test_a_reply_is_stored_as_sending_and_handed_to_the_sender(
    chat, agent, routing_events, sender_commands, after_commit
):
    client_id = uuid.uuid4()
    before = timezone.now()
    with after_commit():
        message = reply(chat, agent, "  How can I help?  ", client_id=client_id)

    message.refresh_from_db()
    assert message.text == "How can I help?"
    assert (message.direction, message.status) == (MessageDirection.OUTBOUND, MessageStatus.SENDING)
    assert message.client_id == client_id and message.author_id == agent.user_id
    assert message.messaging_type == "RESPONSE"
    assert message.send_deadline >= before + timedelta(seconds=settings.FACEBOOK_SEND_TIMEOUT)
    # The reply answered the customer: their service-level clock stops (lists, board).
    assert routing_events == [message_event(message), changed(chat, agent)]
    assert sender_commands == [message.pk]


def test_a_reply_after_24_hours_goes_out_with_the_human_agent_tag(chat, agent):
    customer_wrote(chat, ago=timedelta(days=3))
    assert reply(chat, agent).messaging_type == "MESSAGE_TAG"


def test_a_reply_of_exactly_the_limit_is_accepted(chat, agent):
    assert len(reply(chat, agent, "x" * rules.MAX_TEXT_LENGTH).text) == 1999


REPLY_REFUSALS = [
    (
        "empty",
        lambda i, a, b: reply(i, a, "   "),
        RoutingError,
        "Type a message first.",
    ),
    (
        "over 1999 characters",
        lambda i, a, b: reply(i, a, "x" * 2000),
        RoutingError,
        "Messenger takes at most 1999 characters; this message has 2000.",
    ),
    (
        "not the owner",
        lambda i, a, b: reply(i, b),
        NotYours,
        "This interaction is not yours.",
    ),
    (
        "on hold",
        lambda i, a, b: (
            services.hold(interaction_id=i.pk, agent=a),
            reply(i, a),
        ),
        TransitionRefused,
        "Replies are possible only while connected; the interaction is on hold.",
    ),
    (
        "disconnected",
        lambda i, a, b: (
            services.disconnect(interaction_id=i.pk, agent=a),
            reply(i, a),
        ),
        TransitionRefused,
        "Replies are possible only while connected; the interaction is disconnected.",
    ),
    (
        "window closed",
        lambda i, a, b: (customer_wrote(i, ago=timedelta(days=8)), reply(i, a)),
        RoutingError,
        "Messenger allows replies for 7 days after the customer's last message; "
        "this conversation closed on",
    ),
]


@pytest.mark.parametrize(
    "action, error, words", [r[1:] for r in REPLY_REFUSALS], ids=[r[0] for r in REPLY_REFUSALS]
)
def test_store_reply_refuses_and_stores_nothing(
    action, error, words, chat, agent, other, routing_events, after_commit
):
    with after_commit(), pytest.raises(error) as refused:
        action(chat, agent, other)
    assert str(refused.value).startswith(words)
    assert outbound() == []
    assert [e for e in routing_events if e.type != events.EventType.INTERACTION_CHANGED] == []


def test_a_reply_to_an_offer_not_yet_picked_up_is_refused(desk, agent):
    offered = desk.alerting(agent)
    with pytest.raises(TransitionRefused, match="^Replies are possible only while connected"):
        reply(offered, agent)


def test_an_identical_reply_within_5_seconds_is_held_back_as_duplicate(
    chat, agent, routing_events, after_commit
):
    first = reply(chat, agent, "On it")
    with after_commit():
        second = reply(chat, agent, "  On it ")

    second.refresh_from_db()
    assert second.pk != first.pk
    assert second.status == MessageStatus.DUPLICATE
    assert second.send_deadline is None
    assert "held back" in second.error_message
    # Shown, with Resend and Delete, but not handed to the sender.
    assert routing_events == [message_event(second)]


def test_a_different_or_later_reply_is_not_a_duplicate(chat, agent):
    first = reply(chat, agent, "On it")
    assert reply(chat, agent, "On it!").status == MessageStatus.SENDING
    Message.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - services.DUPLICATE_WINDOW - timedelta(seconds=1)
    )
    Message.objects.exclude(pk=first.pk).delete()
    assert reply(chat, agent, "On it").status == MessageStatus.SENDING


def test_the_same_text_after_a_failed_send_is_not_a_duplicate(chat, agent):
    first = reply(chat, agent, "On it")
    services.record_send_failed(message_id=first.pk, code="100", reason="Invalid parameter")
    assert reply(chat, agent, "On it").status == MessageStatus.SENDING


def test_the_same_client_id_twice_returns_the_same_row(chat, agent, routing_events, after_commit):
    client_id = uuid.uuid4()
    first = reply(chat, agent, "Thanks!", client_id=client_id)
    with after_commit():
        again = reply(chat, agent, "Thanks!", client_id=client_id)
    assert again.pk == first.pk and again.status == MessageStatus.SENDING
    assert len(outbound()) == 1
    assert routing_events == []


# --- resend and delete ----------------------------------------------------------------


@pytest.mark.parametrize(
    "status", [MessageStatus.TIMED_OUT, MessageStatus.FAILED, MessageStatus.DUPLICATE]
)
def test_resend_puts_an_unsent_message_back_to_sending(
    status, chat, agent, routing_events, sender_commands, after_commit
):
    message = with_status(reply(chat, agent), status, error_code="x", error_message="y")
    with after_commit():
        services.resend(message_id=message.pk, agent=agent)
    refreshed(message)
    assert message.status == MessageStatus.SENDING
    assert (message.error_code, message.error_message) == ("", "")
    assert message.send_deadline > timezone.now()
    assert routing_events == [message_event(message)]
    assert sender_commands == [message.pk]


@pytest.mark.parametrize(
    "status, resend_refusal",
    [
        (MessageStatus.SENDING, "Only a message that was not sent can be sent again."),
        (MessageStatus.SENT, "Messenger has confirmed this message: it was sent."),
        (MessageStatus.DELIVERED, "Messenger has confirmed this message: it was sent."),
        (MessageStatus.READ, "Messenger has confirmed this message: it was sent."),
    ],
)
def test_resend_and_delete_refuse_a_message_that_is_sending_or_sent(
    status, resend_refusal, chat, agent, routing_events, after_commit
):
    message = with_status(reply(chat, agent), status)
    with after_commit():
        with pytest.raises(RoutingError) as refused:
            services.resend(message_id=message.pk, agent=agent)
        assert str(refused.value) == resend_refusal
        with pytest.raises(RoutingError) as refused:
            services.delete_unsent(message_id=message.pk, agent=agent)
        assert str(refused.value) == "Only a message that was not sent can be deleted."
    assert refreshed(message).status == status and message.deleted_at is None
    assert routing_events == []


def test_resend_and_delete_by_another_agent_are_refused(chat, agent, other):
    message = with_status(reply(chat, agent), MessageStatus.FAILED)
    with pytest.raises(NotYours):
        services.resend(message_id=message.pk, agent=other)
    with pytest.raises(NotYours):
        services.delete_unsent(message_id=message.pk, agent=other)
    assert refreshed(message).status == MessageStatus.FAILED and message.deleted_at is None


def test_resend_after_the_window_closed_is_refused(chat, agent):
    message = with_status(reply(chat, agent), MessageStatus.FAILED)
    customer_wrote(chat, ago=timedelta(days=8))
    with pytest.raises(RoutingError, match="this conversation closed on"):
        services.resend(message_id=message.pk, agent=agent)
    assert refreshed(message).status == MessageStatus.FAILED


def test_nothing_is_resent_once_the_interaction_is_no_longer_connected(chat, agent):
    message = with_status(reply(chat, agent), MessageStatus.FAILED)
    services.disconnect(interaction_id=chat.pk, agent=agent)
    with pytest.raises(TransitionRefused, match="the interaction is disconnected"):
        services.resend(message_id=message.pk, agent=agent)
    assert refreshed(message).status == MessageStatus.FAILED
    # Deleting the failed draft is still possible.
    services.delete_unsent(message_id=message.pk, agent=agent)
    assert refreshed(message).deleted_at is not None


@pytest.mark.parametrize(
    "status", [MessageStatus.TIMED_OUT, MessageStatus.FAILED, MessageStatus.DUPLICATE]
)
def test_delete_unsent_marks_the_message_deleted(status, chat, agent, routing_events, after_commit):
    message = with_status(reply(chat, agent), status)
    with after_commit():
        services.delete_unsent(message_id=message.pk, agent=agent)
    assert refreshed(message).deleted_at is not None
    assert routing_events == [message_event(message)]
    with pytest.raises(RoutingError, match="^This message was deleted"):
        services.resend(message_id=message.pk, agent=agent)


def test_a_missing_message_is_reported(agent):
    with pytest.raises(RoutingError, match=r"^This message no longer exists\.$"):
        services.resend(message_id=987654, agent=agent)


# --- the sender's outcome -------------------------------------------------------------


def test_record_sent_settles_a_sending_message(chat, agent, routing_events, after_commit):
    message = reply(chat, agent)
    with after_commit():
        services.record_sent(message_id=message.pk, mid="m_out_1")
    refreshed(message)
    assert (message.status, message.mid, message.send_deadline) == (
        MessageStatus.SENT,
        "m_out_1",
        None,
    )
    assert routing_events == [message_event(message)]


def test_record_sent_settles_a_timed_out_message(chat, agent):
    message = reply(chat, agent)
    services.record_send_failed(message_id=message.pk, code="timeout", reason="…", timed_out=True)
    assert refreshed(message).status == MessageStatus.TIMED_OUT

    services.record_sent(message_id=message.pk, mid="m_out_late")

    refreshed(message)
    assert (message.status, message.mid) == (MessageStatus.SENT, "m_out_late")
    assert (message.error_code, message.error_message) == ("", "")


def test_record_sent_twice_and_after_delivery_changes_nothing(
    chat, agent, routing_events, after_commit
):
    message = reply(chat, agent)
    services.record_sent(message_id=message.pk, mid="m_out_2")
    with after_commit():
        services.record_sent(message_id=message.pk, mid="m_out_2")  # the echo
    with_status(message, MessageStatus.DELIVERED)
    with after_commit():
        services.record_sent(message_id=message.pk, mid="m_out_2")
    assert refreshed(message).status == MessageStatus.DELIVERED
    assert routing_events == []


@pytest.mark.parametrize("timed_out", [False, True])
def test_record_send_failed_marks_a_sending_message(
    timed_out, chat, agent, routing_events, after_commit
):
    message = reply(chat, agent)
    with after_commit():
        services.record_send_failed(
            message_id=message.pk,
            code="10",
            reason="Outside the window",
            timed_out=timed_out,
        )
    refreshed(message)
    assert message.status == (MessageStatus.TIMED_OUT if timed_out else MessageStatus.FAILED)
    assert (message.error_code, message.error_message) == ("10", "Outside the window")
    assert message.send_deadline is None
    assert routing_events == [message_event(message)]


@pytest.mark.parametrize(
    "status", [MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ]
)
def test_record_send_failed_leaves_a_sent_message_alone(
    status, chat, agent, routing_events, after_commit
):
    message = reply(chat, agent)
    services.record_sent(message_id=message.pk, mid="m_out_3")
    with_status(message, status)
    with after_commit():
        services.record_send_failed(message_id=message.pk, code="timeout", reason="late")
    refreshed(message)
    assert (message.status, message.mid, message.error_code) == (status, "m_out_3", "")
    assert routing_events == []


def test_expire_stuck_sends_times_out_sends_past_their_deadline(chat, agent):
    stuck = reply(chat, agent, "First")
    fresh = reply(chat, agent, "Second")
    sent = reply(chat, agent, "Third")
    services.record_sent(message_id=sent.pk, mid="m_out_4")
    past = timezone.now() - timedelta(seconds=1)
    Message.objects.filter(pk__in=[stuck.pk, sent.pk]).update(send_deadline=past)

    assert services.expire_stuck_sends() == 1

    assert refreshed(stuck).status == MessageStatus.TIMED_OUT
    assert stuck.error_code == "timeout" and "may not have been sent" in stuck.error_message
    assert refreshed(fresh).status == MessageStatus.SENDING
    assert refreshed(sent).status == MessageStatus.SENT
    assert services.expire_stuck_sends() == 0
    assert services.run_due_timers()["sends_expired"] == 0


def test_inbound_messages_are_stored_on_the_interaction(workgroup):
    sent_at = timezone.now() - timedelta(seconds=3)
    received = customer_writes(workgroup, psid="7701", mid="m_in_1", text="Hi", sent_at=sent_at)
    message = refreshed(received.message)
    assert (message.direction, message.status, message.mid) == (
        MessageDirection.INBOUND,
        MessageStatus.RECEIVED,
        "m_in_1",
    )
    assert message.sent_at == sent_at
    assert refresh(received.interaction).customer.last_message_at == sent_at
