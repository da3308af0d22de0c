"""Service-level clocks: a customer's message starts one, a reply stops it and says
whether it came in target; the clock's levels; the agent's list order."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from routing import services
from routing.events import EventType
from routing.models import (
    Agent,
    AgentStatus,
    Interaction,
    InteractionEvent,
    Message,
    MessageDirection,
    Workgroup,
)
from routing.service_levels import (
    Level,
    by_time_left,
    response_clock,
    row_window_clock,
    window_clock,
)
from tests.factories import customer_writes, make_agent, refresh
from tests.routing.conftest import changed
from tests.routing.test_concurrency import in_threads, unexpected

pytestmark = pytest.mark.django_db


@pytest.fixture
def workgroup() -> Workgroup:
    return Workgroup.objects.create(
        name="Sales", first_response_seconds=120, next_response_seconds=60
    )


@pytest.fixture
def agent(workgroup) -> Agent:
    return make_agent("ann", workgroups=[workgroup])


def ago(seconds: float) -> datetime:
    return timezone.now() - timedelta(seconds=seconds)


def answered_rows(interaction: Interaction) -> list[tuple[str, dict, int | None]]:
    return [
        (row.verb, row.detail, row.actor_id)
        for row in InteractionEvent.objects.filter(
            interaction=interaction, verb__startswith="answered"
        ).order_by("pk")
    ]


def test_the_first_message_starts_the_first_response_clock(workgroup):
    sent = ago(30)
    chat = refresh(customer_writes(workgroup, sent_at=sent).interaction)

    assert chat.customer_waiting_since == sent
    clock = response_clock(chat)
    assert clock is not None and clock.label == "First response"
    assert clock.due_at == sent + timedelta(seconds=120)
    # Amber in the last quarter of the target.
    assert clock.near_at == sent + timedelta(seconds=90)


def test_later_messages_leave_the_clock_at_the_oldest_unanswered_one(workgroup):
    first = ago(50)
    chat = refresh(customer_writes(workgroup, sent_at=first).interaction)
    customer_writes(workgroup, sent_at=ago(10))
    assert refresh(chat).customer_waiting_since == first

    # Meta delivers out of order: an earlier timestamp moves the clock back.
    earlier = ago(70)
    customer_writes(workgroup, sent_at=earlier)
    assert refresh(chat).customer_waiting_since == earlier


def test_a_timestamp_ahead_of_our_clock_counts_from_now(workgroup):
    before = timezone.now()
    chat = refresh(customer_writes(workgroup, sent_at=before + timedelta(hours=1)).interaction)
    assert before <= chat.customer_waiting_since <= timezone.now()


def test_a_reply_in_target_stops_the_clock_and_says_so(
    workgroup, agent, routing_events, django_capture_on_commit_callbacks
):
    chat = refresh(customer_writes(workgroup, sent_at=ago(40)).interaction)
    services.pickup(interaction_id=chat.pk, agent=agent)

    with django_capture_on_commit_callbacks(execute=True):
        services.store_reply(interaction_id=chat.pk, agent=agent, text="Hello!")

    chat = refresh(chat)
    assert chat.customer_waiting_since is None
    assert chat.first_replied_at is not None
    assert response_clock(chat) is None
    [(verb, detail, actor)] = answered_rows(chat)
    assert verb == "answered_in_target" and actor == agent.user_id
    assert detail["kind"] == "first" and detail["target_seconds"] == 120
    assert 40 <= detail["waited_seconds"] < 60
    # The clock leaves the lists and the board: the interaction is announced.
    assert changed(chat, agent) in routing_events


def test_the_next_message_runs_the_next_response_clock_and_a_late_reply_is_late(workgroup, agent):
    chat = refresh(customer_writes(workgroup, psid="7300000000000009").interaction)
    services.pickup(interaction_id=chat.pk, agent=agent)
    services.store_reply(interaction_id=chat.pk, agent=agent, text="Hello!")

    sent = ago(90)
    customer_writes(workgroup, psid="7300000000000009", sent_at=sent)
    chat = refresh(chat)
    clock = response_clock(chat)
    assert clock is not None and clock.label == "Next response"
    assert clock.due_at == sent + timedelta(seconds=60)
    assert clock.level(timezone.now()) == Level.PAST

    services.store_reply(interaction_id=chat.pk, agent=agent, text="Sorry for the wait")

    verbs = [verb for verb, _, _ in answered_rows(chat)]
    assert verbs == ["answered_in_target", "answered_late"]
    late = answered_rows(chat)[1][1]
    assert late["kind"] == "next" and late["target_seconds"] == 60
    assert late["waited_seconds"] >= 90


def test_replies_to_an_answered_customer_write_nothing_more(workgroup, agent):
    chat = refresh(customer_writes(workgroup).interaction)
    services.pickup(interaction_id=chat.pk, agent=agent)
    services.store_reply(interaction_id=chat.pk, agent=agent, text="One")
    services.store_reply(interaction_id=chat.pk, agent=agent, text="Two")
    assert len(answered_rows(chat)) == 1


def test_without_targets_there_is_no_clock_but_the_answer_is_still_written(agent):
    plain = Workgroup.objects.create(name="Plain")
    plain.members.add(agent)
    chat = refresh(customer_writes(plain).interaction)
    assert chat.customer_waiting_since is not None
    assert response_clock(chat) is None
    services.pickup(interaction_id=chat.pk, agent=agent)
    services.store_reply(interaction_id=chat.pk, agent=agent, text="Hi")
    [(verb, detail, _)] = answered_rows(chat)
    assert verb == "answered" and detail["target_seconds"] is None


def test_a_reply_from_the_page_inbox_answers_the_customer(workgroup):
    chat = refresh(customer_writes(workgroup, sent_at=ago(20)).interaction)
    services.record_page_echo(
        page_id=chat.customer.page_id,
        psid=chat.customer.psid,
        mid="m_page_inbox_1",
        text="Answered from the Page inbox",
        sent_at=timezone.now(),
    )
    chat = refresh(chat)
    assert chat.customer_waiting_since is None
    [(verb, _, actor)] = answered_rows(chat)
    assert verb == "answered_in_target" and actor is None


def test_a_new_wait_is_announced_once(
    workgroup, agent, routing_events, django_capture_on_commit_callbacks
):
    chat = refresh(customer_writes(workgroup).interaction)
    services.pickup(interaction_id=chat.pk, agent=agent)
    services.store_reply(interaction_id=chat.pk, agent=agent, text="Hi")

    with django_capture_on_commit_callbacks(execute=True):
        customer_writes(workgroup, text="one more thing")
        customer_writes(workgroup, text="and another")

    interaction_changes = [e for e in routing_events if e.type == EventType.INTERACTION_CHANGED]
    assert interaction_changes == [changed(chat, agent)]


def test_an_ended_interaction_has_no_clock(workgroup, agent):
    chat = refresh(customer_writes(workgroup, sent_at=ago(500)).interaction)
    services.pickup(interaction_id=chat.pk, agent=agent)
    services.disconnect(interaction_id=chat.pk, agent=agent)
    assert response_clock(refresh(chat)) is None


def test_clock_levels():
    workgroup = Workgroup(first_response_seconds=100)
    since = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
    chat = Interaction(workgroup=workgroup, state="connected", customer_waiting_since=since)
    clock = response_clock(chat)
    assert clock is not None
    assert clock.level(since + timedelta(seconds=74)) == Level.OK
    assert clock.level(since + timedelta(seconds=75)) == Level.NEAR
    assert clock.level(since + timedelta(seconds=100)) == Level.PAST
    assert clock.seconds_left(since + timedelta(seconds=130)) == -30


def test_the_reply_window_clock_runs_the_24_hours_then_the_human_agent_days():
    last = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
    early = window_clock(last, now=last + timedelta(hours=2))
    assert early is not None and early.label == "24 h window"
    assert early.due_at == last + timedelta(hours=24)
    assert early.level(last + timedelta(hours=22)) == Level.OK
    assert early.level(last + timedelta(hours=23)) == Level.NEAR  # its last hour
    # At 24 hours the HUMAN_AGENT days take over: amber all along, red when they end.
    assert early.current(last + timedelta(hours=24)).label == "Human agent window"
    assert early.level(last + timedelta(days=3)) == Level.NEAR
    assert early.level(last + timedelta(days=7)) == Level.PAST

    late = window_clock(last, now=last + timedelta(days=2))
    assert late is not None and late.label == "Human agent window" and late.then is None
    assert late.due_at == last + timedelta(days=7)
    assert window_clock(None, now=last) is None


def test_a_row_shows_the_reply_window_once_it_gets_short(workgroup, agent):
    chat = refresh(customer_writes(workgroup).interaction)
    last = chat.customer.last_message_at
    assert row_window_clock(chat, now=last + timedelta(hours=22)) is None  # queued: no reply
    chat = services.pickup(interaction_id=chat.pk, agent=agent)
    assert row_window_clock(chat, now=last + timedelta(hours=20)) is None
    assert row_window_clock(chat, now=last + timedelta(hours=21)).label == "24 h window"
    assert row_window_clock(chat, now=last + timedelta(days=6)).label == "Human agent window"


def test_by_time_left_puts_the_most_urgent_first_and_clockless_last(workgroup, agent):
    plain = Workgroup.objects.create(name="Plain")
    relaxed = refresh(customer_writes(workgroup, psid="7300000000000011").interaction)
    urgent = refresh(
        customer_writes(workgroup, psid="7300000000000012", sent_at=ago(100)).interaction
    )
    clockless = refresh(customer_writes(plain, psid="7300000000000013").interaction)
    rows = Interaction.objects.select_related("workgroup").order_by("pk")
    assert [i.pk for i in by_time_left(rows)] == [urgent.pk, relaxed.pk, clockless.pk]


def test_set_list_order(agent):
    assert services.set_list_order(agent=agent, by_time_left=True).list_by_time_left
    assert Agent.objects.get(pk=agent.pk).list_by_time_left
    assert not services.set_list_order(agent=agent, by_time_left=False).list_by_time_left


@pytest.mark.django_db(transaction=True)
def test_racing_messages_and_replies_leave_the_clock_as_the_last_message_says(
    workgroup, postgresql_only
):
    """A customer writing while the agent replies, each from their own connection (as two
    server processes would): the interaction's row lock orders them, and the clock runs
    exactly when the newest message is the customer's, with one answer row per wait."""
    agent = make_agent("ann", workgroups=[workgroup], status=AgentStatus.AWAY)
    psid = "7300000000000555"
    chat = refresh(customer_writes(workgroup, psid=psid).interaction)
    services.pickup(interaction_id=chat.pk, agent=agent)
    rounds = 12

    def customer(sync):
        sync()
        for n in range(rounds):
            customer_writes(workgroup, psid=psid, text=f"question {n}")

    def replying(sync):
        sync()
        for n in range(rounds):
            services.store_reply(interaction_id=chat.pk, agent=agent, text=f"answer {n}")

    assert unexpected(in_threads([customer, replying])) == []

    directions = list(
        Message.objects.filter(interaction=chat)
        .order_by("created_at", "pk")
        .values_list("direction", flat=True)
    )
    waits_answered = sum(
        1
        for before, after in zip(directions, directions[1:], strict=False)
        if before == MessageDirection.INBOUND and after == MessageDirection.OUTBOUND
    )
    chat = refresh(chat)
    assert (chat.customer_waiting_since is not None) == (directions[-1] == MessageDirection.INBOUND)
    assert len(answered_rows(chat)) == waits_answered
