"""Service-level clocks in Chromium: a clock turns amber, then red, with no frame from the
server; a reply stops it; Sort by time left; the board counts the breach."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.desks import make_desk, open_desktop, pick_up, row

pytestmark = pytest.mark.browser

# Short targets, so that the clock goes through its three levels within the test:
# amber from 7.5 s (the last quarter), red from 10 s.
TARGETS = """
from routing.models import Workgroup
Workgroup.objects.filter(name={workgroup!r}).update(
    first_response_seconds=10, next_response_seconds=600
)
"""

SUPERVISOR = """
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
user = get_user_model().objects.create_user(
    username={username!r}, password="demo-pass", first_name="Sam", last_name="Lead", is_staff=True
)
user.groups.add(Group.objects.get(name="Supervisors"))
"""


def test_a_clock_turns_amber_then_red_and_a_reply_stops_it(servers, new_page):
    desk = make_desk(servers, agents=["Nora"], customers=["Ada Amber", "Ben Calm"])
    servers.manage("shell", "-c", TARGETS.format(workgroup=f"Desk {desk.tag}"))
    nora = open_desktop(new_page, servers, desk.agents[0])

    desk.customer_writes("Ada Amber", "My order has not arrived.")
    clock = row(nora, "Ada Amber").locator(".sla-clock")
    expect(clock).to_have_attribute("data-level", "ok")
    expect(clock).to_contain_text("First response")
    expect(clock).to_contain_text(" left")
    expect(clock).to_have_attribute("data-level", "near", timeout=10_000)
    expect(clock).to_have_attribute("data-level", "past", timeout=10_000)
    expect(clock).to_contain_text(" over")
    # The browser's own ticking moved it on: the server last rendered this clock with
    # time left (no frame is sent as time passes).
    assert int(clock.get_attribute("data-clock-left")) > 0

    desk.customer_writes("Ben Calm", "Hello?")
    ben = row(nora, "Ben Calm").locator(".sla-clock")
    expect(ben).to_have_attribute("data-level", "ok")
    ARTIFACTS.mkdir(exist_ok=True)
    nora.screenshot(path=str(ARTIFACTS / "service-levels.png"))

    lead = f"{desk.tag}-lead"
    servers.manage("shell", "-c", SUPERVISOR.format(username=lead))
    board = new_page(viewport=(1280, 760))
    log_in_board(board, servers, lead)
    card = board.locator(f'section[data-workgroup="Desk {desk.tag}"]')
    expect(card.locator('[data-figure="past-target"] dd')).to_have_text("1")
    expect(card.locator(".agent-row", has_text="Nora Agent")).to_contain_text("1 past target")
    expect(
        card.locator("tr.live-row", has_text="Ada Amber").locator(".sla-clock")
    ).to_have_attribute("data-level", "past")
    board.screenshot(path=str(ARTIFACTS / "service-levels-board.png"))

    pick_up(nora, "Ada Amber")
    head_clock = nora.locator(".conversation-head .sla-clock")
    expect(head_clock).to_have_attribute("data-level", "past")
    nora.get_by_label("Type your message").fill("Sorry for the wait: it ships today.")
    nora.get_by_label("Type your message").press("Enter")
    expect(clock).to_have_count(0)  # answered: the clock stops
    expect(head_clock).to_have_count(0)

    # By arrival Ada comes first; by time left Ben (whose clock runs) does.
    names = nora.locator("#my-interactions .interaction-row .row-name")
    expect(names).to_have_text(["Ada Amber", "Ben Calm"])
    sort = nora.get_by_role("button", name="Sort by time left")
    expect(sort).to_have_attribute("aria-pressed", "false")
    sort.click()
    expect(nora.get_by_role("button", name="Sort by time left")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(names).to_have_text(["Ben Calm", "Ada Amber"])
    # Remembered: a reload keeps the order.
    nora.reload()
    expect(names).to_have_text(["Ben Calm", "Ada Amber"])


def log_in_board(page, servers, username: str) -> None:
    page.goto(servers.desktop_url + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo-pass")
    page.get_by_role("button", name="Log in").click()
    page.goto(servers.desktop_url + "/board/")
    page.locator('body[data-live="connected"]').wait_for()
