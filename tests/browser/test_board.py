"""The supervisor's live board, as a supervisor watches it: counts move with no reload.

The servers are shared by every browser test of the session, so this test
asserts on changes relative to what the board showed first, and on its own
customers (PSIDs of its own).
"""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, log_in
from tests.browser.desks import make_desk, press_on

pytestmark = pytest.mark.browser

WORKGROUP = "Facebook DM"
FIRST_PSID = "7300000000006601"
SECOND_PSID = "7300000000006602"
THIRD_PSID = "7300000000006603"


def open_board(page, servers) -> None:
    page.goto(servers.desktop_url + "/accounts/login/")
    page.get_by_label("Username").fill("supervisor")
    page.get_by_label("Password").fill("demo-pass")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")  # a supervisor who is not an agent lands in admin
    page.get_by_role("link", name="Live board").first.click()
    page.wait_for_url(servers.desktop_url + "/board/")
    page.locator('body[data-live="connected"]').wait_for()


def waiting_count(card) -> int:
    return int(card.locator('[data-figure="waiting"] dd').inner_text())


def test_the_waiting_count_rises_and_falls_live(servers, new_page):
    board = new_page(viewport=(1280, 560))
    open_board(board, servers)
    card = board.locator(f'section.wg-card[data-workgroup="{WORKGROUP}"]')
    waiting = card.locator('[data-figure="waiting"] dd')
    before = waiting_count(card)
    abandoned_before = int(card.locator('[data-figure="abandoned"] dd').inner_text())

    # No agent has the desktop open: the DMs wait, and the board counts them live.
    servers.customer_writes("Hello? Is anybody there?", psid=FIRST_PSID)
    expect(waiting).to_have_text(str(before + 1))
    first = card.locator(f'tr.live-row[data-psid="{FIRST_PSID}"]')
    expect(first).to_have_attribute("data-state", "queued")
    servers.customer_writes("I need help with a refund.", psid=SECOND_PSID)
    expect(waiting).to_have_text(str(before + 2))

    # The supervisor ends one stuck conversation from the board.
    second = card.locator(f'tr.live-row[data-psid="{SECOND_PSID}"]')
    board.once("dialog", lambda dialog: dialog.accept())
    second.get_by_role("button", name="Disconnect").click()
    expect(board.locator("#board-notice")).to_contain_text("disconnected.")
    expect(second).to_have_count(0)
    expect(waiting).to_have_text(str(before + 1))
    expect(card.locator('[data-figure="abandoned"] dd')).to_have_text(str(abandoned_before + 1))

    # An agent logs in: the ACD offers the waiting DM, they pick it up.
    desktop = new_page()
    log_in(desktop, servers, "agent1")
    expect(first).to_have_attribute("data-state", "alerting")
    interaction_id = first.get_attribute("id").removeprefix("board-interaction-")
    row = desktop.locator(f"#interaction-{interaction_id}")
    expect(row).to_have_attribute("data-state", "alerting")
    row.locator("a").click()
    desktop.get_by_role("toolbar").get_by_role("button", name="Pickup").click()
    expect(row).to_have_attribute("data-state", "connected")

    expect(first).to_have_attribute("data-state", "connected")
    board.wait_for_function(
        """([selector, limit]) => Number(document.querySelector(selector).textContent) <= limit""",
        arg=[f'section.wg-card[data-workgroup="{WORKGROUP}"] [data-figure="waiting"] dd', before],
    )
    agent_row = card.locator('li.agent-row[data-agent="agent1"]')
    expect(agent_row.locator(".presence")).to_have_text("Desktop open")
    expect(agent_row.locator(".load")).to_have_text("1/4")

    # The supervisor sets the agent Away from the board; the agent's own
    # desktop shows it, and the next DM waits.
    agent_row.get_by_label("Status of Alice Agent").select_option("away")
    away_row = card.locator('.status-group[data-status="away"] li.agent-row[data-agent="agent1"]')
    expect(away_row).to_be_visible()
    expect(desktop.locator("#status-select")).to_have_value("away")
    now_waiting = waiting_count(card)
    servers.customer_writes("Can someone check my order?", psid=THIRD_PSID)
    expect(waiting).to_have_text(str(now_waiting + 1))
    third = card.locator(f'tr.live-row[data-psid="{THIRD_PSID}"]')
    expect(third).to_have_attribute("data-state", "queued")
    expect(third.locator(".clock")).to_have_text(re.compile(r"^0:0[1-9]$"))

    ARTIFACTS.mkdir(exist_ok=True)
    board.screenshot(path=str(ARTIFACTS / "board.png"), full_page=True)

    # Leave the shared demo as it was found: nothing live, agent1 Available
    # with an empty My Interactions.
    board.once("dialog", lambda dialog: dialog.accept())
    third.get_by_role("button", name="Disconnect").click()
    expect(third).to_have_count(0)
    available_row = card.locator('.status-group[data-status="available"] [data-agent="agent1"]')
    # The board re-renders live; a change made in the instant a row is being
    # swapped in can miss htmx's listener, so choose again until it lands.
    for _ in range(3):
        card.get_by_label("Status of Alice Agent").select_option("available")
        try:
            expect(available_row).to_be_visible(timeout=3000)
            break
        except AssertionError:
            continue
    expect(available_row).to_be_visible()
    desktop.get_by_role("toolbar").get_by_role("button", name="Disconnect").click()
    expect(first).to_have_count(0)
    desktop.get_by_role("button", name="Dismiss").click()
    expect(row).to_have_count(0)


def test_a_button_pressed_while_a_push_redraws_the_board_still_acts(servers, new_page):
    # A workgroup of its own: its waiting customers are offered to no demo agent.
    desk = make_desk(servers, agents=["Olga"], customers=["Pia Pressed", "Rex Pushing"])
    board = new_page(viewport=(1280, 900))
    open_board(board, servers)
    card = board.locator(f'section.wg-card[data-workgroup="Desk {desk.tag}"]')
    desk.customer_writes("Pia Pressed", "Where is my parcel?")
    monitor = card.locator("tr.live-row", has_text="Pia Pressed").get_by_role(
        "button", name="Monitor"
    )
    monitor.scroll_into_view_if_needed()
    # The supervisor presses Monitor; before they let go, a push redraws the board
    # (another customer writes). Had the push replaced the board, the press and the
    # release would fall on two different buttons, and nothing would open.
    press_on(board, monitor)
    desk.customer_writes("Rex Pushing", "Hello?")
    expect(card.locator("tr.live-row", has_text="Rex Pushing")).to_have_count(1)
    board.mouse.up()

    expect(board.locator("dialog[data-monitor][open]")).to_be_visible()
