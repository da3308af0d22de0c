"""The inactivity clocks of an interaction, set and stopped by the verbs that move them.

Only field changes on a locked interaction, saved by the caller: a pickup
starts the agent's reply clock, the agent's reply stops it and starts the
customer's silence clock, the customer's message stops that one, and any
verb that takes the interaction off connected stops both. The timers act on
them in `routing.services.inactivity`.
"""

from datetime import datetime, timedelta

from routing.models import Interaction

CLOCK_FIELDS = ("reply_due_at", "reply_warned_at", "silence_due_at", "silence_warned_at")


def start_reply_clock(interaction: Interaction, *, now: datetime) -> tuple[str, ...]:
    """A pickup: the agent has the workgroup's reply time from now (none when it is off)."""
    stop_all(interaction)
    seconds = interaction.workgroup.agent_reply_timeout_seconds
    if seconds:
        interaction.reply_due_at = now + timedelta(seconds=seconds)
    return CLOCK_FIELDS


def agent_replied(interaction: Interaction, *, now: datetime) -> bool:
    """The owner replied: their clock stops and the customer's starts. Saves the fields.

    True when a warning on screen is now void (the desktop should redraw it).
    """
    warned = bool(interaction.reply_warned_at or interaction.silence_warned_at)
    before = [getattr(interaction, name) for name in CLOCK_FIELDS]
    stop_all(interaction)
    seconds = interaction.workgroup.customer_silence_timeout_seconds
    if seconds:
        interaction.silence_due_at = now + timedelta(seconds=seconds)
    if [getattr(interaction, name) for name in CLOCK_FIELDS] != before:
        interaction.save(update_fields=list(CLOCK_FIELDS))
    return warned


def customer_wrote(interaction: Interaction) -> bool:
    """The customer is not silent: their clock stops. Saves the fields.

    True when a warning on screen is now void.
    """
    if interaction.silence_due_at is None and interaction.silence_warned_at is None:
        return False
    warned = interaction.silence_warned_at is not None
    interaction.silence_due_at = None
    interaction.silence_warned_at = None
    interaction.save(update_fields=["silence_due_at", "silence_warned_at"])
    return warned


def stop_all(interaction: Interaction) -> tuple[str, ...]:
    """Both clocks stop; the names of the fields that changed."""
    changed = tuple(name for name in CLOCK_FIELDS if getattr(interaction, name) is not None)
    for name in changed:
        setattr(interaction, name, None)
    return changed
