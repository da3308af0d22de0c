"""Internal notes in Chromium: Add note beside Send, a note set apart from replies,
and a colleague named with @ told on their own desktop."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.desks import make_desk, open_desktop, pick_up

pytestmark = pytest.mark.browser


def test_add_note_shows_a_note_apart_from_replies_and_tells_the_colleague_named(servers, new_page):
    desk = make_desk(servers, agents=["Alice", "Bob"], customers=["Nina Note"])
    alice_login, bob_login = desk.agents
    bob = open_desktop(new_page, servers, bob_login)
    alice = open_desktop(new_page, servers, alice_login)
    desk.customer_writes("Nina Note", "I was charged twice for my order")
    pick_up(alice, "Nina Note")

    composer = alice.get_by_label("Type your message")
    composer.fill(f"Refund approved by finance. @{bob_login} please confirm the amount.")
    alice.get_by_role("button", name="Add note").click()

    note = alice.locator(".transcript .bubble.note")
    expect(note).to_contain_text("Internal note")
    expect(note).to_contain_text("Refund approved by finance.")
    expect(note).to_contain_text("Not sent to the customer")
    expect(composer).to_have_value("")
    # Set apart from the replies: centred and amber, not an agent's bubble.
    expect(note).not_to_have_class("agent")
    expect(note).to_have_css("background-color", "rgb(255, 246, 214)")

    composer.fill("We have refunded the second charge.")
    composer.press("Enter")
    expect(alice.locator(".transcript .bubble.agent")).to_have_count(1)
    expect(alice.locator(".transcript .bubble.note")).to_have_count(1)

    told = bob.locator("#mentions .mention")
    expect(told).to_contain_text("named you in a note on Nina Note's conversation")
    expect(told).to_contain_text("please confirm the amount")
    ARTIFACTS.mkdir(exist_ok=True)
    alice.mouse.move(0, 0)
    alice.screenshot(path=str(ARTIFACTS / "notes.png"))
    bob.screenshot(path=str(ARTIFACTS / "notes-mention.png"))
    told.get_by_role("button", name="Got it").click()
    expect(told).to_have_count(0)
