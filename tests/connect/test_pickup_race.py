"""Agents clicking Pickup at once, as real concurrent HTTP requests to a live server.

pytest-django's live server answers each request in its own thread with its own
database connection, as a server process does; a pool of httpx clients (one
logged-in browser per agent, two tabs each) posts the Pickup buttons at the
same moment. Exactly one request wins each interaction; every other one gets
409 with the reason on screen (a full desktop), or 404 with words once the
interaction is another agent's (no longer theirs to see), and nobody goes over
capacity. On PostgreSQL this is the row locks at work; on SQLite, writers queue.
"""

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.test import Client

from connect.views import NOT_VISIBLE
from routing.models import AgentStatus, Interaction, InteractionEvent
from routing.models import InteractionState as S
from tests.factories import customer_writes, make_agent, make_page, make_workgroup

pytestmark = pytest.mark.django_db(transaction=True)

AGENTS = 6
TABS_PER_AGENT = 2
CAPACITY = 3
INTERACTIONS = 12
TAKEN = "Cannot pick up: the interaction is connected."
FULL = "You are at your capacity: finish an interaction before picking up another."


def browser_of(agent, base_url: str) -> httpx.Client:
    """An httpx client with the agent's session and CSRF token, as their browser has."""
    django_client = Client()
    django_client.force_login(agent.user)
    browser = httpx.Client(base_url=base_url, timeout=30)
    browser.cookies.set("sessionid", django_client.cookies["sessionid"].value)
    assert browser.get("/").status_code == 200  # sets the CSRF cookie, as the page does
    browser.headers.update({"X-CSRFToken": browser.cookies["csrftoken"], "HX-Request": "true"})
    return browser


def test_concurrent_pickup_requests_have_one_winner_each_and_respect_capacity(live_server):
    workgroup = make_workgroup("Facebook DM", capacity_per_agent=CAPACITY)
    make_page(workgroup)
    # Away, so the ACD offers nothing: this is the queue view's Pickup button.
    team = [
        make_agent(f"racer{n}", workgroups=[workgroup], status=AgentStatus.AWAY)
        for n in range(AGENTS)
    ]
    ids = [
        customer_writes(workgroup, psid=f"79100000000000{n:02d}").interaction.pk
        for n in range(INTERACTIONS)
    ]
    assert set(Interaction.objects.values_list("state", flat=True)) == {S.QUEUED}
    browsers = {agent.pk: browser_of(agent, live_server.url) for agent in team}
    workers = AGENTS * TABS_PER_AGENT
    barrier = threading.Barrier(workers, timeout=60)
    # Each round, every tab of every agent clicks Pickup at once, each agent's
    # two tabs on two different interactions.
    rounds = [ids[r : r + TABS_PER_AGENT] for r in range(0, INTERACTIONS, TABS_PER_AGENT)]

    def tab(agent_pk: int, tab_number: int) -> list[tuple[int, int, str]]:
        browser = browsers[agent_pk]
        seen = []
        for pair in rounds:
            order = pair[:]
            random.Random(agent_pk).shuffle(order)
            interaction_id = order[tab_number]
            barrier.wait()
            response = browser.post(f"/interactions/{interaction_id}/pickup")
            seen.append((interaction_id, response.status_code, response.text))
        return [(agent_pk, *s) for s in seen]

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(tab, agent.pk, n) for agent in team for n in range(TABS_PER_AGENT)]
        outcomes = [o for future in futures for o in future.result(timeout=120)]
    for browser in browsers.values():
        browser.close()

    assert len(outcomes) == workers * len(rounds)
    assert {status for _, _, status, _ in outcomes} <= {200, 404, 409}
    winners = Counter(interaction_id for _, interaction_id, status, _ in outcomes if status == 200)
    assert winners == Counter({interaction_id: 1 for interaction_id in ids})
    for _, _, status, body in outcomes:
        if status == 409:
            # The losing agent sees why, in words.
            assert TAKEN in body or FULL in body, body[:500]
        if status == 404:
            assert NOT_VISIBLE in body, body[:500]
    pickups = Counter(
        InteractionEvent.objects.filter(verb="pickup").values_list("interaction_id", flat=True)
    )
    assert pickups == winners
    owners = dict(Interaction.objects.filter(state=S.CONNECTED).values_list("pk", "agent_id"))
    assert set(owners) == set(ids)
    winner_of = {
        interaction_id: agent_pk
        for agent_pk, interaction_id, status, _ in outcomes
        if status == 200
    }
    assert owners == winner_of
    assert max(Counter(owners.values()).values()) <= CAPACITY
