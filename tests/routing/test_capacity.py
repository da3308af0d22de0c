"""Capacity: how many live interactions (alerting, connected, held) an agent has at once.

Per agent (Agent.capacity), else per workgroup (capacity_per_agent), counted
across every workgroup the agent is in. The ACD never offers past it; a lower
capacity takes nothing away; more room is offered at once, also when a
supervisor changes it in admin.

These tests commit for real (`transaction=True`): offers run after the commit
of whatever made room, as in production.
"""

import itertools

import pytest

from routing import services
from routing.models import Agent, AgentStatus, Interaction
from routing.models import InteractionState as S
from routing.services import RoutingError
from tests.factories import customer_writes, make_agent, make_workgroup, refresh
from tests.supervisors import logged_in, make_supervisor

pytestmark = pytest.mark.django_db(transaction=True)

_psids = itertools.count(1)


def writes(workgroup) -> Interaction:
    return refresh(customer_writes(workgroup, psid=f"76{next(_psids):014d}").interaction)


def connected(workgroup, agent) -> Interaction:
    interaction = writes(workgroup)
    return services.pickup(interaction_id=interaction.pk, agent=agent)


def live(agent: Agent) -> int:
    return Interaction.objects.filter(
        agent=agent, state__in=(S.ALERTING, S.CONNECTED, S.HELD)
    ).count()


# --- across workgroups ----------------------------------------------------------------


def test_each_workgroups_capacity_counts_everything_the_agent_holds():
    sales = make_workgroup(capacity_per_agent=1)
    support = make_workgroup(capacity_per_agent=3)
    agent = make_agent(workgroups=[sales, support])
    connected(sales, agent)

    # Support allows three live interactions in all: one more, then another.
    assert writes(support).agent_id == agent.pk
    # Sales allows one in all, and the agent holds two.
    assert writes(sales).state == S.QUEUED
    assert writes(support).agent_id == agent.pk
    assert writes(support).state == S.QUEUED
    assert live(agent) == 3


def test_an_agents_own_capacity_holds_in_every_workgroup():
    sales, support = make_workgroup(capacity_per_agent=5), make_workgroup(capacity_per_agent=5)
    agent = make_agent(workgroups=[sales, support], capacity=2)

    offered = [writes(sales), writes(support), writes(sales), writes(support)]

    assert [i.state for i in offered] == [S.ALERTING, S.ALERTING, S.QUEUED, S.QUEUED]
    assert live(agent) == 2


# --- lowered while busy ---------------------------------------------------------------


def test_a_lower_capacity_takes_nothing_away_and_holds_back_new_offers():
    workgroup = make_workgroup(capacity_per_agent=4)
    agent = make_agent(workgroups=[workgroup])
    busy = [connected(workgroup, agent) for _ in range(3)]

    services.set_agent_capacity(agent_id=agent.pk, capacity=1)

    assert {refresh(i).state for i in busy} == {S.CONNECTED}
    waiting = writes(workgroup)
    assert waiting.state == S.QUEUED
    services.disconnect(interaction_id=busy[0].pk, agent=agent)
    services.disconnect(interaction_id=busy[1].pk, agent=agent)
    assert refresh(waiting).state == S.QUEUED  # one live, capacity one
    services.disconnect(interaction_id=busy[2].pk, agent=agent)
    assert (refresh(waiting).state, waiting.agent_id) == (S.ALERTING, agent.pk)


def test_a_lower_workgroup_capacity_holds_back_new_offers():
    workgroup = make_workgroup(capacity_per_agent=3)
    agent = make_agent(workgroups=[workgroup])
    connected(workgroup, agent)
    connected(workgroup, agent)

    services.set_workgroup_capacity(workgroup_id=workgroup.pk, capacity_per_agent=2)

    assert writes(workgroup).state == S.QUEUED
    assert live(agent) == 2


# --- more room is offered at once -------------------------------------------------------


def test_raising_an_agents_capacity_offers_what_waits_at_once():
    workgroup = make_workgroup(capacity_per_agent=1)
    agent = make_agent(workgroups=[workgroup])
    connected(workgroup, agent)
    first, second, third = writes(workgroup), writes(workgroup), writes(workgroup)
    assert {first.state, second.state, third.state} == {S.QUEUED}

    services.set_agent_capacity(agent_id=agent.pk, capacity=3)

    assert [refresh(i).state for i in (first, second, third)] == [
        S.ALERTING,
        S.ALERTING,
        S.QUEUED,
    ]
    assert refresh_agent(agent).capacity == 3

    # Back to the workgroup's default (None): nothing more is offered.
    services.set_agent_capacity(agent_id=agent.pk, capacity=None)
    assert refresh(third).state == S.QUEUED
    assert refresh_agent(agent).capacity is None


def test_raising_a_workgroups_capacity_offers_what_waits_at_once():
    workgroup = make_workgroup(capacity_per_agent=1)
    ann, bob = make_agent(workgroups=[workgroup]), make_agent(workgroups=[workgroup])
    connected(workgroup, ann)
    connected(workgroup, bob)
    waiting = [writes(workgroup) for _ in range(3)]

    services.set_workgroup_capacity(workgroup_id=workgroup.pk, capacity_per_agent=2)

    assert [refresh(i).state for i in waiting] == [S.ALERTING, S.ALERTING, S.QUEUED]
    assert {i.agent_id for i in waiting[:2]} == {ann.pk, bob.pk}


def test_a_negative_capacity_is_refused():
    workgroup = make_workgroup()
    agent = make_agent(workgroups=[workgroup])
    with pytest.raises(RoutingError, match=r"^Capacity cannot be negative\.$"):
        services.set_agent_capacity(agent_id=agent.pk, capacity=-1)
    with pytest.raises(RoutingError, match=r"^Capacity cannot be negative\.$"):
        services.set_workgroup_capacity(workgroup_id=workgroup.pk, capacity_per_agent=-1)


@pytest.mark.parametrize(
    "frees_up",
    ["status change", "disconnect", "capacity change", "login", "transfer"],
)
def test_waiting_work_is_offered_the_moment_an_agent_frees_up(frees_up):
    workgroup, elsewhere = make_workgroup(capacity_per_agent=1), make_workgroup()
    agent = make_agent(
        workgroups=[workgroup],
        online=frees_up != "login",
        status=AgentStatus.AWAY if frees_up == "status change" else AgentStatus.AVAILABLE,
    )
    busy = connected(workgroup, agent) if frees_up in ("disconnect", "transfer") else None
    if frees_up == "capacity change":
        services.set_agent_capacity(agent_id=agent.pk, capacity=0)
    waiting = writes(workgroup)
    assert waiting.state == S.QUEUED

    if frees_up == "status change":
        services.set_agent_status(agent=agent, status=AgentStatus.AVAILABLE)
    elif frees_up == "disconnect":
        services.disconnect(interaction_id=busy.pk, agent=agent)
    elif frees_up == "capacity change":
        services.set_agent_capacity(agent_id=agent.pk, capacity=None)
    elif frees_up == "login":
        services.desktop_opened(agent=agent, channel_name="tab-after-login")
    else:
        services.transfer_to_workgroup(
            interaction_id=busy.pk, agent=agent, workgroup_id=elsewhere.pk
        )

    assert (refresh(waiting).state, waiting.agent_id) == (S.ALERTING, agent.pk)


# --- a supervisor in admin ---------------------------------------------------------------


def refresh_agent(agent: Agent) -> Agent:
    agent.refresh_from_db()
    return agent


def test_a_supervisor_raising_an_agents_capacity_in_admin_offers_at_once():
    workgroup = make_workgroup(capacity_per_agent=1)
    agent = make_agent(workgroups=[workgroup])
    connected(workgroup, agent)
    waiting = writes(workgroup)

    response = logged_in(make_supervisor()).post(
        f"/admin/routing/agent/{agent.pk}/change/",
        {"capacity": "2", "workgroups": [workgroup.pk], "new_status": ""},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert refresh_agent(agent).capacity == 2
    assert (refresh(waiting).state, waiting.agent_id) == (S.ALERTING, agent.pk)


def test_a_supervisor_adding_an_agent_to_a_workgroup_in_admin_offers_its_work():
    workgroup, billing = make_workgroup(), make_workgroup()
    agent = make_agent(workgroups=[workgroup])
    waiting = writes(billing)
    assert waiting.state == S.QUEUED

    response = logged_in(make_supervisor()).post(
        f"/admin/routing/agent/{agent.pk}/change/",
        {"capacity": "", "workgroups": [workgroup.pk, billing.pk], "new_status": ""},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert (refresh(waiting).state, waiting.agent_id) == (S.ALERTING, agent.pk)


def workgroup_form(workgroup, **changes) -> dict:
    form = {
        "name": workgroup.name,
        "capacity_per_agent": str(workgroup.capacity_per_agent),
        "alert_timeout_seconds": str(workgroup.alert_timeout_seconds),
        "after_contact_seconds": str(workgroup.after_contact_seconds),
        "members": list(workgroup.members.values_list("pk", flat=True)),
        "wrap_up_codes-TOTAL_FORMS": "0",
        "wrap_up_codes-INITIAL_FORMS": "0",
        "time_zone": workgroup.time_zone,
        "business_hours-TOTAL_FORMS": "0",
        "business_hours-INITIAL_FORMS": "0",
        "holidays-TOTAL_FORMS": "0",
        "holidays-INITIAL_FORMS": "0",
    }
    form.update(changes)
    return form


@pytest.mark.parametrize("change", ["capacity", "members"])
def test_a_supervisor_changing_a_workgroup_in_admin_offers_at_once(change):
    workgroup = make_workgroup(capacity_per_agent=1)
    agent = make_agent(workgroups=[workgroup])
    newcomer = make_agent()
    connected(workgroup, agent)
    waiting = writes(workgroup)
    assert waiting.state == S.QUEUED

    if change == "capacity":
        form, expected = workgroup_form(workgroup, capacity_per_agent="2"), agent
    else:
        form = workgroup_form(workgroup, members=[agent.pk, newcomer.pk])
        expected = newcomer
    response = logged_in(make_supervisor()).post(
        f"/admin/routing/workgroup/{workgroup.pk}/change/", form
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert (refresh(waiting).state, waiting.agent_id) == (S.ALERTING, expected.pk)
