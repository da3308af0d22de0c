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
    # The line saying ann took the conversation from a bot: sent to nobody, not counted.
    message(first, OUT, t(D1, 10, 6), author=ann, mid="handover:7300000000000001:1:take")
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


def test_per_agent_the_interactions_they_let_lapse(desk, workgroup):
    ann = make_agent("ann", workgroups=[workgroup])
    bob = make_agent("bob", workgroups=[workgroup])
    workgroup.agent_reply_timeout_seconds = 300
    workgroup.save()
    # Ann lets one lapse on day 1; Bob picks it up and lets it lapse on day 2, and another one.
    first = desk.connected(ann)
    second = desk.queued()
    for interaction, agent, at in (
        (first, ann, t(D1, 10, 5)),
        (first, bob, t(D2, 9, 5)),
        (second, bob, t(D2, 11)),
    ):
        Interaction.objects.filter(pk=interaction.pk).update(
            state="connected", agent=agent, reply_due_at=at
        )
        assert services.return_for_no_reply(interaction_id=interaction.pk) is True
        lapse = InteractionEvent.objects.filter(verb="inactivity_return").latest("pk")
        InteractionEvent.objects.filter(pk=lapse.pk).update(at=at)
    # Everything else they did is outside the range.
    before = t(D1, 0) - timedelta(days=1)
    InteractionEvent.objects.exclude(verb="inactivity_return").update(at=before)
    Message.objects.update(sent_at=before)

    a = workgroup.pk
    name = workgroup.name
    assert reports.agent_days(start=D1, end=D2) == [
        AgentDay(D1, a, name, ann.user_id, "ann", lapsed=1),
        AgentDay(D2, a, name, bob.user_id, "bob", lapsed=2),
    ]
    assert reports.agent_days(start=D2, end=D2, workgroup_id=make_workgroup().pk) == []


# --- service level: the share of answers within target ----------------------------------


def answer(interaction, verb: str, at: datetime, by: Agent | None) -> None:
    """An answer as `services.store_reply` records it (routing.service_levels' verbs)."""
    row = InteractionEvent.objects.create(
        interaction=interaction,
        verb=verb,
        actor=by.user if by else None,
        from_state=interaction.state,
        to_state=interaction.state,
    )
    InteractionEvent.objects.filter(pk=row.pk).update(at=at)


@pytest.fixture
def answers(desk, workgroup):
    workgroup.name = "A"
    workgroup.save(update_fields=["name"])
    other_group = make_workgroup("B")
    ann = make_agent("ann", workgroups=[workgroup, other_group])
    bob = make_agent("bob", workgroups=[workgroup])
    mine = desk.connected(ann)
    bobs = desk.connected(bob)
    elsewhere = desk.connected(ann, workgroup=other_group)
    # Day 1, A: ann in target twice and late once, bob in target, the Page inbox in target;
    # an answer where the workgroup had no target does not count.
    answer(mine, "answered_in_target", t(D1, 9), ann)
    answer(mine, "answered_in_target", t(D1, 10), ann)
    answer(mine, "answered_late", t(D1, 11), ann)
    answer(mine, "answered", t(D1, 12), ann)
    answer(bobs, "answered_in_target", t(D1, 9), bob)
    answer(bobs, "answered_in_target", t(D1, 13), None)
    # Day 2: ann late in A, in target in B.
    answer(mine, "answered_late", t(D2, 9), ann)
    answer(elsewhere, "answered_in_target", t(D2, 10), ann)
    # Outside the range.
    answer(mine, "answered_late", t(D2 + timedelta(days=1), 9), ann)
    return {"A": workgroup, "B": other_group, "ann": ann, "bob": bob}


def test_service_level_per_day_and_workgroup(answers):
    rows = {
        (r.day, r.workgroup): (r.answers_in_target, r.answers_with_target, r.service_level)
        for r in reports.workgroup_days(start=D1, end=D2)
    }
    assert rows[(D1, "A")] == (4, 5, 0.8)
    assert rows[(D2, "A")] == (0, 1, 0.0)
    assert rows[(D2, "B")] == (1, 1, 1.0)


def test_service_level_per_agent(answers):
    rows = {
        (r.day, r.workgroup, r.agent): (r.answers_in_target, r.answers_with_target)
        for r in reports.agent_days(start=D1, end=D2)
    }
    # The Page inbox's answer is nobody's.
    assert rows == {
        (D1, "A", "ann"): (2, 3),
        (D1, "A", "bob"): (1, 1),
        (D2, "A", "ann"): (0, 1),
        (D2, "B", "ann"): (1, 1),
    }
    only_b = reports.agent_days(start=D1, end=D2, workgroup_id=answers["B"].pk)
    assert [(r.day, r.agent, r.service_level) for r in only_b] == [(D2, "ann", 1.0)]


def test_service_level_without_answers_is_none():
    assert reports.WorkgroupDay(day=D1, workgroup_id=1, workgroup="A").service_level is None


def test_answers_the_services_record_count_in_the_report(desk, workgroup):
    workgroup.first_response_seconds, workgroup.next_response_seconds = 60, 60
    workgroup.save()
    ann = make_agent("ann", workgroups=[workgroup])
    quick = desk.connected(ann)
    slow = desk.connected(ann, sent_at=timezone.now() - timedelta(seconds=90))
    services.store_reply(interaction_id=quick.pk, agent=ann, text="Hi")
    services.store_reply(interaction_id=slow.pk, agent=ann, text="Sorry for the wait")
    today = timezone.localdate()
    [row] = reports.agent_days(start=today, end=today)
    assert (row.answers_in_target, row.answers_with_target, row.service_level) == (1, 2, 0.5)


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
