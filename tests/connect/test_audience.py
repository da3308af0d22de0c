"""Who hears which event: exact recipients, nothing more."""

from connect import audience
from routing import events
from routing.events import RoutingEvent


def event(type_, **fields):
    return RoutingEvent(type=type_, **fields)


def test_interaction_change_reaches_old_and_new_owner_and_the_workgroup():
    change = event(
        events.INTERACTION_CHANGED,
        interaction_id=7,
        workgroup_ids=frozenset({3}),
        agent_ids=frozenset({1, 2}),
    )
    assert audience.groups_for(change) == {"agent.1", "agent.2", "workgroup.3"}


def test_transfer_between_workgroups_reaches_both_queues():
    change = event(
        events.INTERACTION_CHANGED,
        interaction_id=7,
        workgroup_ids=frozenset({3, 4}),
        agent_ids=frozenset({1}),
    )
    assert audience.groups_for(change) == {"agent.1", "workgroup.3", "workgroup.4"}


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


def test_agent_status_change_reaches_only_that_agent():
    change = event(events.AGENT_CHANGED, agent_id=5)
    assert audience.groups_for(change) == {"agent.5"}


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
