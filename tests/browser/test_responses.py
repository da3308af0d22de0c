"""Stored responses in the composer (issue 5, point 7 and Response Management), in Chromium.

The demo's shared library (seed_demo) is used as is; each test saves its own
"My Responses" under agents of its own desk (tests/browser/desks.py).
"""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.desks import make_desk, open_desktop, pick_up

pytestmark = pytest.mark.browser


def composer_box(page: Page):
    return page.get_by_label("Type your message")


def picker(page: Page):
    return page.get_by_role("dialog", name="Stored responses")


def agent_bubbles(page: Page):
    return page.locator(".transcript .bubble.agent")


def connected_desk(servers, new_page, customer="Dana Whitfield"):
    desk = make_desk(servers, agents=["Alice"], customers=[customer])
    page = open_desktop(new_page, servers, desk.agents[0])
    desk.customer_writes(customer, "Hi! Where is my parcel?")
    pick_up(page, customer)
    return desk, page


def test_insert_a_stored_response_from_the_picker(servers, new_page):
    desk, page = connected_desk(servers, new_page)
    box = composer_box(page)
    box.fill("Hello! ")

    page.get_by_role("button", name="Responses").click()
    expect(picker(page)).to_be_visible()
    search = picker(page).get_by_label("Search stored responses")
    expect(search).to_be_focused()
    # Libraries → categories: the filter lists the shared library's categories.
    categories = picker(page).get_by_label("Library and category")
    expect(categories.locator("optgroup[label='Acme Support'] option")).to_have_count(2)
    categories.select_option(label="Orders")
    expect(picker(page).locator(".response-where", has_text="Greetings")).to_have_count(0)
    expect(picker(page).locator(".response-item")).not_to_have_count(0)
    for where in picker(page).locator(".response-where").all_inner_texts():
        assert "Orders" in where
    categories.select_option(label="All libraries")

    # Full-text search over name, shortcut, labels and text.
    search.fill("late")  # a label of "Shipping delay"
    results = picker(page).locator(".response-item")
    expect(results).to_have_count(1)
    expect(results).to_contain_text("Shipping delay")
    search.fill("welcome")
    expect(results).to_have_count(1)
    # Macros are filled for this conversation before anything is inserted.
    expect(results).to_contain_text("Hi Dana, thanks for writing to Acme Support! I'm Alice")

    # Favourites: starred ones come first.
    search.fill("")
    expect(results.first).not_to_contain_text("Refund policy")
    refund = picker(page).locator(".response-item", has_text="Refund policy")
    refund.get_by_role("button", name="Favourite Refund policy").click()
    expect(results.first).to_contain_text("Refund policy")
    expect(results.first.get_by_role("button", name="Favourite Refund policy")).to_have_attribute(
        "aria-pressed", "true"
    )
    search.fill("welcome")
    expect(results).to_have_count(1)
    ARTIFACTS.mkdir(exist_ok=True)
    search.fill("")
    expect(results.first).to_contain_text("Refund policy")
    page.mouse.move(0, 0)
    page.screenshot(path=str(ARTIFACTS / "responses.png"))

    # Insert: at the caret, into the message box, never sent by itself.
    search.fill("welcome")
    expect(results).to_have_count(1)
    search.press("Enter")
    expect(picker(page)).to_be_hidden()
    expect(box).to_be_focused()
    expect(box).to_have_value(
        "Hello! Hi Dana, thanks for writing to Acme Support! I'm Alice and I'll help you today."
    )
    expect(agent_bubbles(page)).to_have_count(0)

    # Keyboard all the way: Alt+K, arrows, Enter on a result.
    page.keyboard.press("Alt+K")
    expect(picker(page)).to_be_visible()
    page.keyboard.type("order number")  # replaces the last search, which is selected
    expect(results).to_have_count(1)
    expect(results).to_contain_text("Order number")
    page.keyboard.press("ArrowDown")
    expect(results.first.locator(".response-insert")).to_be_focused()
    page.keyboard.press("Enter")
    expect(box).to_have_value(re.compile(r"help you today\.Could you send me your order number"))
    expect(agent_bubbles(page)).to_have_count(0)
    page.keyboard.press("Escape")  # nothing open: nothing happens
    box.press("Enter")  # the agent sends it, when they decide to
    expect(agent_bubbles(page)).to_have_count(1)
    expect(agent_bubbles(page)).to_have_attribute("data-status", "sent")


def test_slash_shortcuts_offer_matches_in_the_composer(servers, new_page):
    desk, page = connected_desk(servers, new_page, customer="Omar Haddad")
    box = composer_box(page)
    box.press_sequentially("Sure. /")
    listbox = page.get_by_role("listbox")
    expect(listbox).to_be_visible()
    expect(listbox.get_by_role("option")).not_to_have_count(0)

    box.press_sequentially("del")
    expect(listbox.get_by_role("option")).to_have_count(1)
    expect(listbox.get_by_role("option")).to_contain_text("/delay")
    expect(listbox.get_by_role("option")).to_have_attribute("aria-selected", "true")
    box.press("Enter")  # inserts the suggestion; does not send
    expect(listbox).to_be_hidden()
    expect(box).to_have_value("Sure. I'm sorry for the delay. Let me check the shipment for you.")
    expect(agent_bubbles(page)).to_have_count(0)

    # Arrows choose, Tab inserts too, macros are filled.
    box.fill("")
    box.press_sequentially("/")
    options = listbox.get_by_role("option")
    expect(options).not_to_have_count(0)
    expect(options.filter(has_text="/bye")).to_have_count(1)
    box.press_sequentially("a")
    # The list for "/a" has come (it has no /bye): an arrow chooses in it.
    expect(options.filter(has_text="/bye")).to_have_count(0)
    expect(options.first).to_contain_text("/address")
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    box.press("ArrowUp")
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", options.first.get_attribute("id"))
    box.press("Tab")
    expect(box).to_have_value(re.compile(r"What is the new address, Omar\?$"))
    expect(box).to_be_focused()

    # Escape closes the list and keeps what was typed; no match, no list.
    box.fill("")
    box.press_sequentially("/hi")
    expect(listbox).to_be_visible()
    box.press("Escape")
    expect(listbox).to_be_hidden()
    expect(box).to_have_value("/hi")
    box.press_sequentially("zzz")
    page.wait_for_timeout(300)
    expect(page.get_by_role("listbox")).to_have_count(0)
    # A slash inside a word (a date, a URL) is text.
    box.fill("")
    box.press_sequentially("see acme.example/hi")
    page.wait_for_timeout(300)
    expect(page.get_by_role("listbox")).to_have_count(0)
    expect(agent_bubbles(page)).to_have_count(0)


def test_save_as_response_adds_to_my_responses(servers, new_page):
    desk, page = connected_desk(servers, new_page, customer="Priya Patel")
    box = composer_box(page)
    box.fill("Our store in Lyon opens at 9:00, {customer.first_name}.")
    page.get_by_role("button", name="Save as response").click()
    dialog = page.get_by_role("dialog", name="Save to My Responses")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Text")).to_have_value(
        "Our store in Lyon opens at 9:00, {customer.first_name}."
    )
    # The browser checks the shortcut's form first.
    dialog.get_by_label("Name").fill("Lyon hours")
    dialog.get_by_label("Shortcut").fill("two words")
    dialog.get_by_role("button", name="Save response").click()
    expect(dialog).to_be_visible()
    assert dialog.get_by_label("Shortcut").evaluate("e => !e.validity.valid")
    dialog.get_by_label("Shortcut").fill("lyon")
    dialog.get_by_label("Labels").fill("stores, opening hours")
    dialog.get_by_role("button", name="Save response").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("status").filter(has_text="Saved “Lyon hours”")).to_be_visible()
    expect(box).to_have_value("Our store in Lyon opens at 9:00, {customer.first_name}.")

    # The server refuses a second /lyon, with words, and keeps what was typed.
    page.get_by_role("button", name="Save as response").click()
    dialog = page.get_by_role("dialog", name="Save to My Responses")
    dialog.get_by_label("Name").fill("Lyon hours again")
    dialog.get_by_label("Shortcut").fill("lyon")
    dialog.get_by_role("button", name="Save response").click()
    dialog = page.get_by_role("dialog", name="Save to My Responses")
    expect(dialog.get_by_role("alert")).to_contain_text(
        "You already have a response with the shortcut /lyon."
    )
    expect(dialog.get_by_label("Name")).to_have_value("Lyon hours again")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()

    # It is offered like any other, with macros filled.
    box.fill("")
    box.press_sequentially("/ly")
    option = page.get_by_role("listbox").get_by_role("option")
    expect(option).to_have_count(1)
    box.press("Enter")
    expect(box).to_have_value("Our store in Lyon opens at 9:00, Priya.")

    page.keyboard.press("Alt+K")
    search = picker(page).get_by_label("Search stored responses")
    search.fill("opening hours")  # by label
    mine = picker(page).locator(".response-item", has_text="Lyon hours")
    expect(mine).to_contain_text("My Responses")
    # An agent's own can be deleted from here (shared ones only in admin).
    page.once("dialog", lambda confirm: confirm.accept())
    mine.get_by_role("button", name="Delete Lyon hours").click()
    expect(mine).to_have_count(0)
    expect(picker(page)).to_contain_text("No stored response matches")
