"""Who gets the interaction: priority, required skills, and the preferred agent.

Like tests/routing/test_acd.py these commit for real (`transaction=True`): the
ACD runs after the commit that queued an interaction or freed an agent. The
clock of the preferred agent window is moved as the timers' tests move theirs:
by moving `preferred_until` into the past, which is what time does to it.
"""

import itertools
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from routing import config_cache, message_entries, services
from routing.models import (
    Agent,
    AgentStatus,
    Interaction,
    InteractionEvent,
    PriorityMatch,
    PriorityRule,
    Skill,
)
from routing.models import InteractionState as S
from routing.rules import PriorityFound, arrival_priority
from routing.services import acd
from tests.factories import PAGE_ID, customer_writes, make_agent, make_workgroup, refresh

pytestmark = pytest.mark.django_db(transaction=True)

# Generated PSIDs start with 79: the tests name their own returning customers 77….
_psids = itertools.count(1)


def writes(workgroup, *, psid: str | None = None, **kwargs) -> Interaction:
    """A customer writes; returns their (fresh) interaction."""
    psid = psid or f"79{next(_psids):014d}"
    return refresh(customer_writes(workgroup, psid=psid, **kwargs).interaction)


def taps(workgroup, payload: str, *, title: str = "Button", psid: str | None = None):
    """A customer taps a button (a postback): its title reads as their text."""
    return refresh(
        services.receive_customer_message(
            workgroup_id=workgroup.pk,
            page_id=PAGE_ID,
            psid=psid or f"79{next(_psids):014d}",
            mid=f"m_tap_{next(_psids)}",
            text=title,
            attachments=[message_entries.postback(title, payload)],
            sent_at=timezone.now(),
        ).interaction
    )


def idle_for(agent: Agent, minutes: int) -> Agent:
    Agent.objects.filter(pk=agent.pk).update(idle_since=timezone.now() - timedelta(minutes=minutes))
    agent.refresh_from_db()
    return agent


def rule(match: str, value: str = "", *, priority: int, page_id: str = "", active=True):
    return PriorityRule.objects.create(
        match=match, value=value, priority=priority, page_id=page_id, active=active
    )


def handled(workgroup, agent: Agent, psid: str) -> Interaction:
    """A conversation `agent` answered and ended; its agent is idle again."""
    interaction = writes(workgroup, psid=psid)
    services.pickup(interaction_id=interaction.pk, agent=agent)
    return services.disconnect(interaction_id=interaction.pk, agent=agent)


def offers_of(interaction: Interaction) -> list[tuple[int, bool]]:
    return [
        (event.detail["agent_id"], event.detail.get("preferred", False))
        for event in InteractionEvent.objects.filter(interaction=interaction, verb="offer")
    ]


# --- the priority rules (a pure function) -------------------------------------------


def test_the_highest_matching_rule_sets_the_priority():
    page = PriorityRule(pk=1, match=PriorityMatch.PAGE, page_id="111", priority=2)
    payload = PriorityRule(pk=2, match=PriorityMatch.PAYLOAD, value="REFUND", priority=7)
    keyword = PriorityRule(pk=3, match=PriorityMatch.KEYWORD, value="urgent", priority=5)
    rules = [page, payload, keyword]

    def found(**message):
        message.setdefault("page_id", "111")
        message.setdefault("text", "")
        message.setdefault("payloads", [])
        return arrival_priority(rules, **message)

    assert found() == PriorityFound(2, 1)
    assert found(page_id="222") == PriorityFound(0, None)
    assert found(text="It is URGENT, please!") == PriorityFound(5, 3)
    assert found(text="urgently, not urgent-ish", page_id="222") == PriorityFound(5, 3)
    assert found(text="Not urgently") == PriorityFound(2, 1)  # a whole word only
    assert found(payloads=["REFUND"], text="urgent") == PriorityFound(7, 2)
    assert found(payloads=["refund"]) == PriorityFound(2, 1)  # a payload matches exactly


def test_a_keyword_may_be_a_phrase_and_an_inactive_or_other_pages_rule_never_matches():
    phrase = PriorityRule(pk=1, match=PriorityMatch.KEYWORD, value="cancel  my order", priority=3)
    off = PriorityRule(pk=2, match=PriorityMatch.KEYWORD, value="order", priority=9, active=False)
    elsewhere = PriorityRule(
        pk=3, match=PriorityMatch.KEYWORD, value="order", priority=8, page_id="999"
    )
    rules = [phrase, off, elsewhere]

    assert arrival_priority(
        rules, page_id="111", text="Please cancel my\norder now", payloads=[]
    ) == PriorityFound(3, 1)
    assert arrival_priority(
        rules, page_id="111", text="cancel the order", payloads=[]
    ) == PriorityFound(0, None)


def test_a_rule_says_what_it_misses():
    with pytest.raises(Exception, match="needs the Page id"):
        PriorityRule(match=PriorityMatch.PAGE, priority=1).full_clean()
    with pytest.raises(Exception, match="payload or the keyword"):
        PriorityRule(match=PriorityMatch.KEYWORD, value=" ", priority=1).full_clean()
    with pytest.raises(Exception, match="digits only"):
        PriorityRule(match=PriorityMatch.PAGE, page_id="Acme", priority=1).full_clean()
    padded = PriorityRule(
        match=PriorityMatch.PAYLOAD, value=" REFUND ", page_id=" 111 ", priority=1
    )
    padded.full_clean()
    assert (padded.value, padded.page_id) == ("REFUND", "111")


# --- priority on arrival -------------------------------------------------------------


def test_an_arrival_takes_its_pages_priority_and_the_rule_is_recorded():
    workgroup = make_workgroup()
    page_default = rule(PriorityMatch.PAGE, page_id=PAGE_ID, priority=2)
    rule(PriorityMatch.PAGE, page_id="100000000000999", priority=9)  # another Page

    interaction = writes(workgroup)

    assert interaction.priority == 2
    created = InteractionEvent.objects.get(interaction=interaction, verb="create")
    assert created.detail == {"priority": 2, "priority_rule_id": page_default.pk}


def test_a_keyword_or_a_tapped_payload_raises_an_arrivals_priority():
    workgroup = make_workgroup()
    rule(PriorityMatch.KEYWORD, "urgent", priority=5)
    rule(PriorityMatch.PAYLOAD, "TALK_TO_SALES", priority=8)

    assert writes(workgroup, text="Hello").priority == 0
    assert writes(workgroup, text="This is urgent").priority == 5
    assert taps(workgroup, "TALK_TO_SALES", title="Talk to sales").priority == 8
    assert InteractionEvent.objects.get(verb="create", interaction__priority=0).detail == {}


def test_a_later_message_while_queued_raises_the_priority_but_never_lowers_it():
    workgroup = make_workgroup()
    urgent = rule(PriorityMatch.KEYWORD, "urgent", priority=5)
    rule(PriorityMatch.KEYWORD, "when", priority=1)
    psid = "7700000000009001"
    waiting = writes(workgroup, psid=psid, text="Hello")  # nobody to offer it to
    assert (waiting.state, waiting.priority) == (S.QUEUED, 0)

    writes(workgroup, psid=psid, text="It is urgent!")
    writes(workgroup, psid=psid, text="when?")

    assert refresh(waiting).priority == 5
    raised = InteractionEvent.objects.get(interaction=waiting, verb="priority_raised")
    assert raised.detail == {"from": 0, "to": 5, "priority_rule_id": urgent.pk}
    assert (raised.from_state, raised.to_state) == (S.QUEUED, S.QUEUED)


def test_once_offered_a_later_message_changes_no_priority():
    workgroup = make_workgroup()
    rule(PriorityMatch.KEYWORD, "urgent", priority=5)
    agent = make_agent(workgroups=[workgroup])
    psid = "7700000000009002"
    offered = writes(workgroup, psid=psid, text="Hello")
    assert offered.agent_id == agent.pk

    writes(workgroup, psid=psid, text="urgent")

    assert refresh(offered).priority == 0
    assert not InteractionEvent.objects.filter(verb="priority_raised").exists()


# --- the queue's order ---------------------------------------------------------------


def test_the_queue_is_offered_by_priority_then_by_arrival():
    workgroup = make_workgroup(capacity_per_agent=1)
    rule(PriorityMatch.KEYWORD, "urgent", priority=5)
    rule(PriorityMatch.KEYWORD, "soon", priority=3)
    agent = make_agent(workgroups=[workgroup], status=AgentStatus.AWAY)
    first = writes(workgroup, text="Hello")
    soon = writes(workgroup, text="soon please")
    second = writes(workgroup, text="Hi")
    urgent = writes(workgroup, text="URGENT")
    later_urgent = writes(workgroup, text="urgent too")

    services.set_agent_status(agent=agent, status=AgentStatus.AVAILABLE)
    order = []
    while offered := Interaction.objects.filter(state=S.ALERTING).first():
        order.append(offered.pk)
        services.pickup(interaction_id=offered.pk, agent=agent)
        services.disconnect(interaction_id=offered.pk, agent=agent)

    assert order == [urgent.pk, later_urgent.pk, soon.pk, first.pk, second.pk]


def test_one_pass_offers_the_highest_priority_first_to_the_longest_idle():
    """Many waiting rows offered in one transaction keep the priority order too."""
    workgroup = make_workgroup(capacity_per_agent=1)
    rule(PriorityMatch.KEYWORD, "urgent", priority=5)
    away = [make_agent(workgroups=[workgroup], status=AgentStatus.AWAY) for _ in range(3)]
    normal = [writes(workgroup, text="Hello") for _ in range(acd.OFFER_BATCH)]
    urgent = writes(workgroup, text="urgent")
    for minutes, agent in zip((30, 20, 10), away, strict=True):
        Agent.objects.filter(pk=agent.pk).update(status=AgentStatus.AVAILABLE)
        idle_for(agent, minutes)

    assert services.offer_waiting(workgroup_id=workgroup.pk) == 3

    assert refresh(urgent).agent_id == away[0].pk
    assert [refresh(i).agent_id for i in normal[:2]] == [away[1].pk, away[2].pk]
    assert {refresh(i).state for i in normal[2:]} == {S.QUEUED}


# --- required skills -----------------------------------------------------------------


def test_a_router_batchs_offer_passes_read_the_required_skills_once():
    # Every routed body's commit runs an offer pass; inside a batch they share
    # the workgroup's configuration, its required skills with it.
    workgroup = make_workgroup()
    workgroup.required_skills.set([Skill.objects.create(name="Spanish")])
    make_agent(workgroups=[workgroup], status=AgentStatus.AWAY)
    assert writes(workgroup).state == S.QUEUED
    with CaptureQueriesContext(connection) as queries, config_cache.reading_config_once():
        for _ in range(3):
            assert acd.offer_waiting(workgroup_id=workgroup.pk) == 0
    sql = [query["sql"] for query in queries.captured_queries]
    skills_read = [q for q in sql if q.startswith('SELECT "routing_skill"')]
    assert len(skills_read) == 1


def test_only_an_agent_with_every_required_skill_is_offered():
    spanish, billing = Skill.objects.create(name="Spanish"), Skill.objects.create(name="Billing")
    workgroup = make_workgroup()
    workgroup.required_skills.set([spanish, billing])
    nobody = idle_for(make_agent(workgroups=[workgroup]), minutes=60)
    half = idle_for(make_agent(workgroups=[workgroup]), minutes=50)
    half.skills.set([spanish])
    both = idle_for(make_agent(workgroups=[workgroup]), minutes=1)
    both.skills.set([spanish, billing, Skill.objects.create(name="French")])

    offered_to = [writes(workgroup).agent_id for _ in range(3)]

    assert offered_to == [both.pk, both.pk, both.pk]
    assert nobody.interactions.count() == half.interactions.count() == 0


def test_without_anyone_skilled_it_waits_and_is_offered_once_an_agent_learns_the_skill():
    spanish = Skill.objects.create(name="Spanish")
    workgroup = make_workgroup()
    workgroup.required_skills.set([spanish])
    agent = make_agent(workgroups=[workgroup])
    waiting = writes(workgroup)
    assert (waiting.state, waiting.agent_id) == (S.QUEUED, None)

    agent.skills.add(spanish)
    services.skills_changed(agent_ids=[agent.pk])

    assert refresh(waiting).agent_id == agent.pk


def test_skills_are_required_per_workgroup():
    spanish = Skill.objects.create(name="Spanish")
    spain, general = make_workgroup(), make_workgroup()
    spain.required_skills.set([spanish])
    agent = make_agent(workgroups=[spain, general])

    assert writes(general).agent_id == agent.pk
    assert writes(spain).state == S.QUEUED


# --- the preferred agent -------------------------------------------------------------


@pytest.fixture
def workgroup():
    return make_workgroup(preferred_agent_seconds=30, capacity_per_agent=4)


def test_a_returning_customer_is_offered_first_to_their_last_agent(workgroup):
    ann = make_agent("ann", workgroups=[workgroup])
    handled(workgroup, ann, psid="7700000000000001")
    bob = idle_for(make_agent("bob", workgroups=[workgroup]), minutes=60)  # idle far longer
    before = timezone.now()

    again = writes(workgroup, psid="7700000000000001", text="Me again")

    assert (again.state, again.agent_id) == (S.ALERTING, ann.pk)
    assert offers_of(again) == [(ann.pk, True)]
    assert again.preferred_agent_id == ann.pk and again.preferred_until is None  # spent
    created = InteractionEvent.objects.get(interaction=again, verb="create").detail
    assert created["preferred_agent_id"] == ann.pk
    until = created["preferred_until"]
    assert (before + timedelta(seconds=30)).isoformat() <= until
    assert until <= (timezone.now() + timedelta(seconds=30)).isoformat()
    # A new customer still goes to the longest idle.
    assert writes(workgroup).agent_id == bob.pk


def test_without_a_window_a_returning_customer_goes_to_the_longest_idle():
    workgroup = make_workgroup()
    ann = make_agent("ann", workgroups=[workgroup])
    handled(workgroup, ann, psid="7700000000000002")
    bob = idle_for(make_agent("bob", workgroups=[workgroup]), minutes=60)

    again = writes(workgroup, psid="7700000000000002")

    assert (again.agent_id, again.preferred_agent_id) == (bob.pk, None)


def test_it_waits_for_the_agent_who_becomes_available_within_the_window(workgroup):
    ann = make_agent("ann", workgroups=[workgroup])
    handled(workgroup, ann, psid="7700000000000003")
    services.set_agent_status(agent=ann, status=AgentStatus.AT_LUNCH)
    bob = idle_for(make_agent("bob", workgroups=[workgroup]), minutes=60)

    again = writes(workgroup, psid="7700000000000003")
    newcomer = writes(workgroup)  # others are offered meanwhile, as usual

    assert (again.state, again.agent_id) == (S.QUEUED, None)
    assert newcomer.agent_id == bob.pk
    assert services.run_due_timers()["preferred_windows_ended"] == 0  # still within

    services.set_agent_status(agent=ann, status=AgentStatus.AVAILABLE)

    assert (refresh(again).state, again.agent_id) == (S.ALERTING, ann.pk)
    assert offers_of(again) == [(ann.pk, True)]


def test_after_the_window_the_timer_offers_it_to_the_queue_as_usual(workgroup):
    ann = make_agent("ann", workgroups=[workgroup])
    handled(workgroup, ann, psid="7700000000000004")
    services.set_agent_status(agent=ann, status=AgentStatus.AWAY)
    bob = make_agent("bob", workgroups=[workgroup])
    again = writes(workgroup, psid="7700000000000004")
    assert again.state == S.QUEUED
    # The window passes.
    Interaction.objects.filter(pk=again.pk).update(
        preferred_until=timezone.now() - timedelta(seconds=1)
    )

    done = services.run_due_timers()

    assert done["preferred_windows_ended"] == 1
    assert (refresh(again).state, again.agent_id) == (S.ALERTING, bob.pk)
    assert offers_of(again) == [(bob.pk, False)]
    ended = InteractionEvent.objects.get(interaction=again, verb="preferred_agent_window_over")
    assert (ended.detail, ended.from_state, ended.to_state) == (
        {"agent_id": ann.pk},
        S.QUEUED,
        S.QUEUED,
    )
    assert services.run_due_timers()["preferred_windows_ended"] == 0
    # Ann back within what would have been the window changes nothing now.
    services.set_agent_status(agent=ann, status=AgentStatus.AVAILABLE)
    assert refresh(again).agent_id == bob.pk


def test_a_preferred_offer_that_rings_out_goes_to_the_queue_as_usual(workgroup):
    ann = make_agent("ann", workgroups=[workgroup])
    handled(workgroup, ann, psid="7700000000000005")
    bob = make_agent("bob", workgroups=[workgroup])
    again = writes(workgroup, psid="7700000000000005")
    assert again.agent_id == ann.pk
    Interaction.objects.filter(pk=again.pk).update(
        alert_deadline=timezone.now() - timedelta(seconds=1)
    )

    services.run_due_timers()

    assert refresh(again).agent_id == bob.pk
    assert offers_of(again) == [(ann.pk, True), (bob.pk, False)]


def test_a_preferred_agent_who_left_the_workgroup_is_not_waited_for(workgroup):
    ann = make_agent("ann", workgroups=[workgroup])
    handled(workgroup, ann, psid="7700000000000006")
    workgroup.members.remove(ann)
    bob = make_agent("bob", workgroups=[workgroup])

    again = writes(workgroup, psid="7700000000000006")

    assert (again.agent_id, again.preferred_agent_id) == (bob.pk, None)


def test_the_last_agent_is_the_one_of_the_latest_answered_interaction_in_this_workgroup(
    workgroup,
):
    elsewhere = make_workgroup(preferred_agent_seconds=30)
    ann = make_agent("ann", workgroups=[workgroup, elsewhere])
    bob = make_agent("bob", workgroups=[workgroup, elsewhere], status=AgentStatus.AWAY)
    psid = "7700000000000007"
    handled(workgroup, ann, psid=psid)
    services.set_agent_status(agent=ann, status=AgentStatus.AWAY)
    services.set_agent_status(agent=bob, status=AgentStatus.AVAILABLE)
    handled(elsewhere, bob, psid=psid)  # later, but in another workgroup
    # Then a conversation that ended unanswered (the customer left while queued).
    services.set_agent_status(agent=bob, status=AgentStatus.AWAY)
    unanswered = writes(workgroup, psid=psid)
    services.disconnect(interaction_id=unanswered.pk, agent=None, reason="customer left")
    services.set_agent_status(agent=ann, status=AgentStatus.AVAILABLE)
    services.set_agent_status(agent=bob, status=AgentStatus.AVAILABLE)
    idle_for(bob, minutes=60)

    again = writes(workgroup, psid=psid)

    assert (again.agent_id, again.preferred_agent_id) == (ann.pk, ann.pk)


def test_a_preferred_agent_without_room_is_waited_for_until_they_have_some(workgroup):
    workgroup.capacity_per_agent = 1
    workgroup.save()
    ann = make_agent("ann", workgroups=[workgroup])
    handled(workgroup, ann, psid="7700000000000008")
    busy = writes(workgroup, psid="7700000000000009")
    services.pickup(interaction_id=busy.pk, agent=ann)
    bob = make_agent("bob", workgroups=[workgroup])

    again = writes(workgroup, psid="7700000000000008")
    assert again.state == S.QUEUED
    services.disconnect(interaction_id=busy.pk, agent=ann)

    assert refresh(again).agent_id == ann.pk
    assert bob.interactions.count() == 0


def test_a_preferred_agent_lacking_a_required_skill_is_not_offered_it(workgroup):
    ann = make_agent("ann", workgroups=[workgroup])
    handled(workgroup, ann, psid="7700000000000010")
    spanish = Skill.objects.create(name="Spanish")
    workgroup.required_skills.set([spanish])
    bob = make_agent("bob", workgroups=[workgroup])
    bob.skills.set([spanish])

    again = writes(workgroup, psid="7700000000000010")
    assert (again.state, again.preferred_agent_id) == (S.QUEUED, ann.pk)
    Interaction.objects.filter(pk=again.pk).update(
        preferred_until=timezone.now() - timedelta(seconds=1)
    )
    services.run_due_timers()

    assert refresh(again).agent_id == bob.pk


def test_a_transfer_to_another_workgroup_ends_the_wait_for_the_preferred_agent(workgroup):
    ann = make_agent("ann", workgroups=[workgroup])
    handled(workgroup, ann, psid="7700000000000011")
    services.set_agent_status(agent=ann, status=AgentStatus.AWAY)
    again = writes(workgroup, psid="7700000000000011")
    billing = make_workgroup()
    biller = make_agent("biller", workgroups=[billing])
    carol = make_agent("carol", workgroups=[workgroup], status=AgentStatus.AWAY)
    services.pickup(interaction_id=again.pk, agent=carol)  # from the queue view, by hand
    services.transfer_to_workgroup(interaction_id=again.pk, agent=carol, workgroup_id=billing.pk)

    assert (refresh(again).agent_id, again.preferred_until) == (biller.pk, None)
