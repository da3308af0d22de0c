"""Composing in Chromium: the emoji picker and lists by keyboard, a reply that keeps its
lines, and a customer's link that opens apart from the desktop."""

import pytest
from playwright.sync_api import expect

from connect.templatetags.message_text import LINK_REL
from tests.browser.conftest import ARTIFACTS
from tests.browser.desks import make_desk, open_desktop, pick_up

pytestmark = pytest.mark.browser


def test_emoji_and_a_bulleted_list_by_keyboard_then_links_and_lines_in_bubbles(servers, new_page):
    desk = make_desk(servers, agents=["Alice"], customers=["Dana Whitfield"])
    page = open_desktop(new_page, servers, desk.agents[0], viewport=(1280, 860))
    tracking = servers.desktop_url + "/healthz?parcel=42"
    desk.customer_writes("Dana Whitfield", f"My parcel is late.\nTracking: {tracking}.")
    pick_up(page, "Dana Whitfield")
    box = page.get_by_label("Type your message")
    picker = page.get_by_role("dialog", name="Emoji")
    expect(box).to_be_focused()

    # The picker by keyboard: Alt+E opens it on its search, arrows move, Esc goes back.
    box.press_sequentially("Thanks for waiting ")
    page.keyboard.press("Alt+E")
    expect(picker).to_be_visible()
    expect(picker.get_by_label("Search emoji")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(picker.get_by_role("button", name="grinning face", exact=True)).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(picker.get_by_role("button", name="grinning face with big eyes")).to_be_focused()
    page.keyboard.press("ArrowDown")  # the next row, same column
    expect(picker.get_by_role("button", name="smiling face with heart-eyes")).to_be_focused()
    page.keyboard.press("Escape")
    expect(picker).to_be_hidden()
    expect(box).to_be_focused()
    expect(box).to_have_value("Thanks for waiting ")

    # Search by name, Enter inserts at the caret and closes.
    page.keyboard.press("Alt+E")
    page.keyboard.type("party")
    expect(picker.locator(".emoji-choice:visible")).to_have_count(1)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(picker).to_be_hidden()
    expect(box).to_be_focused()
    expect(box).to_have_value("Thanks for waiting 🎉")

    # Shift+Enter is a new line; Alt+B starts a list; Shift+Enter continues it.
    box.press("Shift+Enter")
    page.keyboard.press("Alt+B")
    box.press_sequentially("refunded the fee")
    box.press("Shift+Enter")
    box.press_sequentially("sent a new parcel :thumbs")
    suggestions = page.get_by_role("listbox", name="Emoji for :thumbs")
    expect(suggestions.get_by_role("option").first).to_contain_text("thumbs up")
    box.press("Enter")  # picks the suggestion, does not send
    expect(suggestions).to_be_hidden()
    text = "Thanks for waiting 🎉\n• refunded the fee\n• sent a new parcel 👍"
    expect(box).to_have_value(text)
    agent_bubbles = page.locator(".transcript .bubble.agent")
    expect(agent_bubbles).to_have_count(0)

    box.press("Enter")
    expect(agent_bubbles).to_have_count(1)
    expect(agent_bubbles.first).to_have_attribute("data-status", "sent")
    expect(agent_bubbles.first.locator(".bubble-text")).to_have_text(text, use_inner_text=True)
    expect(agent_bubbles.first.locator(".bubble-text br")).to_have_count(2)

    # The list buttons act on the selected lines, and a second press takes the marks off.
    box.press_sequentially("check the address")
    box.press("Shift+Enter")
    box.press_sequentially("reply here")
    box.press("Control+A")
    page.get_by_role("button", name="Numbered list").click()
    expect(box).to_have_value("1. check the address\n2. reply here")
    page.get_by_role("button", name="Numbered list").click()
    expect(box).to_have_value("check the address\nreply here")
    box.fill("")

    # The customer's link: kept apart from the full stop, for a new tab without an opener.
    customer = page.locator(".transcript .bubble.customer .bubble-text")
    expect(customer).to_have_text(f"My parcel is late.\nTracking: {tracking}.", use_inner_text=True)
    link = customer.get_by_role("link", name=tracking)
    expect(link).to_have_attribute("href", tracking)
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", LINK_REL)

    page.keyboard.press("Alt+E")
    expect(picker.get_by_label("Search emoji")).to_have_value("")
    page.keyboard.press("ArrowDown")
    expect(picker.get_by_role("button", name="grinning face", exact=True)).to_be_focused()
    page.mouse.move(0, 0)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "compose.png"))  # docs/compose.png
    page.keyboard.press("Escape")
    expect(box).to_be_focused()
