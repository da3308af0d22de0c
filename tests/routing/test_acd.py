"""The ACD: who is offered a waiting interaction, in which order, and when.

These tests commit for real (`transaction=True`): the ACD runs after the
commit of whatever freed an agent or queued an interaction, as in production.
"""

import contextlib
import itertools
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from routing import services
from routing.models import (
    Agent,
    AgentStatus,
    DesktopConnection,
    Interaction,
    InteractionEvent,
    Message,
)
from routing.models import InteractionState as S
from routing.services import acd
from tests.factories import customer_writes, make_agent, make_workgroup, refresh

pytestmark = pytest.mark.django_db(transaction=True)

_psids = itertools.count(1)


def writes(workgroup, **kwargs) -> Interaction:
    """A new customer writes; returns their (fresh) interaction."""
    kwargs.setdefault("psid", f"74{next(_psids):014d}")
    return refresh(customer_writes(workgroup, **kwargs).interaction)


def idle_for(agent: Agent, minutes: int) -> Agent:
    Agent.objects.filter(pk=agent.pk).update(idle_since=timezone.now() - timedelta(minutes=minutes))
    agent.refresh_from_db()
    return agent


def connected(workgroup, agent) -> Interaction:
    interaction = writes(workgroup)
    return services.pickup(interaction_id=interaction.pk, agent=agent)


# --- who is offered ---------------------------------------------------------------


def test_an_offer_goes_to_an_available_member_with_a_desktop_and_room():
    workgroup = make_workgroup(alert_timeout_seconds=15)
    agent = make_agent(workgroups=[workgroup])
    before = timezone.now()

    interaction = writes(workgroup)

    assert (interaction.state, interaction.agent_id) == (S.ALERTING, agent.pk)
    assert before + timedelta(seconds=15) <= interaction.alert_deadline
    assert interaction.alert_deadline <= timezone.now() + timedelta(seconds=15)
    assert list(
        InteractionEvent.objects.filter(interaction=interaction).values_list("verb", flat=True)
    ) == ["create", "offer"]


@pytest.mark.parametrize(
    "status",
    [
        AgentStatus.AWAY,
        AgentStatus.DO_NOT_DISTURB,
        AgentStatus.AT_LUNCH,
        AgentStatus.GONE_HOME,
        AgentStatus.NOT_ANSWERING,
    ],
)
def test_never_to_an_agent_who_is_not_available(status):
    workgroup = make_workgroup()
    busy = idle_for(make_agent(workgroups=[workgroup], status=status), minutes=60)
    ready = idle_for(make_agent(workgroups=[workgroup]), minutes=1)

    first = writes(workgroup)
    assert first.agent_id == ready.pk  # although `busy` has been idle longer

    services.disconnect(interaction_id=first.pk, agent=None)
    Agent.objects.filter(pk=ready.pk).update(status=AgentStatus.AWAY)
    second = writes(workgroup)
    assert (second.state, second.agent_id) == (S.QUEUED, None)
    assert busy.interactions.count() == 0


def test_never_to_a_non_member():
    workgroup = make_workgroup()
    make_agent(workgroups=[make_workgroup()])  # available, online, elsewhere
    make_agent()  # in no workgroup at all

    interaction = writes(workgroup)

    assert (interaction.state, interaction.agent_id) == (S.QUEUED, None)


def test_never_to_an_agent_without_the_desktop_open():
    workgroup = make_workgroup()
    offline = idle_for(make_agent(workgroups=[workgroup], online=False), minutes=60)
    online = make_agent(workgroups=[workgroup])

    assert writes(workgroup).agent_id == online.pk
    services.desktop_closed(channel_name=f"test.{online.user.username}")
    assert writes(workgroup).state == S.QUEUED
    assert offline.interactions.count() == 0


def test_an_offer_counts_against_capacity():
    workgroup = make_workgroup(capacity_per_agent=1)
    agent = make_agent(workgroups=[workgroup])

    first = writes(workgroup)
    second = writes(workgroup)

    assert (first.state, first.agent_id) == (S.ALERTING, agent.pk)
    assert (second.state, second.agent_id) == (S.QUEUED, None)


def test_never_to_an_agent_at_the_workgroups_capacity():
    workgroup = make_workgroup(capacity_per_agent=2)
    full = idle_for(make_agent(workgroups=[workgroup]), minutes=60)
    connected(workgroup, full)
    connected(workgroup, full)
    idle_for(full, minutes=60)
    spare = make_agent(workgroups=[workgroup])

    assert writes(workgroup).agent_id == spare.pk


def test_capacity_counts_interactions_from_every_workgroup():
    sales, support = make_workgroup(capacity_per_agent=1), make_workgroup(capacity_per_agent=1)
    agent = make_agent(workgroups=[sales, support])

    assert writes(sales).agent_id == agent.pk
    assert writes(support).state == S.QUEUED


def test_an_agents_own_capacity_overrides_the_workgroups():
    workgroup = make_workgroup(capacity_per_agent=1)
    roomy = make_agent(workgroups=[workgroup], capacity=3)
    none_at_all = make_agent(workgroups=[workgroup], capacity=0)

    offered = [writes(workgroup) for _ in range(4)]

    assert [i.agent_id for i in offered] == [roomy.pk, roomy.pk, roomy.pk, None]
    assert none_at_all.interactions.count() == 0


def test_the_longest_idle_agent_is_offered_first():
    workgroup = make_workgroup()
    fresh = idle_for(make_agent(workgroups=[workgroup]), minutes=1)
    oldest = idle_for(make_agent(workgroups=[workgroup]), minutes=30)
    middle = idle_for(make_agent(workgroups=[workgroup]), minutes=10)

    offered_to = [writes(workgroup).agent_id for _ in range(4)]

    # An offer makes its agent the least idle, so the work goes round.
    assert offered_to == [oldest.pk, middle.pk, fresh.pk, oldest.pk]


def test_finishing_an_interaction_makes_the_agent_idle_from_then():
    workgroup = make_workgroup()
    agent = make_agent(workgroups=[workgroup])
    other = make_agent(workgroups=[workgroup], status=AgentStatus.AWAY)
    interaction = connected(workgroup, agent)
    Agent.objects.filter(pk=other.pk).update(status=AgentStatus.AVAILABLE)
    idle_for(other, minutes=5)
    idle_for(agent, minutes=60)

    services.disconnect(interaction_id=interaction.pk, agent=agent)

    assert writes(workgroup).agent_id == other.pk


def test_queued_interactions_are_offered_in_order_of_arrival():
    workgroup = make_workgroup(capacity_per_agent=1)
    agent = make_agent(workgroups=[workgroup], status=AgentStatus.AWAY)
    waiting = [writes(workgroup) for _ in range(3)]
    assert {refresh(i).state for i in waiting} == {S.QUEUED}

    services.set_agent_status(agent=agent, status=AgentStatus.AVAILABLE)
    order = []
    for _ in waiting:
        offered = Interaction.objects.get(state=S.ALERTING)
        order.append(offered.pk)
        services.pickup(interaction_id=offered.pk, agent=agent)
        services.disconnect(interaction_id=offered.pk, agent=agent)

    assert order == [i.pk for i in waiting]


# --- waiting, and offered as soon as an agent frees up -------------------------------


def test_with_no_agent_free_it_waits_and_is_offered_when_an_agent_becomes_available():
    workgroup = make_workgroup()
    agent = make_agent(workgroups=[workgroup], status=AgentStatus.DO_NOT_DISTURB)
    interaction = writes(workgroup)
    assert interaction.state == S.QUEUED

    services.set_agent_status(agent=agent, status=AgentStatus.AVAILABLE)

    assert (refresh(interaction).state, interaction.agent_id) == (S.ALERTING, agent.pk)


def test_a_not_answering_agent_setting_available_gets_offers_again():
    workgroup = make_workgroup()
    agent = make_agent(workgroups=[workgroup], status=AgentStatus.NOT_ANSWERING)
    interaction = writes(workgroup)
    assert interaction.state == S.QUEUED

    services.set_agent_status(agent=agent, status=AgentStatus.AVAILABLE)

    assert refresh(interaction).agent_id == agent.pk


def test_it_is_offered_when_an_agent_opens_the_desktop():
    workgroup = make_workgroup()
    agent = make_agent(workgroups=[workgroup], online=False)
    interaction = writes(workgroup)
    assert interaction.state == S.QUEUED

    services.desktop_opened(agent=agent, channel_name="tab-1")

    assert (refresh(interaction).state, interaction.agent_id) == (S.ALERTING, agent.pk)


def test_it_is_offered_when_the_agent_disconnects_another_interaction():
    workgroup = make_workgroup(capacity_per_agent=1)
    agent = make_agent(workgroups=[workgroup])
    busy = connected(workgroup, agent)
    waiting = writes(workgroup)
    assert waiting.state == S.QUEUED

    services.disconnect(interaction_id=busy.pk, agent=agent)

    assert (refresh(waiting).state, waiting.agent_id) == (S.ALERTING, agent.pk)


def test_it_is_offered_when_the_customer_ends_another_interaction():
    workgroup = make_workgroup(capacity_per_agent=1)
    agent = make_agent(workgroups=[workgroup])
    busy = connected(workgroup, agent)
    waiting = writes(workgroup)

    services.disconnect(interaction_id=busy.pk, agent=None, reason="customer left")

    assert refresh(waiting).agent_id == agent.pk


def test_it_is_offered_when_the_agent_transfers_another_one_to_a_workgroup():
    workgroup, billing = make_workgroup(capacity_per_agent=1), make_workgroup()
    agent = make_agent(workgroups=[workgroup])
    busy = connected(workgroup, agent)
    waiting = writes(workgroup)

    services.transfer_to_workgroup(interaction_id=busy.pk, agent=agent, workgroup_id=billing.pk)

    assert refresh(waiting).agent_id == agent.pk
    assert (refresh(busy).state, busy.workgroup_id) == (S.QUEUED, billing.pk)


def test_a_transfer_to_a_workgroup_is_offered_to_its_members():
    workgroup, billing = make_workgroup(), make_workgroup()
    agent = make_agent(workgroups=[workgroup])
    biller = make_agent(workgroups=[billing])
    interaction = connected(workgroup, agent)

    services.transfer_to_workgroup(
        interaction_id=interaction.pk, agent=agent, workgroup_id=billing.pk
    )

    assert (refresh(interaction).state, interaction.agent_id) == (S.ALERTING, biller.pk)


def test_it_is_offered_when_the_agent_transfers_another_one_to_an_agent():
    workgroup = make_workgroup(capacity_per_agent=1)
    agent = make_agent(workgroups=[workgroup])
    colleague = make_agent()  # not a member: a transfer goes to a person
    busy = connected(workgroup, agent)
    waiting = writes(workgroup)

    services.transfer_to_agent(interaction_id=busy.pk, agent=agent, to_agent_id=colleague.pk)

    assert refresh(busy).agent_id == colleague.pk
    assert (refresh(waiting).state, waiting.agent_id) == (S.ALERTING, agent.pk)


# --- one customer, one live interaction ---------------------------------------------


def test_a_message_on_a_live_interaction_is_appended():
    workgroup = make_workgroup()
    agent = make_agent(workgroups=[workgroup])
    first = customer_writes(workgroup, psid="7500", text="Hello")
    services.pickup(interaction_id=first.interaction.pk, agent=agent)

    second = customer_writes(workgroup, psid="7500", text="Are you there?")

    assert second.interaction.pk == first.interaction.pk
    assert not second.created_interaction
    assert list(first.interaction.messages.values_list("text", flat=True)) == [
        "Hello",
        "Are you there?",
    ]
    assert Interaction.objects.count() == 1
    assert refresh(first.interaction).state == S.CONNECTED


@pytest.mark.parametrize("seconds_later", [0, 2, 3600])
def test_after_disconnect_the_next_message_makes_a_new_interaction(seconds_later):
    workgroup = make_workgroup()
    agent = make_agent(workgroups=[workgroup])
    first = customer_writes(workgroup, psid="7501")
    old = services.pickup(interaction_id=first.interaction.pk, agent=agent)
    old = services.disconnect(interaction_id=old.pk, agent=agent)

    again = customer_writes(
        workgroup,
        psid="7501",
        text="One more thing",
        sent_at=old.disconnected_at + timedelta(seconds=seconds_later),
    )

    assert again.created_interaction and again.interaction.pk != old.pk
    new = refresh(again.interaction)
    assert (new.state, new.agent_id) == (S.ALERTING, agent.pk)
    assert list(new.messages.values_list("text", flat=True)) == ["One more thing"]
    assert refresh(old).state == S.DISCONNECTED
    assert old.messages.count() == 1


def test_a_duplicate_mid_changes_nothing(routing_events):
    workgroup = make_workgroup()
    make_agent(workgroups=[workgroup])
    first = customer_writes(workgroup, psid="7502", mid="m_dup", text="Hello")
    rows, announced = InteractionEvent.objects.count(), len(routing_events)
    state = refresh(first.interaction).state

    again = customer_writes(workgroup, psid="7502", mid="m_dup", text="Hello")

    assert again.duplicate and again.message is None
    assert Message.objects.count() == 1 and Interaction.objects.count() == 1
    assert InteractionEvent.objects.count() == rows
    assert routing_events[announced:] == []
    assert refresh(first.interaction).state == state


def test_a_duplicate_mid_after_disconnect_does_not_reopen():
    workgroup = make_workgroup()
    customer_writes(workgroup, psid="7503", mid="m_late")
    services.disconnect(interaction_id=Interaction.objects.get().pk, agent=None)

    again = customer_writes(workgroup, psid="7503", mid="m_late")

    assert again.duplicate
    assert Interaction.objects.count() == 1


def test_desktop_connections_are_per_tab():
    workgroup = make_workgroup()
    agent = make_agent(workgroups=[workgroup], online=False)
    services.desktop_opened(agent=agent, channel_name="tab-1")
    services.desktop_opened(agent=agent, channel_name="tab-1")  # a reconnect, same tab
    services.desktop_opened(agent=agent, channel_name="tab-2")

    assert DesktopConnection.objects.filter(agent=agent).count() == 2


@pytest.mark.django_db(transaction=False)
def test_only_an_agents_first_tab_runs_an_offer_pass(django_capture_on_commit_callbacks):
    workgroup = make_workgroup()
    agent = make_agent(workgroups=[workgroup], online=False)
    with django_capture_on_commit_callbacks() as first:
        services.desktop_opened(agent=agent, channel_name="tab-1")
    with django_capture_on_commit_callbacks() as second:
        services.desktop_opened(agent=agent, channel_name="tab-2")

    assert (_offers(first), _offers(second)) == ([workgroup.pk], [])


def test_tabs_of_several_agents_open_in_one_call_each_first_tab_offered():
    workgroup = make_workgroup(capacity_per_agent=1)
    ann = make_agent(workgroups=[workgroup], online=False)
    bob = make_agent(workgroups=[workgroup], online=False)
    waiting = [writes(workgroup), writes(workgroup)]

    services.desktops_opened(tabs=[(ann.pk, "ann-1"), (ann.pk, "ann-2"), (bob.pk, "bob-1")])

    assert {refresh(i).agent_id for i in waiting} == {ann.pk, bob.pk}
    assert sorted(DesktopConnection.objects.values_list("channel_name", flat=True)) == [
        "ann-1",
        "ann-2",
        "bob-1",
    ]


def test_closing_tabs_together_takes_back_only_the_offers_of_agents_left_without_one():
    workgroup = make_workgroup(capacity_per_agent=1)
    ann = make_agent(workgroups=[workgroup], online=False)
    bob = make_agent(workgroups=[workgroup], online=False)
    services.desktops_opened(tabs=[(ann.pk, "ann-1"), (ann.pk, "ann-2"), (bob.pk, "bob-1")])
    writes(workgroup), writes(workgroup)
    offered = {i.agent_id: i for i in Interaction.objects.all()}
    assert set(offered) == {ann.pk, bob.pk}
    ann_has, bob_has = offered[ann.pk], offered[bob.pk]

    services.desktops_closed(
        channel_names=["ann-1", "bob-1", "gone-already"], leaving=["ann-1", "bob-1"]
    )

    assert (refresh(ann_has).state, ann_has.agent_id) == (S.ALERTING, ann.pk)
    assert (refresh(bob_has).state, bob_has.agent_id) == (S.QUEUED, None)
    assert list(DesktopConnection.objects.values_list("channel_name", flat=True)) == ["ann-2"]


def test_an_offer_pass_with_nothing_queued_reads_once_past_the_workgroup(
    django_assert_num_queries,
):
    workgroup = make_workgroup()
    make_agent(workgroups=[workgroup])
    acd.offer_waiting(workgroup_id=workgroup.pk)  # the workgroup's row and hours, now known

    with django_assert_num_queries(2):  # the workgroup's row, then: is anything queued?
        assert acd.offer_waiting(workgroup_id=workgroup.pk) == 0


def test_a_pass_over_a_queue_with_nobody_free_locks_and_loads_none_of_it():
    workgroup = make_workgroup(capacity_per_agent=1)
    full = make_agent(workgroups=[workgroup])
    make_agent(workgroups=[workgroup], status=AgentStatus.AWAY)
    first, *waiting = [writes(workgroup) for _ in range(4)]
    assert (first.state, first.agent_id) == (S.ALERTING, full.pk)

    # The busy hour: every routed body and every tick asks again. Is anything
    # queued, is anyone free: reads, not two batches of queued rows locked and
    # loaded for nobody.
    with CaptureQueriesContext(connection) as queries:
        assert acd.offer_waiting(workgroup_id=workgroup.pk) == 0
    sql = [query["sql"] for query in queries.captured_queries]
    assert not [q for q in sql if q.startswith('SELECT "routing_interaction"."id"')]
    assert not [q for q in sql if "FOR UPDATE" in q]
    assert {refresh(i).state for i in waiting} == {S.QUEUED}


def _offers(callbacks) -> list[int]:
    return [c.offers_workgroup_id for c in callbacks if hasattr(c, "offers_workgroup_id")]


@pytest.mark.django_db(transaction=False)
def test_many_arrivals_in_one_transaction_offer_their_workgroup_once(
    django_capture_on_commit_callbacks,
):
    workgroup = make_workgroup()
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        for n in range(5):
            customer_writes(workgroup, psid=f"79000000000000{n:02d}")
    assert _offers(callbacks) == [workgroup.pk]


@pytest.mark.django_db(transaction=False)
def test_an_offer_undone_with_its_savepoint_is_registered_again(
    django_capture_on_commit_callbacks,
):
    workgroup = make_workgroup()
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        with contextlib.suppress(RuntimeError), transaction.atomic():
            customer_writes(workgroup, psid="7900000000000101")
            raise RuntimeError("this body is undone")
        customer_writes(workgroup, psid="7900000000000102")
    assert _offers(callbacks) == [workgroup.pk]


def test_a_burst_is_offered_in_turn_with_room_and_beyond_one_batch():
    """The router commits many new customers at once: one pass offers them all,
    longest idle first and round again, never past anyone's capacity."""
    workgroup = make_workgroup(capacity_per_agent=40)
    oldest = idle_for(make_agent(workgroups=[workgroup]), minutes=30)
    middle = idle_for(make_agent(workgroups=[workgroup]), minutes=10)
    fresh = idle_for(make_agent(workgroups=[workgroup], capacity=2), minutes=1)
    burst = acd.OFFER_BATCH + 40  # more than one pass, more than the room (82)
    with transaction.atomic():
        arrivals = [
            customer_writes(workgroup, psid=f"78{n:014d}").interaction for n in range(burst)
        ]

    offered_to = [refresh(i).agent_id for i in arrivals]
    turn = [oldest.pk, middle.pk, fresh.pk, oldest.pk, middle.pk, fresh.pk, oldest.pk, middle.pk]
    assert offered_to[: len(turn)] == turn
    assert offered_to.count(fresh.pk) == 2
    assert offered_to.count(oldest.pk) == offered_to.count(middle.pk) == 40
    assert offered_to[-2:] == [None, None]  # no room left: they wait
    assert Interaction.objects.filter(state=S.QUEUED).count() == burst - 82


def test_an_offer_pass_reads_the_locked_agents_desk_rest_and_load_in_one_statement():
    workgroup = make_workgroup()
    agent = make_agent(workgroups=[workgroup], status=AgentStatus.AWAY)
    waiting = writes(workgroup)
    assert waiting.state == S.QUEUED
    Agent.objects.filter(pk=agent.pk).update(status=AgentStatus.AVAILABLE)
    with CaptureQueriesContext(connection) as queries:
        assert acd.offer_waiting(workgroup_id=workgroup.pk) == 1
    sql = [query["sql"] for query in queries.captured_queries]
    # The candidates locked (their whole rows), then one statement before the offer
    # is written: whether each has a desktop open, rests after a contact, and how
    # many interactions they have live (three statements before).
    locked = next(i for i, q in enumerate(sql) if q.startswith('SELECT "routing_agent"."id", '))
    offered = next(i for i, q in enumerate(sql) if q.startswith('UPDATE "routing_interaction"'))
    (between,) = sql[locked + 1 : offered]
    assert "routing_desktopconnection" in between and "after_contact_until" in between
    assert "COUNT(" in between
    assert (refresh(waiting).state, refresh(waiting).agent_id) == (S.ALERTING, agent.pk)


def test_an_offer_pass_reads_who_may_be_rung_once_for_its_first_round():
    # The read that ends a pass when nobody is free also gives its first round
    # the candidates, longest idle first (they are locked and checked again).
    workgroup = make_workgroup()
    agent = make_agent(workgroups=[workgroup], status=AgentStatus.AWAY)
    waiting = writes(workgroup)
    Agent.objects.filter(pk=agent.pk).update(status=AgentStatus.AVAILABLE)
    with CaptureQueriesContext(connection) as queries:
        assert acd.offer_waiting(workgroup_id=workgroup.pk) == 1
    # The members who may be rung: those whose live load is under their capacity.
    sql = [query["sql"] for query in queries.captured_queries]
    ringable_reads = [q for q in sql if 'COALESCE("routing_agent"."capacity"' in q]
    assert len(ringable_reads) == 1
    assert (refresh(waiting).state, refresh(waiting).agent_id) == (S.ALERTING, agent.pk)


def _asks_whether_any_waits(sql: str) -> bool:
    return sql.startswith('SELECT 1 AS "a" FROM "routing_interaction"')


def test_the_pass_after_a_new_customer_is_queued_offers_without_asking_whether_one_waits():
    workgroup = make_workgroup()
    agent = make_agent(workgroups=[workgroup])
    with CaptureQueriesContext(connection) as queries:
        waiting = writes(workgroup)  # queued, then offered after the commit
    assert (waiting.state, waiting.agent_id) == (S.ALERTING, agent.pk)
    assert not [q["sql"] for q in queries.captured_queries if _asks_whether_any_waits(q["sql"])]

    # A pass for anything else (an agent freed, a tab opened) asks first.
    with CaptureQueriesContext(connection) as queries:
        assert acd.offer_waiting(workgroup_id=workgroup.pk) == 0
    assert len([q for q in queries.captured_queries if _asks_whether_any_waits(q["sql"])]) == 1


def test_one_pass_per_workgroup_after_a_commit_knows_that_any_change_queued_there():
    workgroup = make_workgroup()
    agent = make_agent(workgroups=[workgroup], status=AgentStatus.AWAY)
    waiting = writes(workgroup)
    Agent.objects.filter(pk=agent.pk).update(status=AgentStatus.AVAILABLE)
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        acd.offer_after_commit(workgroup.pk)
        acd.offer_after_commit(workgroup.pk, queued=True)
        acd.offer_after_commit(workgroup.pk)
        passes = [func for _, func, _ in connection.run_on_commit if hasattr(func, "queued")]
        assert [func.queued for func in passes] == [True]
    assert not [q["sql"] for q in queries.captured_queries if _asks_whether_any_waits(q["sql"])]
    assert (refresh(waiting).state, refresh(waiting).agent_id) == (S.ALERTING, agent.pk)


def test_a_pass_told_a_customer_was_queued_finds_nothing_when_another_offered_them_first():
    workgroup = make_workgroup()
    make_agent(workgroups=[workgroup])
    waiting = writes(workgroup)
    assert waiting.state == S.ALERTING  # offered by the pass after its commit
    assert acd.offer_waiting(workgroup_id=workgroup.pk, queued=True) == 0
    assert InteractionEvent.objects.filter(interaction=waiting, verb="offer").count() == 1
