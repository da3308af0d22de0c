"""Who hears which event and what each is sent: exact recipients, nothing more.

`audience.plan` reads nothing: the event carries the interaction's state and
its owners and workgroups before and after, so every case is a pure table.
"""

from connect import audience
from connect.audience import AGENT_VIEW, BUBBLE, MY_INTERACTIONS, STATUS_PICKER, VIEWER_VIEW
from connect.audience import Fragment as F
from routing.events import EventType, RoutingEvent
from routing.models import InteractionState as S


def change(state, previous_state, *, agent=None, previous_agent=None, wg=3, previous_wg=None):
    return RoutingEvent(
        type=EventType.INTERACTION_CHANGED,
        interaction_id=7,
        state=state,
        previous_state=previous_state,
        agent_id=agent,
        previous_agent_id=previous_agent,
        workgroup_id=wg,
        previous_workgroup_id=previous_wg,
    )


def sent(plan) -> dict:
    """Each frame by its group, and (group, agents) for one addressed only to some agents."""
    return {
        (frame.group, tuple(sorted(frame.only_agent_ids)))
        if frame.only_agent_ids
        else frame.group: (
            frame.fragments,
            frame.skip_agent_ids,
        )
        for frame in plan.frames
    }


def owner(agent_id) -> dict:
    """An owner's list on every tab of theirs; their view of the interaction (their
    buttons) only on their tabs that show it."""
    return {
        f"agent.{agent_id}": ((F(MY_INTERACTIONS, agent_id=agent_id),), frozenset()),
        ("interaction.7", (agent_id,)): (
            (F(AGENT_VIEW, agent_id=agent_id, interaction_id=7),),
            frozenset(),
        ),
    }


VIEWERS = (F(VIEWER_VIEW, interaction_id=7),)


def test_a_new_interaction_reaches_only_its_queue_and_the_board():
    plan = audience.plan(change(S.QUEUED, S.QUEUED))
    assert sent(plan) == {"interaction.7": (VIEWERS, frozenset())}
    assert plan.queues == {3}
    assert plan.board


def test_an_offer_reaches_the_offered_agent_its_queue_and_the_viewers_not_the_members():
    plan = audience.plan(change(S.ALERTING, S.QUEUED, agent=1))
    assert sent(plan) == {
        **owner(1),
        # Members who had it open see it go; the offered agent got their own view.
        "interaction.7": (VIEWERS, frozenset({1})),
    }
    assert plan.queues == {3}
    assert "workgroup.3" not in sent(plan)  # the queue goes out coalesced, once per workgroup


def test_pickup_of_an_offer_moves_no_queue():
    plan = audience.plan(change(S.CONNECTED, S.ALERTING, agent=1, previous_agent=1))
    assert sent(plan) == {**owner(1), "interaction.7": (VIEWERS, frozenset({1}))}
    assert plan.queues == frozenset()
    assert plan.board


def test_a_transfer_reaches_both_agents():
    plan = audience.plan(change(S.ALERTING, S.CONNECTED, agent=2, previous_agent=1))
    assert sent(plan) == {**owner(1), **owner(2), "interaction.7": (VIEWERS, frozenset({1, 2}))}
    assert plan.queues == frozenset()


def test_a_transfer_to_a_workgroup_moves_both_queues():
    plan = audience.plan(change(S.QUEUED, S.CONNECTED, previous_agent=1, wg=4, previous_wg=3))
    assert owner(1).items() <= sent(plan).items()
    assert plan.queues == {3, 4}


def test_reading_reaches_only_the_readers_list():
    read = RoutingEvent(
        type=EventType.INTERACTION_READ, interaction_id=7, state=S.CONNECTED, agent_id=1
    )
    plan = audience.plan(read)
    assert sent(plan) == {"agent.1": ((F(MY_INTERACTIONS, agent_id=1),), frozenset())}
    assert (plan.queues, plan.board) == (frozenset(), False)


def message(state, *, agent=None, inbound=True):
    return RoutingEvent(
        type=EventType.MESSAGE_CHANGED,
        interaction_id=7,
        message_id=9,
        state=state,
        previous_state=state,
        agent_id=agent,
        workgroup_id=3,
        inbound=inbound,
    )


BUBBLE_9 = F(BUBBLE, interaction_id=7, message_id=9)


def test_a_customer_message_reaches_the_owner_with_their_list_and_the_viewers():
    plan = audience.plan(message(S.CONNECTED, agent=1))
    assert sent(plan) == {
        "agent.1": ((BUBBLE_9, F(MY_INTERACTIONS, agent_id=1)), frozenset()),
        "interaction.7": ((BUBBLE_9,), frozenset({1})),
    }
    assert (plan.queues, plan.board) == (frozenset(), False)
    # The bubble is one fragment, rendered once for both groups.
    assert plan.fragments.count(BUBBLE_9) == 1


def test_the_owners_own_reply_does_not_redraw_their_list():
    plan = audience.plan(message(S.CONNECTED, agent=1, inbound=False))
    assert sent(plan)["agent.1"] == ((BUBBLE_9,), frozenset())


def test_a_message_on_a_queued_interaction_reaches_only_those_who_have_it_open():
    plan = audience.plan(message(S.QUEUED))
    assert sent(plan) == {"interaction.7": ((BUBBLE_9,), frozenset())}
    assert (plan.queues, plan.board) == (frozenset(), False)


def test_agent_status_change_reaches_that_agent_and_the_board():
    plan = audience.plan(RoutingEvent(type=EventType.AGENT_CHANGED, agent_id=5))
    assert sent(plan) == {"agent.5": ((F(STATUS_PICKER, agent_id=5),), frozenset())}
    assert plan.board


def test_a_page_token_change_reaches_the_members_of_its_workgroups_once_each():
    plan = audience.plan_page_change({3, 4, None})
    assert sent(plan) == {
        "workgroup.3": ((F(audience.TOKEN_BANNER, workgroup_id=3),), frozenset()),
        "workgroup.4": ((F(audience.TOKEN_BANNER, workgroup_id=4),), frozenset()),
    }


# --- internal notes -----------------------------------------------------------------


def note_added(*, owner=1, mentioned=(), state=S.CONNECTED):
    return RoutingEvent(
        type=EventType.NOTE_ADDED,
        interaction_id=7,
        note_id=40,
        state=state,
        previous_state=state,
        agent_id=owner,
        workgroup_id=3,
        mentioned=frozenset(mentioned),
    )


def test_a_note_reaches_where_the_interaction_is_open_and_no_queue_or_board():
    plan = audience.plan(note_added())
    note = (F(audience.NOTE, interaction_id=7, note_id=40),)
    assert sent(plan) == {
        "agent.1": (note, frozenset()),
        "interaction.7": (note, frozenset({1})),
    }
    assert not plan.queues and not plan.board


def test_each_agent_named_in_a_note_is_told_on_their_own_desktop_the_owner_never():
    plan = audience.plan(note_added(mentioned=(5, 2, 1)))
    assert {group for group in sent(plan)} == {"agent.1", "interaction.7", "agent.2", "agent.5"}
    for agent_id in (2, 5):
        assert sent(plan)[f"agent.{agent_id}"] == (
            (F(audience.MENTION, agent_id=agent_id, interaction_id=7, note_id=40),),
            frozenset(),
        )


# --- help, coaching, taking over --------------------------------------------------------


def test_help_asked_or_answered_reaches_the_board_only():
    plan = audience.plan(
        RoutingEvent(type=EventType.HELP_CHANGED, interaction_id=7, agent_id=1, workgroup_id=3)
    )
    assert (plan.frames, plan.queues, plan.board) == ((), frozenset(), True)


def test_a_supervisors_words_reach_that_agent_only():
    plan = audience.plan(
        RoutingEvent(
            type=EventType.SUPERVISOR_TOLD_AGENT, interaction_id=7, agent_id=1, event_row_id=9
        )
    )
    notice = F(audience.SUPERVISOR_NOTICE, agent_id=1, interaction_id=7, event_row_id=9)
    assert sent(plan) == {"agent.1": ((notice,), frozenset())}
    assert not plan.board
