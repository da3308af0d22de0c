"""Fixtures for routing's own tests: the signal, watched like a browser would see it."""

import itertools
import logging
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from routing import services
from routing.events import EventType, RoutingEvent, outbound_ready, routing_event
from routing.models import Agent, Interaction, Workgroup
from routing.models import InteractionState as S
from tests.factories import customer_writes, make_workgroup, refresh


@pytest.fixture(autouse=True)
def _routing_on_its_own():
    """Routing is tested without the adapters listening to its signal.

    `connect.live` pushes every event to the channel layer (Redis in the
    PostgreSQL pass) and `facebook.sender` sends stored replies to the Graph
    API from its own threads; both have their own tests. Here they would
    change messages behind the tests' backs and slow the threads down.
    Tests watch the signal through `routing_events`.
    """
    signals = (routing_event, outbound_ready)
    adapters = [signal.receivers for signal in signals]
    for signal in signals:
        signal.receivers = []
        signal.sender_receivers_cache.clear()
    yield
    for signal, receivers in zip(signals, adapters, strict=True):
        signal.receivers = receivers
        signal.sender_receivers_cache.clear()


@pytest.fixture
def sender_commands():
    """The ids of the stored replies handed to the sender (`outbound_ready`), in order."""
    seen: list[int] = []

    def capture(sender, message_id: int, **kwargs) -> None:
        seen.append(message_id)

    outbound_ready.connect(capture, dispatch_uid="tests.routing.outbound", weak=False)
    yield seen
    outbound_ready.disconnect(dispatch_uid="tests.routing.outbound")


@dataclass(frozen=True)
class Concerns:
    """Matches an interaction's RoutingEvent by what decides its audience: its
    type and interaction, and the owners and workgroups before and after."""

    type: EventType
    interaction_id: int
    agent_ids: frozenset[int] = frozenset()
    workgroup_ids: frozenset[int] = frozenset()

    def __eq__(self, other) -> bool:
        if not isinstance(other, RoutingEvent):
            return NotImplemented
        return (self.type, self.interaction_id, self.agent_ids, self.workgroup_ids) == (
            other.type,
            other.interaction_id,
            other.agent_ids,
            other.workgroup_ids,
        )

    __hash__ = None


def changed(
    interaction: Interaction, *agents: Agent, workgroups=(), type_=EventType.INTERACTION_CHANGED
) -> Concerns:
    return Concerns(
        type=type_,
        interaction_id=interaction.pk,
        agent_ids=frozenset(a.pk for a in agents),
        workgroup_ids=frozenset(workgroups or {interaction.workgroup_id}),
    )


@pytest.fixture(autouse=True)
def _no_errors_logged(caplog):
    """After-commit work (ACD offers, announcements) logs its failures rather
    than failing the request that committed; in these tests there must be none."""
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == []


@pytest.fixture
def routing_events():
    """Every RoutingEvent announced during the test, in order.

    Like Zulip's `capture_send_event_calls`. A routing event is only sent
    after a commit, so this list also proves that nothing is announced for
    work that was rolled back.
    """
    seen: list[RoutingEvent] = []

    def capture(sender, event: RoutingEvent, **kwargs) -> None:
        seen.append(event)

    routing_event.connect(capture, dispatch_uid="tests.routing.capture", weak=False)
    yield seen
    routing_event.disconnect(dispatch_uid="tests.routing.capture")


@pytest.fixture
def postgresql_only():
    """Skip the test unless the suite runs on PostgreSQL (DATABASE_URL=postgres://…)."""
    if connection.vendor != "postgresql":
        pytest.skip(
            f"row locks across processes need PostgreSQL; this run uses {connection.vendor} "
            "(set DATABASE_URL=postgres://… to run it)"
        )


_psids = itertools.count(1)


class Desk:
    """Builds interactions in a given state through the real services.

    Works with and without `transaction=True`: a new interaction may already
    be offered by the time it is returned (after-commit ACD), and each step
    takes that into account.
    """

    def __init__(self, workgroup: Workgroup) -> None:
        self.workgroup = workgroup

    def queued(self, workgroup: Workgroup | None = None, **kwargs) -> Interaction:
        kwargs.setdefault("psid", f"7{next(_psids):015d}")
        received = customer_writes(workgroup or self.workgroup, **kwargs)
        return refresh(received.interaction)

    def offer(self, interaction: Interaction, agent: Agent) -> Interaction:
        """Let the ACD offer `interaction` to `agent`, who is made the longest idle."""
        Agent.objects.filter(pk=agent.pk).update(idle_since=timezone.now() - timedelta(days=365))
        services.offer_waiting(workgroup_id=interaction.workgroup_id)
        refresh(interaction)
        assert (interaction.state, interaction.agent_id) == (S.ALERTING, agent.pk)
        return interaction

    def alerting(self, agent: Agent, **kwargs) -> Interaction:
        interaction = self.queued(**kwargs)
        if interaction.state == S.ALERTING and interaction.agent_id == agent.pk:
            return interaction
        return self.offer(interaction, agent)

    def connected(self, agent: Agent, **kwargs) -> Interaction:
        interaction = self.queued(**kwargs)
        return services.pickup(interaction_id=interaction.pk, agent=agent)

    def held(self, agent: Agent, **kwargs) -> Interaction:
        interaction = self.connected(agent, **kwargs)
        return services.hold(interaction_id=interaction.pk, agent=agent)

    def disconnected(self, agent: Agent, **kwargs) -> Interaction:
        interaction = self.connected(agent, **kwargs)
        return services.disconnect(interaction_id=interaction.pk, agent=agent)


@pytest.fixture
def workgroup() -> Workgroup:
    return make_workgroup(capacity_per_agent=4, alert_timeout_seconds=20)


@pytest.fixture
def desk(workgroup) -> Desk:
    return Desk(workgroup)
