"""Read paths for the desktop: plain queries, no changes."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce

from routing.compiled_queries import CompiledQuery, id_tuple
from routing.lookups import row_or_none
from routing.models import (
    Agent,
    DesktopConnection,
    Interaction,
    InteractionEvent,
    InteractionState,
    Message,
    MessageDirection,
    Workgroup,
    WrapUpCode,
)
from routing.rules import QUEUE_ORDER

S = InteractionState


# The group the migrations make for supervisors (admin, the live board).
SUPERVISORS_GROUP = "Supervisors"


def supervisors_group_id() -> int | None:
    return Group.objects.filter(name=SUPERVISORS_GROUP).values_list("pk", flat=True).first()


def agent_for_user(user) -> Agent | None:
    if not user.is_authenticated:
        return None
    agent = next(iter(_AGENT_OF_USER.objects(user.pk)), None)
    if agent is not None:
        agent.user = user  # the request's own, already read
    return agent


def agent_by_id(agent_id: int | None) -> Agent | None:
    """The agent with its user; None when there is none (or no id: a socket not logged in)."""
    if agent_id is None:
        return None
    return next(iter(_AGENT.objects(agent_id)), None)


def agents_by_id(agent_ids: Iterable[int]) -> dict[int, Agent]:
    """Agents with their users, by id (those that exist)."""
    return {agent.pk: agent for agent in _AGENTS.objects(id_tuple(agent_ids))}


# Every live push's reads, and every request's agent (routing.compiled_queries).
_AGENT_OF_USER = CompiledQuery(lambda user_id: Agent.objects.filter(user_id=user_id).order_by()[:1])
_AGENT = CompiledQuery(
    lambda agent_id: Agent.objects.select_related("user").filter(pk=agent_id).order_by()[:1]
)
_AGENTS = CompiledQuery(
    lambda agent_ids: Agent.objects.select_related("user").filter(pk__in=agent_ids).order_by()
)


def lapsed_last(agent: Agent) -> bool:
    """The agent's latest miss was an interaction they did not reply to in time (not an
    offer they let ring): what made them Not answering."""
    latest = (
        InteractionEvent.objects.filter(
            verb__in=("alert_timeout", "inactivity_return"), detail__agent_id=agent.pk
        )
        .order_by("-pk")
        .values_list("verb", flat=True)
        .first()
    )
    return latest == "inactivity_return"


def my_interactions(agent: Agent) -> list[Interaction]:
    """What the agent's My Interactions list shows: offered, live, and not yet dismissed."""
    return _MY_LIST.objects(agent.pk)


def my_interactions_of(agent_ids: Iterable[int]) -> list[Interaction]:
    """The My Interactions lists of many agents at once, in each list's order (live pushes)."""
    return _MY_LISTS.objects(id_tuple(agent_ids))


def _listed() -> QuerySet[Interaction]:
    return (
        Interaction.objects.filter(dismissed_at__isnull=True)
        .exclude(state=S.QUEUED)
        .select_related("customer", "workgroup")
        .annotate(unread=unread_count())
        .order_by("created_at", "pk")
    )


_MY_LIST = CompiledQuery(lambda agent_id: _listed().filter(agent_id=agent_id))
_MY_LISTS = CompiledQuery(lambda agent_ids: _listed().filter(agent_id__in=agent_ids))


def unread_count() -> Coalesce:
    """Customer messages stored after the owning agent last read the interaction."""
    unread = (
        Message.objects.filter(
            interaction=OuterRef("pk"),
            direction=MessageDirection.INBOUND,
            deleted_at__isnull=True,
        )
        .filter(
            Q(interaction__agent_read_at__isnull=True)
            | Q(created_at__gt=F("interaction__agent_read_at"))
        )
        .order_by()
        .values("interaction")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(unread, output_field=IntegerField()), 0)


def workgroup_queue(agent: Agent) -> QuerySet[Interaction]:
    """Interactions waiting in the agent's workgroups, in the order they are offered."""
    return (
        Interaction.objects.filter(state=S.QUEUED, workgroup__members=agent)
        .select_related("customer", "workgroup", "preferred_agent__user")
        .order_by(*QUEUE_ORDER)
    )


@dataclass(frozen=True)
class QueueSlice:
    rows: list[Interaction]  # the first to be offered: by priority, then arrival
    waiting: int  # how many wait in all


def queued_in(workgroup_id: int, *, limit: int) -> QueueSlice:
    """One workgroup's queue, in the order it is offered: the same for every member."""
    queued = (
        Interaction.objects.filter(state=S.QUEUED, workgroup_id=workgroup_id)
        .select_related("customer", "workgroup", "preferred_agent__user")
        .order_by(*QUEUE_ORDER)
    )
    return QueueSlice(rows=list(queued[:limit]), waiting=queued.count())


def interaction_by_id(interaction_id: int) -> Interaction | None:
    """Any interaction, with its customer, workgroup and agent: for supervisors and live pushes,
    never to show an agent (that is `visible_interaction`)."""
    return next(iter(_INTERACTION.objects(interaction_id)), None)


def interactions_by_id(interaction_ids: Iterable[int]) -> dict[int, Interaction]:
    """Interactions as `interaction_by_id` reads them, by id (those that exist), in one query."""
    return {i.pk: i for i in _INTERACTIONS.objects(id_tuple(interaction_ids))}


def _with_customer_workgroup_and_agent() -> QuerySet[Interaction]:
    return Interaction.objects.select_related("customer", "workgroup", "agent__user").order_by()


_INTERACTION = CompiledQuery(
    lambda interaction_id: _with_customer_workgroup_and_agent().filter(pk=interaction_id)[:1]
)
_INTERACTIONS = CompiledQuery(
    lambda interaction_ids: _with_customer_workgroup_and_agent().filter(pk__in=interaction_ids)
)


def workgroups() -> QuerySet[Workgroup]:
    """Every workgroup, by name."""
    return Workgroup.objects.order_by("name", "pk")


def workgroup_by_id(workgroup_id: int) -> Workgroup | None:
    return row_or_none(Workgroup.objects.filter(pk=workgroup_id))


def workgroup_names() -> dict[int, str]:
    """Every workgroup's name by id, in name order."""
    return dict(Workgroup.objects.order_by("name", "pk").values_list("pk", "name"))


def agent_workgroups(agent: Agent) -> QuerySet[Workgroup]:
    return Workgroup.objects.filter(members=agent).order_by("name", "pk")


def agent_id_and_workgroup_ids(user) -> tuple[int | None, list[int]]:
    """The user's agent id (None when they are no agent) and their workgroups, in one query."""
    rows = list(Agent.objects.filter(user_id=user.pk).values_list("pk", "workgroups"))
    if not rows:
        return None, []
    return rows[0][0], sorted({workgroup_id for _, workgroup_id in rows if workgroup_id})


def agent_workgroup_ids(agent_id: int) -> list[int]:
    return list(Workgroup.objects.filter(members=agent_id).values_list("pk", flat=True))


def message_visible(agent: Agent, message_id: int) -> bool:
    """The message belongs to an interaction this agent may see."""
    interaction_id = (
        Message.objects.filter(pk=message_id).values_list("interaction_id", flat=True).first()
    )
    return interaction_id is not None and visible_interaction(agent, interaction_id) is not None


def visible_interaction(agent: Agent, interaction_id: int) -> Interaction | None:
    """The interaction if this agent may see it: theirs, or waiting in their workgroup."""
    interaction = interaction_by_id(interaction_id)
    if interaction is None or not may_see(agent, interaction):
        return None
    return interaction


def is_queued(interaction_id: int) -> bool:
    """Whether the interaction waits in its workgroup's queue now."""
    return Interaction.objects.filter(pk=interaction_id, state=S.QUEUED).exists()


def may_see(agent: Agent, interaction: Interaction) -> bool:
    """Whether this agent may see an interaction read with `interaction_by_id`."""
    if interaction.agent_id == agent.pk and interaction.state != S.QUEUED:
        return True
    return (
        interaction.state == S.QUEUED and interaction.workgroup.members.filter(pk=agent.pk).exists()
    )


def transfer_targets(agent: Agent) -> QuerySet[Agent]:
    """Every other agent, those with the desktop open first: a transfer rings only there."""
    return (
        Agent.objects.exclude(pk=agent.pk)
        .select_related("user")
        .prefetch_related("workgroups")
        .annotate(desktop_open=Exists(DesktopConnection.objects.filter(agent=OuterRef("pk"))))
        .order_by(F("desktop_open").desc(), "user__username")
    )


def transfer_workgroups() -> QuerySet[Workgroup]:
    """Workgroups with how many interactions wait in each."""
    return Workgroup.objects.annotate(
        waiting=Count("interactions", filter=Q(interactions__state=S.QUEUED))
    ).order_by("name")


# --- the Current Interaction view -------------------------------------------------


def interactions_visible_to(agent: Agent) -> QuerySet[Interaction]:
    """Every interaction the agent may read on the desktop, beyond their queue.

    Their own (they are its agent now, in any state), and finished ones that
    they picked up at some point or that belong to a workgroup they are in.
    Never another agent's live interaction, never one of a workgroup they are
    not in unless it was theirs. Supervisors read everything in admin instead.
    """
    return _visible_to(agent.pk, agent.user_id)


def _visible_to(agent_id: int, user_id: int) -> QuerySet[Interaction]:
    picked_up = InteractionEvent.objects.filter(
        interaction=OuterRef("pk"), verb="pickup", actor_id=user_id
    )
    # Subqueries, not joins: a join through the workgroup's members would repeat rows.
    member_of = Workgroup.objects.filter(members=agent_id).values("pk")
    theirs = Q(agent=agent_id) & ~Q(state=S.QUEUED)
    finished = Q(state=S.DISCONNECTED) & (Q(workgroup__in=member_of) | Exists(picked_up))
    return Interaction.objects.filter(theirs | finished)


def customer_history(
    interaction: Interaction, agent: Agent | None = None, *, limit: int = 20
) -> list[Interaction]:
    """The customer's other interactions `agent` may see, newest first, with their message counts.

    `agent` is who looks (see `interactions_visible_to`); without it, what
    whoever has `interaction` on their desktop may see.
    """
    if agent is None and interaction.state != S.QUEUED:
        # Only its owner has a non-queued interaction on the desktop.
        agent = interaction.agent
    if agent is not None:
        return _HISTORY_SEEN_BY.objects(
            agent.pk, agent.user_id, interaction.customer_id, interaction.pk, limit=limit
        )
    # Any member may look at a queued interaction: only what every member may see.
    return _HISTORY_OF_QUEUED.objects(
        interaction.workgroup_id, interaction.customer_id, interaction.pk, limit=limit
    )


def _history(scope: QuerySet[Interaction], customer_id: int, interaction_id: int, limit: int):
    return (
        scope.filter(customer_id=customer_id)
        .exclude(pk=interaction_id)
        .select_related("agent__user", "workgroup")
        .annotate(message_count=Count("messages", filter=Q(messages__deleted_at__isnull=True)))
        .order_by("-created_at", "-pk")[:limit]
    )


# Read by every desktop render of an interaction (routing.compiled_queries).
_HISTORY_SEEN_BY = CompiledQuery(
    lambda agent_id, user_id, customer_id, interaction_id, *, limit: _history(
        _visible_to(agent_id, user_id), customer_id, interaction_id, limit
    )
)
_HISTORY_OF_QUEUED = CompiledQuery(
    lambda workgroup_id, customer_id, interaction_id, *, limit: _history(
        Interaction.objects.filter(state=S.DISCONNECTED, workgroup_id=workgroup_id),
        customer_id,
        interaction_id,
        limit,
    )
)


def past_interaction(current: Interaction, past_id: int, agent: Agent) -> Interaction | None:
    """Another interaction of the customer of `current` (which `agent` has on their desktop),
    if `agent` may see it (`interactions_visible_to`)."""
    return (
        interactions_visible_to(agent)
        .filter(pk=past_id, customer_id=current.customer_id)
        .exclude(pk=current.pk)
        .select_related("customer", "agent__user", "workgroup")
        .first()
    )


def wrap_up_codes(interaction: Interaction) -> list[WrapUpCode]:
    """The wrap-up codes the agent may choose for the interaction: its workgroup's active ones."""
    return list(
        WrapUpCode.objects.filter(workgroup_id=interaction.workgroup_id, active=True).order_by(
            "label"
        )
    )
