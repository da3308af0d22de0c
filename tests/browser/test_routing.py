"""Routing as agents see it, in Chromium: a transfer between two logged-in agents,
an offer ringing out to the next agent with no reload, and hold (the held time
ticking) and wrap-up (before Dismiss).

Each test has a desk of its own (tests/browser/desks.py). The shared servers run
without timers (the suite's settings set `CONNECT_TIMERS=0`, and they inherit
it), so the alert-timeout test starts a server of its own with its timer loop
on, on the same database, and the browsers and the webhook use that one.
Screenshots go to test-artifacts/.
"""

import dataclasses
import subprocess
import sys

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS, ROOT, Servers, _wait_healthy, free_port
from tests.browser.desks import click_pickup, make_desk, open_desktop, pick_up, row, select, toolbar

pytestmark = pytest.mark.browser

# Long enough to open the second agent's desktop meanwhile.
RINGS_FOR = 8


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.mouse.move(0, 0)
    page.screenshot(path=str(ARTIFACTS / name))


def bubble(page: Page, text: str):
    return page.locator(".transcript .bubble", has_text=text)


def set_up(servers: Servers, desk, code: str = "") -> None:
    """Run `code` (with `workgroup` and `page` at hand) for this desk, in one shell.

    The desk's Page gets a name of its own: the simulator opens on the first
    Page by name, and it must stay the demo's "Acme Support".
    """
    servers.manage(
        "shell",
        "-c",
        "from facebook.models import FacebookPage\n"
        f"page = FacebookPage.objects.get(page_id={desk.page_id!r})\n"
        f"page.name = 'Support desk {desk.tag}'\n"
        "page.save()\n"
        "workgroup = page.workgroup\n" + code,
    )


def test_a_transfer_rings_the_other_agent_live_with_the_transcript(servers, new_page):
    desk = make_desk(servers, agents=["Rosalind", "Ferdinand"], customers=["Tia Transfer"])
    set_up(servers, desk)
    rosalind = open_desktop(new_page, servers, desk.agents[0])
    # Only Rosalind has the desktop open: the offer is hers.
    desk.customer_writes("Tia Transfer", "My parcel never arrived", "Order 77-1234")
    expect(row(rosalind, "Tia Transfer")).to_have_attribute("data-state", "alerting")
    pick_up(rosalind, "Tia Transfer")
    rosalind.get_by_label("Type your message").fill("Let me pass you to our parcels expert.")
    rosalind.get_by_label("Type your message").press("Enter")
    expect(bubble(rosalind, "parcels expert")).to_be_visible()
    ferdinand = open_desktop(new_page, servers, desk.agents[1])
    expect(ferdinand.locator("#my-interactions .interaction-row")).to_have_count(0)

    toolbar(rosalind).get_by_role("button", name="Transfer").click()
    dialog = rosalind.get_by_role("dialog", name="Transfer Tia Transfer")
    expect(dialog).to_be_visible()
    search = dialog.get_by_label("Search agents and workgroups")
    target = dialog.locator(".target", has_text="Ferdinand Agent")
    # A colleague is found by the name they log in with, too.
    search.fill(desk.agents[1])
    expect(target).to_be_visible()
    expect(dialog.locator(".target:visible")).to_have_count(1)
    search.fill("Ferdinand")
    expect(target).to_contain_text("Available")
    expect(target).not_to_contain_text("desktop closed")
    # The search leaves only what matches: no other agent, no workgroup.
    expect(dialog.locator(".target:visible")).to_have_count(1)
    expect(dialog.locator(".target", has_text="Rosalind Agent")).to_have_count(0)
    target.get_by_role("radio").check()
    shot(rosalind, "routing-transfer-dialog.png")
    dialog.get_by_role("button", name="Transfer to selected").click()

    # Ferdinand's desktop rings with no reload; Rosalind's list lets it go.
    expect(row(ferdinand, "Tia Transfer")).to_have_attribute("data-state", "alerting")
    expect(row(rosalind, "Tia Transfer")).to_have_count(0)
    expect(dialog).to_be_hidden()
    expect(rosalind.locator(".workspace .gone")).to_contain_text("Offered to Ferdinand Agent.")
    shot(ferdinand, "routing-transfer-ringing.png")

    pick_up(ferdinand, "Tia Transfer")
    # The transcript came along: the customer's messages and Rosalind's reply.
    for text in ("My parcel never arrived", "Order 77-1234", "parcels expert"):
        expect(bubble(ferdinand, text)).to_be_visible()
    expect(ferdinand.get_by_label("Type your message")).to_be_enabled()
    shot(ferdinand, "routing-transfer-picked-up.png")
    expect(row(rosalind, "Tia Transfer")).to_have_count(0)


@pytest.fixture
def timed_server(servers, tmp_path):
    """A server of this test's own, with its timer loop on, on the shared database."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**servers.env, "CONNECT_TIMERS": "1", "FACEBOOK_GRAPH_URL": url + "/fake-graph"}
    log = tmp_path / "timed-daphne.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
        + ["connect.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_healthy(url, process, log)  # its first request starts its timers
        yield Servers(urls=[url], env=env, processes=[process])
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


# `new_page` after `timed_server`: the tabs close before the server stops.
def test_an_offer_left_ringing_goes_to_the_next_agent(servers, timed_server, new_page):
    desk = make_desk(servers, agents=["Philippa", "Quentin"], customers=["Una Unanswered"])
    desk = dataclasses.replace(desk, servers=timed_server)
    set_up(servers, desk, f"workgroup.alert_timeout_seconds = {RINGS_FOR}\nworkgroup.save()")
    alert_timeout = (
        "from routing.models import Workgroup; "
        f"Workgroup.objects.filter(name='Desk {desk.tag}').update(alert_timeout_seconds={{}})"
    )
    philippa = open_desktop(new_page, timed_server, desk.agents[0])

    desk.customer_writes("Una Unanswered", "Hello? Anyone there?")
    expect(row(philippa, "Una Unanswered")).to_have_attribute("data-state", "alerting")
    select(philippa, "Una Unanswered")
    # The next offer rings longer, so Quentin has time to answer it.
    servers.manage("shell", "-c", alert_timeout.format(600))
    quentin = open_desktop(new_page, timed_server, desk.agents[1])

    # Philippa lets it ring: it leaves her list and rings for Quentin, and she
    # is Not answering, told what to do about it. Nobody reloads.
    expect(row(quentin, "Una Unanswered")).to_have_attribute(
        "data-state", "alerting", timeout=15_000
    )
    expect(row(philippa, "Una Unanswered")).to_have_count(0)
    expect(philippa.locator("#status-select")).to_have_value("not_answering")
    expect(philippa.locator("#status-picker")).to_contain_text(
        "You let an offer ring out: set Available to get offers again."
    )
    expect(philippa.locator(".workspace .gone")).to_contain_text("Offered to Quentin Agent.")
    shot(philippa, "routing-alert-timeout-not-answering.png")
    shot(quentin, "routing-alert-timeout-next-agent.png")

    pick_up(quentin, "Una Unanswered")
    expect(bubble(quentin, "Hello? Anyone there?")).to_be_visible()

    # Available again: Philippa gets offers again.
    philippa.locator("#status-select").select_option("available")
    expect(philippa.locator("#status-select")).to_have_value("available")
    expect(philippa.locator("#status-picker .hint")).to_have_count(0)


def test_hold_shows_the_time_and_wrap_up_comes_before_dismiss(servers, new_page):
    desk = make_desk(servers, agents=["Horatio"], customers=["Wren Wrapup"])
    set_up(
        servers,
        desk,
        "from routing.models import WrapUpCode\n"
        "workgroup.wrap_up_required = True\n"
        "workgroup.save()\n"
        "for label in ('Resolved', 'Refund'):\n"
        "    WrapUpCode.objects.create(workgroup=workgroup, label=label)\n",
    )
    page = open_desktop(new_page, servers, desk.agents[0])
    desk.customer_writes("Wren Wrapup", "Can I get a refund?")
    pick_up(page, "Wren Wrapup")

    toolbar(page).get_by_role("button", name="Hold").click()
    expect(row(page, "Wren Wrapup")).to_have_attribute("data-state", "held")
    held = page.get_by_role("timer")
    expect(held).to_have_text("On hold for 0:00")
    expect(held).to_have_text("On hold for 0:02", timeout=5_000)  # ticks in the browser
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_disabled()
    # The customer keeps writing while held, and it shows.
    desk.customer_writes("Wren Wrapup", "Hello? Still waiting")
    expect(bubble(page, "Still waiting")).to_be_visible()
    shot(page, "routing-held.png")

    click_pickup(page)
    expect(page.get_by_role("timer")).to_have_count(0)
    expect(page.get_by_label("Type your message")).to_be_enabled()
    toolbar(page).get_by_role("button", name="Disconnect").click()
    expect(row(page, "Wren Wrapup")).to_have_attribute("data-state", "disconnected")

    head = page.locator(".conversation-head")
    head.get_by_role("button", name="Dismiss").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Choose a wrap-up code before dismissing this interaction."
    )
    expect(row(page, "Wren Wrapup")).to_be_visible()
    page.get_by_label("Wrap-up").select_option(label="Refund")
    page.get_by_role("button", name="Save wrap-up").click()
    expect(page.locator(".wrap-up-saved")).to_have_text("✓ Saved")
    shot(page, "routing-wrap-up.png")
    page.locator(".conversation-head").get_by_role("button", name="Dismiss").click()
    expect(row(page, "Wren Wrapup")).to_have_count(0)


def test_an_urgent_customer_is_shown_first_in_the_queue_and_offered_first(servers, new_page):
    desk = make_desk(
        servers, agents=["Priya"], customers=["Walt Waiting", "Ursula Urgent"], capacity=1
    )
    set_up(
        servers,
        desk,
        "from routing.models import Agent, PriorityRule\n"
        f"PriorityRule.objects.create(page_id={desk.page_id!r}, match='keyword', "
        "value='urgent', priority=5)\n"
        "Agent.objects.filter(workgroups=workgroup).update(status='away')\n",
    )
    priya = open_desktop(new_page, servers, desk.agents[0])
    expect(priya.locator("#status-select")).to_have_value("away")

    desk.customer_writes("Walt Waiting", "Hello, a question about my order")
    desk.customer_writes("Ursula Urgent", "This is urgent: I was charged twice")

    # Both wait; the urgent one, who wrote last, is shown first, with her priority.
    waiting = priya.locator("#workgroup-queue .interaction-row")
    expect(waiting).to_have_count(2)
    expect(waiting.nth(0)).to_contain_text("Ursula Urgent")
    expect(waiting.nth(0).locator(".priority-badge")).to_have_text("P5 priority")
    expect(waiting.nth(1)).to_contain_text("Walt Waiting")
    expect(waiting.nth(1).locator(".priority-badge")).to_have_count(0)
    shot(priya, "priority-queue.png")

    # Available, with room for one: the urgent one rings first.
    priya.get_by_label("Status").select_option("available")
    expect(row(priya, "Ursula Urgent")).to_have_attribute("data-state", "alerting")
    expect(row(priya, "Walt Waiting")).to_have_count(0)
    expect(waiting).to_have_count(1)
    expect(waiting.nth(0)).to_contain_text("Walt Waiting")
