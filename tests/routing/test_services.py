"""The interaction state machine (docs/architecture.md), one service per verb.

Every allowed transition: changes the row, writes exactly one InteractionEvent
(verb, from, to, actor) and announces exactly the expected RoutingEvents after
commit, nothing on rollback. Every refused one: says why in words a person can
read and changes nothing.
"""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from routing import events, services
from routing.events import RoutingEvent
from routing.models import (
    Agent,
    AgentStatus,
    Customer,
    DesktopConnection,
    Interaction,
    InteractionEvent,
    Message,
)
from routing.models import InteractionState as S
from routing.services import NotYours, RoutingError, TransitionRefused, kernel
from tests.factories import customer_writes, make_agent, make_workgroup, refresh
from tests.routing.conftest import changed

pytestmark = pytest.mark.django_db


def named(agent: Agent, first_name: str) -> Agent:
    agent.user.first_name = first_name
    agent.user.save(update_fields=["first_name"])
    return agent


@pytest.fixture
def agent(workgroup) -> Agent:
    return named(make_agent("ann", workgroups=[workgroup]), "Ann")


@pytest.fixture
def other(workgroup) -> Agent:
    return named(make_agent("bob", workgroups=[workgroup]), "Bob")


@pytest.fixture
def after_commit(django_capture_on_commit_callbacks):
    """Run the block's after-commit work (announcements, ACD offers) as a commit would."""

    def block():
        return django_capture_on_commit_callbacks(execute=True)

    return block


def agent_changed(agent: Agent) -> RoutingEvent:
    return RoutingEvent(type=events.EventType.AGENT_CHANGED, agent_id=agent.pk)


def event_rows(interaction: Interaction) -> list[tuple]:
    return list(
        InteractionEvent.objects.filter(interaction=interaction)
        .order_by("pk")
        .values_list("verb", "from_state", "to_state", "actor_id")
    )


class Transition:
    """Watches one interaction across one action: new event rows, new announcements."""

    def __init__(self, interaction: Interaction, routing_events: list) -> None:
        self.interaction = interaction
        self.rows_before = len(event_rows(interaction))
        self.routing_events = routing_events
        self.events_before = len(routing_events)

    @property
    def new_rows(self) -> list[tuple]:
        return event_rows(self.interaction)[self.rows_before :]

    @property
    def announced(self) -> list[RoutingEvent]:
        return self.routing_events[self.events_before :]


def actor_of(agent: Agent | None) -> int | None:
    return agent.user_id if agent else None


# --- every transition of the table ----------------------------------------------


def test_offer_queued_to_alerting(desk, agent, other, routing_events, after_commit):
    interaction = desk.queued()
    assert interaction.state == S.QUEUED  # no commit yet, so no ACD yet
    Agent.objects.filter(pk=agent.pk).update(idle_since=timezone.now() - timedelta(hours=1))
    watch = Transition(interaction, routing_events)
    before = timezone.now()

    with after_commit():
        assert services.offer_waiting(workgroup_id=interaction.workgroup_id) == 1
        assert watch.announced == []  # not before the commit

    refresh(interaction)
    assert (interaction.state, interaction.agent_id) == (S.ALERTING, agent.pk)
    assert interaction.alert_deadline >= before + timedelta(seconds=20)
    assert refresh_agent(agent).idle_since >= before
    assert watch.new_rows == [("offer", S.QUEUED, S.ALERTING, None)]
    assert watch.announced == [changed(interaction, agent)]


def test_alert_timeout_alerting_to_queued(desk, agent, other, routing_events, after_commit):
    interaction = desk.alerting(agent)
    Agent.objects.filter(pk=other.pk).update(status=AgentStatus.AWAY)
    Interaction.objects.filter(pk=interaction.pk).update(
        alert_deadline=timezone.now() - timedelta(seconds=1)
    )
    watch = Transition(interaction, routing_events)

    with after_commit():
        assert services.alert_timeout(interaction_id=interaction.pk) is True

    refresh(interaction)
    assert (interaction.state, interaction.agent_id, interaction.alert_deadline) == (
        S.QUEUED,
        None,
        None,
    )
    assert refresh_agent(agent).status == AgentStatus.NOT_ANSWERING
    assert watch.new_rows == [("alert_timeout", S.ALERTING, S.QUEUED, None)]
    assert watch.announced == [changed(interaction, agent), agent_changed(agent)]


def test_leaving_the_last_desktop_tab_returns_the_offer(
    desk, agent, other, routing_events, after_commit
):
    interaction = desk.alerting(agent)
    Agent.objects.filter(pk=other.pk).update(status=AgentStatus.AWAY)
    watch = Transition(interaction, routing_events)

    with after_commit():
        services.desktop_closed(channel_name="test.ann", leaving=True)

    refresh(interaction)
    assert (interaction.state, interaction.agent_id) == (S.QUEUED, None)
    assert refresh_agent(agent).status == AgentStatus.AVAILABLE  # closing is not ignoring
    assert watch.new_rows == [("return_offer", S.ALERTING, S.QUEUED, None)]
    assert watch.announced == [changed(interaction, agent)]


def test_the_last_desktop_tab_closing_keeps_the_offer_for_a_reload_then_returns_it(
    desk, agent, other, routing_events, after_commit
):
    interaction = desk.alerting(agent)
    Agent.objects.filter(pk=other.pk).update(status=AgentStatus.AWAY)
    watch = Transition(interaction, routing_events)

    closed_at = timezone.now()
    with after_commit():
        services.desktop_closed(channel_name="test.ann")
        services.run_due_timers()

    assert (refresh(interaction).state, interaction.agent_id) == (S.ALERTING, agent.pk)
    assert watch.new_rows == [] and watch.announced == []
    kept_until = refresh_agent(agent).offers_kept_until
    grace = services.OFFERS_KEPT_FOR_A_RELOAD
    assert closed_at + grace <= kept_until <= timezone.now() + grace

    Agent.objects.filter(pk=agent.pk).update(offers_kept_until=timezone.now())
    with after_commit():
        assert services.run_due_timers()["offers_of_departed_returned"] == 1

    assert (refresh(interaction).state, interaction.agent_id) == (S.QUEUED, None)
    assert refresh_agent(agent).status == AgentStatus.AVAILABLE
    assert watch.new_rows == [("return_offer", S.ALERTING, S.QUEUED, None)]
    assert watch.announced == [changed(interaction, agent)]


def test_a_new_tab_within_a_reloads_time_keeps_the_offer_ringing(desk, agent, other):
    interaction = desk.alerting(agent)
    Agent.objects.filter(pk=other.pk).update(status=AgentStatus.AWAY)

    services.desktop_closed(channel_name="test.ann")
    services.desktop_opened(agent=agent, channel_name="ann-reloaded")
    Agent.objects.filter(pk=agent.pk).update(offers_kept_until=timezone.now())
    services.run_due_timers()

    assert (refresh(interaction).state, interaction.agent_id) == (S.ALERTING, agent.pk)
    assert not InteractionEvent.objects.filter(verb="return_offer").exists()


def test_an_offer_ringing_out_while_no_tab_is_open_goes_back_without_not_answering(
    desk, agent, other, routing_events, after_commit
):
    interaction = desk.alerting(agent)
    Agent.objects.filter(pk=other.pk).update(status=AgentStatus.AWAY)
    services.desktop_closed(channel_name="test.ann")
    Interaction.objects.filter(pk=interaction.pk).update(
        alert_deadline=timezone.now() - timedelta(seconds=1)
    )
    watch = Transition(interaction, routing_events)

    with after_commit():
        assert services.alert_timeout(interaction_id=interaction.pk)

    assert (refresh(interaction).state, interaction.agent_id) == (S.QUEUED, None)
    assert refresh_agent(agent).status == AgentStatus.AVAILABLE  # nothing rang
    assert watch.new_rows == [("return_offer", S.ALERTING, S.QUEUED, None)]


@pytest.mark.parametrize("from_state", [S.ALERTING, S.HELD, S.QUEUED])
def test_pickup_to_connected(from_state, desk, agent, routing_events, after_commit):
    interaction = {
        S.ALERTING: lambda: desk.alerting(agent),
        S.HELD: lambda: desk.held(agent),
        S.QUEUED: lambda: desk.queued(),
    }[from_state]()
    assert interaction.state == from_state
    watch = Transition(interaction, routing_events)

    with after_commit():
        services.pickup(interaction_id=interaction.pk, agent=agent)

    refresh(interaction)
    assert (interaction.state, interaction.agent_id) == (S.CONNECTED, agent.pk)
    assert interaction.alert_deadline is None
    assert interaction.connected_at is not None
    assert watch.new_rows == [("pickup", from_state, S.CONNECTED, agent.user_id)]
    assert watch.announced == [changed(interaction, agent)]


def test_hold_connected_to_held(desk, agent, routing_events, after_commit):
    interaction = desk.connected(agent)
    watch = Transition(interaction, routing_events)

    with after_commit():
        services.hold(interaction_id=interaction.pk, agent=agent)

    assert refresh(interaction).state == S.HELD
    assert watch.new_rows == [("hold", S.CONNECTED, S.HELD, agent.user_id)]
    assert watch.announced == [changed(interaction, agent)]


@pytest.mark.parametrize("from_state", [S.CONNECTED, S.HELD])
def test_transfer_to_agent_rings_that_agent(
    from_state, desk, agent, other, routing_events, after_commit
):
    interaction = desk.held(agent) if from_state == S.HELD else desk.connected(agent)
    watch = Transition(interaction, routing_events)
    before = timezone.now()

    with after_commit():
        services.transfer_to_agent(interaction_id=interaction.pk, agent=agent, to_agent_id=other.pk)

    refresh(interaction)
    assert (interaction.state, interaction.agent_id) == (S.ALERTING, other.pk)
    assert interaction.alert_deadline >= before + timedelta(seconds=20)
    assert watch.new_rows == [("transfer_to_agent", from_state, S.ALERTING, agent.user_id)]
    # Both desks hear of it: it left one and rings on the other.
    assert watch.announced == [changed(interaction, agent, other)]


@pytest.mark.parametrize("from_state", [S.CONNECTED, S.HELD])
def test_transfer_to_workgroup_queues_it_there(
    from_state, desk, workgroup, agent, routing_events, after_commit
):
    second = make_workgroup("Billing")
    interaction = desk.held(agent) if from_state == S.HELD else desk.connected(agent)
    watch = Transition(interaction, routing_events)
    before = timezone.now()

    with after_commit():
        services.transfer_to_workgroup(
            interaction_id=interaction.pk, agent=agent, workgroup_id=second.pk
        )

    refresh(interaction)
    assert (interaction.state, interaction.agent_id, interaction.workgroup_id) == (
        S.QUEUED,
        None,
        second.pk,
    )
    assert interaction.queued_at >= before  # at the back of its new queue
    assert watch.new_rows == [("transfer_to_workgroup", from_state, S.QUEUED, agent.user_id)]
    # Both queues change, and the agent's list.
    assert watch.announced == [changed(interaction, agent, workgroups={workgroup.pk, second.pk})]


@pytest.mark.parametrize("from_state", [S.CONNECTED, S.HELD])
def test_record_and_stop_recording_keep_the_state(
    from_state, desk, agent, routing_events, after_commit
):
    interaction = desk.held(agent) if from_state == S.HELD else desk.connected(agent)
    watch = Transition(interaction, routing_events)

    with after_commit():
        services.set_recording(interaction_id=interaction.pk, agent=agent, on=True)
    assert refresh(interaction).recording is True
    assert interaction.state == from_state
    assert watch.new_rows == [("record", from_state, from_state, agent.user_id)]
    assert watch.announced == [changed(interaction, agent)]

    # Pressing Record again changes nothing and says nothing.
    with after_commit():
        services.set_recording(interaction_id=interaction.pk, agent=agent, on=True)
    assert len(watch.new_rows) == 1 and len(watch.announced) == 1

    with after_commit():
        services.set_recording(interaction_id=interaction.pk, agent=agent, on=False)
    assert refresh(interaction).recording is False
    assert watch.new_rows[1:] == [("stop_recording", from_state, from_state, agent.user_id)]
    assert watch.announced[1:] == [changed(interaction, agent)]


@pytest.mark.parametrize("from_state", [S.QUEUED, S.ALERTING, S.CONNECTED, S.HELD])
def test_disconnect_from_any_live_state(from_state, desk, agent, routing_events, after_commit):
    interaction = {
        S.QUEUED: lambda: desk.queued(),
        S.ALERTING: lambda: desk.alerting(agent),
        S.CONNECTED: lambda: desk.connected(agent),
        S.HELD: lambda: desk.held(agent),
    }[from_state]()
    # The agent disconnects what is theirs; the system ends the rest (the
    # customer's side, a supervisor tool).
    by = agent if from_state in (S.CONNECTED, S.HELD) else None
    watch = Transition(interaction, routing_events)

    with after_commit():
        services.disconnect(interaction_id=interaction.pk, agent=by, reason="test")

    refresh(interaction)
    assert interaction.state == S.DISCONNECTED
    assert interaction.disconnected_at is not None
    assert interaction.alert_deadline is None
    assert watch.new_rows == [("disconnect", from_state, S.DISCONNECTED, actor_of(by))]
    concerned = (agent,) if from_state != S.QUEUED else ()
    assert watch.announced == [changed(interaction, *concerned)]


def test_dismiss_takes_it_off_the_list(desk, agent, routing_events, after_commit):
    interaction = desk.disconnected(agent)
    watch = Transition(interaction, routing_events)

    with after_commit():
        services.dismiss(interaction_id=interaction.pk, agent=agent)

    refresh(interaction)
    assert interaction.state == S.DISCONNECTED and interaction.dismissed_at is not None
    assert watch.new_rows == [("dismiss", S.DISCONNECTED, S.DISCONNECTED, agent.user_id)]
    assert watch.announced == [changed(interaction, agent)]

    # Dismissing twice is harmless and silent.
    with after_commit():
        services.dismiss(interaction_id=interaction.pk, agent=agent)
    assert len(watch.new_rows) == 1 and len(watch.announced) == 1


def test_customer_writing_after_disconnect_opens_a_new_interaction(
    desk, workgroup, agent, routing_events, after_commit
):
    old = desk.disconnected(agent, psid="7399")
    Agent.objects.update(status=AgentStatus.AWAY)
    before = len(routing_events)

    with after_commit():
        received = customer_writes(workgroup, psid="7399", text="One more thing")

    new = refresh(received.interaction)
    assert received.created_interaction and new.pk != old.pk
    assert new.state == S.QUEUED and new.customer_id == old.customer_id
    assert event_rows(new) == [("create", "", S.QUEUED, None)]
    assert routing_events[before:] == [
        changed(new),
        events.message_event(received.message, new),
    ]
    assert refresh(old).state == S.DISCONNECTED


def test_set_agent_status_announces_the_agent(agent, routing_events, after_commit):
    with after_commit():
        services.set_agent_status(agent=agent, status=AgentStatus.AWAY)
    assert refresh_agent(agent).status == AgentStatus.AWAY
    assert routing_events == [agent_changed(agent)]

    with after_commit():
        services.set_agent_status(agent=agent, status=AgentStatus.AWAY)
    assert routing_events == [agent_changed(agent)]  # no change, no news


def refresh_agent(agent: Agent) -> Agent:
    agent.refresh_from_db()
    return agent


# --- nothing is announced for work that rolls back ------------------------------


class Rollback(Exception):
    pass


ROLLBACK_CASES: dict[str, tuple[str, Callable]] = {
    "pickup": ("alerting", lambda i, a, o: services.pickup(interaction_id=i.pk, agent=a)),
    "hold": ("connected", lambda i, a, o: services.hold(interaction_id=i.pk, agent=a)),
    "record": (
        "connected",
        lambda i, a, o: services.set_recording(interaction_id=i.pk, agent=a, on=True),
    ),
    "transfer_to_agent": (
        "connected",
        lambda i, a, o: services.transfer_to_agent(interaction_id=i.pk, agent=a, to_agent_id=o.pk),
    ),
    "transfer_to_workgroup": (
        "held",
        lambda i, a, o: services.transfer_to_workgroup(
            interaction_id=i.pk, agent=a, workgroup_id=make_workgroup().pk
        ),
    ),
    "disconnect": ("connected", lambda i, a, o: services.disconnect(interaction_id=i.pk, agent=a)),
    "dismiss": ("disconnected", lambda i, a, o: services.dismiss(interaction_id=i.pk, agent=a)),
    "alert_timeout": (
        "alerting",
        lambda i, a, o: (
            Interaction.objects.filter(pk=i.pk).update(
                alert_deadline=timezone.now() - timedelta(seconds=1)
            ),
            services.alert_timeout(interaction_id=i.pk),
        ),
    ),
    "desktop_closed": (
        "alerting",
        lambda i, a, o: services.desktop_closed(channel_name="test.ann", leaving=True),
    ),
    "customer_writes": (
        "connected",
        lambda i, a, o: customer_writes(i.workgroup, psid=i.customer.psid, text="Still there?"),
    ),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", sorted(ROLLBACK_CASES))
def test_nothing_is_announced_when_the_transaction_rolls_back(
    case, desk, workgroup, routing_events
):
    # Ann is the only member, so the real after-commit ACD offers everything to her.
    agent = make_agent("ann", workgroups=[workgroup])
    other = make_agent("bob")
    state, action = ROLLBACK_CASES[case]
    interaction = getattr(desk, state)(agent)
    assert interaction.state == state
    snapshot = _snapshot(interaction)
    announced = len(routing_events)

    with pytest.raises(Rollback), transaction.atomic():
        action(interaction, agent, other)
        raise Rollback

    assert routing_events[announced:] == []
    assert _snapshot(interaction) == snapshot


def _snapshot(interaction: Interaction) -> tuple:
    row = Interaction.objects.filter(pk=interaction.pk).values().get()
    return (
        row,
        InteractionEvent.objects.count(),
        Message.objects.count(),
        list(Agent.objects.order_by("pk").values_list("status", "idle_since")),
        DesktopConnection.objects.count(),
    )


# --- refused transitions ------------------------------------------------------------


REFUSALS = [
    # (id, state, action(desk-made interaction, ann, bob), error, message)
    (
        "hold while alerting",
        "alerting",
        lambda i, a, b: services.hold(interaction_id=i.pk, agent=a),
        TransitionRefused,
        "Cannot hold: the interaction is being offered.",
    ),
    (
        "disconnect an offer before picking it up",
        "alerting",
        lambda i, a, b: services.disconnect(interaction_id=i.pk, agent=a),
        TransitionRefused,
        "Pick the interaction up first.",
    ),
    (
        "pickup of an offer to another agent",
        "alerting",
        lambda i, a, b: services.pickup(interaction_id=i.pk, agent=b),
        NotYours,
        "This interaction was offered to another agent.",
    ),
    (
        "pickup of another agent's held interaction",
        "held",
        lambda i, a, b: services.pickup(interaction_id=i.pk, agent=b),
        NotYours,
        "Another agent holds this interaction.",
    ),
    (
        "pickup of a connected interaction",
        "connected",
        lambda i, a, b: services.pickup(interaction_id=i.pk, agent=b),
        TransitionRefused,
        "Cannot pick up: the interaction is connected.",
    ),
    (
        "pickup from the queue by a non-member",
        "queued",
        lambda i, a, b: services.pickup(interaction_id=i.pk, agent=make_agent("outsider")),
        NotYours,
        "This interaction waits in a workgroup you are not in.",
    ),
    (
        "transfer of a queued interaction to an agent",
        "queued",
        lambda i, a, b: services.transfer_to_agent(interaction_id=i.pk, agent=a, to_agent_id=b.pk),
        TransitionRefused,
        "Cannot transfer: the interaction is waiting in the queue.",
    ),
    (
        "transfer of a queued interaction to a workgroup",
        "queued",
        lambda i, a, b: services.transfer_to_workgroup(
            interaction_id=i.pk, agent=a, workgroup_id=make_workgroup().pk
        ),
        TransitionRefused,
        "Cannot transfer: the interaction is waiting in the queue.",
    ),
    (
        "record on a disconnected interaction",
        "disconnected",
        lambda i, a, b: services.set_recording(interaction_id=i.pk, agent=a, on=True),
        TransitionRefused,
        "Cannot record: the interaction is disconnected.",
    ),
    (
        "disconnect twice",
        "disconnected",
        lambda i, a, b: services.disconnect(interaction_id=i.pk, agent=a),
        TransitionRefused,
        "Cannot disconnect: the interaction is disconnected.",
    ),
    (
        "hold twice",
        "held",
        lambda i, a, b: services.hold(interaction_id=i.pk, agent=a),
        TransitionRefused,
        "Cannot hold: the interaction is on hold.",
    ),
    (
        "hold by an agent who does not own it",
        "connected",
        lambda i, a, b: services.hold(interaction_id=i.pk, agent=b),
        NotYours,
        "This interaction is not yours.",
    ),
    (
        "disconnect by an agent who does not own it",
        "connected",
        lambda i, a, b: services.disconnect(interaction_id=i.pk, agent=b),
        NotYours,
        "This interaction is not yours.",
    ),
    (
        "disconnect of a queued interaction by an agent",
        "queued",
        lambda i, a, b: services.disconnect(interaction_id=i.pk, agent=a),
        NotYours,
        "This interaction is not yours.",
    ),
    (
        "record by an agent who does not own it",
        "held",
        lambda i, a, b: services.set_recording(interaction_id=i.pk, agent=b, on=True),
        NotYours,
        "This interaction is not yours.",
    ),
    (
        "transfer by an agent who does not own it",
        "connected",
        lambda i, a, b: services.transfer_to_workgroup(
            interaction_id=i.pk, agent=b, workgroup_id=make_workgroup().pk
        ),
        NotYours,
        "This interaction is not yours.",
    ),
    (
        "transfer to oneself",
        "connected",
        lambda i, a, b: services.transfer_to_agent(interaction_id=i.pk, agent=a, to_agent_id=a.pk),
        TransitionRefused,
        "Choose another agent to transfer to.",
    ),
    (
        "transfer to an agent who does not exist",
        "connected",
        lambda i, a, b: services.transfer_to_agent(interaction_id=i.pk, agent=a, to_agent_id=9999),
        RoutingError,
        "That agent does not exist.",
    ),
    (
        "transfer to a workgroup that does not exist",
        "connected",
        lambda i, a, b: services.transfer_to_workgroup(
            interaction_id=i.pk, agent=a, workgroup_id=9999
        ),
        RoutingError,
        "That workgroup does not exist.",
    ),
    (
        "transfer to an agent who is away",
        "connected",
        lambda i, a, b: (
            Agent.objects.filter(pk=b.pk).update(status=AgentStatus.AWAY),
            services.transfer_to_agent(interaction_id=i.pk, agent=a, to_agent_id=b.pk),
        ),
        RoutingError,
        "Bob is not available (Away).",
    ),
    (
        "transfer to an agent without the desktop open",
        "connected",
        lambda i, a, b: (
            DesktopConnection.objects.filter(agent=b).delete(),
            services.transfer_to_agent(interaction_id=i.pk, agent=a, to_agent_id=b.pk),
        ),
        RoutingError,
        "Bob does not have the desktop open.",
    ),
    (
        "transfer to an agent at capacity",
        "connected",
        lambda i, a, b: (
            Agent.objects.filter(pk=b.pk).update(capacity=0),
            services.transfer_to_agent(interaction_id=i.pk, agent=a, to_agent_id=b.pk),
        ),
        RoutingError,
        "Bob has no room for another interaction.",
    ),
    (
        "dismiss of a live interaction",
        "connected",
        lambda i, a, b: services.dismiss(interaction_id=i.pk, agent=a),
        TransitionRefused,
        "Only a disconnected interaction can be dismissed.",
    ),
    (
        "dismiss of another agent's interaction",
        "disconnected",
        lambda i, a, b: services.dismiss(interaction_id=i.pk, agent=b),
        NotYours,
        "This interaction is not yours.",
    ),
    (
        "pickup from the queue at capacity",
        "queued",
        lambda i, a, b: (
            Agent.objects.filter(pk=b.pk).update(capacity=0),
            services.pickup(interaction_id=i.pk, agent=Agent.objects.get(pk=b.pk)),
        ),
        RoutingError,
        "You are at your capacity: finish an interaction before picking up another.",
    ),
]


@pytest.mark.parametrize(
    "state, action, error, words", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_refused_transitions_say_why_and_change_nothing(
    state, action, error, words, desk, agent, other, routing_events, after_commit
):
    interaction = desk.queued() if state == "queued" else getattr(desk, state)(agent)
    assert interaction.state == state
    snapshot = _snapshot(interaction)

    with after_commit(), pytest.raises(error) as refused:
        action(interaction, agent, other)

    message = str(refused.value)
    assert message == words
    assert "_" not in message and message[0].isupper() and message.endswith(".")
    # The arrange step of some cases changes an agent (status, capacity, tab);
    # the interaction and the event log must not change at all.
    row, event_count, message_count, *_ = snapshot
    assert _snapshot(interaction)[:3] == (row, event_count, message_count)
    assert routing_events == []


def test_an_interaction_that_does_not_exist(agent):
    with pytest.raises(RoutingError, match=r"^This interaction no longer exists\.$"):
        services.pickup(interaction_id=424242, agent=agent)


@pytest.mark.parametrize("status", ["busy", AgentStatus.NOT_ANSWERING])
def test_agents_cannot_choose_a_status_that_is_not_offered(status, agent, routing_events):
    with pytest.raises(RoutingError, match=r"^Choose one of the listed statuses\.$"):
        services.set_agent_status(agent=agent, status=status)
    assert refresh_agent(agent).status == AgentStatus.AVAILABLE
    assert routing_events == []


def test_the_transition_table_is_the_design():
    """docs/architecture.md's table, verb by verb, so a change to one is a change to the other."""
    design = {
        "offer": ({S.QUEUED}, S.ALERTING),
        "alert_timeout": ({S.ALERTING}, S.QUEUED),
        "return_offer": ({S.ALERTING}, S.QUEUED),
        "pickup": ({S.ALERTING, S.HELD, S.QUEUED}, S.CONNECTED),
        "hold": ({S.CONNECTED}, S.HELD),
        "transfer_to_agent": ({S.CONNECTED, S.HELD}, S.ALERTING),
        "transfer_to_workgroup": ({S.CONNECTED, S.HELD}, S.QUEUED),
        "record": ({S.CONNECTED, S.HELD}, None),
        "stop_recording": ({S.CONNECTED, S.HELD}, None),
        "disconnect": ({S.QUEUED, S.ALERTING, S.CONNECTED, S.HELD}, S.DISCONNECTED),
    }
    table = {verb: (set(froms), to) for verb, (froms, to) in services.TRANSITIONS.items()}
    assert {verb: table.get(verb) for verb in design} == design
    # Whatever else is added (a supervisor's verbs), nothing leaves `disconnected`.
    assert all(S.DISCONNECTED not in froms for froms, _ in table.values())


def test_an_insert_that_may_conflict_keeps_the_transaction_usable_outside_a_batch(workgroup):
    customer = customer_writes(workgroup, psid="7300000000300001").interaction.customer
    with transaction.atomic():
        with pytest.raises(IntegrityError), kernel.insert_may_conflict():
            Customer.objects.create(page_id=customer.page_id, psid=customer.psid)
        assert Customer.objects.filter(psid=customer.psid).count() == 1  # still usable
    # No savepoint in a router batch: the conflict spoils the batch, which is routed again.
    with (
        pytest.raises(kernel.ConflictInBatch),
        transaction.atomic(),
        services.inserts_without_savepoints(),
        kernel.insert_may_conflict(),
    ):
        Customer.objects.create(page_id=customer.page_id, psid=customer.psid)
