"""Which of a customer's interactions an agent may read on the desktop.

One rule (`selectors.interactions_visible_to`) for the customer history list
and for opening a past transcript: their own interactions, and finished ones
they picked up or of a workgroup they are in. Never another agent's live
interaction, never a workgroup's they are not in unless it was theirs.
"""

from dataclasses import dataclass

import pytest

from routing import selectors, services
from routing.models import Agent, Interaction, Workgroup
from tests.factories import customer_writes, make_agent, make_workgroup, refresh

pytestmark = pytest.mark.django_db

PSID = "7300000000000042"  # the customer every interaction here is with


@dataclass
class World:
    mine: Workgroup  # me and a colleague are members
    elsewhere: Workgroup  # only a stranger is a member
    me: Agent
    colleague: Agent
    stranger: Agent
    desk: object  # tests.routing.conftest.Desk over `mine`

    def queued(self, workgroup: Workgroup) -> Interaction:
        return refresh(customer_writes(workgroup, psid=PSID).interaction)

    def connected(self, workgroup: Workgroup, agent: Agent) -> Interaction:
        interaction = self.queued(workgroup)
        return services.pickup(interaction_id=interaction.pk, agent=agent)

    def finished(self, workgroup: Workgroup, agent: Agent) -> Interaction:
        interaction = self.connected(workgroup, agent)
        return services.disconnect(interaction_id=interaction.pk, agent=agent)

    def offered(self, agent: Agent) -> Interaction:
        return self.desk.offer(self.queued(self.mine), agent)


@pytest.fixture
def world(workgroup, desk) -> World:
    elsewhere = make_workgroup("Elsewhere")
    return World(
        mine=workgroup,
        elsewhere=elsewhere,
        me=make_agent("me", workgroups=[workgroup]),
        colleague=make_agent("colleague", workgroups=[workgroup]),
        stranger=make_agent("stranger", workgroups=[elsewhere]),
        desk=desk,
    )


def own_held(w: World) -> Interaction:
    interaction = w.connected(w.mine, w.me)
    return services.hold(interaction_id=interaction.pk, agent=w.me)


def own_dismissed(w: World) -> Interaction:
    interaction = w.finished(w.mine, w.me)
    return services.dismiss(interaction_id=interaction.pk, agent=w.me)


def own_in_a_workgroup_i_left(w: World) -> Interaction:
    interaction = w.finished(w.mine, w.me)
    w.mine.members.remove(w.me)
    return interaction


def own_transferred_and_finished_elsewhere(w: World) -> Interaction:
    interaction = w.connected(w.mine, w.me)
    services.transfer_to_workgroup(
        interaction_id=interaction.pk, agent=w.me, workgroup_id=w.elsewhere.pk
    )
    services.pickup(interaction_id=interaction.pk, agent=w.stranger)
    return services.disconnect(interaction_id=interaction.pk, agent=w.stranger)


def own_transferred_and_live_with_a_colleague(w: World) -> Interaction:
    interaction = w.connected(w.mine, w.me)
    services.transfer_to_agent(
        interaction_id=interaction.pk, agent=w.me, to_agent_id=w.colleague.pk
    )
    return services.pickup(interaction_id=interaction.pk, agent=w.colleague)


def own_transferred_and_live_elsewhere(w: World) -> Interaction:
    interaction = w.connected(w.mine, w.me)
    services.transfer_to_workgroup(
        interaction_id=interaction.pk, agent=w.me, workgroup_id=w.elsewhere.pk
    )
    return services.pickup(interaction_id=interaction.pk, agent=w.stranger)


def abandoned_in_my_workgroup(w: World) -> Interaction:
    interaction = w.queued(w.mine)
    return services.disconnect(interaction_id=interaction.pk, agent=None)


CASES = {
    "own live": (lambda w: w.connected(w.mine, w.me), True),
    "own held": (own_held, True),
    "own offer": (lambda w: w.offered(w.me), True),
    "own finished": (lambda w: w.finished(w.mine, w.me), True),
    "own finished and dismissed": (own_dismissed, True),
    "own finished, workgroup since left": (own_in_a_workgroup_i_left, True),
    "own, transferred and finished elsewhere": (own_transferred_and_finished_elsewhere, True),
    "own, transferred and live with a colleague": (
        own_transferred_and_live_with_a_colleague,
        False,
    ),
    "own, transferred and live elsewhere": (own_transferred_and_live_elsewhere, False),
    "colleague's live, same workgroup": (lambda w: w.connected(w.mine, w.colleague), False),
    "offered to a colleague": (lambda w: w.offered(w.colleague), False),
    "colleague's finished, same workgroup": (lambda w: w.finished(w.mine, w.colleague), True),
    "abandoned in my workgroup": (abandoned_in_my_workgroup, True),
    "queued in my workgroup (shown in the queue, not the history)": (
        lambda w: w.queued(w.mine),
        False,
    ),
    "queued in another workgroup": (lambda w: w.queued(w.elsewhere), False),
    "live in another workgroup": (lambda w: w.connected(w.elsewhere, w.stranger), False),
    "finished in another workgroup": (lambda w: w.finished(w.elsewhere, w.stranger), False),
}


@pytest.mark.parametrize(("make", "visible"), CASES.values(), ids=CASES.keys())
def test_what_an_agent_may_read_of_a_customer(world, make, visible):
    # My earlier interaction with the customer, still on my desktop: the history's anchor.
    anchor = world.finished(world.mine, world.me)
    other = make(world)

    assert selectors.interactions_visible_to(world.me).filter(pk=other.pk).count() == int(visible)
    listed = [i.pk for i in selectors.customer_history(anchor, world.me)]
    assert (other.pk in listed) is visible
    # Without naming the agent, the history is its owner's: the same.
    assert [i.pk for i in selectors.customer_history(anchor)] == listed
    assert (selectors.past_interaction(anchor, other.pk, world.me) is not None) is visible


def test_a_queued_interaction_shows_only_what_every_member_may_see(world):
    mine_elsewhere = own_transferred_and_finished_elsewhere(world)
    colleagues = world.finished(world.mine, world.colleague)
    strangers = world.finished(world.elsewhere, world.stranger)
    waiting = world.queued(world.mine)

    # Any member may be looking: their workgroup's finished interactions only.
    assert [i.pk for i in selectors.customer_history(waiting)] == [colleagues.pk]
    # Naming the agent adds what was theirs.
    assert [i.pk for i in selectors.customer_history(waiting, world.me)] == [
        colleagues.pk,
        mine_elsewhere.pk,
    ]
    assert selectors.customer_history(waiting, world.colleague) == [colleagues]
    assert selectors.past_interaction(waiting, mine_elsewhere.pk, world.me) == mine_elsewhere
    assert selectors.past_interaction(waiting, mine_elsewhere.pk, world.colleague) is None
    assert selectors.past_interaction(waiting, strangers.pk, world.me) is None
