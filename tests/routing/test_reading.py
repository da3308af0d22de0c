"""Reading a conversation: unread marks, transcript pages, the customer's past."""

from datetime import timedelta

import pytest
from django.utils import timezone

from routing import events, selectors, services, transcript_selectors
from routing.models import Interaction, InteractionEvent, Message
from routing.services import NotYours, RoutingError
from tests.factories import customer_writes, make_agent, refresh
from tests.routing.conftest import changed

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(workgroup):
    return make_agent("ann", workgroups=[workgroup])


@pytest.fixture
def other(workgroup):
    return make_agent("bob", workgroups=[workgroup])


def unread(agent, interaction) -> int:
    return next(i.unread for i in selectors.my_interactions(agent) if i.pk == interaction.pk)


def test_customer_messages_are_unread_until_the_agent_reads_them(
    desk, agent, routing_events, django_capture_on_commit_callbacks
):
    interaction = desk.connected(agent, text="Hello")
    psid = interaction.customer.psid
    customer_writes(desk.workgroup, psid=psid, text="Are you there?")
    assert unread(agent, interaction) == 2

    events_before = len(routing_events)
    rows_before = InteractionEvent.objects.filter(interaction=interaction).count()
    with django_capture_on_commit_callbacks(execute=True):
        services.mark_read_by_agent(interaction_id=interaction.pk, agent=agent)

    assert unread(agent, interaction) == 0
    assert refresh(interaction).agent_read_at is not None
    # Its own kind of event, for the agent's own tabs (to clear the mark); no history row.
    assert routing_events[events_before:] == [
        changed(interaction, agent, type_=events.EventType.INTERACTION_READ)
    ]
    assert InteractionEvent.objects.filter(interaction=interaction).count() == rows_before

    customer_writes(desk.workgroup, psid=psid, text="One more thing")
    assert unread(agent, interaction) == 1


def test_our_replies_never_count_as_unread(desk, agent):
    interaction = desk.connected(agent)
    services.mark_read_by_agent(interaction_id=interaction.pk, agent=agent)
    Message.objects.create(
        interaction=interaction, direction="out", text="Hi", status="sent", sent_at=timezone.now()
    )
    assert unread(agent, interaction) == 0


def test_reading_up_to_a_message_leaves_later_ones_unread(desk, agent):
    interaction = desk.connected(agent, text="first")
    psid = interaction.customer.psid
    first = interaction.messages.get()
    later = customer_writes(desk.workgroup, psid=psid, text="second").message
    now = timezone.now()
    Message.objects.filter(pk=first.pk).update(created_at=now - timedelta(seconds=10))
    Message.objects.filter(pk=later.pk).update(created_at=now - timedelta(seconds=5))

    services.mark_read_by_agent(
        interaction_id=interaction.pk, agent=agent, up_to_message_id=first.pk
    )
    assert unread(agent, interaction) == 1

    # Only forward: reading an older message again changes nothing.
    services.mark_read_by_agent(interaction_id=interaction.pk, agent=agent)
    read_at = refresh(interaction).agent_read_at
    services.mark_read_by_agent(
        interaction_id=interaction.pk, agent=agent, up_to_message_id=first.pk
    )
    assert refresh(interaction).agent_read_at == read_at
    assert unread(agent, interaction) == 0


def test_nothing_is_announced_when_nothing_was_unread(desk, agent, routing_events):
    interaction = desk.connected(agent)
    services.mark_read_by_agent(interaction_id=interaction.pk, agent=agent)
    before = len(routing_events)
    services.mark_read_by_agent(interaction_id=interaction.pk, agent=agent)
    assert routing_events[before:] == []


def test_only_the_owner_reads_an_interaction(desk, agent, other):
    interaction = desk.connected(agent)
    with pytest.raises(NotYours):
        services.mark_read_by_agent(interaction_id=interaction.pk, agent=other)
    queued = desk.queued(psid="7999000000000001")
    if queued.state == "queued":
        with pytest.raises(NotYours):
            services.mark_read_by_agent(interaction_id=queued.pk, agent=agent)
    elsewhere = desk.connected(other, psid="7999000000000002").messages.get()
    with pytest.raises(RoutingError, match="not part of the interaction"):
        services.mark_read_by_agent(
            interaction_id=interaction.pk, agent=agent, up_to_message_id=elsewhere.pk
        )
    assert refresh(interaction).agent_read_at is None


def test_a_transcript_shows_its_newest_page_and_loads_older_pages(desk, agent):
    interaction = desk.connected(agent, text="message 0")
    start = timezone.now() - timedelta(hours=1)
    Message.objects.filter(interaction=interaction).update(sent_at=start)
    for n in range(1, 120):
        Message.objects.create(
            interaction=interaction,
            direction="in" if n % 2 else "out",
            text=f"message {n}",
            status="received" if n % 2 else "sent",
            sent_at=start + timedelta(seconds=n),
        )

    newest = transcript_selectors.transcript_page(interaction)
    assert [m.text for m in newest.messages] == [f"message {n}" for n in range(70, 120)]
    assert newest.has_older

    older = transcript_selectors.transcript_page(interaction, before_id=newest.messages[0].pk)
    assert [m.text for m in older.messages] == [f"message {n}" for n in range(20, 70)]
    assert older.has_older

    oldest = transcript_selectors.transcript_page(interaction, before_id=older.messages[0].pk)
    assert [m.text for m in oldest.messages] == [f"message {n}" for n in range(0, 20)]
    assert not oldest.has_older

    elsewhere = desk.connected(agent, psid="7999000000000003").messages.get()
    assert transcript_selectors.transcript_page(interaction, before_id=elsewhere.pk).messages == []


def test_the_customer_history_lists_their_other_interactions(desk, agent, other):
    first = desk.disconnected(other, psid="7999000000000004", text="last week")
    customer_writes(desk.workgroup, psid="7999000000000004", text="again")
    current = Interaction.objects.exclude(pk=first.pk).get(customer=first.customer)
    stranger = desk.disconnected(agent, psid="7999000000000005")

    history = selectors.customer_history(current, agent)
    assert [(i.pk, i.message_count) for i in history] == [(first.pk, 1)]
    assert selectors.past_interaction(current, first.pk, agent) == first
    # Never the current one, never another customer's (who sees what: test_visibility.py).
    assert selectors.past_interaction(current, current.pk, agent) is None
    assert selectors.past_interaction(current, stranger.pk, agent) is None
