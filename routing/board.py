"""What the supervisors' live board shows, per workgroup: plain reads, no changes.

Definitions (the board states them too):
- *today* starts at midnight in the server's time zone (`TIME_ZONE`);
- *answered today*: interactions picked up for the first time today;
- *abandoned today*: interactions disconnected today without ever having
  been connected to an agent (the customer never got an answer);
- *time to pickup*: from the customer's first message (the interaction's
  start) to its first pickup, averaged over the interactions answered today;
- *past target*: live interactions whose customer has waited for a reply
  longer than the workgroup's first- or next-response target (now), in all
  and per agent (the queue's are nobody's);
- *satisfaction today*: the customers' feedback survey scores (1-5) received
  today, averaged, with how many answered;
- *closed*: out of business hours now (nothing is offered until the opening).
An interaction counts in the workgroup it is in now (after any transfer).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Min, Q
from django.utils import timezone

from routing import hours
from routing.models import (
    LIVE_STATES,
    Agent,
    AgentStatus,
    DesktopConnection,
    Interaction,
    InteractionState,
    Workgroup,
)
from routing.rules import LOAD_STATES

S = InteractionState

# The board lists at most this many live interactions per workgroup, longest in state first.
LIVE_LIST_LIMIT = 50


@dataclass(frozen=True)
class AgentLoad:
    agent: Agent
    live: int  # alerting, connected and held interactions, in any workgroup
    capacity: int  # in this workgroup: the agent's own, else the workgroup's
    online: bool  # has the desktop open
    past_target: int = 0  # their live interactions of this workgroup past its target

    @property
    def full(self) -> bool:
        return self.live >= self.capacity


@dataclass(frozen=True)
class StatusGroup:
    status: str
    label: str
    agents: list[AgentLoad]


@dataclass
class WorkgroupFigures:
    workgroup: Workgroup
    waiting: int = 0
    oldest_queued_at: datetime | None = None
    longest_wait: timedelta | None = None
    alerting: int = 0
    connected: int = 0
    held: int = 0
    answered_today: int = 0
    abandoned_today: int = 0
    average_pickup: timedelta | None = None
    agents_by_status: list[StatusGroup] = field(default_factory=list)
    live: list[Interaction] = field(default_factory=list)
    # Service levels: whether the workgroup sets a target; live interactions past it.
    has_targets: bool = False
    breaches: int = 0
    breaches_by_agent: list[tuple[Agent, int]] = field(default_factory=list)
    open_now: bool = True
    opens: str = ""  # the next opening, in words, when closed
    satisfaction_today: float | None = None
    satisfaction_answers: int = 0


def start_of_day(now: datetime) -> datetime:
    """Midnight of `now`'s day in the current time zone, as an aware datetime."""
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def agent_loads() -> dict[int, int]:
    """Live interactions (alerting, connected, held) per agent id."""
    return dict(
        Interaction.objects.filter(state__in=LOAD_STATES)
        .exclude(agent=None)
        .order_by()
        .values("agent")
        .annotate(n=Count("pk"))
        .values_list("agent", "n")
    )


@dataclass(frozen=True)
class LiveCount:
    count: int
    oldest_queued_at: datetime | None  # of the interactions counted


def live_counts() -> dict[tuple[int, str], LiveCount]:
    """Live interactions per (workgroup id, state), with the oldest `queued_at` of each."""
    rows = (
        Interaction.objects.filter(state__in=LIVE_STATES)
        .order_by()
        .values("workgroup", "state")
        .annotate(n=Count("pk"), oldest=Min("queued_at"))
    )
    return {(row["workgroup"], row["state"]): LiveCount(row["n"], row["oldest"]) for row in rows}


def agents_online() -> set[int]:
    """Ids of the agents with the desktop open (at least one live tab, in any process)."""
    return set(DesktopConnection.objects.values_list("agent_id", flat=True).distinct())


def transfer_choices() -> list[tuple[Agent, int, bool]]:
    """Every agent by name, with their live interactions and whether the desktop is open."""
    loads = agent_loads()
    online = agents_online()
    return [
        (agent, loads.get(agent.pk, 0), agent.pk in online)
        for agent in Agent.objects.select_related("user").order_by("user__username")
    ]


def board(*, now: datetime | None = None) -> list[WorkgroupFigures]:
    """Every workgroup's figures, by name: aggregates in the database, one query per figure
    family plus one per workgroup for its live list, whatever the traffic."""
    now = now or timezone.now()
    midnight = start_of_day(now)
    workgroups = Workgroup.objects.order_by("name").prefetch_related("business_hours", "holidays")
    figures = {w.pk: WorkgroupFigures(workgroup=w) for w in workgroups}
    for shown in figures.values():
        schedule = hours.schedule_of(shown.workgroup)
        shown.open_now = schedule.is_open(now)
        if not shown.open_now:
            shown.opens = hours.opening_words(shown.workgroup, now, schedule=schedule)

    for (workgroup_id, state), live in live_counts().items():
        entry = figures.get(workgroup_id)
        if entry is None:
            continue
        if state == S.QUEUED:
            entry.waiting = live.count
            entry.oldest_queued_at = live.oldest_queued_at
            if live.oldest_queued_at is not None:
                entry.longest_wait = max(now - live.oldest_queued_at, timedelta(0))
        elif state == S.ALERTING:
            entry.alerting = live.count
        elif state == S.CONNECTED:
            entry.connected = live.count
        elif state == S.HELD:
            entry.held = live.count

    pickup_time = ExpressionWrapper(
        F("connected_at") - F("created_at"), output_field=DurationField()
    )
    today = (
        Interaction.objects.filter(
            Q(connected_at__gte=midnight, connected_at__lte=now)
            | Q(disconnected_at__gte=midnight, disconnected_at__lte=now, connected_at=None)
        )
        .order_by()
        .values("workgroup")
        .annotate(
            answered=Count("pk", filter=Q(connected_at__gte=midnight)),
            abandoned=Count("pk", filter=Q(connected_at=None)),
            average_pickup=Avg(pickup_time, filter=Q(connected_at__gte=midnight)),
        )
    )
    for row in today:
        entry = figures.get(row["workgroup"])
        if entry is None:
            continue
        entry.answered_today = row["answered"]
        entry.abandoned_today = row["abandoned"]
        entry.average_pickup = row["average_pickup"]

    for row in (
        Interaction.objects.filter(csat_at__gte=midnight, csat_at__lte=now)
        .order_by()
        .values("workgroup")
        .annotate(average=Avg("csat_score"), answers=Count("pk"))
    ):
        entry = figures.get(row["workgroup"])
        if entry is None:
            continue
        entry.satisfaction_today = row["average"]
        entry.satisfaction_answers = row["answers"]

    counts = breaches(now=now)
    _add_agents(figures, counts)
    _add_live_interactions(figures)
    _add_breaches(figures, counts)
    return list(figures.values())


def past_target(workgroups, *, now: datetime) -> Q | None:
    """Live interactions whose waiting customer is past the target of their workgroup
    (None when no workgroup sets one): one condition per target, one query in all."""
    condition = Q()
    for workgroup in workgroups:
        for replied, seconds in (
            (False, workgroup.first_response_seconds),
            (True, workgroup.next_response_seconds),
        ):
            if seconds:
                condition |= Q(
                    workgroup_id=workgroup.pk,
                    first_replied_at__isnull=not replied,
                    customer_waiting_since__lte=now - timedelta(seconds=seconds),
                )
    if not condition:
        return None
    return condition & Q(state__in=LIVE_STATES)


def breaches(*, now: datetime) -> dict[tuple[int, int | None], int]:
    """Live interactions past target, per (workgroup id, agent id or None)."""
    condition = past_target(Workgroup.objects.order_by(), now=now)
    if condition is None:
        return {}
    rows = (
        Interaction.objects.filter(condition)
        .order_by()
        .values("workgroup", "agent")
        .annotate(n=Count("pk"))
    )
    return {(row["workgroup"], row["agent"]): row["n"] for row in rows}


def _add_breaches(
    figures: dict[int, WorkgroupFigures], counts: dict[tuple[int, int | None], int]
) -> None:
    agent_ids = {agent_id for _, agent_id in counts if agent_id is not None}
    agents = {a.pk: a for a in Agent.objects.filter(pk__in=agent_ids).select_related("user")}
    for workgroup_id, entry in figures.items():
        workgroup = entry.workgroup
        entry.has_targets = bool(
            workgroup.first_response_seconds or workgroup.next_response_seconds
        )
        mine = {a: n for (w, a), n in counts.items() if w == workgroup_id}
        entry.breaches = sum(mine.values())
        entry.breaches_by_agent = sorted(
            ((agents[a], n) for a, n in mine.items() if a is not None),
            key=lambda pair: (-pair[1], pair[0].user.get_username()),
        )


def _add_agents(
    figures: dict[int, WorkgroupFigures], past_target: dict[tuple[int, int | None], int]
) -> None:
    loads = agent_loads()
    online = agents_online()
    memberships = Workgroup.members.through.objects.values_list("workgroup_id", "agent_id")
    members: dict[int, list[int]] = defaultdict(list)
    for workgroup_id, agent_id in memberships:
        members[workgroup_id].append(agent_id)
    agents = {
        a.pk: a
        for a in Agent.objects.filter(pk__in={a for ids in members.values() for a in ids})
        .select_related("user")
        .order_by("user__username")
    }
    for workgroup_id, entry in figures.items():
        by_status: dict[str, list[AgentLoad]] = defaultdict(list)
        for agent_id in members.get(workgroup_id, []):
            agent = agents[agent_id]
            capacity = agent.capacity
            if capacity is None:
                capacity = entry.workgroup.capacity_per_agent
            by_status[agent.status].append(
                AgentLoad(
                    agent=agent,
                    live=loads.get(agent_id, 0),
                    capacity=capacity,
                    online=agent_id in online,
                    past_target=past_target.get((workgroup_id, agent_id), 0),
                )
            )
        entry.agents_by_status = [
            StatusGroup(
                status=status.value,
                label=status.label,
                agents=sorted(
                    by_status[status.value], key=lambda load: load.agent.user.get_username()
                ),
            )
            for status in AgentStatus
            if by_status.get(status.value)
        ]


def _add_live_interactions(figures: dict[int, WorkgroupFigures]) -> None:
    """The live interactions a supervisor may act on, longest in their state first."""
    for workgroup_id, entry in figures.items():
        entry.live = list(
            Interaction.objects.filter(workgroup_id=workgroup_id, state__in=LIVE_STATES)
            .select_related(
                "customer",
                "workgroup",
                "agent__user",
                "lapsed_agent__user",
                "preferred_agent__user",
            )
            .order_by("state_changed_at", "pk")[:LIVE_LIST_LIMIT]
        )
