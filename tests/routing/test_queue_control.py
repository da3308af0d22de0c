"""Queue control beyond the state table: what hold, transfer, disconnect and a
status change mean for the agent's list, the held time, the transcript and the
agent's room for more work.

These tests commit for real (`transaction=True`): the ACD runs after the commit
of whatever freed an agent, as in production.
"""

import itertools
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from routing import events, selectors, services, transcript_selectors
from routing.events import RoutingEvent
from routing.models import Agent, AgentStatus, Interaction, WrapUpCode
from routing.models import InteractionState as S
from tests.factories import customer_writes, make_agent, make_workgroup, refresh
from tests.supervisors import logged_in, make_supervisor

pytestmark = pytest.mark.django_db(transaction=True)

_psids = itertools.count(1)


def writes(workgroup, psid: str | None = None, text: str = "Hello") -> Interaction:
    psid = psid or f"77{next(_psids):014d}"
    return refresh(customer_writes(workgroup, psid=psid, text=text).interaction)


def connected(workgroup, agent, **kwargs) -> Interaction:
    interaction = writes(workgroup, **kwargs)
    return services.pickup(interaction_id=interaction.pk, agent=agent)


def listed(agent: Agent) -> list[tuple[int, str]]:
    return [(i.pk, i.state) for i in selectors.my_interactions(agent)]


def texts(interaction: Interaction) -> list[str]:
    return [m.text for m in transcript_selectors.transcript(interaction)]


@pytest.fixture
def workgroup():
    return make_workgroup(capacity_per_agent=2, alert_timeout_seconds=25)


@pytest.fixture
def ann(workgroup):
    return make_agent("ann", workgroups=[workgroup])


@pytest.fixture
def bob(workgroup):
    return make_agent("bob", workgroups=[workgroup], status=AgentStatus.AWAY)


# --- hold --------------------------------------------------------------------------


def test_hold_notes_since_when_and_every_way_out_of_hold_clears_it(workgroup, ann, bob):
    def transfer(interaction):
        Agent.objects.filter(pk=bob.pk).update(status=AgentStatus.AVAILABLE)
        services.transfer_to_agent(interaction_id=interaction.pk, agent=ann, to_agent_id=bob.pk)
        Agent.objects.filter(pk=bob.pk).update(status=AgentStatus.AWAY)

    ways_out = {
        "pickup": lambda i: services.pickup(interaction_id=i.pk, agent=ann),
        "transfer": transfer,
        "disconnect": lambda i: services.disconnect(interaction_id=i.pk, agent=ann),
    }
    for way_out, leave_hold in ways_out.items():
        interaction = connected(workgroup, ann)
        before = timezone.now()
        services.hold(interaction_id=interaction.pk, agent=ann)
        assert before <= refresh(interaction).held_at <= timezone.now()

        leave_hold(interaction)

        assert refresh(interaction).state != S.HELD, way_out
        assert interaction.held_at is None, way_out


def test_customer_messages_keep_arriving_while_held(workgroup, ann, routing_events):
    interaction = connected(workgroup, ann, psid="7700000000000001")
    services.hold(interaction_id=interaction.pk, agent=ann)
    seen = len(routing_events)

    received = customer_writes(workgroup, psid="7700000000000001", text="Are you still there?")

    assert received.interaction.pk == interaction.pk and not received.created_interaction
    assert refresh(interaction).state == S.HELD
    assert texts(interaction)[-1] == "Are you still there?"
    # Announced to the agent who holds it, so their desktop shows the bubble.
    assert routing_events[seen:] == [events.message_event(received.message, refresh(interaction))]
    assert routing_events[-1].agent_id == ann.pk and routing_events[-1].inbound


# --- transfer ----------------------------------------------------------------------


def test_a_transfer_to_an_agent_rings_them_with_the_transcript_and_frees_the_sender(
    workgroup, ann, bob
):
    Agent.objects.filter(pk=bob.pk).update(status=AgentStatus.AVAILABLE)
    interaction = connected(workgroup, ann, text="I need help with my order")
    before = timezone.now()

    services.transfer_to_agent(interaction_id=interaction.pk, agent=ann, to_agent_id=bob.pk)

    refresh(interaction)
    assert (interaction.state, interaction.agent_id) == (S.ALERTING, bob.pk)
    # With the workgroup's alert timeout, as any offer.
    assert before + timedelta(seconds=25) <= interaction.alert_deadline
    assert interaction.alert_deadline <= timezone.now() + timedelta(seconds=25)
    # The transcript follows: Bob opens it with its messages, Ann cannot any more.
    assert selectors.visible_interaction(bob, interaction.pk) is not None
    assert texts(interaction) == ["I need help with my order"]
    assert selectors.visible_interaction(ann, interaction.pk) is None
    assert interaction.pk not in [pk for pk, _ in listed(ann)]
    assert (interaction.pk, S.ALERTING) in listed(bob)
    # Ann's room is back at once (two, her capacity), and she is idle from now.
    assert refresh_agent(ann).idle_since >= before
    Agent.objects.filter(pk=bob.pk).update(status=AgentStatus.AWAY)
    assert [writes(workgroup).agent_id for _ in range(3)] == [ann.pk, ann.pk, None]


def test_a_transfer_to_a_workgroup_queues_it_there_for_its_members(workgroup, ann):
    billing = make_workgroup(alert_timeout_seconds=40)
    biller = make_agent(workgroups=[billing])
    interaction = connected(workgroup, ann, text="Billing question")

    services.transfer_to_workgroup(
        interaction_id=interaction.pk, agent=ann, workgroup_id=billing.pk
    )

    refresh(interaction)
    assert (interaction.workgroup_id, interaction.state, interaction.agent_id) == (
        billing.pk,
        S.ALERTING,
        biller.pk,
    )
    assert selectors.visible_interaction(biller, interaction.pk) is not None
    assert texts(interaction) == ["Billing question"]
    assert interaction.alert_deadline >= timezone.now() + timedelta(seconds=35)


# --- disconnect ----------------------------------------------------------------------


def test_disconnect_frees_capacity_at_once_and_stays_listed_until_dismissed(workgroup, ann):
    first, second = connected(workgroup, ann), connected(workgroup, ann)
    waiting = writes(workgroup)
    assert waiting.state == S.QUEUED

    services.disconnect(interaction_id=first.pk, agent=ann)

    assert (refresh(waiting).state, waiting.agent_id) == (S.ALERTING, ann.pk)
    assert listed(ann) == [
        (first.pk, S.DISCONNECTED),
        (second.pk, S.CONNECTED),
        (waiting.pk, S.ALERTING),
    ]
    services.dismiss(interaction_id=first.pk, agent=ann)
    assert first.pk not in [pk for pk, _ in listed(ann)]


@pytest.mark.parametrize("seconds_later", [0, 3])
def test_a_dm_between_disconnect_and_dismiss_opens_a_new_interaction(seconds_later, workgroup, ann):
    psid = "7700000000000099"
    old = connected(workgroup, ann, psid=psid, text="First question")
    services.disconnect(interaction_id=old.pk, agent=ann)
    sent_at = timezone.now() + timedelta(seconds=seconds_later)

    received = customer_writes(workgroup, psid=psid, text="One more thing", sent_at=sent_at)

    new = refresh(received.interaction)
    assert received.created_interaction and new.pk != old.pk
    assert new.customer_id == old.customer_id
    # Offered (Ann has room again), and the old one is still on her list, red.
    assert (new.state, new.agent_id) == (S.ALERTING, ann.pk)
    assert listed(ann) == [(old.pk, S.DISCONNECTED), (new.pk, S.ALERTING)]
    assert texts(refresh(old)) == ["First question"]
    assert texts(new) == ["One more thing"]

    # The customer writes again: the new interaction, not a third one.
    again = customer_writes(
        workgroup, psid=psid, text="And another", sent_at=sent_at + timedelta(seconds=1)
    )
    assert again.interaction.pk == new.pk

    services.dismiss(interaction_id=old.pk, agent=ann)
    assert listed(ann) == [(new.pk, S.ALERTING)]
    # Dismissing the old one leaves the new one alone.
    assert texts(new) == ["One more thing", "And another"]


# --- status -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status",
    [AgentStatus.AWAY, AgentStatus.DO_NOT_DISTURB, AgentStatus.AT_LUNCH, AgentStatus.GONE_HOME],
)
def test_stepping_away_returns_ringing_offers_to_the_next_agent(status, workgroup, ann, bob):
    offered = writes(workgroup)
    assert offered.agent_id == ann.pk
    Agent.objects.filter(pk=bob.pk).update(status=AgentStatus.AVAILABLE)

    services.set_agent_status(agent=ann, status=status)

    assert (refresh(offered).state, offered.agent_id) == (S.ALERTING, bob.pk)
    assert list(offered.events.values_list("verb", "to_state"))[-2:] == [
        ("return_offer", S.QUEUED),
        ("offer", S.ALERTING),
    ]
    assert refresh_agent(ann).status == status


def test_stepping_away_keeps_connected_work(workgroup, ann):
    mine = connected(workgroup, ann)
    services.set_agent_status(agent=ann, status=AgentStatus.AT_LUNCH)
    assert (refresh(mine).state, mine.agent_id) == (S.CONNECTED, ann.pk)


def test_not_answering_until_available_again(workgroup, ann, routing_events):
    offered = writes(workgroup)
    Interaction.objects.filter(pk=offered.pk).update(
        alert_deadline=timezone.now() - timedelta(seconds=1)
    )
    services.run_due_timers()
    assert refresh_agent(ann).status == AgentStatus.NOT_ANSWERING
    # Announced: her desktop's status picker and the supervisors' board show it.
    assert RoutingEvent(type=events.EventType.AGENT_CHANGED, agent_id=ann.pk) in routing_events
    assert refresh(offered).state == S.QUEUED

    services.set_agent_status(agent=ann, status=AgentStatus.AVAILABLE)

    assert (refresh(offered).state, offered.agent_id) == (S.ALERTING, ann.pk)


def refresh_agent(agent: Agent) -> Agent:
    agent.refresh_from_db()
    return agent


# --- the history ------------------------------------------------------------------------


def test_every_change_writes_an_event_row_shown_in_admin(workgroup, ann, bob):
    workgroup.wrap_up_required = True
    workgroup.save()
    resolved = WrapUpCode.objects.create(workgroup=workgroup, label="Resolved")
    interaction = writes(workgroup)  # offered to Ann at once
    services.pickup(interaction_id=interaction.pk, agent=ann)
    services.set_recording(interaction_id=interaction.pk, agent=ann, on=True)
    services.hold(interaction_id=interaction.pk, agent=ann)
    services.set_agent_status(agent=bob, status=AgentStatus.AVAILABLE)
    services.transfer_to_agent(interaction_id=interaction.pk, agent=ann, to_agent_id=bob.pk)
    services.pickup(interaction_id=interaction.pk, agent=bob)
    services.disconnect(interaction_id=interaction.pk, agent=bob)
    services.set_wrap_up(interaction_id=interaction.pk, agent=bob, wrap_up_code_id=resolved.pk)
    services.dismiss(interaction_id=interaction.pk, agent=bob)

    history = list(
        interaction.events.order_by("pk").values_list(
            "verb", "from_state", "to_state", "actor__username"
        )
    )
    assert history == [
        ("create", "", S.QUEUED, None),
        ("offer", S.QUEUED, S.ALERTING, None),
        ("pickup", S.ALERTING, S.CONNECTED, "ann"),
        ("record", S.CONNECTED, S.CONNECTED, "ann"),
        ("hold", S.CONNECTED, S.HELD, "ann"),
        ("transfer_to_agent", S.HELD, S.ALERTING, "ann"),
        ("pickup", S.ALERTING, S.CONNECTED, "bob"),
        ("disconnect", S.CONNECTED, S.DISCONNECTED, "bob"),
        ("stop_recording", S.DISCONNECTED, S.DISCONNECTED, "bob"),
        ("wrap_up", S.DISCONNECTED, S.DISCONNECTED, "bob"),
        ("dismiss", S.DISCONNECTED, S.DISCONNECTED, "bob"),
    ]
    page = logged_in(make_supervisor()).get(f"/admin/routing/interaction/{interaction.pk}/change/")
    assert page.status_code == 200
    shown = re.findall(r'class="field-verb">\s*<p>([^<]*)</p>', page.content.decode())
    assert shown == [verb for verb, *_ in history]
