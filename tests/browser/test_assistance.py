"""Ask for help, then Monitor, Coach and Take over from the live board, in Chromium."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.desks import make_desk, open_desktop, pick_up

pytestmark = pytest.mark.browser

SUPERVISOR = """
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
user = get_user_model().objects.create_user(
    username={username!r}, password="demo-pass", first_name="Sam", last_name="Lead", is_staff=True
)
user.groups.add(Group.objects.get(name="Supervisors"))
"""


def test_help_is_answered_by_monitoring_coaching_and_taking_over(servers, new_page):
    desk = make_desk(servers, agents=["Alice"], customers=["Hugo Help"])
    lead = f"{desk.tag}-lead"
    servers.manage("shell", "-c", SUPERVISOR.format(username=lead))
    alice = open_desktop(new_page, servers, desk.agents[0])
    desk.customer_writes("Hugo Help", "I want to cancel my contract today.")
    pick_up(alice, "Hugo Help")

    alice.get_by_role("button", name="Ask for help").click()
    expect(alice.get_by_role("status").filter(has_text="Help asked")).to_be_visible()

    board = new_page(viewport=(1280, 760))
    board.goto(servers.desktop_url + "/accounts/login/")
    board.get_by_label("Username").fill(lead)
    board.get_by_label("Password").fill("demo-pass")
    board.get_by_role("button", name="Log in").click()
    board.goto(servers.desktop_url + "/board/")
    board.locator('body[data-live="connected"]').wait_for()
    live = board.locator("tr.live-row", has_text="Hugo Help")
    expect(live.get_by_text("Needs help")).to_be_visible()

    live.get_by_role("button", name="Monitor Hugo Help").click()
    monitor = board.locator("#board-monitor-dialog")
    expect(monitor).to_contain_text("I want to cancel my contract today.")
    expect(live.get_by_text("Needs help")).to_have_count(0)  # answered
    # Live: the customer writes, the monitor shows it; the agent is told nothing.
    desk.customer_writes("Hugo Help", "Are you there?")
    expect(monitor.locator(".bubble", has_text="Are you there?")).to_be_visible()

    monitor.get_by_role("button", name="Coach").click()
    monitor.get_by_label("Coaching note").fill("Offer the loyalty discount before cancelling.")
    monitor.get_by_role("button", name="Send to agent").click()
    coaching = alice.locator("#mentions .supervisor-notice")
    expect(coaching).to_contain_text("Coaching from Sam Lead")
    expect(coaching).to_contain_text("Offer the loyalty discount")
    expect(board.locator("#board-notice")).to_contain_text("Coaching sent to Alice Agent")
    ARTIFACTS.mkdir(exist_ok=True)
    board.screenshot(path=str(ARTIFACTS / "monitor.png"))
    alice.screenshot(path=str(ARTIFACTS / "coaching.png"))

    monitor.get_by_label("Reason (the agent is told)").fill("The customer asked for a manager")
    board.once("dialog", lambda dialog: dialog.accept())
    monitor.get_by_role("button", name="Take over").click()
    board.wait_for_url("**/?interaction=*")
    expect(board.locator(".conversation-head .customer-name")).to_have_text("Hugo Help")
    expect(board.locator(".transcript")).to_contain_text("Are you there?")
    expect(alice.locator("#mentions .supervisor-notice").last).to_contain_text(
        "Sam Lead took over Hugo Help's conversation"
    )
    expect(alice.locator("#my-interactions .interaction-row", has_text="Hugo Help")).to_have_count(
        0
    )
