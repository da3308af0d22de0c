"""Who receives which live event: the one place that decides it.

Groups: `agent.<id>` (every desktop tab of one agent), `workgroup.<id>`
(every member's tab, for the workgroup queue view) and `board` (every
supervisor's live board). Pure functions over the event and the
interaction's current state, so they are tested directly.
"""

from routing import events
from routing.events import RoutingEvent
from routing.models import InteractionState


def agent_group(agent_id: int) -> str:
    return f"agent.{agent_id}"


def workgroup_group(workgroup_id: int) -> str:
    return f"workgroup.{workgroup_id}"


# The supervisors' live board: queue figures and agents' states and loads.
BOARD_GROUP = "board"


def groups_for(event: RoutingEvent, *, interaction_state: str | None = None) -> set[str]:
    """The channel-layer groups that must hear `event`.

    `interaction_state` is the interaction's state now (after the change),
    when the event concerns an interaction.
    """
    agents = {agent_group(a) for a in event.agent_ids}
    workgroups = {workgroup_group(w) for w in event.workgroup_ids}
    if event.type == events.INTERACTION_CHANGED:
        # Owners old and new update their lists; every member's queue view
        # changes whenever something enters or leaves the queue, which any
        # transition may do, so workgroups hear every interaction change.
        # Every change moves a board figure (a count, a load).
        return agents | workgroups | {BOARD_GROUP}
    if event.type == events.MESSAGE_CHANGED:
        # A transcript is open only to its owner, or to members while it
        # waits in their queue.
        if interaction_state == InteractionState.QUEUED:
            return agents | workgroups
        return agents
    if event.type == events.AGENT_CHANGED and event.agent_id:
        # The board shows every agent's status; messages move no board figure.
        return {agent_group(event.agent_id), BOARD_GROUP}
    return set()


def groups_for_page_change(workgroup_ids) -> set[str]:
    """A Facebook Page's token was refused or replaced: the agents of the
    workgroups that use the Page see (or lose) the banner."""
    return {workgroup_group(w) for w in workgroup_ids if w}


def channel_message(event: RoutingEvent) -> dict:
    """The channel-layer message for `event`; its type names the consumer handler."""
    return {
        "type": "routing." + event.type.replace(".", "_"),
        "interaction_id": event.interaction_id,
        "message_id": event.message_id,
        "agent_id": event.agent_id,
    }
