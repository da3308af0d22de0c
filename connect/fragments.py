"""Server-rendered pieces of the desktop, shared by the views and the websocket.

A view renders them into the page or an htmx response; the consumer renders
the same partials and pushes them as `hx-swap-oob` fragments.
"""

import time
import uuid
from dataclasses import dataclass
from typing import cast

from django.template.loader import render_to_string
from django.utils.functional import SimpleLazyObject

from connect import audience, messenger_fragments
from facebook import selectors as facebook_selectors
from routing import channel_selectors, selectors, service_levels, services, transcript_selectors
from routing.models import Agent, Interaction, InteractionState, Message, Note, Workgroup
from routing.rules import CHOOSABLE_STATUSES

TEMPLATE = "desktop/desktop.html"
S = InteractionState


def _render(partial: str, context: dict, request=None) -> str:
    return render_to_string(f"{TEMPLATE}#{partial}", context, request=request)


def toolbar_flags(interaction: Interaction | None, agent: Agent | None) -> dict[str, bool]:
    """Which queue-control buttons apply: exactly what the state machine allows.

    `agent` None is a member who does not own the interaction (the fragment
    sent to everyone looking at it in the queue).
    """
    return services.allowed_actions(interaction, agent.pk if agent is not None else None)


def read_stamp() -> int:
    """Now, in ms: taken just before a read, it says when the rows shown were read.

    A tab swaps a pushed part (an agent's list, an interaction's toolbar,
    heading and composer state) over the one it shows only when the new one
    was read later (static/connect/desktop.js): a push read before a request's
    answer (an offer's view rendered late, after the Pickup's answer) must not
    undo it. Taken after the read, a stamp could call newer what is older.
    """
    return int(time.time() * 1000)


def workspace_context(agent: Agent | None, interaction: Interaction | None, **extra) -> dict:
    """`read_at` in `extra`: when `interaction` was read (`read_stamp`); none, 0, for a
    part that any push may replace."""
    context: dict[str, object] = {
        "agent": agent,
        "selected": interaction,
        "flags": toolbar_flags(interaction, agent),
        "client_id": uuid.uuid4(),
    }
    if interaction is not None:
        window = channel_selectors.reply_window_for(interaction)
        # Lazy: pushes that render only the toolbar or the heading skip the queries.
        page = cast(
            transcript_selectors.TranscriptPage,
            SimpleLazyObject(lambda: transcript_selectors.transcript_page(interaction)),
        )
        context.update(
            transcript_page=page,
            messages=SimpleLazyObject(lambda: page.messages),
            history=SimpleLazyObject(lambda: selectors.customer_history(interaction, agent)),
            comments=SimpleLazyObject(lambda: channel_selectors.comments_shown(interaction)),
            window=window,
            can_reply=(
                agent is not None
                and interaction.state == S.CONNECTED
                and interaction.agent_id == agent.pk
                and window.open
            ),
            # Notes are for the owner while connected or on hold, whatever the window.
            can_note=(
                agent is not None
                and interaction.state in (S.CONNECTED, S.HELD)
                and interaction.agent_id == agent.pk
            ),
            page_name=facebook_selectors.page_name(interaction.customer.page_id),
            # Another app (a bot, the Page inbox) controls the conversation: "" when we do.
            thread_owner=facebook_selectors.thread_owner_name(interaction.customer),
            reads_on_open=(
                agent is not None
                and interaction.agent_id == agent.pk
                and interaction.state != S.QUEUED
            ),
        )
    context.update(extra)
    return context


def page_context(agent: Agent, selected: Interaction | None, *, read_at: int = 0) -> dict:
    context = workspace_context(agent, selected, read_at=read_at)
    context.update(
        statuses=CHOOSABLE_STATUSES,
        **_my_list_context(agent),
        **_queue_context(agent),
    )
    return context


# The oldest this many waiting interactions of a workgroup are listed, and
# how many more wait: a queue of hundreds is not browsed, and every member's
# tab is sent it a few times a second.
QUEUE_ROWS_SHOWN = 50


@dataclass(frozen=True)
class QueueGroup:
    workgroup: Workgroup
    rows: list[Interaction]
    waiting: int = 0

    @property
    def more(self) -> int:
        return max(self.waiting - len(self.rows), 0)


def _queue_context(agent: Agent) -> dict:
    queued = list(selectors.workgroup_queue(agent))
    groups = []
    for workgroup in selectors.agent_workgroups(agent):
        rows = [row for row in queued if row.workgroup_id == workgroup.pk]
        groups.append(QueueGroup(workgroup, rows[:QUEUE_ROWS_SHOWN], waiting=len(rows)))
    return {"queue_groups": groups, "queue_total": len(queued)}


def my_interactions(
    agent: Agent, *, oob: bool = False, rows: list[Interaction] | None = None, read_at: int = 0
) -> str:
    """The agent's list; from `rows` read at `read_at` when given (many lists at once)."""
    context = _my_list_context(agent, rows=rows, read_at=read_at)
    return _render("my_interactions", {"agent": agent, "oob": oob, **context})


def _my_list_context(
    agent: Agent, *, rows: list[Interaction] | None = None, read_at: int = 0
) -> dict:
    # When the rows were read (ms): a tab keeps the newest list it was sent,
    # whether a push or the answer to a request comes in first.
    if rows is None:
        read_at = read_stamp()
        rows = selectors.my_interactions(agent)
    interactions = service_levels.by_time_left(rows) if agent.list_by_time_left else rows
    return {"interactions": interactions, "list_read_at": read_at}


def _my_lists(agent_ids: set[int]) -> dict[int, str]:
    """Many agents' lists (a burst of offers): their rows read in one query, not one each."""
    agents = selectors.agents_by_id(agent_ids)
    read_at = read_stamp()
    rows: dict[int, list[Interaction]] = {agent_id: [] for agent_id in agents}
    for interaction in selectors.my_interactions_of(agents):
        rows[cast(int, interaction.agent_id)].append(interaction)
    return {
        agent_id: my_interactions(agent, oob=True, rows=rows[agent_id], read_at=read_at)
        for agent_id, agent in agents.items()
    }


def queue(agent: Agent, *, oob: bool = False) -> str:
    """The agent's whole queue panel: one part per workgroup they are in."""
    return _render("queue", {"agent": agent, "oob": oob, **_queue_context(agent)})


def membership_parts(agent_id: int) -> str:
    """What changes on an agent's desktop with their workgroups: the queue panel, the banners."""
    agent = selectors.agent_by_id(agent_id)
    if agent is None:
        return ""
    return queue(agent, oob=True) + messenger_fragments.token_banner(agent, oob=True)


def workgroup_queue(workgroup_id: int) -> str:
    """One workgroup's part of the queue panel, the same for every member (pushed)."""
    workgroup = selectors.workgroup_by_id(workgroup_id)
    if workgroup is None:
        return ""
    queued = selectors.queued_in(workgroup_id, limit=QUEUE_ROWS_SHOWN)
    group = QueueGroup(workgroup, queued.rows, waiting=queued.waiting)
    return _render("workgroup_queue", {"group": group, "group_oob": True})


def workspace(agent: Agent, interaction: Interaction | None, request=None, **extra) -> str:
    return _render("workspace", workspace_context(agent, interaction, **extra), request)


def interaction_parts(
    agent: Agent | None, interaction: Interaction, request=None, *, read_at: int
) -> str:
    """Toolbar, heading and composer state of an interaction, for tabs showing it.

    `agent` None: as a member who does not own it sees it (from the queue).
    `read_at`: when `interaction` was read (`read_stamp`).
    """
    context = workspace_context(agent, interaction, oob=True, read_at=read_at)
    return "".join(
        _render(name, context, request) for name in ("toolbar", "head", "composer_status")
    )


def composer(agent: Agent, interaction: Interaction, request=None, **extra) -> str:
    return _render("composer", workspace_context(agent, interaction, **extra), request)


def transcript(agent: Agent, interaction: Interaction, *, oob: bool = False) -> str:
    return _render("transcript", workspace_context(agent, interaction, oob=oob))


def gone(interaction_id: int, reason: str, *, oob: bool = True) -> str:
    """Replaces an open interaction the agent may no longer see.

    Out of band in pushes; in place (`oob=False`) as the answer to a request
    that targets the workspace, or htmx would swap the answer's empty rest over it.
    """
    return _render("gone", {"interaction_id": interaction_id, "reason": reason, "oob": oob})


def refused(reason: str) -> str:
    """Why an action was refused, in words, where the action's answer goes."""
    return _render("refused", {"reason": reason})


def bubble(message: Message, *, oob: bool = True) -> str:
    return _render("bubble_upsert" if oob else "bubble", {"message": message})


def note(found: Note, *, oob: bool = True) -> str:
    """An internal note in the transcript (pushed out of band, or in place)."""
    return _render("note_upsert" if oob else "note", {"note": found})


def ask_for_help(interaction: Interaction) -> str:
    """The owner's Ask for help button, or that help was asked."""
    return _render("ask_for_help", {"selected": interaction})


def mention(found: Note) -> str:
    """Tells an agent a colleague named them in a note (pushed to that agent only)."""
    return _render("mention", {"note": found})


def settled_bubble(agent: Agent, message_id: int) -> str:
    """The bubble of a message Messenger confirmed meanwhile, for a stale Retry; else ""."""
    message = transcript_selectors.settled_message(message_id)
    if message is None or selectors.visible_interaction(agent, message.interaction_id) is None:
        return ""
    return bubble(message, oob=False)


def status_picker(agent: Agent, *, oob: bool = False) -> str:
    return _render(
        "status_picker",
        {
            "agent": agent,
            "statuses": CHOOSABLE_STATUSES,
            "oob": oob,
        },
    )


@dataclass
class _SharedRows:
    """The interactions and agents a batch of fragments names, each read once: an
    event on an interaction renders it for its owner and for its viewers."""

    interactions: dict[int, Interaction | None]
    agents: dict[int, Agent | None]
    # When each interaction was read (`read_stamp`).
    read_at: dict[int, int]

    @classmethod
    def of(cls, wanted: list[audience.Fragment]) -> "_SharedRows":
        interaction_ids = {
            f.interaction_id
            for f in wanted
            if f.kind in (audience.VIEWER_VIEW, audience.AGENT_VIEW) and f.interaction_id
        }
        agent_ids = {f.agent_id for f in wanted if f.kind in _OF_AGENT and f.agent_id}
        read_at = read_stamp()
        interactions = selectors.interactions_by_id(interaction_ids) if interaction_ids else {}
        agents = selectors.agents_by_id(agent_ids) if agent_ids else {}
        return cls(
            {pk: interactions.get(pk) for pk in interaction_ids},
            {pk: agents.get(pk) for pk in agent_ids},
            dict.fromkeys(interaction_ids, read_at),
        )

    def interaction(self, interaction_id: int) -> Interaction | None:
        if interaction_id not in self.interactions:
            self.read_at[interaction_id] = read_stamp()
            self.interactions[interaction_id] = selectors.interaction_by_id(interaction_id)
        return self.interactions[interaction_id]

    def agent(self, agent_id: int) -> Agent | None:
        if agent_id not in self.agents:
            self.agents[agent_id] = selectors.agent_by_id(agent_id)
        return self.agents[agent_id]


_OF_AGENT = (audience.MY_INTERACTIONS, audience.STATUS_PICKER, audience.AGENT_VIEW)


def render_all(wanted: list[audience.Fragment]) -> dict[audience.Fragment, str]:
    """Each fragment of a batch of live pushes once, from the rows as they are now.

    The agents' lists, the costliest and most frequent (one per offer), are
    read together: one query however many agents a burst of offers reached.
    The interactions and agents the other fragments name are read once each.
    """
    html: dict[audience.Fragment, str] = {}
    lists = {
        fragment
        for fragment in wanted
        if fragment.kind == audience.MY_INTERACTIONS and fragment.agent_id is not None
    }
    if len(lists) > 1:
        drawn = _my_lists({cast(int, fragment.agent_id) for fragment in lists})
        html.update({fragment: drawn.get(cast(int, fragment.agent_id), "") for fragment in lists})
    rows = _SharedRows.of([fragment for fragment in wanted if fragment not in html])
    for fragment in wanted:
        if fragment not in html:
            html[fragment] = render(fragment, rows)
    return html


def render(fragment: audience.Fragment, rows: _SharedRows | None = None) -> str:
    """One fragment of a live push, from the rows as they are now ("" when gone)."""
    rows = rows if rows is not None else _SharedRows({}, {}, {})
    kind = fragment.kind
    # A fragment without the ids its kind names has nothing to show ("").
    interaction_id = fragment.interaction_id
    if kind == audience.BUBBLE:
        if interaction_id is None or fragment.message_id is None:
            return ""
        message = transcript_selectors.message_in(interaction_id, fragment.message_id)
        return bubble(message) if message is not None else ""
    if kind in (audience.NOTE, audience.MENTION):
        if interaction_id is None or fragment.note_id is None:
            return ""
        found = transcript_selectors.note_in(interaction_id, fragment.note_id)
        if found is None:
            return ""
        return note(found) if kind == audience.NOTE else mention(found)
    if kind == audience.SUPERVISOR_NOTICE:
        if interaction_id is None or fragment.event_row_id is None:
            return ""
        row = transcript_selectors.supervisor_notice(interaction_id, fragment.event_row_id)
        return _render("supervisor_notice", {"row": row}) if row is not None else ""
    if kind == audience.VIEWER_VIEW:
        if interaction_id is None:
            return ""
        interaction = rows.interaction(interaction_id)
        # Only a queued interaction is open to members who do not own it.
        if interaction is not None and interaction.state == S.QUEUED:
            return interaction_parts(None, interaction, read_at=rows.read_at[interaction_id])
        return gone(interaction_id, _why_gone(interaction))
    if kind == audience.TOKEN_BANNER:
        if fragment.workgroup_id is None:
            return ""
        return messenger_fragments.workgroup_token_banner(fragment.workgroup_id)
    if fragment.agent_id is None:
        return ""
    agent = rows.agent(fragment.agent_id)
    if agent is None:
        return ""
    if kind == audience.MY_INTERACTIONS:
        return my_interactions(agent, oob=True)
    if kind == audience.STATUS_PICKER:
        return status_picker(agent, oob=True)
    if kind == audience.AGENT_VIEW:
        if interaction_id is None:
            return ""
        interaction = rows.interaction(interaction_id)
        if interaction is None or not selectors.may_see(agent, interaction):
            return gone(interaction_id, _why_gone(interaction))
        return interaction_parts(agent, interaction, read_at=rows.read_at[interaction_id])
    raise ValueError(f"unknown fragment {kind!r}")


def gone_reason(interaction_id: int) -> str:
    return _why_gone(selectors.interaction_by_id(interaction_id))


def _why_gone(interaction: Interaction | None) -> str:
    """Why an interaction is no longer open to an agent, from its row (`interaction_by_id`)."""
    if interaction is None:
        return "This interaction no longer exists."
    if interaction.state == S.ALERTING and interaction.agent:
        return f"Offered to {interaction.agent.display_name}."
    if interaction.state == S.QUEUED and interaction.lapsed_agent is not None:
        return (
            f"Back in the {interaction.workgroup.name} queue: "
            f"{interaction.lapsed_agent.display_name} did not reply in time."
        )
    if interaction.state == S.QUEUED:
        return f"Waiting in the {interaction.workgroup.name} queue."
    if interaction.agent:
        return f"Now with {interaction.agent.display_name}."
    return "This interaction is no longer yours."
