"""Reactions, kept attachment copies and standby messages: one verb each, announced
after commit, and a repeated or older event changes nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from routing import events
from routing.models import Interaction, Message, MessageDirection, MessageStatus
from routing.services import record_attachment_copy, record_reaction, record_standby
from tests.factories import PAGE_ID, customer_writes

pytestmark = pytest.mark.django_db(transaction=True)

PSID = "7300000000000001"


@pytest.fixture
def interaction(workgroup) -> Interaction:
    return customer_writes(workgroup, psid=PSID).interaction


@pytest.fixture
def reply(interaction) -> Message:
    return Message.objects.create(
        interaction=interaction,
        direction=MessageDirection.OUTBOUND,
        text="On its way",
        status=MessageStatus.SENT,
        mid="m_OUT0001",
        sent_at=timezone.now(),
    )


def react(action: str, at, reaction: str = "love", emoji: str = "❤", psid: str = PSID):
    return record_reaction(
        page_id=PAGE_ID,
        psid=psid,
        mid="m_OUT0001",
        action=action,
        reaction=reaction,
        emoji=emoji,
        reacted_at=at,
    )


def test_the_newest_reaction_wins_whatever_the_arrival_order(reply, routing_events):
    now = timezone.now()
    react("react", now)
    react("react", now + timedelta(seconds=2), reaction="wow", emoji="😮")
    react("unreact", now + timedelta(seconds=1))  # older than the wow: ignored
    reply.refresh_from_db()
    assert reply.reaction == "😮"
    assert [e.type for e in routing_events[-2:]] == [events.EventType.MESSAGE_CHANGED] * 2
    assert len([e for e in routing_events if e.message_id == reply.pk]) == 2

    react("unreact", now + timedelta(seconds=3), reaction="wow", emoji="")
    reply.refresh_from_db()
    assert reply.reaction == ""
    [entry] = [a for a in reply.attachments if a["type"] == "reaction"]
    assert entry["action"] == "unreact"


def test_a_repeated_reaction_changes_nothing(reply, routing_events):
    now = timezone.now()
    react("react", now)
    before = list(routing_events)
    assert react("react", now) is not None
    assert routing_events == before


def test_a_reaction_by_another_customer_is_not_applied(reply):
    assert react("react", timezone.now(), psid="7300000000000999") is None
    reply.refresh_from_db()
    assert reply.reaction == ""


@pytest.mark.parametrize(
    "foreign",
    [
        {"type": "reaction", "url": "https://x.example/a.png", "title": ""},
        {"type": "reaction", "at": "yesterday"},
        {"type": "reaction", "at": None},
        {"type": "reaction", "at": "2025-03-10T12:00:00"},  # naive: not ours either
    ],
)
def test_an_entry_posing_as_a_reaction_does_not_break_reactions(reply, foreign):
    # Stored before the adapter renamed attachment types that collide with ours.
    reply.attachments = [foreign]
    reply.save(update_fields=["attachments"])
    now = timezone.now()

    react("react", now)
    react("react", now + timedelta(seconds=2), reaction="wow", emoji="😮")
    react("unreact", now + timedelta(seconds=1))  # older than the wow: ignored

    reply.refresh_from_db()
    assert reply.reaction == "😮"
    assert reply.attachments[0] == foreign
    ours = [a for a in reply.attachments[1:] if a["type"] == "reaction"]
    assert [a["reaction"] for a in ours] == ["wow"]


def test_the_first_copy_outcome_stays(interaction, routing_events):
    message = customer_writes(interaction.workgroup, psid=PSID, text="").message
    message.attachments = [{"type": "image", "url": "https://cdn.example/a.jpg", "title": ""}]
    message.save()

    kept = record_attachment_copy(
        message_id=message.pk,
        index=0,
        url="https://cdn.example/a.jpg",
        path="attachments/2025/11/a.jpg",
        content_type="image/jpeg",
        size=10,
    )
    assert kept.attachments[0]["copy"]["path"] == "attachments/2025/11/a.jpg"
    count = len(routing_events)
    again = record_attachment_copy(
        message_id=message.pk, index=0, url="https://cdn.example/a.jpg", problem="too late"
    )
    assert again.attachments[0]["copy"]["path"] == "attachments/2025/11/a.jpg"
    assert "copy_failed" not in again.attachments[0]
    assert len(routing_events) == count
    # Another attachment than the one downloaded: nothing.
    assert (
        record_attachment_copy(message_id=message.pk, index=0, url="https://x", problem="p") is None
    )
    assert (
        record_attachment_copy(message_id=message.pk, index=3, url="https://x", problem="p") is None
    )


def test_a_standby_message_joins_the_live_interaction_and_opens_none(interaction, routing_events):
    at = timezone.now()
    message = record_standby(
        page_id=PAGE_ID, psid=PSID, mid="m_SB1", text="Bot?", from_customer=True, sent_at=at
    )
    assert message.interaction == interaction
    assert message.attachments == [{"type": "standby", "url": None, "title": "", "kind": "message"}]
    assert Interaction.objects.count() == 1
    assert routing_events[-1].message_id == message.pk
    interaction.customer.refresh_from_db()
    assert interaction.customer.last_message_at == at

    assert (
        record_standby(
            page_id=PAGE_ID, psid=PSID, mid="m_SB1", text="Bot?", from_customer=True, sent_at=at
        )
        == message
    )
    assert Message.objects.filter(mid="m_SB1").count() == 1
    assert (
        record_standby(
            page_id=PAGE_ID,
            psid="7300000000000404",
            mid="m_SB2",
            from_customer=True,
            sent_at=at,
        )
        is None
    )
