"""A supervisor's verbs from the live board: any live interaction, the supervisor as actor."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from routing import services
from routing.models import Agent, AgentStatus, Interaction, InteractionEvent, Recording
from routing.models import InteractionState as S
from routing.services import RoutingError, TransitionRefused
from tests.factories import make_agent, make_workgroup, refresh
from tests.routing.conftest import changed

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor():
    return get_user_model().objects.create_user("boss", password="demo-pass", is_staff=True)


@pytest.fixture
def agent(workgroup) -> Agent:
    return make_agent("ann", workgroups=[workgroup])


@pytest.fixture
def other(workgroup) -> Agent:
    return make_agent("bob", workgroups=[workgroup])


@pytest.fixture
def after_commit(django_capture_on_commit_callbacks):
    def block():
        return django_capture_on_commit_callbacks(execute=True)

    return block


def in_state(desk, agent: Agent, state: str) -> Interaction:
    return {
        S.QUEUED: lambda: desk.queued(),
        S.ALERTING: lambda: desk.alerting(agent),
        S.CONNECTED: lambda: desk.connected(agent),
        S.HELD: lambda: desk.held(agent),
    }[state]()


def last_row(interaction: Interaction) -> tuple:
    return (
        InteractionEvent.objects.filter(interaction=interaction)
        .order_by("-pk")
        .values_list("verb", "from_state", "to_state", "actor_id", "detail")
        .first()
    )


@pytest.mark.parametrize("from_state", [S.QUEUED, S.ALERTING, S.CONNECTED, S.HELD])
def test_supervisor_disconnects_any_live_interaction(
    from_state, desk, agent, supervisor, routing_events, after_commit
):
    interaction = in_state(desk, agent, from_state)
    seen = len(routing_events)

    with after_commit():
        services.supervisor_disconnect(
            interaction_id=interaction.pk, supervisor_user_id=supervisor.pk, reason="stuck"
        )

    refresh(interaction)
    assert interaction.state == S.DISCONNECTED
    assert interaction.disconnected_at is not None and interaction.alert_deadline is None
    assert last_row(interaction) == (
        "supervisor_disconnect",
        from_state,
        S.DISCONNECTED,
        supervisor.pk,
        {"reason": "stuck"},
    )
    concerned = (agent,) if from_state != S.QUEUED else ()
    assert routing_events[seen:] == [changed(interaction, *concerned)]


def test_a_disconnected_interaction_cannot_be_disconnected_again(desk, agent, supervisor):
    interaction = desk.disconnected(agent)
    with pytest.raises(TransitionRefused, match=r"^Cannot disconnect: the interaction is disconn"):
        services.supervisor_disconnect(
            interaction_id=interaction.pk, supervisor_user_id=supervisor.pk
        )


@pytest.mark.parametrize("from_state", [S.QUEUED, S.ALERTING, S.CONNECTED, S.HELD])
def test_supervisor_moves_any_live_interaction_to_another_queue(
    from_state, desk, workgroup, agent, supervisor, routing_events, after_commit
):
    billing = make_workgroup("Billing")
    interaction = in_state(desk, agent, from_state)
    seen = len(routing_events)
    before = timezone.now()

    with after_commit():
        services.supervisor_transfer_to_workgroup(
            interaction_id=interaction.pk, supervisor_user_id=supervisor.pk, workgroup_id=billing.pk
        )

    refresh(interaction)
    assert (interaction.state, interaction.agent_id, interaction.workgroup_id) == (
        S.QUEUED,
        None,
        billing.pk,
    )
    assert interaction.queued_at >= before
    previous = agent.pk if from_state != S.QUEUED else None
    assert last_row(interaction) == (
        "supervisor_transfer_to_workgroup",
        from_state,
        S.QUEUED,
        supervisor.pk,
        {"from_agent_id": previous, "workgroup_id": billing.pk},
    )
    concerned = (agent,) if from_state != S.QUEUED else ()
    assert routing_events[seen:] == [
        changed(interaction, *concerned, workgroups={workgroup.pk, billing.pk})
    ]


def test_moving_into_an_auto_record_workgroup_starts_recording(desk, agent, supervisor):
    recorded = make_workgroup("Recorded", auto_record=True)
    interaction = desk.connected(agent)
    assert interaction.recording is False

    services.supervisor_transfer_to_workgroup(
        interaction_id=interaction.pk, supervisor_user_id=supervisor.pk, workgroup_id=recorded.pk
    )

    assert refresh(interaction).recording is True
    running = Recording.objects.get(interaction=interaction)
    assert running.started_by_id is None and running.stopped_at is None
    assert last_row(interaction) == ("record", S.QUEUED, S.QUEUED, None, {"auto": True})


def test_moving_into_the_queue_it_already_waits_in_is_refused(desk, workgroup, supervisor):
    interaction = desk.queued()
    with pytest.raises(RoutingError, match=r"^It already waits in that workgroup's queue\.$"):
        services.supervisor_transfer_to_workgroup(
            interaction_id=interaction.pk,
            supervisor_user_id=supervisor.pk,
            workgroup_id=workgroup.pk,
        )
    assert refresh(interaction).state == S.QUEUED


def test_moving_to_a_workgroup_that_does_not_exist_is_refused(desk, supervisor):
    interaction = desk.queued()
    with pytest.raises(RoutingError, match=r"^That workgroup does not exist\.$"):
        services.supervisor_transfer_to_workgroup(
            interaction_id=interaction.pk, supervisor_user_id=supervisor.pk, workgroup_id=999999
        )


@pytest.mark.parametrize("from_state", [S.QUEUED, S.CONNECTED, S.HELD])
def test_supervisor_rings_another_agent_with_a_live_interaction(
    from_state, desk, agent, other, supervisor, routing_events, after_commit
):
    interaction = in_state(desk, agent, from_state)
    seen = len(routing_events)
    before = timezone.now()

    with after_commit():
        services.supervisor_transfer_to_agent(
            interaction_id=interaction.pk, supervisor_user_id=supervisor.pk, to_agent_id=other.pk
        )

    refresh(interaction)
    assert (interaction.state, interaction.agent_id) == (S.ALERTING, other.pk)
    assert interaction.alert_deadline >= before + timedelta(seconds=20)
    previous = agent.pk if from_state != S.QUEUED else None
    assert last_row(interaction) == (
        "supervisor_transfer_to_agent",
        from_state,
        S.ALERTING,
        supervisor.pk,
        {"from_agent_id": previous, "agent_id": other.pk},
    )
    concerned = (agent, other) if previous else (other,)
    assert routing_events[seen:] == [changed(interaction, *concerned)]


def test_ringing_an_agent_who_cannot_take_it_is_refused(desk, workgroup, agent, supervisor):
    away = make_agent("cid", workgroups=[workgroup], status=AgentStatus.AWAY)
    offline = make_agent("dan", workgroups=[workgroup], online=False)
    interaction = desk.connected(agent)
    for target, words in [
        (away, r"is not available \(Away\)\.$"),
        (offline, r"does not have the desktop open\.$"),
        (agent, r"^It is already with that agent\.$"),
    ]:
        with pytest.raises(RoutingError, match=words):
            services.supervisor_transfer_to_agent(
                interaction_id=interaction.pk,
                supervisor_user_id=supervisor.pk,
                to_agent_id=target.pk,
            )
    with pytest.raises(RoutingError, match=r"^That agent does not exist\.$"):
        services.supervisor_transfer_to_agent(
            interaction_id=interaction.pk, supervisor_user_id=supervisor.pk, to_agent_id=999999
        )
    assert (refresh(interaction).state, interaction.agent_id) == (S.CONNECTED, agent.pk)
