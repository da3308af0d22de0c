"""Service-level clocks on the desktop: rows, queue and heading; Sort by time left."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from connect import fragments
from routing import services
from routing.models import Agent, AgentStatus, Customer
from tests.factories import customer_writes, make_agent, make_page, make_workgroup, refresh
from tests.supervisors import logged_in as supervisor_client
from tests.supervisors import make_supervisor

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def workgroup():
    workgroup = make_workgroup("Facebook DM", first_response_seconds=120, next_response_seconds=60)
    make_page(workgroup)
    return workgroup


@pytest.fixture
def agent(workgroup) -> Agent:
    return make_agent("ann", workgroups=[workgroup], status=AgentStatus.AWAY)


def logged_in(agent: Agent) -> Client:
    client = Client()
    client.force_login(agent.user)
    return client


def connected(workgroup, agent, *, psid: str, waited: int):
    sent = timezone.now() - timedelta(seconds=waited)
    chat = refresh(customer_writes(workgroup, psid=psid, sent_at=sent).interaction)
    return services.pickup(interaction_id=chat.pk, agent=agent)


def clock_of(html: str, element_id: str) -> dict[str, str]:
    """The clock in the element with `element_id`: its level, counts and words."""
    start = html.index(f'id="{element_id}"')
    found = re.search(
        r'class="sla-clock" role="timer" data-clock-left="(-?\d+)" data-clock-near="(-?\d+)" '
        r'data-level="(\w+)"><span class="sla-clock-label">([^<]+)</span> '
        r'<time class="sla-clock-time" datetime="[^"]+">([^<]+)</time>',
        html[start:],
    )
    assert found, f"no clock in #{element_id}"
    left, near, level, label, words = found.groups()
    return {"left": left, "near": near, "level": level, "label": label, "words": words}


def test_each_live_interaction_shows_its_time_left_in_its_level(workgroup, agent):
    fresh = connected(workgroup, agent, psid="7300000000000101", waited=10)
    close = connected(workgroup, agent, psid="7300000000000102", waited=100)
    late = connected(workgroup, agent, psid="7300000000000103", waited=200)

    page = logged_in(agent).get("/").content.decode()

    ok = clock_of(page, f"interaction-{fresh.pk}")
    assert ok["level"] == "ok" and ok["label"] == "First response"
    assert 105 <= int(ok["left"]) <= 110 and ok["words"].endswith(" left")
    assert 75 <= int(ok["near"]) <= 80  # amber in the last quarter
    assert clock_of(page, f"interaction-{close.pk}")["level"] == "near"
    past = clock_of(page, f"interaction-{late.pk}")
    assert past["level"] == "past" and past["words"] == "1 min 20 s over"


def test_an_answered_customer_has_no_clock_until_they_write_again(workgroup, agent):
    chat = connected(workgroup, agent, psid="7300000000000104", waited=10)
    services.store_reply(interaction_id=chat.pk, agent=agent, text="Hello!")
    client = logged_in(agent)
    assert "sla-clock" not in client.get("/").content.decode()

    customer_writes(workgroup, psid="7300000000000104", text="Thanks, one more thing")
    page = client.get("/").content.decode()
    assert clock_of(page, f"interaction-{chat.pk}")["label"] == "Next response"


def test_the_heading_shows_the_same_clock_and_the_window_shares_its_levels(workgroup, agent):
    chat = connected(workgroup, agent, psid="7300000000000105", waited=10)
    panel = logged_in(agent).get(f"/interactions/{chat.pk}/", **HTMX).content.decode()
    assert clock_of(panel, f"head-{chat.pk}")["level"] == "ok"
    window = re.search(
        r'class="window-countdown"[^>]* data-clock-left="(\d+)" data-clock-near="(\d+)" '
        r'data-level="(\w+)" data-then-left="(\d+)" data-then-near="(\d+)"',
        panel,
    )
    assert window, "the reply window carries the clock's counts"
    left, near, level, then_left, then_near = (
        int(n) if n.isdigit() else n for n in window.groups()
    )
    assert level == "ok"
    # Amber from an hour before the 24 hours end; then the HUMAN_AGENT days, amber all
    # along, until the 7 days end.
    assert 24 * 3600 - 20 <= left <= 24 * 3600
    assert near == left - 3600
    assert then_near == left
    assert 7 * 86400 - 20 <= then_left <= 7 * 86400


def test_the_queue_shows_the_clock_the_same_for_every_member(workgroup, agent):
    other = make_agent("bob", workgroups=[workgroup], status=AgentStatus.AWAY)
    queued = refresh(
        customer_writes(
            workgroup,
            psid="7300000000000106",
            sent_at=timezone.now() - timedelta(seconds=100),
        ).interaction
    )
    pushed = fragments.workgroup_queue(workgroup.pk)
    assert clock_of(pushed, f"queue-{queued.pk}")["level"] == "near"
    for member in (agent, other):
        page = logged_in(member).get("/").content.decode()
        assert clock_of(page, f"queue-{queued.pk}")["level"] == "near"


def test_without_a_target_nothing_ticks(agent):
    plain = make_workgroup("Plain")
    plain.members.add(agent)
    connected(plain, agent, psid="7300000000000107", waited=500)
    assert "sla-clock" not in logged_in(agent).get("/").content.decode()


def row_order(html: str) -> list[int]:
    section = html[html.index('id="my-interactions"') : html.index('id="workgroup-queue"')]
    return [int(pk) for pk in re.findall(r'<li id="interaction-(\d+)"', section)]


def test_sort_by_time_left_is_the_agents_choice_and_is_remembered(workgroup, agent):
    first = connected(workgroup, agent, psid="7300000000000108", waited=5)
    urgent = connected(workgroup, agent, psid="7300000000000109", waited=110)
    answered = connected(workgroup, agent, psid="7300000000000110", waited=115)
    services.store_reply(interaction_id=answered.pk, agent=agent, text="Hi")
    client = logged_in(agent)
    assert row_order(client.get("/").content.decode()) == [first.pk, urgent.pk, answered.pk]
    assert 'aria-pressed="false">Sort by time left</button>' in client.get("/").content.decode()

    response = client.post("/desktop/list-order", {"order": "time_left"}, **HTMX)

    assert response.status_code == 200
    listed = response.content.decode()
    assert 'aria-pressed="true">Sort by time left</button>' in listed
    assert 'name="order" value="arrival"' in listed  # pressing again goes back
    # Least time left first; no clock last.
    assert row_order(listed + '<p id="workgroup-queue">') == [urgent.pk, first.pk, answered.pk]
    assert row_order(client.get("/").content.decode()) == [urgent.pk, first.pk, answered.pk]
    # Pushed lists keep the order too.
    pushed = fragments.my_interactions(Agent.objects.get(pk=agent.pk), oob=True)
    assert row_order(pushed + '<p id="workgroup-queue">') == [urgent.pk, first.pk, answered.pk]

    client.post("/desktop/list-order", {"order": "arrival"}, **HTMX)
    assert row_order(client.get("/").content.decode()) == [first.pk, urgent.pk, answered.pk]


def test_an_unknown_order_is_refused_in_words(agent):
    response = logged_in(agent).post("/desktop/list-order", {"order": "sideways"}, **HTMX)
    assert response.status_code == 400
    assert "Choose to sort by time left or by arrival." in response.content.decode()
    assert not Agent.objects.get(pk=agent.pk).list_by_time_left


def test_the_board_shows_breaches_per_workgroup_and_agent_and_each_clock(workgroup, agent):
    late = connected(workgroup, agent, psid="7300000000000111", waited=300)
    connected(workgroup, agent, psid="7300000000000112", waited=10)
    page = logged_in_supervisor().get("/board/").content.decode()

    card = page.split(f'id="board-workgroup-{workgroup.pk}"', 1)[1]
    assert re.search(r'data-figure="past-target"><dt>Past target</dt><dd>1</dd>', card)
    assert re.search(
        r'<li class="agent-row" data-agent="ann">\s*<span class="agent-name">ann '
        r'<span class="past-target-badge" data-past-target="1">1 past target</span></span>',
        card,
    )
    assert clock_of(page, f"board-interaction-{late.pk}")["level"] == "past"


def logged_in_supervisor() -> Client:
    return supervisor_client(make_supervisor("sam"))


def test_a_row_shows_the_reply_window_once_it_gets_short(workgroup, agent):
    chat = connected(workgroup, agent, psid="7300000000000113", waited=10)
    client = logged_in(agent)
    assert "24 h window" not in client.get("/").content.decode()

    Customer.objects.filter(pk=chat.customer_id).update(
        last_message_at=timezone.now() - timedelta(hours=23, minutes=30)
    )
    row = client.get("/").content.decode()
    start = row.index(f'id="interaction-{chat.pk}"')
    found = re.search(
        r'data-level="near" data-then-label="Human agent window" data-then-left="\d+" '
        r'data-then-near="\d+"><span class="sla-clock-label">24 h window</span> '
        r'<time class="sla-clock-time" datetime="[^"]+">(\d+ min \d+ s) left</time>',
        row[start:],
    )
    assert found, "the row's window clock, amber in the last hour of the 24"
