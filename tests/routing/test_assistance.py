"""Help on the floor: asking for it, and a supervisor's monitor, coach and take over."""

import pytest

from routing import services
from routing.events import EventType
from routing.models import Agent, AgentStatus, InteractionEvent
from routing.models import InteractionState as S
from routing.services import NotYours, RoutingError, TransitionRefused
from tests.factories import make_agent, refresh
from tests.supervisors import make_supervisor

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(workgroup) -> Agent:
    return make_agent("ann", workgroups=[workgroup])


@pytest.fixture
def sam():
    return make_supervisor("sam")


def verbs(interaction) -> list[str]:
    return list(
        InteractionEvent.objects.filter(interaction=interaction)
        .order_by("pk")
        .values_list("verb", flat=True)
    )


def published(routing_events, kind):
    return [e for e in routing_events if e.type == kind]


def test_the_owner_asks_for_help_once_and_the_board_hears_it(
    desk, agent, routing_events, django_capture_on_commit_callbacks
):
    chat = desk.connected(agent)
    with django_capture_on_commit_callbacks(execute=True):
        services.ask_for_help(interaction_id=chat.pk, agent=agent)
        services.ask_for_help(interaction_id=chat.pk, agent=agent)  # still waiting: no change

    assert refresh(chat).help_requested_at is not None
    assert verbs(chat).count("ask_for_help") == 1
    assert len(published(routing_events, EventType.HELP_CHANGED)) == 1


@pytest.mark.parametrize("state", ["alerting", "disconnected"])
def test_help_is_asked_only_while_working_it(desk, agent, state):
    interaction = getattr(desk, state)(agent)
    with pytest.raises(TransitionRefused):
        services.ask_for_help(interaction_id=interaction.pk, agent=agent)


def test_only_the_owner_asks(desk, agent, workgroup):
    chat = desk.connected(agent)
    with pytest.raises(NotYours):
        services.ask_for_help(interaction_id=chat.pk, agent=make_agent(workgroups=[workgroup]))


def test_monitoring_is_an_event_row_answers_help_and_tells_the_agent_nothing(
    desk, agent, sam, routing_events, django_capture_on_commit_callbacks
):
    chat = desk.connected(agent)
    services.ask_for_help(interaction_id=chat.pk, agent=agent)
    with django_capture_on_commit_callbacks(execute=True):
        services.monitor(interaction_id=chat.pk, supervisor_user_id=sam.pk)

    assert refresh(chat).help_requested_at is None
    row = InteractionEvent.objects.get(interaction=chat, verb="monitor")
    assert row.actor_id == sam.pk
    assert [e.type for e in routing_events] == [EventType.HELP_CHANGED]  # the board only


def test_coaching_reaches_only_the_agent_and_answers_help(
    desk, agent, sam, routing_events, django_capture_on_commit_callbacks
):
    chat = desk.connected(agent)
    services.ask_for_help(interaction_id=chat.pk, agent=agent)
    with django_capture_on_commit_callbacks(execute=True):
        row = services.coach(
            interaction_id=chat.pk, supervisor_user_id=sam.pk, text=" Offer the 10% voucher "
        )

    assert (row.verb, row.actor_id, row.detail) == (
        "coach",
        sam.pk,
        {"text": "Offer the 10% voucher"},
    )
    assert refresh(chat).help_requested_at is None
    (told,) = published(routing_events, EventType.SUPERVISOR_TOLD_AGENT)
    assert (told.agent_id, told.event_row_id) == (agent.pk, row.pk)


def test_coaching_needs_words_and_an_agent_working_it(desk, agent, sam):
    with pytest.raises(RoutingError, match="Type the coaching note"):
        services.coach(interaction_id=desk.connected(agent).pk, supervisor_user_id=sam.pk, text=" ")
    with pytest.raises(RoutingError, match="no agent to coach"):
        services.coach(interaction_id=desk.queued().pk, supervisor_user_id=sam.pk, text="Hi")
    with pytest.raises(RoutingError, match="has ended"):
        services.coach(
            interaction_id=desk.disconnected(agent).pk, supervisor_user_id=sam.pk, text="Hi"
        )


def test_taking_over_makes_it_the_supervisors_connected_and_tells_the_agent_why(
    desk, agent, sam, routing_events, django_capture_on_commit_callbacks
):
    chat = desk.connected(agent)
    services.ask_for_help(interaction_id=chat.pk, agent=agent)
    with django_capture_on_commit_callbacks(execute=True):
        services.take_over(
            interaction_id=chat.pk, supervisor_user_id=sam.pk, reason="Escalated refund"
        )

    chat = refresh(chat)
    taker = Agent.objects.get(user=sam)
    assert (chat.state, chat.agent_id, chat.help_requested_at) == (S.CONNECTED, taker.pk, None)
    assert taker.status == AgentStatus.AWAY  # nothing else is offered to them for it
    row = InteractionEvent.objects.get(interaction=chat, verb="supervisor_take_over")
    assert row.detail == {"from_agent_id": agent.pk, "reason": "Escalated refund"}
    (told,) = published(routing_events, EventType.SUPERVISOR_TOLD_AGENT)
    assert (told.agent_id, told.event_row_id) == (agent.pk, row.pk)
    changed = published(routing_events, EventType.INTERACTION_CHANGED)
    assert changed[-1].agent_ids == {taker.pk, agent.pk}  # both desktops redraw it


def test_a_queued_interaction_may_be_taken_over_and_not_twice(desk, sam):
    waiting = desk.queued()
    services.take_over(interaction_id=waiting.pk, supervisor_user_id=sam.pk)
    assert refresh(waiting).state == S.CONNECTED
    with pytest.raises(RoutingError, match="already yours"):
        services.take_over(interaction_id=waiting.pk, supervisor_user_id=sam.pk)


def test_the_end_of_the_interaction_clears_a_request_for_help(desk, agent):
    chat = desk.connected(agent)
    services.ask_for_help(interaction_id=chat.pk, agent=agent)
    services.disconnect(interaction_id=chat.pk, agent=agent)
    assert refresh(chat).help_requested_at is None
