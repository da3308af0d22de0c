"""Server-rendered pieces of the desktop, shared by the views and the websocket.

A view renders them into the page or an htmx response; the consumer renders
the same partials and pushes them as `hx-swap-oob` fragments.
"""

import uuid

from django.template.loader import render_to_string
from django.utils.functional import SimpleLazyObject

from connect import messenger_fragments
from routing import selectors
from routing.messaging import reply_window
from routing.models import Agent, AgentStatus, Interaction, InteractionState, Message

TEMPLATE = "desktop/desktop.html"
S = InteractionState


def _render(partial: str, context: dict, request=None) -> str:
    return render_to_string(f"{TEMPLATE}#{partial}", context, request=request)


def toolbar_flags(interaction: Interaction | None, agent: Agent) -> dict[str, bool]:
    """Which queue-control buttons apply: exactly what the state machine allows."""
    if interaction is None:
        return dict.fromkeys(("pickup", "hold", "transfer", "record", "disconnect"), False)
    mine = interaction.agent_id == agent.pk
    state = interaction.state
    return {
        "pickup": (state == S.QUEUED) or (mine and state in (S.ALERTING, S.HELD)),
        "hold": mine and state == S.CONNECTED,
        "transfer": mine and state in (S.CONNECTED, S.HELD),
        "record": mine and state in (S.CONNECTED, S.HELD),
        # An offer is answered or left to ring out, not disconnected: the
        # disconnect service refuses it ("Pick the interaction up first").
        "disconnect": mine and state in (S.CONNECTED, S.HELD),
    }


def workspace_context(agent: Agent, interaction: Interaction | None, **extra) -> dict:
    context = {
        "agent": agent,
        "selected": interaction,
        "flags": toolbar_flags(interaction, agent),
        "client_id": uuid.uuid4(),
    }
    if interaction is not None:
        window = reply_window(interaction.customer)
        # Lazy: pushes that render only the toolbar or the heading skip the queries.
        page = SimpleLazyObject(lambda: selectors.transcript_page(interaction))
        context.update(
            transcript_page=page,
            messages=SimpleLazyObject(lambda: page.messages),
            history=SimpleLazyObject(lambda: selectors.customer_history(interaction)),
            window=window,
            can_reply=(
                interaction.state == S.CONNECTED
                and interaction.agent_id == agent.pk
                and window.open
            ),
            page_name=_page_name(interaction.customer.page_id),
        )
    context.update(extra)
    return context


def _page_name(page_id: str) -> str:
    from facebook.models import FacebookPage

    return (
        FacebookPage.objects.filter(page_id=page_id).values_list("name", flat=True).first()
        or page_id
    )


def page_context(agent: Agent, selected: Interaction | None) -> dict:
    context = workspace_context(agent, selected)
    context.update(
        interactions=list(selectors.my_interactions(agent)),
        queue=list(selectors.workgroup_queue(agent)),
        statuses=[s for s in AgentStatus if s != AgentStatus.NOT_ANSWERING],
    )
    return context


def my_interactions(agent: Agent, *, oob: bool = False) -> str:
    return _render(
        "my_interactions",
        {"agent": agent, "interactions": list(selectors.my_interactions(agent)), "oob": oob},
    )


def queue(agent: Agent, *, oob: bool = False) -> str:
    return _render(
        "queue", {"agent": agent, "queue": list(selectors.workgroup_queue(agent)), "oob": oob}
    )


def workspace(agent: Agent, interaction: Interaction | None, request=None, **extra) -> str:
    return _render("workspace", workspace_context(agent, interaction, **extra), request)


def interaction_parts(agent: Agent, interaction: Interaction, request=None) -> str:
    """Toolbar, heading and composer state of an interaction, for tabs showing it."""
    context = workspace_context(agent, interaction, oob=True)
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


def bubble(message: Message, *, oob: bool = True) -> str:
    return _render("bubble_upsert" if oob else "bubble", {"message": message})


def status_picker(agent: Agent, *, oob: bool = False) -> str:
    return _render(
        "status_picker",
        {
            "agent": agent,
            "statuses": [s for s in AgentStatus if s != AgentStatus.NOT_ANSWERING],
            "oob": oob,
        },
    )


def for_event(agent_id: int, message: dict) -> str:
    """Everything one agent's tabs must swap in for one routing event."""
    agent = Agent.objects.select_related("user").filter(pk=agent_id).first()
    if agent is None:
        return ""
    kind = message["type"]
    parts: list[str] = []
    if kind == "routing.agent_changed":
        return status_picker(agent, oob=True)
    if kind == "facebook.page_changed":
        return messenger_fragments.token_banner(agent, oob=True)
    interaction_id = message.get("interaction_id")
    interaction = selectors.visible_interaction(agent, interaction_id) if interaction_id else None
    if kind == "routing.interaction_changed":
        parts += [my_interactions(agent, oob=True), queue(agent, oob=True)]
        if interaction is not None:
            parts.append(interaction_parts(agent, interaction))
        elif interaction_id:
            parts.append(gone(interaction_id, _gone_reason(interaction_id)))
    elif kind == "routing.message_changed" and interaction is not None:
        found = (
            Message.objects.select_related("author")
            .filter(pk=message.get("message_id"), interaction_id=interaction.pk)
            .first()
        )
        if found is not None:
            parts.append(bubble(found))
        parts.append(my_interactions(agent, oob=True))
    return "".join(parts)


def _gone_reason(interaction_id: int) -> str:
    interaction = (
        Interaction.objects.select_related("agent__user", "workgroup")
        .filter(pk=interaction_id)
        .first()
    )
    if interaction is None:
        return "This interaction no longer exists."
    if interaction.state == S.ALERTING and interaction.agent:
        return f"Offered to {interaction.agent.display_name}."
    if interaction.state == S.QUEUED:
        return f"Waiting in the {interaction.workgroup.name} queue."
    if interaction.agent:
        return f"Now with {interaction.agent.display_name}."
    return "This interaction is no longer yours."
