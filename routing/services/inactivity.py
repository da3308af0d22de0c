"""Inactivity: an agent who does not reply, a customer who goes silent.

Per workgroup, each off unless set (`Workgroup.agent_reply_timeout_seconds`,
`customer_silence_timeout_seconds`). The clocks are set by the verbs
(`routing.services.clocks`); the timers call the steps below. A warning comes
first when the workgroup gives one (an event row; the agent's desktop shows it
with the time left). Then:

- the agent did not reply in time after a pickup: the interaction goes back to
  the head of its queue (`inactivity_return`), marked with the agent who let it
  lapse, and that agent becomes Not answering, as when an offer rings out;
- the customer stayed silent after the agent's last reply: the interaction is
  disconnected (the ordinary `disconnect`) with the workgroup's wrap-up code.

Every step locks the interaction and checks its clock again, so any number of
timer processes act once.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from routing.events import interaction_event, publish_on_commit
from routing.models import AgentStatus, Interaction, InteractionEvent, Workgroup
from routing.services.acd import offer_after_commit
from routing.services.kernel import (
    S,
    check_transition,
    lock_agent,
    lock_interaction,
    save_transition,
    set_status_locked,
)
from routing.services.queue_control import disconnect


def warn_no_reply(*, interaction_id: int) -> bool:
    """Warn the agent that the interaction goes back to the queue soon; False if not due."""
    with transaction.atomic():
        interaction = lock_interaction(interaction_id)
        workgroup = interaction.workgroup
        lead = workgroup.agent_reply_warning_seconds if workgroup.agent_reply_timeout_seconds else 0
        due = interaction.reply_due_at
        if not _warning_due(interaction, due, lead, interaction.reply_warned_at):
            return False
        assert due is not None
        interaction.reply_warned_at = timezone.now()
        interaction.save(update_fields=["reply_warned_at"])
        _warning_row(interaction, "no_reply_warning", due)
    return True


def return_for_no_reply(*, interaction_id: int) -> bool:
    """The agent did not reply in time: back to the queue; False if not due (any more)."""
    with transaction.atomic():
        interaction = lock_interaction(interaction_id)
        due = interaction.reply_due_at
        if interaction.state != S.CONNECTED or due is None or due > timezone.now():
            return False
        if _switched_off(interaction, "agent_reply_timeout_seconds", "reply"):
            return False
        agent_id = interaction.agent_id
        from_state = interaction.state
        interaction.state = check_transition("inactivity_return", interaction)
        interaction.agent = None
        interaction.lapsed_agent_id = agent_id
        save_transition(
            interaction,
            "inactivity_return",
            actor_user_id=None,
            previous_agent_id=agent_id,
            detail={
                "agent_id": agent_id,
                "timeout_seconds": interaction.workgroup.agent_reply_timeout_seconds,
            },
            fields=("agent", "lapsed_agent"),
            from_state=from_state,
        )
        if agent_id:
            set_status_locked(lock_agent(agent_id), AgentStatus.NOT_ANSWERING)
        offer_after_commit(interaction.workgroup_id)
    return True


def warn_silence(*, interaction_id: int) -> bool:
    """Warn the agent that the silent customer is disconnected soon; False if not due."""
    with transaction.atomic():
        interaction = lock_interaction(interaction_id)
        workgroup = interaction.workgroup
        lead = (
            workgroup.customer_silence_warning_seconds
            if workgroup.customer_silence_timeout_seconds
            else 0
        )
        due = interaction.silence_due_at
        if not _warning_due(interaction, due, lead, interaction.silence_warned_at):
            return False
        assert due is not None
        interaction.silence_warned_at = timezone.now()
        interaction.save(update_fields=["silence_warned_at"])
        _warning_row(interaction, "customer_silence_warning", due)
    return True


def disconnect_for_silence(*, interaction_id: int) -> bool:
    """The customer stayed silent: disconnected with the workgroup's wrap-up code.

    False when it is not due (any more).
    """
    with transaction.atomic():
        interaction = lock_interaction(interaction_id)
        due = interaction.silence_due_at
        if interaction.state != S.CONNECTED or due is None or due > timezone.now():
            return False
        if _switched_off(interaction, "customer_silence_timeout_seconds", "silence"):
            return False
        workgroup = interaction.workgroup
        silent_for = _minutes(workgroup.customer_silence_timeout_seconds)
        disconnect(
            interaction_id=interaction.pk,
            agent=None,
            reason=f"The customer was silent for {silent_for}.",
            wrap_up_code=workgroup.customer_silence_wrap_up_code,
        )
    return True


def run_inactivity_timers() -> dict[str, int]:
    """The timers' step: warnings, returns and disconnects that are due; how many of each."""
    now = timezone.now()
    leads = Workgroup.objects.aggregate(
        reply=Max("agent_reply_warning_seconds"), silence=Max("customer_silence_warning_seconds")
    )
    connected = Interaction.objects.filter(state=S.CONNECTED)
    done = {"no_reply_warnings": 0, "returned_for_no_reply": 0}
    done |= {"silence_warnings": 0, "disconnected_for_silence": 0}
    for pk in connected.filter(reply_due_at__lte=now).values_list("pk", flat=True):
        done["returned_for_no_reply"] += return_for_no_reply(interaction_id=pk)
    for pk in connected.filter(silence_due_at__lte=now).values_list("pk", flat=True):
        done["disconnected_for_silence"] += disconnect_for_silence(interaction_id=pk)
    if leads["reply"]:
        soon = now + timedelta(seconds=leads["reply"])
        for pk in connected.filter(
            reply_due_at__lte=soon, reply_due_at__gt=now, reply_warned_at__isnull=True
        ).values_list("pk", flat=True):
            done["no_reply_warnings"] += warn_no_reply(interaction_id=pk)
    if leads["silence"]:
        soon = now + timedelta(seconds=leads["silence"])
        for pk in connected.filter(
            silence_due_at__lte=soon, silence_due_at__gt=now, silence_warned_at__isnull=True
        ).values_list("pk", flat=True):
            done["silence_warnings"] += warn_silence(interaction_id=pk)
    return done


def seconds_left(due: datetime | None, *, now: datetime | None = None) -> int:
    """Whole seconds until `due` (0 when it has passed or there is none)."""
    if due is None:
        return 0
    return max(int((due - (now or timezone.now())).total_seconds()), 0)


def _switched_off(interaction: Interaction, setting: str, clock: str) -> bool:
    """The workgroup turned this timeout off since the clock started: the clock stops."""
    if getattr(interaction.workgroup, setting):
        return False
    setattr(interaction, f"{clock}_due_at", None)
    setattr(interaction, f"{clock}_warned_at", None)
    interaction.save(update_fields=[f"{clock}_due_at", f"{clock}_warned_at"])
    publish_on_commit(interaction_event(interaction))  # a warning shown goes
    return True


def _warning_due(
    interaction: Interaction, due: datetime | None, lead: int | None, warned: datetime | None
) -> bool:
    """Connected, its clock running, not warned yet, and within the lead (but not past due)."""
    if interaction.state != S.CONNECTED or due is None or warned is not None or not lead:
        return False
    now = timezone.now()
    return due - timedelta(seconds=lead) <= now < due


def _warning_row(interaction: Interaction, verb: str, due: datetime) -> None:
    InteractionEvent.objects.create(
        interaction=interaction,
        actor=None,
        verb=verb,
        from_state=interaction.state,
        to_state=interaction.state,
        detail={"agent_id": interaction.agent_id, "seconds_left": seconds_left(due)},
    )
    # The owner's desktop redraws the interaction's heading, which shows the warning.
    publish_on_commit(interaction_event(interaction))


def _minutes(seconds: int | None) -> str:
    seconds = seconds or 0
    if seconds % 60:
        return f"{seconds} seconds"
    minutes = seconds // 60
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
