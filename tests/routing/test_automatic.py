"""Automatic messages: the out-of-hours reply, the acknowledgement, the feedback survey.

The clock is the test's: a workgroup is closed by holidays on the days around
now and opened again by removing them, and the timer loop is run by hand.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from routing import message_entries, services
from routing.models import Customer, Holiday, InteractionEvent, Message, MessageStatus
from routing.models import InteractionState as S
from routing.services import RoutingError
from routing.transcript_text import interaction_text
from tests.factories import customer_writes, make_agent, make_workgroup, refresh

pytestmark = pytest.mark.django_db(transaction=True)


def close_today(workgroup) -> None:
    # Yesterday to tomorrow: whatever the time zone, now is on a holiday.
    today = timezone.now().date()
    for offset in (-1, 0, 1):
        Holiday.objects.create(workgroup=workgroup, date=today + timedelta(days=offset))


def open_again(workgroup) -> None:
    Holiday.objects.filter(workgroup=workgroup).delete()


def automatic_messages(interaction) -> list[Message]:
    return list(Message.objects.filter(interaction=interaction, automatic=True))


def test_out_of_hours_it_waits_gets_one_reply_and_is_offered_at_the_opening(sender_commands):
    workgroup = make_workgroup(
        out_of_hours_message="We are closed; we open again {opens}. We will answer then."
    )
    close_today(workgroup)
    agent = make_agent("ann", workgroups=[workgroup])

    chat = refresh(customer_writes(workgroup).interaction)
    assert (chat.state, chat.agent_id) == (S.QUEUED, None)
    [reply] = automatic_messages(chat)
    assert reply.text.startswith("We are closed; we open again ")
    assert "{opens}" not in reply.text
    assert (reply.messaging_type, reply.status, reply.author_id) == ("RESPONSE", "sending", None)
    assert sender_commands == [reply.pk]
    assert chat.out_of_hours_reply_at is not None
    assert InteractionEvent.objects.filter(interaction=chat, verb="automatic_message").count() == 1

    # The customer writes again, and the timers run: still closed, nothing more.
    customer_writes(workgroup, text="Anyone?")
    assert services.run_due_timers()["offered"] == 0
    assert len(automatic_messages(chat)) == 1
    assert refresh(chat).state == S.QUEUED

    open_again(workgroup)
    assert services.run_due_timers()["offered"] == 1
    assert (refresh(chat).state, chat.agent_id) == (S.ALERTING, agent.pk)
    assert len(automatic_messages(chat)) == 1  # no acknowledgement for an old arrival


def test_out_of_hours_without_a_message_it_only_waits(sender_commands):
    workgroup = make_workgroup()
    close_today(workgroup)
    make_agent("ann", workgroups=[workgroup])
    chat = refresh(customer_writes(workgroup).interaction)
    assert chat.state == S.QUEUED
    assert automatic_messages(chat) == []
    assert sender_commands == []


def test_within_hours_the_acknowledgement_gives_the_queue_position_once():
    workgroup = make_workgroup(acknowledgement_message="Thanks! You are number {position}.")
    first = customer_writes(workgroup, psid="7300000000000001").interaction
    second = customer_writes(workgroup, psid="7300000000000002").interaction
    assert [m.text for m in automatic_messages(first)] == ["Thanks! You are number 1."]
    assert [m.text for m in automatic_messages(second)] == ["Thanks! You are number 2."]
    assert services.queue_position(second) == 2

    customer_writes(workgroup, psid="7300000000000002", text="Still there?")
    assert len(automatic_messages(second)) == 1
    assert refresh(second).acknowledged_at is not None


def test_no_acknowledgement_out_of_hours_and_none_when_unset():
    quiet = make_workgroup()
    assert automatic_messages(customer_writes(quiet).interaction) == []
    closed = make_workgroup(acknowledgement_message="You are number {position}.")
    close_today(closed)
    assert automatic_messages(customer_writes(closed, psid="7300000000000009").interaction) == []


def answered_and_ended(workgroup, *, psid="7300000000000001", sent_at=None):
    agent = make_agent(workgroups=[workgroup])
    chat = refresh(customer_writes(workgroup, psid=psid, sent_at=sent_at).interaction)
    services.pickup(interaction_id=chat.pk, agent=agent)
    services.disconnect(interaction_id=chat.pk, agent=agent)
    return refresh(chat)


def test_after_disconnect_the_survey_is_sent_once_and_the_answer_stored(sender_commands):
    workgroup = make_workgroup(feedback_survey=True)
    chat = answered_and_ended(workgroup)
    [survey] = automatic_messages(chat)
    [entry] = message_entries.of_kind(survey.attachments, message_entries.FEEDBACK_SURVEY)
    assert entry["question_id"] == "csat"
    assert (survey.messaging_type, survey.status) == ("RESPONSE", MessageStatus.SENDING)
    assert survey.pk in sender_commands
    assert chat.feedback_requested_at is not None

    answered = services.record_feedback(
        page_id=chat.customer.page_id,
        psid=chat.customer.psid,
        score=4,
        comment="  Quick and kind  ",
        answered_at=timezone.now(),
    )
    assert answered == chat
    chat = refresh(chat)
    assert (chat.csat_score, chat.csat_comment) == (4, "Quick and kind")
    assert InteractionEvent.objects.get(interaction=chat, verb="customer_feedback").detail == {
        "score": 4,
        "comment": "Quick and kind",
    }
    # Redelivered, or answered twice: the first answer stays.
    assert (
        services.record_feedback(
            page_id=chat.customer.page_id,
            psid=chat.customer.psid,
            score=1,
            comment="",
            answered_at=timezone.now(),
        )
        is None
    )
    assert refresh(chat).csat_score == 4


def test_no_survey_when_off_or_when_nobody_answered_it():
    off = answered_and_ended(make_workgroup())
    assert automatic_messages(off) == []
    workgroup = make_workgroup(feedback_survey=True)
    agent = make_agent(workgroups=[workgroup], online=False)
    abandoned = customer_writes(workgroup, psid="7300000000000005").interaction
    services.supervisor_disconnect(interaction_id=abandoned.pk, supervisor_user_id=agent.user_id)
    assert automatic_messages(abandoned) == []


def test_outside_the_24_hours_the_survey_is_skipped_never_tagged():
    workgroup = make_workgroup(feedback_survey=True)
    chat = answered_and_ended(workgroup, sent_at=timezone.now() - timedelta(days=2))
    assert automatic_messages(chat) == []
    skipped = InteractionEvent.objects.get(interaction=chat, verb="automatic_skipped")
    assert skipped.detail["reason"] == "outside the 24-hour window"


def test_a_score_outside_one_to_five_is_refused_with_words():
    with pytest.raises(RoutingError, match="1 to 5"):
        services.record_feedback(
            page_id="1", psid="2", score=6, comment="", answered_at=timezone.now()
        )


def test_a_failed_automatic_message_is_never_resent_under_the_human_agent_tag():
    workgroup = make_workgroup(acknowledgement_message="You are number {position}.")
    agent = make_agent(workgroups=[workgroup])
    chat = refresh(customer_writes(workgroup).interaction)
    [ack] = automatic_messages(chat)
    services.record_send_failed(message_id=ack.pk, code="1", reason="Temporary failure")
    services.pickup(interaction_id=chat.pk, agent=agent)
    # Two days later only the HUMAN_AGENT tag would be left.
    Customer.objects.filter(pk=chat.customer_id).update(
        last_message_at=timezone.now() - timedelta(days=2)
    )
    with pytest.raises(RoutingError, match="only within 24 hours"):
        services.resend(message_id=ack.pk, agent=agent)
    assert Message.objects.get(pk=ack.pk).status == MessageStatus.FAILED


def test_the_downloaded_transcript_says_which_messages_were_automatic():
    workgroup = make_workgroup(acknowledgement_message="You are number {position}.")
    chat = customer_writes(workgroup, text="Hello").interaction
    lines = interaction_text(chat).splitlines()
    assert any(line.endswith("Customer: Hello") for line in lines)
    assert any(line.endswith("Automatic: You are number 1.  (Sending)") for line in lines)
