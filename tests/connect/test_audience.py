"""Who hears which event: exact recipients, nothing more."""

from connect import audience
from routing import events
from routing.events import RoutingEvent


def event(type_, **fields):
    return RoutingEvent(type=type_, **fields)


def test_interaction_change_reaches_old_and_new_owner_the_workgroup_and_the_board():
    change = event(
        events.INTERACTION_CHANGED,
        interaction_id=7,
        workgroup_ids=frozenset({3}),
        agent_ids=frozenset({1, 2}),
    )
    assert audience.groups_for(change) == {"agent.1", "agent.2", "workgroup.3", "board"}


def test_transfer_between_workgroups_reaches_both_queues():
    change = event(
        events.INTERACTION_CHANGED,
        interaction_id=7,
        workgroup_ids=frozenset({3, 4}),
        agent_ids=frozenset({1}),
    )
    assert audience.groups_for(change) == {"agent.1", "workgroup.3", "workgroup.4", "board"}


def test_message_on_an_owned_interaction_reaches_only_its_agent():
    message = event(
        events.MESSAGE_CHANGED,
        interaction_id=7,
        message_id=9,
        workgroup_ids=frozenset({3}),
        agent_ids=frozenset({1}),
    )
    assert audience.groups_for(message, interaction_state="connected") == {"agent.1"}
    assert audience.groups_for(message, interaction_state="held") == {"agent.1"}


def test_message_on_a_queued_interaction_reaches_the_workgroup():
    message = event(
        events.MESSAGE_CHANGED, interaction_id=7, message_id=9, workgroup_ids=frozenset({3})
    )
    assert audience.groups_for(message, interaction_state="queued") == {"workgroup.3"}


def test_agent_status_change_reaches_that_agent_and_the_board():
    change = event(events.AGENT_CHANGED, agent_id=5)
    assert audience.groups_for(change) == {"agent.5", "board"}


def test_a_new_interaction_nobody_was_offered_reaches_its_queue_and_the_board():
    change = event(events.INTERACTION_CHANGED, interaction_id=7, workgroup_ids=frozenset({3}))
    assert audience.groups_for(change) == {"workgroup.3", "board"}


def test_messages_never_reach_the_board():
    message = event(
        events.MESSAGE_CHANGED,
        interaction_id=7,
        message_id=9,
        workgroup_ids=frozenset({3}),
        agent_ids=frozenset({1}),
    )
    for state in ("queued", "alerting", "connected", "held", "disconnected"):
        assert "board" not in audience.groups_for(message, interaction_state=state)


def test_outbound_ready_reaches_no_browser():
    ready = event(events.OUTBOUND_READY, interaction_id=7, message_id=9, agent_ids=frozenset({1}))
    assert audience.groups_for(ready) == set()


def test_channel_message_names_the_consumer_handler():
    message = audience.channel_message(
        event(events.MESSAGE_CHANGED, interaction_id=7, message_id=9)
    )
    assert message == {
        "type": "routing.message_changed",
        "interaction_id": 7,
        "message_id": 9,
        "agent_id": None,
    }


def test_a_page_token_change_reaches_the_workgroups_using_the_page():
    assert audience.groups_for_page_change({3, 4}) == {"workgroup.3", "workgroup.4"}
    assert audience.groups_for_page_change(set()) == set()
