"""Announcing changes: sent only after the change is committed, never on rollback.

Two signals leave routing, and routing imports none of their receivers:
- `routing_event`, the live-event contract: a `RoutingEvent` says what changed
  and carries everything its audience needs (the state after the change, the
  owners and workgroups before and after), so that `connect.audience` decides
  who hears it without reading the database again;
- `outbound_ready`, a command: a stored reply waits for `facebook.sender`.
"""

import logging
from dataclasses import dataclass
from enum import StrEnum

from django.db import transaction
from django.dispatch import Signal

from routing.models import MessageDirection

logger = logging.getLogger(__name__)


class EventType(StrEnum):
    # An interaction's state, owner, workgroup or shown fields changed.
    INTERACTION_CHANGED = "interaction.changed"
    # The owner read the customer's messages: only their unread marks move.
    INTERACTION_READ = "interaction.read"
    # A message was stored or its status, text or extras changed.
    MESSAGE_CHANGED = "message.changed"
    # An agent's status changed.
    AGENT_CHANGED = "agent.changed"
    # An agent joined or left workgroups (`member_of`: the ones they are in now).
    MEMBERSHIP_CHANGED = "agent.membership_changed"
    # An internal note was written on an interaction (`mentioned`: agents named in it).
    NOTE_ADDED = "note.added"
    # An agent asked for help, or a supervisor answered: the live board's "Needs help".
    HELP_CHANGED = "interaction.help_changed"
    # A supervisor coached the agent, or took the interaction from them (`event_row_id`:
    # the InteractionEvent that says so, shown to that agent only).
    SUPERVISOR_TOLD_AGENT = "supervisor.told_agent"


routing_event = Signal()
outbound_ready = Signal()


@dataclass(frozen=True)
class RoutingEvent:
    type: EventType
    interaction_id: int | None = None
    message_id: int | None = None
    # The interaction after the change, and before it (None: not an interaction event).
    state: str | None = None
    previous_state: str | None = None
    # Its owner after and before (for AGENT_CHANGED: the agent whose status changed).
    agent_id: int | None = None
    previous_agent_id: int | None = None
    workgroup_id: int | None = None
    previous_workgroup_id: int | None = None
    # For MESSAGE_CHANGED: a message from the customer (it moves unread marks).
    inbound: bool = False
    # For MEMBERSHIP_CHANGED: the workgroups the agent is in after the change.
    member_of: frozenset[int] = frozenset()
    # For NOTE_ADDED: the note, and the agents it names (its author never among them).
    note_id: int | None = None
    mentioned: frozenset[int] = frozenset()
    # For SUPERVISOR_TOLD_AGENT: the event row whose words the agent is shown.
    event_row_id: int | None = None

    @property
    def agent_ids(self) -> frozenset[int]:
        """The owners before and after."""
        return frozenset(a for a in (self.agent_id, self.previous_agent_id) if a)

    @property
    def workgroup_ids(self) -> frozenset[int]:
        return frozenset(w for w in (self.workgroup_id, self.previous_workgroup_id) if w)


def interaction_event(
    interaction,
    *,
    previous_state: str | None = None,
    previous_agent_id: int | None = None,
    previous_workgroup_id: int | None = None,
    type_: EventType = EventType.INTERACTION_CHANGED,
) -> RoutingEvent:
    """The event for an interaction as it is now; what it was defaults to the same."""
    return RoutingEvent(
        type=type_,
        interaction_id=interaction.pk,
        state=interaction.state,
        previous_state=previous_state or interaction.state,
        agent_id=interaction.agent_id,
        previous_agent_id=previous_agent_id,
        workgroup_id=interaction.workgroup_id,
        previous_workgroup_id=previous_workgroup_id,
    )


def message_event(message, interaction) -> RoutingEvent:
    return RoutingEvent(
        type=EventType.MESSAGE_CHANGED,
        interaction_id=interaction.pk,
        message_id=message.pk,
        state=interaction.state,
        previous_state=interaction.state,
        agent_id=interaction.agent_id,
        workgroup_id=interaction.workgroup_id,
        inbound=message.direction == MessageDirection.INBOUND,
    )


def note_event(note, interaction, *, mentioned: frozenset[int]) -> RoutingEvent:
    return RoutingEvent(
        type=EventType.NOTE_ADDED,
        interaction_id=interaction.pk,
        note_id=note.pk,
        state=interaction.state,
        previous_state=interaction.state,
        agent_id=interaction.agent_id,
        workgroup_id=interaction.workgroup_id,
        mentioned=mentioned,
    )


def publish_on_commit(event: RoutingEvent) -> None:
    """Announce `event` once the surrounding transaction commits (never on rollback)."""
    transaction.on_commit(lambda: _send(routing_event, event=event))


def outbound_ready_on_commit(message_id: int) -> None:
    """Hand a stored reply to the sender once it is committed."""
    transaction.on_commit(lambda: _send(outbound_ready, message_id=message_id))


def _send(signal: Signal, **kwargs) -> None:
    for receiver, result in signal.send_robust(sender=RoutingEvent, **kwargs):
        if isinstance(result, Exception):
            logger.error(
                "routing signal receiver %r failed for %s",
                receiver,
                kwargs,
                exc_info=(type(result), result, result.__traceback__),
            )
