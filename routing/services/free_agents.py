"""Who among a workgroup's members may be rung now, and with how much room: the
ACD's reads (`acd.offer_waiting`), apart from its offers."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Exists, F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from routing import config_cache
from routing.compiled_queries import CompiledQuery
from routing.models import Agent, AgentStatus, DesktopConnection, Interaction, Workgroup
from routing.rules import LOAD_STATES
from routing.services.kernel import after_contact_work, capacity_of, lock_agents


@dataclass
class FreeAgent:
    agent: Agent
    room: int


def ringable_members(workgroup: Workgroup):
    """Members who may be rung now, read without locks: Available, a desktop open, not in
    after-contact work, room left, every required skill."""
    return _ringable(workgroup.pk, workgroup.capacity_per_agent, _required_skills(workgroup))


def _required_skills(workgroup: Workgroup) -> tuple[int, ...]:
    # Read once per router batch (routing.config_cache), as the workgroup is.
    return tuple(
        config_cache.cached(
            "required_skills",
            workgroup.pk,
            lambda: list(workgroup.required_skills.values_list("pk", flat=True)),
        )
    )


def _ringable(workgroup_id: int, capacity: int, skill_ids: tuple[int, ...]) -> QuerySet[Agent]:
    ringable = (
        _reachable(Agent.objects.filter(workgroups=workgroup_id, status=AgentStatus.AVAILABLE))
        .annotate(live=_live_of_each(), cap=Coalesce("capacity", Value(capacity)))
        .filter(live__lt=F("cap"))
    )
    # One join per required skill: an agent lacking any of them has no row.
    for skill_id in skill_ids:
        ringable = ringable.filter(skills=skill_id)
    return ringable


def free_agents(
    workgroup: Workgroup,
    *,
    wanted: int,
    preferred_ids: Iterable[int] = (),
    longest_idle: list[int] | None = None,
) -> list[FreeAgent]:
    """Lock and return up to `wanted` of the members who may be rung now
    (`ringable_members`), longest idle first.

    Each comes with their room (capacity less what they have live), all read
    under the agents' locks: every offer and every desktop closing takes that
    lock too, so the answer holds until the commit. Only members holding every
    one of the workgroup's required skills. The agents in `preferred_ids` are
    returned too when they may be rung, however short their idle time.
    `longest_idle`: the ringable members' ids as `longest_idle_of` read them just
    before, if it did.
    """
    if longest_idle is None:
        longest_idle = longest_idle_of(workgroup, wanted)
    candidate_ids = longest_idle[:wanted]
    if preferred := set(preferred_ids) - set(candidate_ids):
        ringable = ringable_members(workgroup)
        candidate_ids += list(ringable.filter(pk__in=preferred).values_list("pk", flat=True))
    if not candidate_ids:
        return []
    # Lock them all at once in id order, not one by one in idle order: two
    # offers reading idle times a moment apart could each hold the agent the
    # other one waits for. Then re-check under the lock: another process may
    # have offered meanwhile, or an agent's last tab closed.
    locked = lock_agents(*candidate_ids)
    # Read after the locks, in a statement of its own: one that waited for a
    # lock would still see what its snapshot saw before, and miss the offer
    # that held it. Each agent's desktop, after-contact work and load at once.
    now_free = dict(_LOADS.values(tuple(candidate_ids)))
    free = [
        FreeAgent(agent, capacity_of(agent, workgroup) - now_free[agent.pk])
        for agent in locked.values()
        if agent.status == AgentStatus.AVAILABLE and agent.pk in now_free
    ]
    return sorted((f for f in free if f.room > 0), key=lambda f: (f.agent.idle_since, f.agent.pk))


def longest_idle_of(workgroup: Workgroup, most: int) -> list[int]:
    """The ids of up to `most` members who may be rung now, longest idle first."""
    rows = _LONGEST_IDLE.values(
        workgroup.pk, workgroup.capacity_per_agent, _required_skills(workgroup), most=most
    )
    return [agent_id for (agent_id,) in rows]


# The offer pass's two reads of agents, run on every routed batch (routing.compiled_queries).
_LONGEST_IDLE = CompiledQuery(
    lambda workgroup_id, capacity, skill_ids, *, most: (
        _ringable(workgroup_id, capacity, skill_ids)
        .order_by("idle_since", "pk")
        .values_list("pk")[:most]
    )
)
_LOADS = CompiledQuery(
    lambda agent_ids: (
        _reachable(Agent.objects.filter(pk__in=agent_ids))
        .annotate(load=_live_of_each())
        .order_by()
        .values_list("pk", "load")
    )
)


def _reachable(agents: QuerySet[Agent]) -> QuerySet[Agent]:
    """Those of `agents` with a desktop open and not in after-contact work."""
    return agents.filter(Exists(DesktopConnection.objects.filter(agent=OuterRef("pk")))).exclude(
        Exists(after_contact_work().filter(agent=OuterRef("pk")))
    )


def _live_of_each() -> Coalesce:
    """How many interactions each agent of the query has live (an annotation)."""
    live = (
        Interaction.objects.filter(agent=OuterRef("pk"), state__in=LOAD_STATES)
        .order_by()
        .values("agent")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(live), 0)
