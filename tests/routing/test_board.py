"""The live board's figures, computed from known data at an explicit time."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from routing import board, services
from routing.models import AgentStatus, BusinessHours, Holiday, Interaction
from routing.models import InteractionState as S
from tests.factories import make_agent, make_workgroup

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)
TODAY = datetime(2025, 3, 10, tzinfo=UTC)
YESTERDAY = TODAY - timedelta(days=1)


def at(interaction: Interaction, **times: datetime) -> Interaction:
    """Move an interaction's clock fields to known values."""
    Interaction.objects.filter(pk=interaction.pk).update(**times)
    interaction.refresh_from_db()
    return interaction


def hm(day: datetime, hours: int, minutes: int = 0, seconds: int = 0) -> datetime:
    return day + timedelta(hours=hours, minutes=minutes, seconds=seconds)


@pytest.fixture
def floor(desk, workgroup):
    """Workgroup "A" with known traffic; an empty workgroup "B" beside it."""
    workgroup.name = "A"
    workgroup.save(update_fields=["name"])
    empty = make_workgroup("B", capacity_per_agent=2)
    ann = make_agent("ann", workgroups=[workgroup])
    cid = make_agent("cid", workgroups=[workgroup], capacity=1)
    bob = make_agent("bob", workgroups=[workgroup, empty], status=AgentStatus.AWAY, online=False)

    desk.alerting(ann)  # first: the ACD offers the oldest waiting one
    at(desk.queued(), created_at=hm(TODAY, 14, 55), queued_at=hm(TODAY, 14, 55))
    at(desk.queued(), created_at=hm(TODAY, 14, 58), queued_at=hm(TODAY, 14, 58))
    # Answered today: 30 s, 90 s and 60 s to pickup.
    at(
        desk.connected(ann),
        created_at=hm(TODAY, 14),
        queued_at=hm(TODAY, 14),
        connected_at=hm(TODAY, 14, 0, 30),
    )
    at(
        desk.held(ann),
        created_at=hm(TODAY, 13),
        queued_at=hm(TODAY, 13),
        connected_at=hm(TODAY, 13, 1, 30),
    )
    at(
        desk.disconnected(ann),
        created_at=hm(TODAY, 9),
        connected_at=hm(TODAY, 9, 1),
        disconnected_at=hm(TODAY, 9, 10),
    )
    # Abandoned today: ended before anyone picked it up.
    abandoned = desk.queued()
    services.disconnect(interaction_id=abandoned.pk, agent=None)
    at(abandoned, created_at=hm(TODAY, 10), disconnected_at=hm(TODAY, 10, 5))
    # Yesterday's: answered yesterday (ended today), and abandoned yesterday.
    at(
        desk.disconnected(ann),
        created_at=hm(YESTERDAY, 23, 50),
        connected_at=hm(YESTERDAY, 23, 55),
        disconnected_at=hm(TODAY, 0, 10),
    )
    old = desk.queued()
    services.disconnect(interaction_id=old.pk, agent=None)
    at(old, created_at=hm(YESTERDAY, 12), disconnected_at=hm(YESTERDAY, 12, 30))
    return {"A": workgroup, "B": empty, "ann": ann, "bob": bob, "cid": cid}


def test_each_workgroups_figures(floor):
    figures = {entry.workgroup.name: entry for entry in board.board(now=NOW)}
    a = figures["A"]

    assert (a.waiting, a.alerting, a.connected, a.held) == (2, 1, 1, 1)
    assert a.longest_wait == timedelta(minutes=5)
    assert a.oldest_queued_at == hm(TODAY, 14, 55)
    assert (a.answered_today, a.abandoned_today) == (3, 1)
    assert a.average_pickup == timedelta(seconds=60)
    assert sorted(i.state for i in a.live) == sorted(
        [S.HELD, S.CONNECTED, S.QUEUED, S.QUEUED, S.ALERTING]
    )
    # Longest in its state first: the one most likely stuck.
    assert [i.state_changed_at for i in a.live] == sorted(i.state_changed_at for i in a.live)

    b = figures["B"]
    assert (b.waiting, b.alerting, b.connected, b.held) == (0, 0, 0, 0)
    assert (b.longest_wait, b.average_pickup) == (None, None)
    assert (b.answered_today, b.abandoned_today, b.live) == (0, 0, [])


def test_agents_by_status_with_their_load(floor):
    figures = {entry.workgroup.name: entry for entry in board.board(now=NOW)}

    def shown(entry):
        return [
            (
                group.label,
                [(a.agent.user.username, a.live, a.capacity, a.online) for a in group.agents],
            )
            for group in entry.agents_by_status
        ]

    # ann has the alerting, connected and held ones; cid's own capacity is 1.
    assert shown(figures["A"]) == [
        ("Available", [("ann", 3, 4, True), ("cid", 0, 1, True)]),
        ("Away", [("bob", 0, 4, False)]),
    ]
    assert shown(figures["B"]) == [("Away", [("bob", 0, 2, False)])]


def test_today_starts_at_midnight_in_the_servers_time_zone(floor):
    # 23:30 UTC on the 10th is already the 11th in Paris: nothing answered "today" there.
    late = datetime(2025, 3, 10, 23, 30, tzinfo=UTC)
    with timezone.override("Europe/Paris"):
        assert board.start_of_day(late) == datetime(2025, 3, 10, 23, 0, tzinfo=UTC)
        a = next(e for e in board.board(now=late) if e.workgroup.name == "A")
    assert (a.answered_today, a.abandoned_today, a.average_pickup) == (0, 0, None)
    with timezone.override("UTC"):
        assert board.start_of_day(late) == TODAY


def test_an_interaction_counts_in_the_workgroup_it_is_in_now(floor, desk):
    moved = desk.queued()
    at(moved, workgroup=floor["B"], queued_at=hm(TODAY, 14, 50))
    figures = {entry.workgroup.name: entry for entry in board.board(now=NOW)}
    assert (figures["A"].waiting, figures["B"].waiting) == (2, 1)
    assert figures["B"].longest_wait == timedelta(minutes=10)


# --- service levels: live interactions past target --------------------------------------


def test_breaches_per_workgroup_and_agent_at_a_known_time(desk, workgroup):
    workgroup.first_response_seconds, workgroup.next_response_seconds = 120, 60
    workgroup.save()
    plain = make_workgroup("No targets")
    ann = make_agent("ann", workgroups=[workgroup, plain])
    cid = make_agent("cid", workgroups=[workgroup])

    def waiting(interaction, seconds, *, replied=False):
        return at(
            interaction,
            customer_waiting_since=NOW - timedelta(seconds=seconds),
            first_replied_at=NOW - timedelta(hours=1) if replied else None,
        )

    waiting(desk.connected(ann), 121)  # first response: past
    waiting(desk.connected(ann), 61, replied=True)  # next response: past
    waiting(desk.connected(ann), 100)  # first response: not yet
    waiting(desk.held(cid), 120)  # exactly at the target: past
    waiting(desk.connected(cid), 59, replied=True)  # not yet
    waiting(desk.queued(), 300)  # in the queue: nobody's
    # Ended, or answered, or in a workgroup without targets: never past.
    waiting(desk.disconnected(cid), 900)
    at(desk.connected(ann), customer_waiting_since=None)
    waiting(desk.queued(plain), 9000)

    figures = {f.workgroup.name: f for f in board.board(now=NOW)}

    sales = figures[workgroup.name]
    assert sales.has_targets and sales.breaches == 4
    assert [(a.user.username, n) for a, n in sales.breaches_by_agent] == [("ann", 2), ("cid", 1)]
    loads = {load.agent.user.username: load for g in sales.agents_by_status for load in g.agents}
    assert (loads["ann"].past_target, loads["cid"].past_target) == (2, 1)
    assert board.breaches(now=NOW) == {
        (workgroup.pk, ann.pk): 2,
        (workgroup.pk, cid.pk): 1,
        (workgroup.pk, None): 1,
    }
    assert not figures["No targets"].has_targets and figures["No targets"].breaches == 0


def test_no_targets_anywhere_reads_nothing(workgroup, django_assert_num_queries):
    with django_assert_num_queries(1):  # the workgroups, to learn that none has a target
        assert board.breaches(now=NOW) == {}


def test_satisfaction_today_averages_the_scores_received_today(floor, desk):
    ended = [desk.disconnected(floor["ann"]) for _ in range(3)]
    at(ended[0], csat_score=5, csat_at=hm(TODAY, 9, 30))
    at(ended[1], csat_score=2, csat_at=hm(TODAY, 14, 59))
    at(ended[2], csat_score=1, csat_at=hm(YESTERDAY, 18))  # yesterday's: not counted

    figures = {entry.workgroup.name: entry for entry in board.board(now=NOW)}

    assert (figures["A"].satisfaction_today, figures["A"].satisfaction_answers) == (3.5, 2)
    assert (figures["B"].satisfaction_today, figures["B"].satisfaction_answers) == (None, 0)


def test_a_workgroup_out_of_hours_shows_closed_with_its_next_opening(floor):
    a = floor["A"]
    # NOW is Monday 10 March 2025 15:00 UTC: open 09:00-17:00 but a holiday today.
    BusinessHours.objects.create(workgroup=a, weekday=0, opens=time(9), closes=time(17))
    BusinessHours.objects.create(workgroup=a, weekday=1, opens=time(9), closes=time(17))
    Holiday.objects.create(workgroup=a, date=TODAY.date())

    figures = {entry.workgroup.name: entry for entry in board.board(now=NOW)}

    assert (figures["A"].open_now, figures["A"].opens) == (False, "Tuesday 11 March at 09:00")
    assert (figures["B"].open_now, figures["B"].opens) == (True, "")
