"""Announcing changes: one signal, sent only after the change is committed.

Receivers live in the adapters (`connect.live` pushes to browsers,
`facebook.sender` sends stored replies), so routing imports neither.
"""

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

INTERACTION_CHANGED = "interaction.changed"
MESSAGE_CHANGED = "message.changed"
AGENT_CHANGED = "agent.changed"
# A stored outgoing message waits for the sender.
OUTBOUND_READY = "message.outbound_ready"

routing_event = Signal()


@dataclass(frozen=True)
class RoutingEvent:
    type: str
    interaction_id: int | None = None
    message_id: int | None = None
    agent_id: int | None = None
    # Everyone the change concerns: the workgroups whose queue it touched and
    # the agents it was offered to or taken from (before and after).
    workgroup_ids: frozenset[int] = field(default_factory=frozenset)
    agent_ids: frozenset[int] = field(default_factory=frozenset)


def publish_on_commit(event: RoutingEvent) -> None:
    """Announce `event` once the surrounding transaction commits (never on rollback)."""
    transaction.on_commit(lambda: _send(event))


def _send(event: RoutingEvent) -> None:
    for receiver, result in routing_event.send_robust(sender=RoutingEvent, event=event):
        if isinstance(result, Exception):
            logger.error(
                "routing event receiver %r failed for %s",
                receiver,
                event.type,
                exc_info=(type(result), result, result.__traceback__),
            )
