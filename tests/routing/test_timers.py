"""Time-driven routing: offers that ring out, desktops that close or go stale.

The clock is moved by moving the deadlines (`alert_deadline`, `last_seen`)
into the past, which is what the passing of time does to them.
"""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from routing import services
from routing.models import (
    Agent,
    AgentStatus,
    DesktopConnection,
    Interaction,
    InteractionEvent,
)
from routing.models import InteractionState as S
from tests.factories import customer_writes, make_agent, make_workgroup, refresh

pytestmark = pytest.mark.django_db(transaction=True)

_psids = itertools.count(1)


def writes(workgroup) -> Interaction:
    return refresh(customer_writes(workgroup, psid=f"76{next(_psids):014d}").interaction)


def ring_out(*interactions: Interaction) -> None:
    """Let time pass beyond these offers' deadlines."""
    Interaction.objects.filter(pk__in=[i.pk for i in interactions]).update(
        alert_deadline=timezone.now() - timedelta(seconds=1)
    )


def status_of(agent: Agent) -> str:
    agent.refresh_from_db()
    return agent.status


def verbs(interaction: Interaction) -> list[str]:
    return list(
        InteractionEvent.objects.filter(interaction=interaction)
        .order_by("pk")
        .values_list("verb", flat=True)
    )


@pytest.fixture
def workgroup():
    return make_workgroup(alert_timeout_seconds=20)


@pytest.fixture
def ann(workgroup):
    agent = make_agent("ann", workgroups=[workgroup])
    Agent.objects.filter(pk=agent.pk).update(idle_since=timezone.now() - timedelta(hours=1))
    return agent


@pytest.fixture
def bob(workgroup):
    return make_agent("bob", workgroups=[workgroup])


# --- alert timeout --------------------------------------------------------------------


def test_an_expired_offer_goes_back_to_the_queue_and_to_the_next_agent(workgroup, ann, bob):
    interaction = writes(workgroup)
    assert interaction.agent_id == ann.pk
    ring_out(interaction)

    done = services.run_due_timers()

    assert done["alerts_expired"] == 1
    refresh(interaction)
    assert (interaction.state, interaction.agent_id) == (S.ALERTING, bob.pk)
    assert interaction.alert_deadline > timezone.now()
    assert status_of(ann) == AgentStatus.NOT_ANSWERING
    assert status_of(bob) == AgentStatus.AVAILABLE
    assert verbs(interaction) == ["create", "offer", "alert_timeout", "offer"]
    timeout = InteractionEvent.objects.get(interaction=interaction, verb="alert_timeout")
    assert (timeout.from_state, timeout.to_state, timeout.actor_id) == (S.ALERTING, S.QUEUED, None)
    assert timeout.detail == {"agent_id": ann.pk}


def test_the_expired_offer_keeps_its_place_at_the_head_of_the_queue(workgroup, ann):
    Agent.objects.filter(pk=ann.pk).update(capacity=1)
    first = writes(workgroup)
    later = [writes(workgroup) for _ in range(2)]
    assert [refresh(i).state for i in (first, *later)] == [S.ALERTING, S.QUEUED, S.QUEUED]
    ring_out(first)

    services.run_due_timers()
    services.set_agent_status(agent=ann, status=AgentStatus.AVAILABLE)

    assert (refresh(first).state, first.agent_id) == (S.ALERTING, ann.pk)
    assert [refresh(i).state for i in later] == [S.QUEUED, S.QUEUED]


def test_an_agent_who_let_it_ring_gets_no_offers_until_available_again(workgroup, ann):
    interaction = writes(workgroup)
    ring_out(interaction)
    services.run_due_timers()
    assert status_of(ann) == AgentStatus.NOT_ANSWERING
    assert refresh(interaction).state == S.QUEUED

    newer = writes(workgroup)
    services.run_due_timers()
    services.desktop_opened(agent=ann, channel_name="another-tab")
    assert {refresh(interaction).state, refresh(newer).state} == {S.QUEUED}

    services.set_agent_status(agent=ann, status=AgentStatus.AVAILABLE)

    assert (refresh(interaction).state, interaction.agent_id) == (S.ALERTING, ann.pk)
    assert (refresh(newer).state, newer.agent_id) == (S.ALERTING, ann.pk)


def test_an_offer_answered_before_the_deadline_is_untouched(workgroup, ann, bob):
    answered = writes(workgroup)
    ringing = writes(workgroup)
    assert (answered.agent_id, ringing.agent_id) == (ann.pk, bob.pk)
    services.pickup(interaction_id=answered.pk, agent=ann)

    done = services.run_due_timers()

    assert done["alerts_expired"] == 0
    assert refresh(answered).state == S.CONNECTED
    assert (refresh(ringing).state, ringing.agent_id) == (S.ALERTING, bob.pk)
    assert services.alert_timeout(interaction_id=ringing.pk) is False  # not due yet
    assert services.alert_timeout(interaction_id=answered.pk) is False  # not ringing
    assert refresh(ringing).state == S.ALERTING
    assert {status_of(ann), status_of(bob)} == {AgentStatus.AVAILABLE}
    assert not InteractionEvent.objects.filter(verb="alert_timeout").exists()


def test_an_offer_picked_up_after_its_deadline_but_before_the_timer_is_kept(workgroup, ann):
    interaction = writes(workgroup)
    ring_out(interaction)
    services.pickup(interaction_id=interaction.pk, agent=ann)

    assert services.run_due_timers()["alerts_expired"] == 0
    assert refresh(interaction).state == S.CONNECTED
    assert status_of(ann) == AgentStatus.AVAILABLE


def test_run_due_timers_is_idempotent(workgroup, ann, bob):
    interactions = [writes(workgroup) for _ in range(3)]
    Agent.objects.filter(pk=bob.pk).update(status=AgentStatus.AWAY)
    ring_out(*interactions)

    first = services.run_due_timers()
    second = services.run_due_timers()

    assert first["alerts_expired"] == 3
    assert second == {
        "alerts_expired": 0,
        "sends_expired": 0,
        "desktops_swept": 0,
        "offers_of_departed_returned": 0,
        "after_contact_ended": 0,
        "no_reply_warnings": 0,
        "returned_for_no_reply": 0,
        "silence_warnings": 0,
        "disconnected_for_silence": 0,
        "preferred_windows_ended": 0,
        "offered": 0,
    }
    assert InteractionEvent.objects.filter(verb="alert_timeout").count() == 3
    assert {refresh(i).state for i in interactions} == {S.QUEUED}


def test_a_transferred_offer_that_rings_out_goes_to_the_workgroup_queue(workgroup, ann, bob):
    interaction = writes(workgroup)
    services.pickup(interaction_id=interaction.pk, agent=ann)
    services.transfer_to_agent(interaction_id=interaction.pk, agent=ann, to_agent_id=bob.pk)
    Agent.objects.filter(pk=ann.pk).update(status=AgentStatus.AWAY)
    ring_out(interaction)

    services.run_due_timers()

    assert (refresh(interaction).state, interaction.agent_id) == (S.QUEUED, None)
    assert status_of(bob) == AgentStatus.NOT_ANSWERING


def test_the_timer_offers_what_waits_when_an_agent_got_room_without_an_event(workgroup, ann):
    Agent.objects.filter(pk=ann.pk).update(capacity=0)
    interaction = writes(workgroup)
    assert interaction.state == S.QUEUED
    # A supervisor raises the capacity in the admin: no service runs.
    Agent.objects.filter(pk=ann.pk).update(capacity=None)

    assert services.run_due_timers()["offered"] == 1
    assert refresh(interaction).agent_id == ann.pk


# --- desktops -------------------------------------------------------------------------


def reload_time_passes(*agents):
    Agent.objects.filter(pk__in=[a.pk for a in agents]).update(offers_kept_until=timezone.now())


def test_the_last_desktop_tab_closing_returns_the_offers_after_a_reloads_time(workgroup, ann, bob):
    Agent.objects.filter(pk=bob.pk).update(status=AgentStatus.AWAY)
    services.desktop_opened(agent=ann, channel_name="ann-tab-2")
    offers = [writes(workgroup) for _ in range(2)]
    connected = services.pickup(interaction_id=writes(workgroup).pk, agent=ann)
    assert {refresh(i).agent_id for i in offers} == {ann.pk}

    services.desktop_closed(channel_name="test.ann")
    reload_time_passes(ann)
    services.run_due_timers()
    assert {refresh(i).state for i in offers} == {S.ALERTING}  # another tab is still open

    services.desktop_closed(channel_name="ann-tab-2")
    services.run_due_timers()
    assert {refresh(i).state for i in offers} == {S.ALERTING}  # kept for a reload

    reload_time_passes(ann)
    assert services.run_due_timers()["offers_of_departed_returned"] == 1
    assert {(refresh(i).state, i.agent_id) for i in offers} == {(S.QUEUED, None)}
    assert refresh(connected).state == S.CONNECTED  # only offers go back
    assert status_of(ann) == AgentStatus.AVAILABLE
    assert [verbs(i)[-1] for i in offers] == ["return_offer", "return_offer"]

    Agent.objects.filter(pk=bob.pk).update(status=AgentStatus.AVAILABLE)
    services.run_due_timers()
    assert {refresh(i).agent_id for i in offers} == {bob.pk}


def test_closing_the_last_tab_offers_the_returned_work_to_the_next_agent(workgroup, ann, bob):
    interaction = writes(workgroup)
    assert interaction.agent_id == ann.pk

    services.desktop_closed(channel_name="test.ann")
    reload_time_passes(ann)
    services.run_due_timers()

    assert (refresh(interaction).state, interaction.agent_id) == (S.ALERTING, bob.pk)


def test_leaving_the_last_tab_offers_the_work_to_the_next_agent_at_once(workgroup, ann, bob):
    interaction = writes(workgroup)
    assert interaction.agent_id == ann.pk

    services.desktop_closed(channel_name="test.ann", leaving=True)

    assert (refresh(interaction).state, interaction.agent_id) == (S.ALERTING, bob.pk)


def test_closing_an_unknown_tab_is_harmless(workgroup, ann):
    interaction = writes(workgroup)
    services.desktop_closed(channel_name="never-seen")
    services.desktop_closed(channel_name="test.ann", leaving=True)
    services.desktop_closed(channel_name="test.ann")  # twice: the socket and the sweep
    reload_time_passes(ann)
    services.run_due_timers()
    assert refresh(interaction).state == S.QUEUED
    assert InteractionEvent.objects.filter(verb="return_offer").count() == 1


def test_sweep_forgets_tabs_whose_server_stopped_vouching(workgroup, ann, bob):
    Agent.objects.filter(pk=bob.pk).update(status=AgentStatus.AWAY)
    interaction = writes(workgroup)
    assert interaction.agent_id == ann.pk
    old = timezone.now() - services.CONNECTION_STALE_AFTER - timedelta(seconds=1)
    DesktopConnection.objects.filter(agent=ann).update(last_seen=old)
    DesktopConnection.objects.create(agent=bob, channel_name="bob-tab-2", last_seen=old)

    services.desktops_seen(channel_names=["bob-tab-2"])  # bob's server is alive
    done = services.run_due_timers()

    assert done["desktops_swept"] == 1
    assert not DesktopConnection.objects.filter(agent=ann).exists()
    assert DesktopConnection.objects.filter(agent=bob).count() == 2
    assert (refresh(interaction).state, interaction.agent_id) == (S.QUEUED, None)
    assert services.sweep_stale_desktops() == 0


def test_sweep_keeps_offers_while_a_fresh_tab_remains(workgroup, ann):
    interaction = writes(workgroup)
    old = timezone.now() - services.CONNECTION_STALE_AFTER - timedelta(seconds=1)
    DesktopConnection.objects.filter(agent=ann).update(last_seen=old)
    services.desktop_opened(agent=ann, channel_name="ann-fresh")

    assert services.sweep_stale_desktops() == 1
    assert (refresh(interaction).state, interaction.agent_id) == (S.ALERTING, ann.pk)
