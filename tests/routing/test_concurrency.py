"""Races between agents, webhooks and timers, with real threads on a real database.

Each thread has its own database connection, as each server process (or each
request thread) does; the row locks in `routing.services` must make every race
come out right. PostgreSQL is the database of N server processes, so most of
these run there only; SQLite serialises writers (`BEGIN IMMEDIATE`), and a
small pickup race checks that it does.
"""

import contextlib
import itertools
import random
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from routing import services
from routing.models import (
    LIVE_STATES,
    Agent,
    AgentStatus,
    Customer,
    DesktopConnection,
    Holiday,
    Interaction,
    InteractionEvent,
    Message,
    PriorityMatch,
    PriorityRule,
    Skill,
)
from routing.models import InteractionState as S
from routing.services import RoutingError
from tests.factories import PAGE_ID, customer_writes, make_agent, make_workgroup

pytestmark = pytest.mark.django_db(transaction=True)

_psids = itertools.count(1)

# A thread stuck longer than this is a deadlock nobody detected.
JOIN_TIMEOUT = 60


def in_threads(workers: list[Callable[[Callable[[], None]], Any]]) -> list[Any]:
    """Run each worker in its own thread and connection; return results or exceptions.

    A worker gets `sync`, a barrier to call right before the contested step,
    so the threads really collide there (connecting is slower than racing).
    """
    barrier = threading.Barrier(len(workers), timeout=JOIN_TIMEOUT)
    results: list[Any] = [None] * len(workers)

    def run(index: int, worker) -> None:
        try:
            connection.ensure_connection()
            results[index] = worker(barrier.wait)
        except BaseException as error:  # reported to the test thread
            results[index] = error
            barrier.abort()
        finally:
            # Each thread owns its connection; a leftover one would keep the
            # test database from being flushed or dropped.
            connection.close()

    threads = [
        threading.Thread(target=run, args=(i, w), daemon=True) for i, w in enumerate(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread hung: deadlock?"
    return results


def unexpected(results: list[Any]) -> list[BaseException]:
    return [r for r in results if isinstance(r, BaseException)]


def queued_interactions(workgroup, count: int) -> list[Interaction]:
    interactions = [
        customer_writes(workgroup, psid=f"78{next(_psids):014d}").interaction for _ in range(count)
    ]
    assert set(
        Interaction.objects.filter(pk__in=[i.pk for i in interactions]).values_list(
            "state", flat=True
        )
    ) == {S.QUEUED}
    return interactions


def waiting_in_bulk(workgroup, count: int) -> list[int]:
    """`count` customers waiting in the queue, written in two statements: the race
    under test is the pickups', and routing each message first took most of the time."""
    customers = Customer.objects.bulk_create(
        [Customer(page_id=PAGE_ID, psid=f"77{next(_psids):014d}") for _ in range(count)]
    )
    waiting = Interaction.objects.bulk_create(
        [Interaction(workgroup=workgroup, customer=c, state=S.QUEUED) for c in customers]
    )
    return [i.pk for i in waiting]


def live_per_agent() -> Counter:
    return Counter(
        Interaction.objects.filter(state__in=(S.ALERTING, S.CONNECTED, S.HELD)).values_list(
            "agent_id", flat=True
        )
    )


# --- (a) many agents click Pickup on the same interaction -----------------------------


def pickup_race(*, agents: int, interactions: int) -> None:
    workgroup = make_workgroup(capacity_per_agent=interactions)
    # Away, so the ACD stays out of it: this is the queue view's Pickup button.
    team = [make_agent(workgroups=[workgroup], status=AgentStatus.AWAY) for _ in range(agents)]
    ids = [i.pk for i in queued_interactions(workgroup, interactions)]

    def agent_clicking(agent: Agent):
        def worker(sync):
            outcome = []
            for interaction_id in ids:
                sync()
                try:
                    services.pickup(interaction_id=interaction_id, agent=agent)
                    outcome.append((interaction_id, "won"))
                except RoutingError as refused:
                    outcome.append((interaction_id, str(refused)))
            return outcome

        return worker

    results = in_threads([agent_clicking(agent) for agent in team])

    assert unexpected(results) == []
    outcomes = [o for per_agent in results for o in per_agent]
    winners = Counter(interaction_id for interaction_id, what in outcomes if what == "won")
    assert winners == Counter({interaction_id: 1 for interaction_id in ids})
    refusals = {what for _, what in outcomes if what != "won"}
    assert refusals <= {
        "Cannot pick up: the interaction is connected.",
    }
    assert len(outcomes) == agents * interactions
    pickups = Counter(
        InteractionEvent.objects.filter(verb="pickup").values_list("interaction_id", flat=True)
    )
    assert pickups == winners
    assert set(Interaction.objects.values_list("state", flat=True)) == {S.CONNECTED}


def test_pickup_race_has_one_winner_on_postgresql(postgresql_only):
    pickup_race(agents=8, interactions=30)


def test_pickup_race_has_one_winner_on_any_database():
    # On SQLite every transaction is BEGIN IMMEDIATE, so writers queue.
    pickup_race(agents=4, interactions=10)


@pytest.mark.fault
def test_a_thousand_double_pickups_have_one_owner_each_within_capacity(postgresql_only):
    """1,000 queued interactions, each clicked by two agents at the same moment.

    Four pairs of agents, each pair racing over its 250 in the same order. A
    capacity of 130 is less than the 125 ± a few each agent wins, so some
    agents fill up mid-run and their partner takes the rest: the capacity
    check races too.
    """
    pairs, per_pair, capacity = 4, 250, 130
    workgroup = make_workgroup(capacity_per_agent=capacity)
    team = [make_agent(workgroups=[workgroup], status=AgentStatus.AWAY) for _ in range(2 * pairs)]
    ids = waiting_in_bulk(workgroup, pairs * per_pair)

    def clicking(agent: Agent, mine: list[int]):
        def worker(sync):
            outcome = []
            for interaction_id in mine:
                sync()
                try:
                    services.pickup(interaction_id=interaction_id, agent=agent)
                    outcome.append((agent.pk, interaction_id, "won"))
                except RoutingError as refused:
                    outcome.append((agent.pk, interaction_id, str(refused)))
            return outcome

        return worker

    results = in_threads(
        [
            clicking(agent, ids[(n // 2) * per_pair : (n // 2 + 1) * per_pair])
            for n, agent in enumerate(team)
        ]
    )

    assert unexpected(results) == []
    outcomes = [o for per_agent in results for o in per_agent]
    assert len(outcomes) == 2 * len(ids)
    winners = Counter(interaction_id for _, interaction_id, what in outcomes if what == "won")
    assert winners == Counter({interaction_id: 1 for interaction_id in ids})
    assert {what for _, _, what in outcomes if what != "won"} <= {
        "Cannot pick up: the interaction is connected.",
        "You are at your capacity: finish an interaction before picking up another.",
    }
    owners = dict(Interaction.objects.filter(pk__in=ids).values_list("pk", "agent_id"))
    assert owners == {i: a for a, i, what in outcomes if what == "won"}
    assert set(Interaction.objects.values_list("state", flat=True)) == {S.CONNECTED}
    assert max(live_per_agent().values()) <= capacity


# --- (b) nobody goes over capacity, whoever offers or picks up ----------------------


def test_no_agent_ever_exceeds_capacity(postgresql_only):
    capacity = 2
    workgroup = make_workgroup(capacity_per_agent=capacity)
    team = [make_agent(workgroups=[workgroup], status=AgentStatus.AWAY) for _ in range(8)]
    # One agent's own, smaller capacity must hold as well.
    Agent.objects.filter(pk=team[0].pk).update(capacity=1)
    ids = [i.pk for i in queued_interactions(workgroup, 30)]

    def agent_grabbing(agent: Agent):
        def worker(sync):
            mine = ids[:]
            random.Random(agent.pk).shuffle(mine)
            sync()
            # Becoming Available lets the ACD offer to this agent (after
            # commit, in this thread) while the others pick up by hand.
            services.set_agent_status(agent=agent, status=AgentStatus.AVAILABLE)
            for interaction_id in mine:
                with contextlib.suppress(RoutingError):  # taken, or I am full
                    services.pickup(interaction_id=interaction_id, agent=agent)
            return None

        return worker

    results = in_threads([agent_grabbing(agent) for agent in team])

    assert unexpected(results) == []
    live = live_per_agent()
    assert live[team[0].pk] <= 1
    assert max(live.values()) <= capacity
    # Enough work for everyone: every agent is full, and no more than that.
    assert sum(live.values()) == 1 + capacity * (len(team) - 1)


# --- (c) every server process runs the timers ---------------------------------------


def test_each_alert_timeout_fires_once_with_timers_in_many_processes(postgresql_only):
    workgroup = make_workgroup(capacity_per_agent=6, alert_timeout_seconds=30)
    ringing = [make_agent(workgroups=[workgroup]) for _ in range(4)]
    ids = [i.pk for i in queued_interactions_offered(workgroup, 24)]
    assert set(live_per_agent()) == {a.pk for a in ringing}
    Interaction.objects.filter(pk__in=ids).update(
        alert_deadline=timezone.now() - timedelta(seconds=1)
    )
    # A colleague who just came in: the returned offers ring on her desk now,
    # while the other timers are still expiring the rest.
    spare = make_agent(workgroups=[workgroup], online=False, capacity=16)
    DesktopConnection.objects.create(agent=spare, channel_name="spare-tab")

    def server_process(sync):
        sync()
        return [services.run_due_timers(), services.run_due_timers()]

    results = in_threads([server_process] * 4)

    assert unexpected(results) == []
    timeouts = Counter(
        InteractionEvent.objects.filter(verb="alert_timeout").values_list(
            "interaction_id", flat=True
        )
    )
    assert timeouts == Counter({interaction_id: 1 for interaction_id in ids})
    assert sum(run["alerts_expired"] for runs in results for run in runs) == len(ids)
    assert set(Agent.objects.filter(pk__in=[a.pk for a in ringing]).values_list("status")) == {
        (AgentStatus.NOT_ANSWERING,)
    }
    assert live_per_agent() == Counter({spare.pk: 16})
    assert Interaction.objects.filter(state=S.QUEUED).count() == len(ids) - 16


def queued_interactions_offered(workgroup, count: int) -> list[Interaction]:
    interactions = [
        customer_writes(workgroup, psid=f"79{next(_psids):014d}").interaction for _ in range(count)
    ]
    assert set(
        Interaction.objects.filter(pk__in=[i.pk for i in interactions]).values_list(
            "state", flat=True
        )
    ) == {S.ALERTING}
    return interactions


def test_timers_and_closing_desktops_do_not_deadlock(postgresql_only):
    """Expired offers of agents whose tabs went stale: the alert timeout (offer,
    then agent) and the desktop sweep (agent's tabs, then its offers) meet on
    the same rows from several processes."""
    workgroup = make_workgroup(capacity_per_agent=6, alert_timeout_seconds=30)
    team = [make_agent(workgroups=[workgroup]) for _ in range(4)]
    ids = [i.pk for i in queued_interactions_offered(workgroup, 24)]
    Interaction.objects.filter(pk__in=ids).update(
        alert_deadline=timezone.now() - timedelta(seconds=1)
    )
    stale = timezone.now() - services.CONNECTION_STALE_AFTER - timedelta(seconds=5)
    DesktopConnection.objects.update(last_seen=stale)
    channels = list(DesktopConnection.objects.values_list("channel_name", flat=True))

    def server_process(sync):
        sync()
        return services.run_due_timers()

    def socket_closing(sync):
        sync()
        for name in channels:
            services.desktop_closed(channel_name=name)

    results = in_threads([server_process] * 3 + [socket_closing] * 2)

    assert unexpected(results) == []
    # Each offer went back exactly once, by one of the two routes.
    back = Counter(
        InteractionEvent.objects.filter(verb__in=("alert_timeout", "return_offer")).values_list(
            "interaction_id", flat=True
        )
    )
    assert back == Counter({interaction_id: 1 for interaction_id in ids})
    assert set(Interaction.objects.values_list("state", flat=True)) == {S.QUEUED}
    assert not DesktopConnection.objects.exists()
    assert {a.status for a in Agent.objects.filter(pk__in=[a.pk for a in team])} <= {
        AgentStatus.AVAILABLE,
        AgentStatus.NOT_ANSWERING,
    }


def test_no_offer_rings_on_a_desktop_that_just_closed(postgresql_only):
    """Customers keep writing while the agent's only tab opens and closes."""
    workgroup = make_workgroup(capacity_per_agent=50)
    agent = make_agent(workgroups=[workgroup], online=False)
    stop = threading.Event()

    def customers(sync):
        sync()
        for _ in range(25):
            customer_writes(workgroup, psid=f"80{next(_psids):014d}")
        stop.set()

    def flaky_tab(sync):
        sync()
        while not stop.is_set():
            services.desktop_opened(agent=agent, channel_name="flaky-tab")
            services.desktop_closed(channel_name="flaky-tab", leaving=True)

    results = in_threads([customers, flaky_tab])

    assert unexpected(results) == []
    assert not DesktopConnection.objects.filter(agent=agent).exists()
    assert not Interaction.objects.filter(agent=agent, state=S.ALERTING).exists()


def test_agents_transferring_to_each_other_at_once_do_not_deadlock(postgresql_only):
    workgroup = make_workgroup(capacity_per_agent=10)
    ann = make_agent(workgroups=[workgroup], status=AgentStatus.AWAY)
    bob = make_agent(workgroups=[workgroup], status=AgentStatus.AWAY)
    x, y = queued_interactions(workgroup, 2)
    services.pickup(interaction_id=x.pk, agent=ann)
    services.pickup(interaction_id=y.pk, agent=bob)
    # Available for the transfers; nothing waits in the queue to be offered.
    Agent.objects.update(status=AgentStatus.AVAILABLE)
    rounds = 25
    # Short: when one side fails, the other must not wait here for a minute.
    swapped = threading.Barrier(2, timeout=10)

    def agent_passing(me: Agent, first: Interaction, colleague: Agent):
        def worker(sync):
            holding = first
            for _ in range(rounds):
                sync()
                services.transfer_to_agent(
                    interaction_id=holding.pk, agent=me, to_agent_id=colleague.pk
                )
                swapped.wait()
                holding = Interaction.objects.get(agent=me, state=S.ALERTING)
                services.pickup(interaction_id=holding.pk, agent=me)

        return worker

    results = in_threads([agent_passing(ann, x, bob), agent_passing(bob, y, ann)])

    assert unexpected(results) == []
    assert InteractionEvent.objects.filter(verb="transfer_to_agent").count() == 2 * rounds


# --- (d) a burst of webhooks for one new customer -----------------------------------


@pytest.mark.parametrize("workers", [16])
def test_concurrent_messages_from_a_new_customer_open_one_interaction(workers, postgresql_only):
    workgroup = make_workgroup()
    make_agent(workgroups=[workgroup])
    start = timezone.now() - timedelta(minutes=1)
    # Every mid is delivered twice (Meta retries), by different threads.
    mids = [f"m_burst_{n}" for n in range(workers * 2)]
    sent_at = {mid: start + timedelta(seconds=n) for n, mid in enumerate(mids)}

    def webhook(index: int):
        mine = mids[index::workers] + mids[(index + 1) % workers :: workers]

        def worker(sync):
            sync()
            return [
                services.receive_customer_message(
                    workgroup_id=workgroup.pk,
                    page_id="100000000000001",
                    psid="7399999999999999",
                    mid=mid,
                    text=mid,
                    sent_at=sent_at[mid],
                )
                for mid in mine
            ]

        return worker

    results = in_threads([webhook(i) for i in range(workers)])

    assert unexpected(results) == []
    received = [r for per_thread in results for r in per_thread]
    assert Customer.objects.count() == 1
    assert Interaction.objects.count() == 1
    interaction = Interaction.objects.get()
    assert interaction.state in LIVE_STATES
    assert sum(r.created_interaction for r in received) == 1
    assert sum(not r.duplicate for r in received) == len(mids)
    assert sorted(Message.objects.values_list("mid", flat=True)) == sorted(mids)
    assert InteractionEvent.objects.filter(verb="create").count() == 1
    # The reply window counts from the newest message, whichever commit came last.
    assert Customer.objects.get().last_message_at == max(sent_at.values())


# --- the agent clicks Pickup just as the offer rings out ----------------------------


def test_pickup_at_the_deadline_either_connects_or_times_out(postgresql_only):
    workgroup = make_workgroup(capacity_per_agent=20)
    ringing = [make_agent(workgroups=[workgroup]) for _ in range(4)]
    offers = queued_interactions_offered(workgroup, 16)
    Interaction.objects.filter(pk__in=[i.pk for i in offers]).update(
        alert_deadline=timezone.now() - timedelta(milliseconds=1)
    )
    owner = {i.pk: Interaction.objects.get(pk=i.pk).agent for i in offers}

    def agent_clicking(sync):
        picked = []
        sync()
        for interaction_id, agent in owner.items():
            try:
                services.pickup(interaction_id=interaction_id, agent=agent)
                picked.append(interaction_id)
            except RoutingError:
                pass
        return picked

    def timer(sync):
        sync()
        return services.run_due_timers()

    results = in_threads([agent_clicking, timer])

    assert unexpected(results) == []
    picked = results[0]
    timed_out = Counter(
        InteractionEvent.objects.filter(verb="alert_timeout").values_list(
            "interaction_id", flat=True
        )
    )
    pickups = {
        e.interaction_id: e.from_state for e in InteractionEvent.objects.filter(verb="pickup")
    }
    assert set(picked) == set(pickups)
    assert set(pickups) | set(timed_out) == set(owner)
    assert max(timed_out.values(), default=1) == 1
    for interaction_id, from_state in pickups.items():
        # Picked up while it rang, or (a click that came too late) from the
        # queue the timeout put it back in.
        assert from_state == (S.QUEUED if interaction_id in timed_out else S.ALERTING)
    for agent in ringing:
        agent.refresh_from_db()
        let_ring = {pk for pk, a in owner.items() if a.pk == agent.pk} & set(timed_out)
        assert agent.status == (AgentStatus.NOT_ANSWERING if let_ring else AgentStatus.AVAILABLE)


# --- a double click on Send -----------------------------------------------------------


@pytest.mark.parametrize("same_client_id", [True, False])
def test_a_double_click_on_send_sends_once(same_client_id):
    workgroup = make_workgroup()
    agent = make_agent(workgroups=[workgroup], status=AgentStatus.AWAY)
    (interaction,) = queued_interactions(workgroup, 1)
    services.pickup(interaction_id=interaction.pk, agent=agent)
    client_id = uuid.uuid4()

    def click(sync):
        sync()
        return services.store_reply(
            interaction_id=interaction.pk,
            agent=agent,
            text="Your refund is on its way.",
            client_id=client_id if same_client_id else uuid.uuid4(),
        ).pk

    results = in_threads([click] * 4)

    assert unexpected(results) == []
    replies = Message.objects.filter(direction="out")
    statuses = Counter(replies.values_list("status", flat=True))
    if same_client_id:
        # The same form posted four times: one row, returned to every post.
        assert len(set(results)) == 1 and statuses == Counter({"sending": 1})
    else:
        # Four posts of the same text: one goes out, the rest are held back.
        assert statuses == Counter({"sending": 1, "duplicate": 3})


# --- (e) who gets the interaction: skills and the preferred agent, in a race --------


def test_only_skilled_agents_are_rung_while_agents_and_customers_race(postgresql_only):
    spanish = Skill.objects.create(name="Spanish")
    workgroup = make_workgroup(capacity_per_agent=3)
    workgroup.required_skills.set([spanish])
    PriorityRule.objects.create(match=PriorityMatch.KEYWORD, value="urgent", priority=5)
    skilled = [make_agent(workgroups=[workgroup], status=AgentStatus.AWAY) for _ in range(5)]
    for agent in skilled:
        agent.skills.add(spanish)
    unskilled = [make_agent(workgroups=[workgroup], status=AgentStatus.AWAY) for _ in range(3)]
    queued_interactions(workgroup, 10)

    def agent_arriving(agent: Agent):
        def worker(sync):
            sync()
            services.set_agent_status(agent=agent, status=AgentStatus.AVAILABLE)

        return worker

    def customers(sync):
        sync()
        for n in range(10):
            text = "urgent" if n % 2 else "Hello"
            customer_writes(workgroup, psid=f"81{next(_psids):014d}", text=text)

    results = in_threads([agent_arriving(a) for a in skilled + unskilled] + [customers])

    assert unexpected(results) == []
    live = live_per_agent()
    assert set(live) == {a.pk for a in skilled}  # every skilled agent, nobody else
    assert live == Counter({a.pk: 3 for a in skilled})  # full, never beyond
    offers = Counter(
        InteractionEvent.objects.filter(verb="offer").values_list("interaction_id", flat=True)
    )
    assert set(offers.values()) == {1}
    assert Interaction.objects.filter(state=S.QUEUED).count() == 20 - 15
    # Whatever still waits, a pass once an agent frees up takes the urgent first.
    # Stepping away returns the agent's offers to the queue (the others are full).
    services.set_agent_status(agent=skilled[0], status=AgentStatus.AWAY)
    assert live_per_agent()[skilled[0].pk] == 0
    customer_writes(workgroup, psid=f"81{next(_psids):014d}", text="urgent!")  # the newest
    waiting = list(
        Interaction.objects.filter(state=S.QUEUED)
        .order_by("-priority", "queued_at", "pk")
        .values_list("pk", "priority")
    )
    assert {5, 0} <= {priority for _, priority in waiting}
    services.set_agent_status(agent=skilled[0], status=AgentStatus.AVAILABLE)
    offered_now = set(
        Interaction.objects.filter(agent=skilled[0], state=S.ALERTING).values_list("pk", "priority")
    )
    assert offered_now == set(waiting[:3])


def test_returning_customers_go_to_their_agents_once_while_timers_run_everywhere(
    postgresql_only,
):
    """Their agents come back while every process's timers end the windows that
    closed: a customer within the window is offered to their own agent only; one
    whose window closed is offered once, to anyone; each window ends at most once."""
    workgroup = make_workgroup(capacity_per_agent=10, preferred_agent_seconds=30)
    trio = [make_agent(workgroups=[workgroup]) for _ in range(3)]
    last_agent = {}
    for n in range(12):
        psid = f"82{n:014d}"
        interaction = customer_writes(workgroup, psid=psid).interaction
        interaction.refresh_from_db()
        services.pickup(interaction_id=interaction.pk, agent=interaction.agent)
        services.disconnect(interaction_id=interaction.pk, agent=interaction.agent)
        last_agent[psid] = interaction.agent_id
    for agent in trio:
        services.set_agent_status(agent=agent, status=AgentStatus.AWAY)
    spares = [make_agent(workgroups=[workgroup]) for _ in range(2)]
    returning = {
        psid: customer_writes(workgroup, psid=psid, text="Me again").interaction.pk
        for psid in last_agent
    }
    assert set(Interaction.objects.filter(pk__in=returning.values()).values_list("state")) == {
        (S.QUEUED,)
    }
    closed = [pk for n, pk in enumerate(returning.values()) if n % 2]
    Interaction.objects.filter(pk__in=closed).update(
        preferred_until=timezone.now() - timedelta(seconds=1)
    )

    def agent_back(agent: Agent):
        def worker(sync):
            sync()
            services.set_agent_status(agent=agent, status=AgentStatus.AVAILABLE)

        return worker

    def server_process(sync):
        sync()
        return [services.run_due_timers(), services.run_due_timers()]

    results = in_threads([agent_back(a) for a in trio] + [server_process] * 3)

    assert unexpected(results) == []
    offers = list(
        InteractionEvent.objects.filter(
            verb="offer", interaction_id__in=returning.values()
        ).values_list("interaction_id", "detail")
    )
    assert Counter(pk for pk, _ in offers) == Counter({pk: 1 for pk in returning.values()})
    offered_to = {pk: detail["agent_id"] for pk, detail in offers}
    for psid, pk in returning.items():
        if pk not in closed:
            assert offered_to[pk] == last_agent[psid]
    assert {offered_to[pk] for pk in closed} <= {a.pk for a in trio + spares}
    window_over = Counter(
        InteractionEvent.objects.filter(verb="preferred_agent_window_over").values_list(
            "interaction_id", flat=True
        )
    )
    assert set(window_over) <= set(closed) and set(window_over.values()) <= {1}
    assert set(Interaction.objects.filter(pk__in=returning.values()).values_list("state")) == {
        (S.ALERTING,)
    }


# --- a burst of messages out of hours: one automatic reply ---------------------------


def test_a_burst_of_messages_out_of_hours_gets_one_automatic_reply(postgresql_only):
    workgroup = make_workgroup(out_of_hours_message="We are closed; back {opens}.")
    today = timezone.now().date()
    for offset in (-1, 0, 1):
        Holiday.objects.create(workgroup=workgroup, date=today + timedelta(days=offset))
    make_agent(workgroups=[workgroup])
    start = timezone.now() - timedelta(minutes=1)

    def webhook(index: int):
        def worker(sync):
            sync()
            return services.receive_customer_message(
                workgroup_id=workgroup.pk,
                page_id="100000000000001",
                psid="7399999999999998",
                mid=f"m_closed_{index}",
                text="Hello?",
                sent_at=start + timedelta(seconds=index),
            )

        return worker

    results = in_threads([webhook(i) for i in range(12)])

    assert unexpected(results) == []
    interaction = Interaction.objects.get()
    assert (interaction.state, interaction.agent_id) == (S.QUEUED, None)
    assert Message.objects.filter(automatic=True).count() == 1
    assert InteractionEvent.objects.filter(verb="automatic_message").count() == 1
