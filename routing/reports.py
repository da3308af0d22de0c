"""Daily figures per workgroup and per agent: plain reads, aggregated in the database.

Days are calendar days in the server's time zone (`TIME_ZONE`).
- An interaction belongs to the day it started and to the workgroup it is in
  now (after any transfer).
- *Wait*: from its start (the customer's first message) to its first pickup,
  averaged over the interactions that were picked up.
- *Handle time*: from the first pickup to the disconnect, averaged over the
  interactions that were picked up and have ended.
- *After-contact work*: from the disconnect to the end of after-contact work
  (Done, or its time running out), averaged where there was any.
- *Abandoned*: ended without ever being picked up.
- Messages belong to the day they were written; *out* counts replies Meta
  accepted (sent, delivered or read), not failed, held-back or deleted ones;
  automatic messages count there, not in an agent's replies.
- Per agent: interactions they picked up, disconnected, and replies sent.
- *Service level*: the share of answers within target. An answer is the
  reply that ends a customer's wait (routing.service_levels); it counts on
  the day it was given, for the agent who gave it, when the workgroup had a
  target for it (first or next response). Waits never answered (the
  interaction ended first) do not count.
- *Satisfaction*: the customers' feedback survey scores (1-5), averaged, with
  how many answered; an interaction's score counts on the day it started, for
  its workgroup and for the agent it ended with.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from routing.models import (
    Agent,
    Interaction,
    InteractionEvent,
    InteractionState,
    Message,
    MessageDirection,
    Workgroup,
)
from routing.rules import ACCEPTED_BY_META, HANDOVER_MID_PREFIX
from routing.service_levels import ANSWERED_IN_TARGET, ANSWERED_LATE

# A longer range is refused: each report is one pass over its rows.
MAX_DAYS = 366


@dataclass(frozen=True, kw_only=True)
class _Quality:
    """What both reports give per row besides their counts: the service level's
    answers and the customers' satisfaction."""

    answers_with_target: int = 0
    answers_in_target: int = 0
    satisfaction: float | None = None
    satisfaction_answers: int = 0

    @property
    def service_level(self) -> float | None:
        return _share(self.answers_in_target, self.answers_with_target)


@dataclass(frozen=True)
class WorkgroupDay(_Quality):
    day: date
    workgroup_id: int
    workgroup: str
    interactions: int = 0
    answered: int = 0
    abandoned: int = 0
    average_wait: timedelta | None = None
    average_handle: timedelta | None = None
    average_after_contact: timedelta | None = None
    messages_in: int = 0
    messages_out: int = 0


@dataclass(frozen=True)
class AgentDay(_Quality):
    day: date
    workgroup_id: int
    workgroup: str
    user_id: int
    agent: str
    picked_up: int = 0
    disconnected: int = 0
    messages_out: int = 0
    # Interactions that went back to the queue because this agent did not reply in time.
    lapsed: int = 0


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _answers(low: datetime, high: datetime, workgroup_id: int | None) -> QuerySet:
    """The answers that had a target, in [low, high): the service level's rows."""
    return _in_workgroup(
        InteractionEvent.objects.filter(
            at__gte=low, at__lt=high, verb__in=(ANSWERED_IN_TARGET, ANSWERED_LATE)
        ),
        "interaction__workgroup",
        workgroup_id,
    )


SERVICE_LEVEL = {
    "answers_with_target": Count("pk"),
    "answers_in_target": Count("pk", filter=Q(verb=ANSWERED_IN_TARGET)),
}


def local_range(start: date, end: date) -> tuple[datetime, datetime]:
    """[midnight of `start`, midnight after `end`) as aware datetimes in the current zone."""
    zone = timezone.get_current_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


def _day(field: str) -> TruncDate:
    return TruncDate(field, tzinfo=timezone.get_current_timezone())


def _duration(later: str, earlier: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(later) - F(earlier), output_field=DurationField())


def _in_workgroup(queryset: QuerySet, path: str, workgroup_id: int | None) -> QuerySet:
    return queryset.filter(**{path: workgroup_id}) if workgroup_id else queryset


def workgroup_days(
    *, start: date, end: date, workgroup_id: int | None = None
) -> list[WorkgroupDay]:
    """One row per day and workgroup with any interaction or message, by day then name."""
    low, high = local_range(start, end)
    names = dict(Workgroup.objects.values_list("pk", "name"))
    rows: dict[tuple[date, int], dict] = {}

    interactions = _in_workgroup(
        Interaction.objects.filter(created_at__gte=low, created_at__lt=high),
        "workgroup",
        workgroup_id,
    )
    for row in (
        interactions.annotate(day=_day("created_at"))
        .order_by()
        .values("day", "workgroup")
        .annotate(
            interactions=Count("pk"),
            answered=Count("pk", filter=Q(connected_at__isnull=False)),
            abandoned=Count(
                "pk",
                filter=Q(state=InteractionState.DISCONNECTED, connected_at__isnull=True),
            ),
            # NULL differences (never picked up, not ended) are left out of the mean.
            average_wait=Avg(_duration("connected_at", "created_at")),
            average_handle=Avg(_duration("disconnected_at", "connected_at")),
            average_after_contact=Avg(_duration("after_contact_ended_at", "disconnected_at")),
            satisfaction=Avg("csat_score"),
            satisfaction_answers=Count("pk", filter=Q(csat_score__isnull=False)),
        )
    ):
        key = (row.pop("day"), row.pop("workgroup"))
        rows[key] = row

    messages = _in_workgroup(
        Message.objects.filter(sent_at__gte=low, sent_at__lt=high),
        "interaction__workgroup",
        workgroup_id,
    )
    for row in (
        messages.annotate(day=_day("sent_at"))
        .order_by()
        .values("day", "interaction__workgroup")
        .annotate(
            messages_in=Count("pk", filter=Q(direction=MessageDirection.INBOUND)),
            messages_out=Count(
                "pk",
                filter=Q(
                    direction=MessageDirection.OUTBOUND,
                    status__in=ACCEPTED_BY_META,
                    deleted_at__isnull=True,
                )
                & ~Q(mid__startswith=HANDOVER_MID_PREFIX),
            ),
        )
    ):
        key = (row["day"], row["interaction__workgroup"])
        rows.setdefault(key, {}).update(
            messages_in=row["messages_in"], messages_out=row["messages_out"]
        )

    for row in (
        _answers(low, high, workgroup_id)
        .annotate(day=_day("at"))
        .order_by()
        .values("day", "interaction__workgroup")
        .annotate(**SERVICE_LEVEL)
    ):
        key = (row.pop("day"), row.pop("interaction__workgroup"))
        rows.setdefault(key, {}).update(row)

    result = [
        WorkgroupDay(day=day, workgroup_id=wid, workgroup=names.get(wid, str(wid)), **figures)
        for (day, wid), figures in rows.items()
    ]
    return sorted(result, key=lambda r: (r.day, r.workgroup))


def agent_days(*, start: date, end: date, workgroup_id: int | None = None) -> list[AgentDay]:
    """One row per day, workgroup and agent who did anything, by day, workgroup, agent."""
    low, high = local_range(start, end)
    names = dict(Workgroup.objects.values_list("pk", "name"))
    counts: dict[tuple[date, int, int], dict[str, Any]] = {}

    events = _in_workgroup(
        InteractionEvent.objects.filter(at__gte=low, at__lt=high, actor__isnull=False),
        "interaction__workgroup",
        workgroup_id,
    )
    for verb, figure in (("pickup", "picked_up"), ("disconnect", "disconnected")):
        for row in (
            events.filter(verb=verb)
            .annotate(day=_day("at"))
            .order_by()
            .values("day", "interaction__workgroup", "actor")
            .annotate(n=Count("interaction", distinct=True))
        ):
            key = (row["day"], row["interaction__workgroup"], row["actor"])
            counts.setdefault(key, {})[figure] = row["n"]

    replies = _in_workgroup(
        Message.objects.filter(
            sent_at__gte=low,
            sent_at__lt=high,
            direction=MessageDirection.OUTBOUND,
            status__in=ACCEPTED_BY_META,
            deleted_at__isnull=True,
            author__isnull=False,
        ).exclude(mid__startswith=HANDOVER_MID_PREFIX),
        "interaction__workgroup",
        workgroup_id,
    )
    for row in (
        replies.annotate(day=_day("sent_at"))
        .order_by()
        .values("day", "interaction__workgroup", "author")
        .annotate(n=Count("pk"))
    ):
        key = (row["day"], row["interaction__workgroup"], row["author"])
        counts.setdefault(key, {})["messages_out"] = row["n"]

    # The timers return these (no actor); the event names the agent who let it lapse.
    lapses = _in_workgroup(
        InteractionEvent.objects.filter(at__gte=low, at__lt=high, verb="inactivity_return"),
        "interaction__workgroup",
        workgroup_id,
    )
    lapsed_rows = list(
        lapses.annotate(day=_day("at"))
        .order_by()
        .values("day", "interaction__workgroup", "detail__agent_id")
        .annotate(n=Count("pk"))
    )
    users_of = dict(
        Agent.objects.filter(pk__in={row["detail__agent_id"] for row in lapsed_rows}).values_list(
            "pk", "user_id"
        )
    )
    for row in lapsed_rows:
        if (user_id := users_of.get(row["detail__agent_id"])) is not None:
            key = (row["day"], row["interaction__workgroup"], user_id)
            counts.setdefault(key, {})["lapsed"] = row["n"]
    for row in (
        _answers(low, high, workgroup_id)
        .filter(actor__isnull=False)
        .annotate(day=_day("at"))
        .order_by()
        .values("day", "interaction__workgroup", "actor")
        .annotate(**SERVICE_LEVEL)
    ):
        key = (row.pop("day"), row.pop("interaction__workgroup"), row.pop("actor"))
        counts.setdefault(key, {}).update(row)
    scored = _in_workgroup(
        Interaction.objects.filter(
            created_at__gte=low, created_at__lt=high, csat_score__isnull=False
        ).exclude(agent=None),
        "workgroup",
        workgroup_id,
    )
    for row in (
        scored.annotate(day=_day("created_at"))
        .order_by()
        .values("day", "workgroup", "agent__user")
        .annotate(average=Avg("csat_score"), n=Count("pk"))
    ):
        key = (row["day"], row["workgroup"], row["agent__user"])
        figures = counts.setdefault(key, {})
        figures["satisfaction"] = row["average"]
        figures["satisfaction_answers"] = row["n"]

    user_ids = {user_id for _, _, user_id in counts}
    agents = {
        a.user_id: a.display_name
        for a in Agent.objects.filter(user_id__in=user_ids).select_related("user")
    }
    # Only agents: a supervisor's own actions are not an agent's work.
    result = [
        AgentDay(
            day=day,
            workgroup_id=wid,
            workgroup=names.get(wid, str(wid)),
            user_id=user_id,
            agent=agents[user_id],
            **figures,
        )
        for (day, wid, user_id), figures in counts.items()
        if user_id in agents
    ]
    return sorted(result, key=lambda r: (r.day, r.workgroup, r.agent))
