"""Agents' presence: their status, their open desktops, and the capacities and
memberships supervisors change.
"""

from collections.abc import Collection, Iterable, Sequence
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from routing.events import (
    EventType,
    RoutingEvent,
    publish_on_commit,
)
from routing.models import (
    Agent,
    AgentStatus,
    DesktopConnection,
    Interaction,
    Workgroup,
)
from routing.rules import CHOOSABLE_STATUSES
from routing.services.acd import offer_after_commit, offer_for_agent_after_commit
from routing.services.kernel import RoutingError, S, lock_agent, lock_agents, set_status_locked
from routing.services.offer_returns import return_offers

# A desktop tab whose server process has not vouched for it within this is gone.
CONNECTION_STALE_AFTER = timedelta(seconds=90)
# How long the ringing offers of an agent whose last tab closed wait for a new one
# (a reload: the page and its socket are back well within it) before going back to
# their queues, at the timers' next tick. Short: a closed tab's customer waits too.
OFFERS_KEPT_FOR_A_RELOAD = timedelta(seconds=2)


def set_agent_status(*, agent: Agent, status: str) -> Agent:
    if status not in CHOOSABLE_STATUSES:
        raise RoutingError("Choose one of the listed statuses.")
    with transaction.atomic():
        locked = lock_agent(agent.pk)
        set_status_locked(locked, status)
        if status == AgentStatus.AVAILABLE:
            offer_for_agent_after_commit(locked.pk)
        else:
            transaction.on_commit(lambda: return_offers(locked.pk), robust=True)
    agent.status = locked.status
    return locked


def desktop_opened(*, agent: Agent, channel_name: str) -> None:
    desktops_opened(tabs=[(agent.pk, channel_name)])


def desktops_opened(*, tabs: list[tuple[int, str]]) -> None:
    """Note open tabs, (agent id, channel name) each; an agent's first makes them
    reachable: what waits is offered to them.

    A further tab (a second window, a refresh before the old socket's close)
    changes nothing the ACD reads, so it costs no offer pass: with many tabs
    opening at once, those passes were most of a connect's cost. Many tabs
    (a server's burst of reconnects) share one transaction.
    """
    if not tabs:
        return
    now = timezone.now()
    agent_ids = {agent_id for agent_id, _ in tabs}
    names = [name for _, name in tabs]
    with transaction.atomic():
        # The agents' locks order this against tabs closing (`desktops_closed`):
        # either that close sees these tabs and keeps the offers, or this sees
        # no other tab and offers again.
        lock_agents(*agent_ids)
        reachable_before = _with_a_tab(agent_ids, besides=names)
        # One statement; a tab that reconnects under the same name is refreshed.
        DesktopConnection.objects.bulk_create(
            [
                DesktopConnection(agent_id=agent_id, channel_name=name, last_seen=now)
                for name, agent_id in {name: agent_id for agent_id, name in tabs}.items()
            ],
            update_conflicts=True,
            unique_fields=["channel_name"],
            update_fields=["agent", "last_seen"],
        )
        if first_tabs := agent_ids - reachable_before:
            offer_for_agent_after_commit(*first_tabs)


def desktop_closed(*, channel_name: str, leaving: bool = False) -> None:
    desktops_closed(channel_names=[channel_name], leaving=[channel_name] if leaving else [])


def desktops_closed(*, channel_names: list[str], leaving: Collection[str] = ()) -> None:
    """Forget tabs; an agent whose last tab closed gets their offers taken back.

    A reload closes the old tab before the new one opens, and the server may
    hear the close first: so the offers of an agent whose last tab closed wait
    `OFFERS_KEPT_FOR_A_RELOAD` for a new tab (ringing nowhere meanwhile) and
    then go back (`return_offers_of_departed`, a timer). Tabs closed because
    their agent left (`leaving`: logged out, deactivated) or whose process died
    give the offers back right after this commits (before it returns, when it
    is not called inside a transaction). Many tabs (a server's sockets closing
    together) share one transaction.
    """
    with transaction.atomic():
        closing = DesktopConnection.objects.filter(channel_name__in=channel_names)
        tabs = dict(closing.values_list("channel_name", "agent_id"))
        if not tabs:
            return
        agent_ids = set(tabs.values())
        # The agents' locks order this against offers, which check for a tab
        # under them: an offer either committed before (and is returned after
        # this commits) or runs after and finds no tab.
        lock_agents(*agent_ids)
        closing.delete()
        left = {agent_id for name, agent_id in tabs.items() if name in leaving}
        without_a_tab = agent_ids - _with_a_tab(agent_ids)
        for agent_id in sorted(without_a_tab & left):
            transaction.on_commit(_returning_offers_of(agent_id), robust=True)
        if kept := without_a_tab - left:
            Agent.objects.filter(pk__in=kept).update(
                offers_kept_until=timezone.now() + OFFERS_KEPT_FOR_A_RELOAD
            )


def _with_a_tab(agent_ids: set[int], *, besides: Sequence[str] = ()) -> set[int]:
    """Those of `agent_ids` with an open tab other than those named `besides`."""
    return set(
        DesktopConnection.objects.filter(agent_id__in=agent_ids)
        .exclude(channel_name__in=besides)
        .values_list("agent_id", flat=True)
        .distinct()
    )


def _returning_offers_of(agent_id: int):
    def return_their_offers() -> None:
        return_offers(agent_id)

    return return_their_offers


def desktops_seen(*, channel_names: list[str]) -> None:
    """A server process vouches that these tabs are still open."""
    DesktopConnection.objects.filter(channel_name__in=channel_names).update(
        last_seen=timezone.now()
    )


def sweep_stale_desktops() -> int:
    """Forget tabs whose server process stopped vouching for them (it crashed)."""
    cutoff = timezone.now() - CONNECTION_STALE_AFTER
    names = list(
        DesktopConnection.objects.filter(last_seen__lt=cutoff).values_list(
            "channel_name", flat=True
        )
    )
    desktops_closed(channel_names=names, leaving=names)
    return len(names)


def return_offers_of_departed() -> int:
    """Offers still ringing for an agent with no tab, once kept long enough for a
    reload; how many agents' offers went back."""
    with_a_tab = DesktopConnection.objects.filter(agent_id=OuterRef("agent_id"))
    agent_ids = list(
        Interaction.objects.filter(state=S.ALERTING, agent__isnull=False)
        .exclude(Exists(with_a_tab))
        .filter(
            Q(agent__offers_kept_until__isnull=True)
            | Q(agent__offers_kept_until__lte=timezone.now())
        )
        .values_list("agent_id", flat=True)
        .order_by("agent_id")
        .distinct()
    )
    for agent_id in agent_ids:
        return_offers(agent_id)
    return len(agent_ids)


def set_agent_capacity(*, agent_id: int, capacity: int | None) -> Agent:
    """An agent's own capacity (None: each workgroup's default); offers follow at once."""
    if capacity is not None and capacity < 0:
        raise RoutingError("Capacity cannot be negative.")
    with transaction.atomic():
        agent = lock_agent(agent_id)
        if agent.capacity != capacity:
            agent.capacity = capacity
            agent.save(update_fields=["capacity"])
        # Offered even when the admin form saved the value first. No event of
        # its own: the board re-reads capacities as it refreshes, and the
        # offers that follow are announced.
        offer_for_agent_after_commit(agent.pk)
    return agent


def set_workgroup_capacity(*, workgroup_id: int, capacity_per_agent: int) -> Workgroup:
    """A workgroup's default capacity per agent; what waits is offered at once."""
    if capacity_per_agent < 0:
        raise RoutingError("Capacity cannot be negative.")
    with transaction.atomic():
        workgroup = Workgroup.objects.select_for_update().get(pk=workgroup_id)
        if workgroup.capacity_per_agent != capacity_per_agent:
            workgroup.capacity_per_agent = capacity_per_agent
            workgroup.save(update_fields=["capacity_per_agent"])
        # The default applies to this workgroup's offers only.
        offer_after_commit(workgroup.pk)
    return workgroup


def workgroup_members_changed(*, workgroup_ids: list[int], agent_ids: Iterable[int] = ()) -> None:
    """Agents joined (or left) these workgroups: offer what waits there.

    Announces MEMBERSHIP_CHANGED for each agent whose membership changed, with
    the workgroups they are in now, so that their open desktops follow at once.
    """
    with transaction.atomic():
        for agent_id in sorted(set(agent_ids)):
            member_of = Workgroup.objects.filter(members=agent_id).values_list("pk", flat=True)
            publish_on_commit(
                RoutingEvent(
                    type=EventType.MEMBERSHIP_CHANGED,
                    agent_id=agent_id,
                    member_of=frozenset(member_of),
                )
            )
        offer_after_commit(*workgroup_ids)


def skills_changed(*, workgroup_ids: Iterable[int] = (), agent_ids: Iterable[int] = ()) -> None:
    """Skills held or required changed: offer what waits where someone may now take it.

    Offers only: what already rings or is connected stays where it is.
    """
    with transaction.atomic():
        offer_after_commit(*workgroup_ids)
        for agent_id in sorted(set(agent_ids)):
            offer_for_agent_after_commit(agent_id)
