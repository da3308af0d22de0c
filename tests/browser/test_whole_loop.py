"""The whole loop as people do it: a customer writes in the simulator, the agent
sees the alert live, picks up, replies, and the customer receives the reply."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, log_in
from tests.browser.desks import click_pickup

pytestmark = pytest.mark.browser


def customer_sends(customer, text: str) -> None:
    customer.get_by_role("textbox", name="Message").fill(text)
    customer.get_by_role("button", name="Send to Page").click()
    expect(customer.get_by_role("list", name="Messages")).to_contain_text(text)


def test_a_dm_alerts_live_and_the_agent_answers_it(servers, new_page):
    desktop = new_page()
    log_in(desktop, servers, "agent1")
    # The demo agents are shared with other browser tests: start Available.
    if desktop.locator("#status-select").input_value() != "available":
        desktop.locator("#status-select").select_option("available")
        expect(desktop.locator("#status-select")).to_have_value("available")

    customer = new_page(viewport=(900, 720))
    customer.goto(servers.customer_url)
    customer.get_by_label("Your name").fill("Dana Customer")
    customer_sends(customer, "Hi, my order #1042 has not arrived.")

    # No reload: the offer arrives over the websocket.
    row = desktop.locator("#my-interactions .interaction-row").first
    expect(row).to_have_attribute("data-state", "alerting")
    expect(row.locator(".state-line")).to_have_class("state-line state-alerting")
    row.locator("a").click()
    expect(desktop.locator(".bubble.customer")).to_contain_text("order #1042")
    # The name the customer chose, from the User Profile API (the fake's).
    expect(desktop.locator(".customer-name")).to_contain_text("Dana Customer")

    click_pickup(desktop)
    expect(row).to_have_attribute("data-state", "connected")
    expect(desktop.get_by_role("button", name="Hold")).to_be_enabled()

    desktop.get_by_label("Type your message").fill("Sorry about that! Let me check the shipment.")
    desktop.get_by_role("button", name="Send").click()
    reply = desktop.locator(".bubble.agent").last
    expect(reply).to_contain_text("Let me check the shipment")
    expect(reply).to_have_attribute("data-status", "sent")

    # The fake Graph API received the reply, and the customer sees it.
    expect(customer.get_by_text("Let me check the shipment")).to_be_visible()

    customer_sends(customer, "Thanks! It was a blue backpack.")
    expect(desktop.locator(".bubble.customer").last).to_contain_text("blue backpack")

    ARTIFACTS.mkdir(exist_ok=True)
    desktop.screenshot(path=str(ARTIFACTS / "desktop-connected.png"))
    customer.screenshot(path=str(ARTIFACTS / "simulator.png"))

    desktop.get_by_role("button", name="Disconnect").click()
    expect(row).to_have_attribute("data-state", "disconnected")
    expect(desktop.get_by_role("button", name="Send")).to_be_disabled()


def test_a_signed_webhook_from_meta_reaches_the_desktop(servers, new_page):
    desktop = new_page()
    log_in(desktop, servers, "agent2")

    servers.customer_writes("Hello from Messenger", psid="7300000000000099")

    # agent2's only offer; it carries the name the User Profile API gave.
    row = desktop.locator('#my-interactions .interaction-row[data-state="alerting"]')
    expect(row).to_have_count(1)
