"""Business hours and the feedback survey, as people see them.

Out of hours a customer gets the automatic reply in the simulator, the agent is
offered nothing and the board says Closed; at the opening the timer loop offers
it. After a disconnect the customer answers the feedback survey in the
simulator, and the score shows on the agent's desktop and on the board.
"""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.desks import click_pickup, make_desk, open_desktop, row, select, toolbar

# A server of the test's own with its timer loop on (the shared ones run without).
from tests.browser.test_routing import timed_server  # noqa: F401

pytestmark = pytest.mark.browser


def configure(servers, desk, code: str) -> None:
    """Change the desk's workgroup as a supervisor would in the admin."""
    servers.manage(
        "shell",
        "-c",
        "from datetime import date, timedelta\n"
        "from routing.models import Holiday, Workgroup\n"
        f"workgroup = Workgroup.objects.get(name='Desk {desk.tag}')\n" + code,
    )


def simulator_for(new_page, servers, desk, name: str):
    customer = new_page(viewport=(900, 760))
    customer.goto(servers.customer_url)
    customer.get_by_label("Your name").fill(name)
    customer.get_by_label("Page", exact=True).select_option(desk.page_id)
    return customer


def customer_sends(customer, text: str) -> None:
    customer.get_by_role("textbox", name="Message").fill(text)
    customer.get_by_role("button", name="Send to Page").click()
    expect(customer.get_by_role("list", name="Messages")).to_contain_text(text)


def open_board(new_page, servers):
    board = new_page(viewport=(1280, 760))
    log_in_supervisor(board, servers)
    board.goto(servers.desktop_url + "/board/")
    board.locator('body[data-live="connected"]').wait_for()
    return board


def log_in_supervisor(page, servers) -> None:
    page.goto(servers.desktop_url + "/accounts/login/")
    page.get_by_label("Username").fill("supervisor")
    page.get_by_label("Password").fill("demo-pass")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")


# `new_page` after `timed_server`: the tabs close before the server stops.
def test_out_of_hours_the_customer_is_answered_and_waits_for_the_opening(
    servers,
    timed_server,  # noqa: F811 (the fixture imported above)
    new_page,
):
    desk = make_desk(servers, agents=["Olga"], customers=[])
    configure(
        servers,
        desk,
        "workgroup.out_of_hours_message = 'We are closed. We open again {opens}.'\n"
        "workgroup.save()\n"
        "for n in (-1, 0, 1):\n"
        "    Holiday.objects.create(workgroup=workgroup, date=date.today() + timedelta(days=n))\n",
    )
    # Everyone uses the timed server: its timer loop offers at the opening, live.
    desktop = open_desktop(new_page, timed_server, desk.agents[0])
    customer = simulator_for(new_page, timed_server, desk, "Nora Night")

    customer_sends(customer, "Hello, is anyone there?")

    expect(customer.get_by_text("We are closed. We open again")).to_be_visible()
    # Several ticks of the timer loop: still closed, nothing is offered.
    customer.wait_for_timeout(2500)
    board = open_board(new_page, timed_server)
    card = board.locator(f'section.wg-card[data-workgroup="Desk {desk.tag}"]')
    expect(card.locator(".wg-closed")).to_contain_text("Closed · opens")
    expect(card.locator('[data-figure="waiting"] dd')).to_have_text("1")
    expect(row(desktop, "Nora Night")).to_have_count(0)  # nothing offered
    ARTIFACTS.mkdir(exist_ok=True)
    customer.screenshot(path=str(ARTIFACTS / "out-of-hours-simulator.png"))

    configure(servers, desk, "Holiday.objects.filter(workgroup=workgroup).delete()\n")

    # The timer loop offers it at the opening, with no request arriving.
    expect(row(desktop, "Nora Night")).to_have_attribute("data-state", "alerting")
    select(desktop, "Nora Night")
    automatic = desktop.locator(".bubble.agent.automatic")
    expect(automatic).to_contain_text("We are closed")
    expect(automatic.locator(".via")).to_have_text("Automatic")


def test_after_disconnect_the_customer_rates_the_conversation(servers, new_page):
    desk = make_desk(servers, agents=["Fay"], customers=[])
    configure(
        servers,
        desk,
        "workgroup.feedback_survey = True\n"
        "workgroup.acknowledgement_message = 'Thanks! You are number {position} in the queue.'\n"
        "workgroup.save()\n",
    )
    desktop = open_desktop(new_page, servers, desk.agents[0])
    customer = simulator_for(new_page, servers, desk, "Rita Rating")

    customer_sends(customer, "My parcel is late.")
    expect(customer.get_by_text("Thanks! You are number 1 in the queue.")).to_be_visible()
    expect(row(desktop, "Rita Rating")).to_have_attribute("data-state", "alerting")
    select(desktop, "Rita Rating")
    click_pickup(desktop)
    desktop.get_by_label("Type your message").fill("It arrives tomorrow, sorry for the wait.")
    desktop.get_by_role("button", name="Send").click()
    expect(customer.get_by_text("It arrives tomorrow")).to_be_visible()
    toolbar(desktop).get_by_role("button", name="Disconnect").click()
    expect(row(desktop, "Rita Rating")).to_have_attribute("data-state", "disconnected")

    # The survey arrives in Messenger (the simulator) and the customer answers it.
    expect(customer.get_by_text("How did we do?")).to_be_visible()
    customer.get_by_label("4 stars").check()
    customer.get_by_label("Comment (optional)").fill("Quick answer, thanks")
    customer.screenshot(path=str(ARTIFACTS / "feedback-simulator.png"))
    customer.get_by_role("button", name="Rate your experience").click()
    expect(customer.get_by_text("You rated 4 out of 5")).to_be_visible()

    # The score reaches the agent's desktop live, and the board.
    expect(desktop.locator(".conversation-head .csat")).to_have_text(
        "Customer satisfaction 4/5: “Quick answer, thanks”"
    )
    expect(desktop.locator(".bubble.agent.automatic").last).to_contain_text("Feedback survey")
    desktop.screenshot(path=str(ARTIFACTS / "feedback-desktop.png"))
    board = open_board(new_page, servers)
    card = board.locator(f'section.wg-card[data-workgroup="Desk {desk.tag}"]')
    expect(card.locator('[data-figure="satisfaction"] dd')).to_contain_text("4.0/5")
    # The page, not the card: a live redraw replaces the card under an element screenshot.
    board.screenshot(path=str(ARTIFACTS / "board-satisfaction.png"))
