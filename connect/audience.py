"""Who receives which live event, and what each of them is sent: the one place that decides it.

Groups:
- `agent.<id>`: every desktop tab of one agent (their list, their view of
  the interactions they own or just lost, their status);
- `interaction.<id>`: the tabs that show that interaction, whoever owns it: a
  member looking at a queued one gets the viewers' fragment, the same for all
  of them; an owner's tabs get the owner's view (their buttons), addressed to
  that agent only. A tab that does not show the interaction is sent nothing
  of it, and nothing is rendered for a group nobody is in;
- `workgroup.<id>`: every member's tab, for the workgroup's queue, which is
  rendered once per workgroup and coalesced to a few frames a second;
- `user.<id>`: every socket of one login, to end them with the session;
- `board`: the supervisors' live boards (they re-render themselves, coalesced).

`plan` is a pure function of the event: it reads nothing, so it is tested
directly, and the cost of an event follows the people it really changes.
"""

from dataclasses import dataclass, field

from routing.events import EventType, RoutingEvent
from routing.models import InteractionState

S = InteractionState

BOARD_GROUP = "board"


def agent_group(agent_id: int) -> str:
    return f"agent.{agent_id}"


def workgroup_group(workgroup_id: int) -> str:
    return f"workgroup.{workgroup_id}"


def interaction_group(interaction_id: int) -> str:
    return f"interaction.{interaction_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


# Fragments, each rendered once per event whoever receives it; the agent id
# is set only on the ones that are drawn for one agent.
MY_INTERACTIONS = "my_interactions"  # (agent) their list
AGENT_VIEW = "agent_view"  # (agent, interaction) its toolbar, heading, composer for them; or gone
VIEWER_VIEW = "viewer_view"  # (interaction) the same for a member who does not own it
BUBBLE = "bubble"  # (message) one message bubble
STATUS_PICKER = "status_picker"  # (agent)
TOKEN_BANNER = "token_banner"  # (workgroup) its Pages whose token Meta refused
NOTE = "note"  # (interaction, note) one internal note, in the transcript
MENTION = "mention"  # (agent, interaction, note) "you were named in a note", for that agent
# (agent, interaction, event row) a supervisor's coaching, or "taken over", for that agent
SUPERVISOR_NOTICE = "supervisor_notice"


@dataclass(frozen=True)
class Fragment:
    kind: str
    agent_id: int | None = None
    interaction_id: int | None = None
    message_id: int | None = None
    workgroup_id: int | None = None
    note_id: int | None = None
    event_row_id: int | None = None


@dataclass(frozen=True)
class Frame:
    """Fragments sent together to one group; tabs of `skip_agent_ids` ignore it
    (they were sent their own view of the same thing), and when `only_agent_ids`
    is set, only those agents' tabs take it (an owner's view, in the group of
    the tabs that show the interaction)."""

    group: str
    fragments: tuple[Fragment, ...]
    skip_agent_ids: frozenset[int] = frozenset()
    only_agent_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Plan:
    frames: tuple[Frame, ...] = ()
    # Workgroups whose queue changed: rendered once each, coalesced.
    queues: frozenset[int] = frozenset()
    board: bool = False
    # (agent, workgroups now): their sockets follow, and get their queue panel anew.
    membership: tuple[int, frozenset[int]] | None = None
    fragments: tuple[Fragment, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        seen: dict[Fragment, None] = {}
        for frame in self.frames:
            seen.update(dict.fromkeys(frame.fragments))
        object.__setattr__(self, "fragments", tuple(seen))


def plan(event: RoutingEvent) -> Plan:
    """What `event` sends to whom."""
    if event.type == EventType.INTERACTION_CHANGED:
        return _interaction_changed(event)
    if event.type == EventType.INTERACTION_READ and event.agent_id:
        # Only the reader's unread marks move: no board, no queue, no other tab.
        return Plan(frames=(Frame(agent_group(event.agent_id), (_my_list(event.agent_id),)),))
    if event.type == EventType.MESSAGE_CHANGED:
        return _message_changed(event)
    if event.type == EventType.NOTE_ADDED:
        return _note_added(event)
    if event.type == EventType.HELP_CHANGED:
        # Only the live board shows who asked for help (monitoring stays silent).
        return Plan(board=True)
    if event.type == EventType.SUPERVISOR_TOLD_AGENT and event.agent_id:
        notice = Fragment(
            SUPERVISOR_NOTICE,
            agent_id=event.agent_id,
            interaction_id=event.interaction_id,
            event_row_id=event.event_row_id,
        )
        return Plan(frames=(Frame(agent_group(event.agent_id), (notice,)),))
    if event.type == EventType.MEMBERSHIP_CHANGED and event.agent_id:
        return Plan(membership=(event.agent_id, event.member_of), board=True)
    if event.type == EventType.AGENT_CHANGED and event.agent_id:
        picker = Fragment(STATUS_PICKER, agent_id=event.agent_id)
        return Plan(frames=(Frame(agent_group(event.agent_id), (picker,)),), board=True)
    return Plan()


def _my_list(agent_id: int) -> Fragment:
    return Fragment(MY_INTERACTIONS, agent_id=agent_id)


def _interaction_changed(event: RoutingEvent) -> Plan:
    interaction_id = event.interaction_id
    if interaction_id is None:
        return Plan()
    owners = event.agent_ids
    frames = []
    for agent_id in sorted(owners):
        # Owners before and after: their list, on every tab of theirs; their
        # view of the interaction (the toolbar as it is now, or "no longer
        # yours") only on their tabs that show it.
        frames.append(Frame(agent_group(agent_id), (_my_list(agent_id),)))
        frames.append(
            Frame(
                interaction_group(interaction_id),
                (Fragment(AGENT_VIEW, agent_id=agent_id, interaction_id=interaction_id),),
                only_agent_ids=frozenset({agent_id}),
            )
        )
    # Anyone else who has it open: a member looking at it in the queue.
    frames.append(
        Frame(
            interaction_group(interaction_id),
            (Fragment(VIEWER_VIEW, interaction_id=interaction_id),),
            skip_agent_ids=owners,
        )
    )
    queue_moved = S.QUEUED in (event.state, event.previous_state) or (
        event.previous_workgroup_id not in (None, event.workgroup_id)
    )
    return Plan(
        frames=tuple(frames),
        queues=event.workgroup_ids if queue_moved else frozenset(),
        # Every interaction change moves a board figure (a count, a load).
        board=True,
    )


def _message_changed(event: RoutingEvent) -> Plan:
    if event.interaction_id is None:
        return Plan()
    bubble = Fragment(BUBBLE, interaction_id=event.interaction_id, message_id=event.message_id)
    frames = []
    owner = event.agent_id if event.state != S.QUEUED else None
    if owner:
        # A customer's message moves the owner's unread mark; the owner's own
        # replies and their ticks do not touch the list.
        owned = (bubble, _my_list(owner)) if event.inbound else (bubble,)
        frames.append(Frame(agent_group(owner), owned))
    frames.append(
        Frame(
            interaction_group(event.interaction_id),
            (bubble,),
            skip_agent_ids=frozenset({owner} if owner else ()),
        )
    )
    # No board figure and no queue row moves with a message.
    return Plan(frames=tuple(frames))


def _note_added(event: RoutingEvent) -> Plan:
    """A note shows where the interaction is open (like a bubble, but never to the
    customer); each agent it names is told on their own desktop."""
    if event.interaction_id is None or event.note_id is None:
        return Plan()
    note = Fragment(NOTE, interaction_id=event.interaction_id, note_id=event.note_id)
    owner = event.agent_id
    frames = [Frame(agent_group(owner), (note,))] if owner else []
    frames.append(
        Frame(
            interaction_group(event.interaction_id),
            (note,),
            skip_agent_ids=frozenset({owner} if owner else ()),
        )
    )
    frames.extend(
        Frame(
            agent_group(agent_id),
            (
                Fragment(
                    MENTION,
                    agent_id=agent_id,
                    interaction_id=event.interaction_id,
                    note_id=event.note_id,
                ),
            ),
        )
        for agent_id in sorted(event.mentioned - event.agent_ids)
    )
    return Plan(frames=tuple(frames))


def plan_page_change(workgroup_ids) -> Plan:
    """A Facebook Page's token was refused or replaced: the members of the
    workgroups that use the Page see (or lose) its banner."""
    return Plan(
        frames=tuple(
            Frame(workgroup_group(w), (Fragment(TOKEN_BANNER, workgroup_id=w),))
            for w in sorted(w for w in workgroup_ids if w)
        )
    )
