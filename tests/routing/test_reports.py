"""Daily report figures per workgroup and per agent, from known data."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from routing import reports, services
from routing.models import (
    Agent,
    Interaction,
    InteractionEvent,
    Message,
    MessageDirection,
    MessageStatus,
)
from routing.reports import AgentDay, WorkgroupDay
from tests.factories import make_agent, make_workgroup

pytestmark = pytest.mark.django_db

D1 = date(2025, 3, 10)
D2 = date(2025, 3, 11)


def t(day: date, hours: int, minutes: int = 0, seconds: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hours, minutes, seconds, tzinfo=UTC)


def timeline(
    interaction: Interaction,
    created: datetime,
    connected: datetime | None = None,
    disconnected: datetime | None = None,
) -> Interaction:
    """Move an interaction, its first message and its events to known times."""
    Interaction.objects.filter(pk=interaction.pk).update(
        created_at=created, queued_at=created, connected_at=connected, disconnected_at=disconnected
    )
    Message.objects.filter(interaction=interaction).update(sent_at=created)
    events = InteractionEvent.objects.filter(interaction=interaction)
    events.filter(verb="create").update(at=created)
    events.filter(verb="pickup").update(at=connected)
    events.filter(verb="disconnect").update(at=disconnected)
    interaction.refresh_from_db()
    return interaction


def message(interaction, direction, at, *, status=None, author: Agent | None = None, **fields):
    inbound = direction == MessageDirection.INBOUND
    return Message.objects.create(
        interaction=interaction,
        direction=direction,
        status=status or (MessageStatus.RECEIVED if inbound else MessageStatus.SENT),
        sent_at=at,
        author=author.user if author else None,
        text="…",
        **fields,
    )


IN, OUT = MessageDirection.INBOUND, MessageDirection.OUTBOUND


@pytest.fixture
def traffic(desk, workgroup):
    workgroup.name = "A"
    workgroup.save(update_fields=["name"])
    other_group = make_workgroup("B")
    ann = make_agent("ann", workgroups=[workgroup])
    bob = make_agent("bob", workgroups=[workgroup])

    # Day 1, A: answered and ended (60 s wait, 600 s handle), answered and
    # still connected (180 s wait), abandoned.
    first = timeline(desk.disconnected(ann), t(D1, 10), t(D1, 10, 1), disconnected=t(D1, 10, 11))
    message(first, OUT, t(D1, 10, 2), author=ann)
    message(first, OUT, t(D1, 10, 3), author=ann, status=MessageStatus.FAILED, error_code="551")
    message(first, OUT, t(D1, 10, 4), author=ann, deleted_at=t(D1, 10, 4))
    message(first, IN, t(D1, 10, 5))
    # …with 45 s of after-contact work after it.
    Interaction.objects.filter(pk=first.pk).update(
        after_contact_until=t(D1, 10, 12),
        after_contact_ended_at=t(D1, 10, 11) + timedelta(seconds=45),
    )
    second = timeline(desk.connected(bob), t(D1, 11), t(D1, 11, 3))
    message(second, OUT, t(D1, 23, 59), author=bob, status=MessageStatus.READ)
    message(second, IN, t(D2, 0, 10))  # the conversation goes on the next day
    abandoned = desk.queued()
    services.disconnect(interaction_id=abandoned.pk, agent=None)
    timeline(abandoned, t(D1, 12), disconnected=t(D1, 12, 5))
    # Day 1, B: one still waiting.
    timeline(desk.queued(workgroup=other_group), t(D1, 13))
    # Day 2, A: 30 s wait, 300 s handle; a Page-inbox reply (no author).
    fourth = timeline(
        desk.disconnected(ann), t(D2, 9), t(D2, 9, 0, 30), disconnected=t(D2, 9, 5, 30)
    )
    message(fourth, OUT, t(D2, 9, 1), author=ann, status=MessageStatus.DELIVERED)
    message(fourth, OUT, t(D2, 9, 2))
    # Outside the range: the day before.
    day_before = D1 - timedelta(days=1)
    timeline(desk.disconnected(ann), t(day_before, 9), t(day_before, 9, 1), t(day_before, 9, 2))
    return {"A": workgroup, "B": other_group, "ann": ann, "bob": bob}


def test_per_day_and_workgroup(traffic):
    a, b = traffic["A"].pk, traffic["B"].pk
    assert reports.workgroup_days(start=D1, end=D2) == [
        WorkgroupDay(
            day=D1,
            workgroup_id=a,
            workgroup="A",
            interactions=3,
            answered=2,
            abandoned=1,
            average_wait=timedelta(seconds=120),
            average_handle=timedelta(seconds=600),
            average_after_contact=timedelta(seconds=45),
            messages_in=4,
            messages_out=2,
        ),
        WorkgroupDay(day=D1, workgroup_id=b, workgroup="B", interactions=1, messages_in=1),
        WorkgroupDay(
            day=D2,
            workgroup_id=a,
            workgroup="A",
            interactions=1,
            answered=1,
            average_wait=timedelta(seconds=30),
            average_handle=timedelta(seconds=300),
            messages_in=2,
            messages_out=2,
        ),
    ]


def test_one_workgroup_only(traffic):
    rows = reports.workgroup_days(start=D1, end=D2, workgroup_id=traffic["B"].pk)
    assert [(r.day, r.workgroup, r.interactions) for r in rows] == [(D1, "B", 1)]


def test_per_agent(traffic):
    a = traffic["A"].pk
    ann, bob = traffic["ann"], traffic["bob"]
    assert reports.agent_days(start=D1, end=D2) == [
        AgentDay(D1, a, "A", ann.user_id, "ann", picked_up=1, disconnected=1, messages_out=1),
        AgentDay(D1, a, "A", bob.user_id, "bob", picked_up=1, messages_out=1),
        AgentDay(D2, a, "A", ann.user_id, "ann", picked_up=1, disconnected=1, messages_out=1),
    ]


def test_days_are_local_days(traffic):
    # 23:59 UTC on day 1 is day 2 in Paris: bob's reply moves to day 2 there.
    with timezone.override("Europe/Paris"):
        rows = reports.agent_days(start=D1, end=D2)
    bob_rows = {(r.day, r.picked_up, r.messages_out) for r in rows if r.agent == "bob"}
    assert bob_rows == {(D1, 1, 0), (D2, 0, 1)}


def test_satisfaction_per_workgroup_and_agent(traffic, desk):
    a, bob = traffic["A"], traffic["bob"]
    scored = {
        Interaction.objects.get(workgroup=a, created_at=t(D1, 10)).pk: 4,  # ann's, day 1
        Interaction.objects.get(workgroup=a, created_at=t(D2, 9)).pk: 2,  # ann's, day 2
        timeline(desk.disconnected(bob), t(D1, 15), t(D1, 15, 1), t(D1, 15, 9)).pk: 1,
    }
    for pk, score in scored.items():
        Interaction.objects.filter(pk=pk).update(csat_score=score, csat_at=t(D2, 20))

    by_workgroup = {
        (r.day, r.workgroup): (r.satisfaction, r.satisfaction_answers)
        for r in reports.workgroup_days(start=D1, end=D2)
    }
    assert by_workgroup == {
        (D1, "A"): (2.5, 2),
        (D1, "B"): (None, 0),
        (D2, "A"): (2.0, 1),
    }
    by_agent = {
        (r.day, r.agent): (r.satisfaction, r.satisfaction_answers)
        for r in reports.agent_days(start=D1, end=D2)
    }
    assert by_agent == {
        (D1, "ann"): (4.0, 1),
        (D1, "bob"): (1.0, 1),
        (D2, "ann"): (2.0, 1),
    }
