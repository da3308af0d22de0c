"""Template helpers for queue control in the Current Interaction view: the held
time and the wrap-up form."""

from django import template
from django.utils import timezone

from routing import selectors
from routing.models import Interaction, InteractionState

register = template.Library()


@register.filter
def held_seconds(interaction: Interaction) -> int:
    """Whole seconds the interaction has been on hold (0 when it is not held)."""
    if interaction.state != InteractionState.HELD or interaction.held_at is None:
        return 0
    return max(int((timezone.now() - interaction.held_at).total_seconds()), 0)


@register.filter
def after_contact_seconds_left(interaction: Interaction) -> int:
    """Whole seconds of after-contact work left (0 when there is none now)."""
    until = interaction.after_contact_until
    if until is None or interaction.after_contact_ended_at is not None:
        return 0
    return max(int((until - timezone.now()).total_seconds()), 0)


@register.filter
def inactivity_warning(interaction: Interaction) -> dict | None:
    """The inactivity warning its owner is shown now: which clock, and whole seconds left."""
    if interaction.state != InteractionState.CONNECTED:
        return None
    for kind, due, warned in (
        ("no_reply", interaction.reply_due_at, interaction.reply_warned_at),
        ("silence", interaction.silence_due_at, interaction.silence_warned_at),
    ):
        if due is not None and warned is not None:
            return {"kind": kind, "left": max(int((due - timezone.now()).total_seconds()), 0)}
    return None


@register.filter
def not_answering_hint(agent) -> str:
    """Why the agent is Not answering, and how to take offers again."""
    if selectors.lapsed_last(agent):
        return "You did not reply in time: set Available to get offers again."
    return "You let an offer ring out: set Available to get offers again."


@register.filter
def minutes_clock(seconds: int) -> str:
    """2:15, 12:05, 1:02:09: the same form the desktop's script ticks on with."""
    hours, rest = divmod(max(int(seconds), 0), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


@register.inclusion_tag("desktop/_wrap_up.html", takes_context=True)
def wrap_up_form(context, interaction: Interaction) -> dict:
    """The wrap-up select for the owner of a disconnected interaction still on their list."""
    agent = context.get("agent")
    shown = (
        agent is not None
        and interaction.state == InteractionState.DISCONNECTED
        and interaction.agent_id == agent.pk
        and interaction.dismissed_at is None
    )
    codes = selectors.wrap_up_codes(interaction) if shown else []
    return {
        "interaction": interaction,
        "codes": codes,
        "required": interaction.workgroup.wrap_up_required,
    }
