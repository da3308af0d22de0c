"""The kernel every verb is built on: refusals, the transition table, locks,
and the one step that saves a transition, writes its event row and
announces it after commit.

Lock order, everywhere: interaction, then agents in id order. On SQLite
`select_for_update` is a no-op, but every transaction is `IMMEDIATE`, so
writers are serialised.
"""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models.functions import Now
from django.utils import timezone

from routing import config_cache, rules, selectors
from routing.events import (
    EventType,
    RoutingEvent,
    interaction_event,
    publish_on_commit,
)
from routing.models import (
    LIVE_STATES,
    Agent,
    AgentStatus,
    DesktopConnection,
    Interaction,
    InteractionEvent,
    InteractionState,
    Workgroup,
)
from routing.rules import LOAD_STATES
from routing.services import automatic, clocks, recordings

logger = logging.getLogger(__name__)

S = InteractionState

# verb → (states it may start from, state it leads to; None keeps the state)
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "offer": (frozenset({S.QUEUED}), S.ALERTING),
    "alert_timeout": (frozenset({S.ALERTING}), S.QUEUED),
    "return_offer": (frozenset({S.ALERTING}), S.QUEUED),
    "pickup": (frozenset({S.ALERTING, S.HELD, S.QUEUED}), S.CONNECTED),
    "hold": (frozenset({S.CONNECTED}), S.HELD),
    "transfer_to_agent": (frozenset({S.CONNECTED, S.HELD}), S.ALERTING),
    "transfer_to_workgroup": (frozenset({S.CONNECTED, S.HELD}), S.QUEUED),
    "record": (frozenset({S.CONNECTED, S.HELD}), None),
    "stop_recording": (frozenset({S.CONNECTED, S.HELD}), None),
    "disconnect": (frozenset(LIVE_STATES), S.DISCONNECTED),
    # A supervisor, from the live board (routing/supervision.py): any live
    # interaction, whoever owns it.
    "supervisor_transfer_to_agent": (frozenset(LIVE_STATES), S.ALERTING),
    "supervisor_transfer_to_workgroup": (frozenset(LIVE_STATES), S.QUEUED),
    "supervisor_disconnect": (frozenset(LIVE_STATES), S.DISCONNECTED),
    # A supervisor takes a live interaction over: it becomes theirs, connected.
    "supervisor_take_over": (frozenset(LIVE_STATES), S.CONNECTED),
    # The timers: an agent who did not reply in time loses it to the queue.
    "inactivity_return": (frozenset({S.CONNECTED}), S.QUEUED),
}


class RoutingError(Exception):
    """A refused action; the message is shown to the person as it is."""


class TransitionRefused(RoutingError):
    pass


class NotYours(RoutingError):
    pass


class ConflictInBatch(Exception):
    """An insert lost a race inside a batch routed without savepoints: the batch's
    transaction is spoiled, and its caller routes it again, each body apart."""


_batch = threading.local()


@contextmanager
def inserts_without_savepoints() -> Iterator[None]:
    """The router's first try at a batch: an insert that may conflict takes no savepoint.

    A savepoint costs two round trips, and a new customer's message took three
    (customer, interaction, message). Inside, a conflict raises ConflictInBatch
    instead of being handled in place; the router then undoes the batch and
    routes it again apart, where each insert has its savepoint.
    """
    outer = getattr(_batch, "without_savepoints", False)
    _batch.without_savepoints = True
    try:
        yield
    finally:
        _batch.without_savepoints = outer


@contextmanager
def insert_may_conflict() -> Iterator[None]:
    """Around an INSERT that a concurrent writer may beat (a unique key): raises
    IntegrityError with the transaction still usable, for the caller to read the
    winner's row; inside `inserts_without_savepoints`, ConflictInBatch."""
    if getattr(_batch, "without_savepoints", False):
        try:
            yield
        except IntegrityError as exc:
            raise ConflictInBatch(str(exc)) from exc
    else:
        with transaction.atomic():
            yield


def workgroup_config(workgroup_id: int) -> Workgroup | None:
    """A workgroup's row: once per router batch (routing.config_cache), else read now."""
    return config_cache.cached(
        "workgroup", workgroup_id, lambda: selectors.workgroup_by_id(workgroup_id)
    )


def lock_interaction(interaction_id: int) -> Interaction:
    try:
        return Interaction.objects.select_for_update().get(pk=interaction_id)
    except Interaction.DoesNotExist:
        raise RoutingError("This interaction no longer exists.") from None


def lock_agent(agent_id: int) -> Agent:
    return Agent.objects.select_for_update().get(pk=agent_id)


def lock_agents(*agent_ids: int) -> dict[int, Agent]:
    """Lock several agents in id order, the one order every multi-agent lock uses."""
    return {
        agent.pk: agent
        for agent in Agent.objects.select_for_update().filter(pk__in=agent_ids).order_by("pk")
    }


STATE_WORDS: dict[str, str] = {
    S.QUEUED: "waiting in the queue",
    S.ALERTING: "being offered",
    S.CONNECTED: "connected",
    S.HELD: "on hold",
    S.DISCONNECTED: "disconnected",
}

# How a verb reads in a refusal shown to the agent ("Cannot pick up: …").
VERB_WORDS = {
    "pickup": "pick up",
    "transfer_to_agent": "transfer",
    "transfer_to_workgroup": "transfer",
    "return_offer": "return the offer",
    "supervisor_transfer_to_agent": "transfer",
    "supervisor_transfer_to_workgroup": "transfer",
    "supervisor_disconnect": "disconnect",
}


def check_transition(verb: str, interaction: Interaction) -> str:
    """The state `verb` leads to from the interaction's state, or TransitionRefused."""
    from_states, to_state = TRANSITIONS[verb]
    if interaction.state not in from_states:
        words = VERB_WORDS.get(verb, verb.replace("_", " "))
        raise TransitionRefused(
            f"Cannot {words}: the interaction is {STATE_WORDS[interaction.state]}."
        )
    return to_state or interaction.state


def save_transition(
    interaction: Interaction,
    verb: str,
    *,
    actor_user_id: int | None,
    previous_agent_id: int | None = None,
    previous_workgroup_id: int | None = None,
    detail: dict | None = None,
    fields: tuple[str, ...] = (),
    from_state: str,
) -> None:
    """Save the (locked, already changed) interaction, write its event, announce it."""
    now = timezone.now()
    update_fields = {"state", *fields}
    if interaction.state != from_state:
        interaction.state_changed_at = now
        update_fields.add("state_changed_at")
    # Whichever verb ends a hold (pickup, transfer, disconnect, a supervisor's),
    # the held time stops showing.
    if interaction.state != S.HELD and interaction.held_at is not None:
        interaction.held_at = None
        update_fields.add("held_at")
    # Whichever verb ends an interaction its agent worked, after-contact work
    # may follow (the workgroup says how long).
    if (
        interaction.state == S.DISCONNECTED
        and from_state in (S.CONNECTED, S.HELD)
        and interaction.agent_id
        and interaction.after_contact_until is None
        and (seconds := interaction.workgroup.after_contact_seconds)
    ):
        interaction.after_contact_until = now + timedelta(seconds=seconds)
        update_fields.add("after_contact_until")
    # Whichever verb takes the interaction off connected, or from its agent,
    # its inactivity clocks stop (a pickup starts the agent's again).
    if interaction.state != S.CONNECTED or verb == "supervisor_take_over":
        update_fields.update(clocks.stop_all(interaction))
    # Whichever verb ends the interaction, a request for help ends with it.
    if interaction.state == S.DISCONNECTED and interaction.help_requested_at is not None:
        interaction.help_requested_at = None
        update_fields.add("help_requested_at")
    # Whichever verb ends the interaction, its recording ends with it.
    recording_ends = interaction.state == S.DISCONNECTED and interaction.recording
    if recording_ends:
        interaction.recording = False
        update_fields.add("recording")
    interaction.save(update_fields=sorted(update_fields))
    InteractionEvent.objects.create(
        interaction=interaction,
        actor_id=actor_user_id,
        verb=verb,
        from_state=from_state,
        to_state=interaction.state,
        detail=detail or {},
    )
    if recording_ends:
        recordings.stop_event(interaction, actor_user_id=actor_user_id, reason=verb)
        recordings.close_recordings(interaction, at=timezone.now())
    # Whichever verb ends an interaction an agent worked, the feedback survey
    # may follow (the workgroup says whether).
    if interaction.state == S.DISCONNECTED and from_state in (S.CONNECTED, S.HELD):
        automatic.request_feedback(interaction, now=now)
    publish_on_commit(
        interaction_event(
            interaction,
            previous_state=from_state,
            previous_agent_id=previous_agent_id,
            previous_workgroup_id=previous_workgroup_id,
        )
    )


def after_contact_work():
    """Interactions whose agent is in after-contact work now, by the database's clock
    (so that a compiled read of it keeps no moment: routing.compiled_queries)."""
    return Interaction.objects.filter(
        after_contact_until__gt=Now(), after_contact_ended_at__isnull=True
    )


def in_after_contact_work(agent_id: int) -> bool:
    return after_contact_work().filter(agent_id=agent_id).exists()


def live_count(agent_id: int) -> int:
    return Interaction.objects.filter(agent_id=agent_id, state__in=LOAD_STATES).count()


def capacity_of(agent: Agent, workgroup: Workgroup) -> int:
    return agent.capacity if agent.capacity is not None else workgroup.capacity_per_agent


def cannot_take(agent: Agent, workgroup: Workgroup) -> str:
    """Why the (locked) agent may not be rung with one more interaction; "" when they may.

    Checked under the agent's lock: every offer and every desktop closing
    takes that lock too, so the answer holds until the commit.
    """
    if agent.status != AgentStatus.AVAILABLE:
        return f"{agent.display_name} is not available ({agent.get_status_display()})."
    if not DesktopConnection.objects.filter(agent_id=agent.pk).exists():
        return f"{agent.display_name} does not have the desktop open."
    if in_after_contact_work(agent.pk):
        return f"{agent.display_name} is in after-contact work."
    if live_count(agent.pk) >= capacity_of(agent, workgroup):
        return f"{agent.display_name} has no room for another interaction."
    return ""


def owns(interaction: Interaction, agent_id: int | None) -> bool:
    """The agent works the interaction: theirs, and picked up (not offered, not queued)."""
    return (
        agent_id is not None
        and interaction.agent_id == agent_id
        and interaction.state not in (S.QUEUED, S.ALERTING)
    )


def require_owner(interaction: Interaction, agent: Agent) -> None:
    if not owns(interaction, agent.pk):
        if interaction.state == S.ALERTING and interaction.agent_id == agent.pk:
            raise TransitionRefused("Pick the interaction up first.")
        raise NotYours("This interaction is not yours.")


# The toolbar's buttons and the verbs they call (the agent's own verbs only).
TOOLBAR_VERBS = {
    "pickup": "pickup",
    "hold": "hold",
    "transfer": "transfer_to_agent",
    "record": "record",
    "disconnect": "disconnect",
}


def allowed_actions(interaction: Interaction | None, agent_id: int | None) -> dict[str, bool]:
    """Which toolbar buttons apply for this agent, read off `TRANSITIONS` and the owner rule.

    `agent_id` None is a member who does not own it (looking at it in the queue).
    """
    if interaction is None:
        return dict.fromkeys(TOOLBAR_VERBS, False)
    state = interaction.state
    allowed = {button: state in TRANSITIONS[verb][0] for button, verb in TOOLBAR_VERBS.items()}
    owned = owns(interaction, agent_id)
    mine = agent_id is not None and interaction.agent_id == agent_id
    # Pickup: any member from the queue; otherwise only the agent it rings for or holds.
    allowed["pickup"] &= state == S.QUEUED or mine
    for button in ("hold", "transfer", "record", "disconnect"):
        allowed[button] &= owned
    # Record stays pressed, and cannot be released, where the workgroup records everything.
    allowed["record"] &= not rules.recording_required(interaction)
    return allowed


def mark_idle(agent_id: int) -> None:
    Agent.objects.filter(pk=agent_id).update(idle_since=timezone.now())


def set_status_locked(agent: Agent, status: str) -> None:
    if agent.status == status:
        return
    agent.status = status
    agent.status_changed_at = timezone.now()
    agent.save(update_fields=["status", "status_changed_at"])
    publish_on_commit(RoutingEvent(type=EventType.AGENT_CHANGED, agent_id=agent.pk))
