"""The Current Interaction view, point by point (issue 5), in Chromium.

Every test works on a desk of its own (tests/browser/desks.py): its own Page,
workgroup and agents in the shared servers. Screenshots for docs/ are taken
into test-artifacts/.
"""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.desks import (
    click_pickup,
    fake_graph_mode,
    make_desk,
    open_desktop,
    pick_up,
    press_on,
    row,
    select,
    toolbar,
)

pytestmark = pytest.mark.browser

TOOLS = ["Pickup", "Hold", "Transfer", "Record", "Disconnect"]
LINE_COLOURS = {
    "alerting": "rgb(91, 192, 235)",  # light blue
    "connected": "rgb(46, 157, 79)",  # green
    "held": "rgb(243, 156, 18)",  # orange
    "disconnected": "rgb(217, 58, 58)",  # red
    "queued": "rgb(138, 148, 163)",
}


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.mouse.move(0, 0)  # no hover effects in the picture
    page.screenshot(path=str(ARTIFACTS / name))


def expect_tools(page: Page, enabled: set[str]) -> None:
    """The toolbar has exactly the five controls (no Forward, no Listen), `enabled` enabled."""
    read = "t => [...t.querySelectorAll('button')].map(b => [b.textContent.trim(), !b.disabled])"
    seen = None
    for _ in range(50):  # pushed updates may still be landing
        seen = toolbar(page).evaluate(read)
        if [name for name, _ in seen] == TOOLS and {n for n, on in seen if on} == enabled:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"toolbar {seen}, expected {sorted(enabled)} enabled")


def expect_line(locator, state: str) -> None:
    expect(locator.locator(".state-line")).to_have_css("background-color", LINE_COLOURS[state])


def inline_pickup(page: Page):
    return page.locator(".conversation-head").get_by_role("button", name="Pickup")


def bubble(page: Page, text: str):
    return page.locator(".transcript .bubble", has_text=text)


def send(page: Page, text: str) -> None:
    page.get_by_label("Type your message").fill(text)
    page.get_by_label("Type your message").press("Enter")


# --- 1 and 2: state lines and the Queue Control toolbar ----------------------------


def test_state_lines_and_toolbar_buttons_in_every_state(servers, new_page):
    desk = make_desk(
        servers,
        agents=["Alice"],
        customers=["Ava Alerting", "Cole Connected", "Hana Held", "Dev Disconnected", "Quinn Q"],
    )
    page = open_desktop(new_page, servers, desk.agents[0])
    for name in ("Cole Connected", "Hana Held", "Dev Disconnected", "Ava Alerting"):
        desk.customer_writes(name, f"Hello, this is {name.split()[0]}.")
        expect(row(page, name)).to_have_attribute("data-state", "alerting")

    pick_up(page, "Cole Connected")
    pick_up(page, "Hana Held")
    toolbar(page).get_by_role("button", name="Hold").click()
    expect(row(page, "Hana Held")).to_have_attribute("data-state", "held")
    pick_up(page, "Dev Disconnected")
    toolbar(page).get_by_role("button", name="Disconnect").click()
    expect(row(page, "Dev Disconnected")).to_have_attribute("data-state", "disconnected")

    expected = {
        "Ava Alerting": ("alerting", {"Pickup"}),
        "Cole Connected": ("connected", {"Hold", "Transfer", "Record", "Disconnect"}),
        "Hana Held": ("held", {"Pickup", "Transfer", "Record", "Disconnect"}),
        "Dev Disconnected": ("disconnected", set()),
    }
    for name, (state, tools) in expected.items():
        expect_line(row(page, name), state)
        select(page, name)
        expect(page.locator(".conversation-head")).to_have_attribute("data-state", state)
        expect_tools(page, tools)
        # The Current Interaction view has its own Pickup for offers and holds.
        expect(inline_pickup(page)).to_have_count(1 if state in ("alerting", "held") else 0)
        if state == "alerting":
            shot(page, "alerting.png")
        if state == "held":
            # No reply while held; the box stays open for an internal note.
            expect(page.get_by_role("button", name="Send", exact=True)).to_be_disabled()
            expect(page.get_by_role("button", name="Add note")).to_be_enabled()
            shot(page, "held.png")

    # Queued: with Alice away nobody is offered it; she sees it in the queue view.
    page.get_by_label("Status").select_option("away")
    expect(page.locator(".status-picker .status-dot")).to_have_class(re.compile("status-away"))
    desk.customer_writes("Quinn Q", "Is anybody there?")
    queued = page.locator("#workgroup-queue .interaction-row", has_text="Quinn Q")
    expect(queued).to_have_attribute("data-state", "queued")
    expect_line(queued, "queued")
    queued.locator(".row-link").click()
    expect(page.locator(".conversation-head .customer-name")).to_have_text("Quinn Q")
    expect_tools(page, {"Pickup"})
    inline_pickup(page).click()
    expect(row(page, "Quinn Q")).to_have_attribute("data-state", "connected")
    expect(queued).to_have_count(0)
    expect_tools(page, expected["Cole Connected"][1])


# --- 3, 4, 5: the conversation, its heading, the bubbles ---------------------------


def test_the_conversation_reads_like_messenger(servers, new_page):
    desk = make_desk(servers, agents=["Alice"], customers=["Dana Whitfield"])
    page = open_desktop(new_page, servers, desk.agents[0])
    desk.customer_writes("Dana Whitfield", "Hi! Do you ship to Canada?")
    pick_up(page, "Dana Whitfield")
    send(page, "We do! Delivery takes 5 to 7 days.")
    expect(bubble(page, "5 to 7 days")).to_have_attribute("data-status", "sent")
    page.get_by_role("button", name="Disconnect").click()
    page.get_by_role("button", name="Dismiss").click()
    expect(row(page, "Dana Whitfield")).to_have_count(0)

    # A week later, say: a new interaction, with the first one in her history.
    desk.customer_writes(
        "Dana Whitfield",
        "Hi again! My order #1042 has not arrived yet.",
        "It was supposed to come on Monday.",
    )
    pick_up(page, "Dana Whitfield")
    send(page, "Sorry about that, Dana! Let me check the shipment for you.")
    expect(bubble(page, "check the shipment")).to_have_attribute("data-status", "sent")
    desk.customer_writes("Dana Whitfield", "Thank you! It's the blue backpack.")
    expect(bubble(page, "blue backpack")).to_be_visible()

    # 4: the customer's name and the Facebook DM icon head the view.
    head = page.locator(".conversation-head")
    expect(head.get_by_role("heading", level=1)).to_have_text("Dana Whitfield")
    expect(head.locator(".channel-icon svg")).to_be_visible()
    expect(head).to_contain_text("Facebook DM")
    # 3 and 5: a Messenger exchange: customer on blue at the left, ours on white at the right.
    log = page.get_by_role("log", name="Messages")
    expect(log).to_have_attribute("aria-live", "polite")
    customer = bubble(page, "blue backpack")
    ours = bubble(page, "check the shipment")
    expect(customer).to_have_css("background-color", "rgb(8, 102, 255)")
    expect(ours).to_have_css("background-color", "rgb(255, 255, 255)")
    log_box, customer_box, ours_box = (
        log.bounding_box(),
        customer.bounding_box(),
        ours.bounding_box(),
    )
    assert customer_box["x"] - log_box["x"] < 40
    assert (log_box["x"] + log_box["width"]) - (ours_box["x"] + ours_box["width"]) < 40
    texts = log.locator(".bubble").all_inner_texts()
    assert ["Hi again" in t for t in texts].index(True) < [
        "blue backpack" in t for t in texts
    ].index(True)

    # Beside it: who the customer is, and their past interactions.
    panel = page.get_by_role("complementary", name="Customer")
    expect(panel).to_contain_text("Dana Whitfield")
    expect(panel).to_contain_text(desk.psid("Dana Whitfield"))
    expect(panel).to_contain_text("Acme Support")
    history = panel.locator(".history-item")
    expect(history).to_have_count(1)
    expect(history).to_contain_text("2 messages")
    shot(page, "connected.png")

    history.click()
    dialog = page.get_by_role("dialog", name=re.compile("Dana Whitfield"))
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Read-only")
    expect(dialog.locator(".bubble")).to_have_count(2)
    expect(dialog).to_contain_text("Do you ship to Canada?")
    expect(dialog.get_by_role("textbox")).to_have_count(0)
    shot(page, "past-interaction.png")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


# --- 6: sending, time-outs, errors, duplicates ----------------------------------------


def test_a_reply_spins_then_times_out_with_retry(servers, new_page):
    desk = make_desk(servers, agents=["Alice"], customers=["Tom Timeout"])
    page = open_desktop(new_page, servers, desk.agents[0])
    desk.customer_writes("Tom Timeout", "Hello?")
    pick_up(page, "Tom Timeout")
    try:
        fake_graph_mode(servers, "timeout")
        send(page, "Still there, Tom?")
        reply = bubble(page, "Still there, Tom?")
        expect(reply.get_by_role("status", name="Sending")).to_be_visible()
        expect(reply).to_have_attribute("data-status", "timed_out", timeout=15_000)
        expect(reply.get_by_role("status", name="Sending")).to_have_count(0)
        expect(reply.get_by_role("alert")).to_contain_text(re.compile(r"\w+ \w+"))
        retry = reply.get_by_role("button", name="Retry")
        fake_graph_mode(servers, "ok")
        # The late answer's echo may settle it by itself; otherwise Retry sends it.
        if retry.is_visible():
            retry.click()
    finally:
        fake_graph_mode(servers, "ok")
    expect(bubble(page, "Still there, Tom?")).to_have_attribute(
        "data-status", "sent", timeout=15_000
    )
    expect(bubble(page, "Still there, Tom?").get_by_role("button")).to_have_count(0)
    expect(page.locator(".transcript .bubble.agent")).to_have_count(1)


def test_errors_and_duplicates_offer_resend_and_delete_with_the_reason(servers, new_page):
    desk = make_desk(servers, agents=["Alice"], customers=["Eli Error"])
    page = open_desktop(new_page, servers, desk.agents[0])
    desk.customer_writes("Eli Error", "My parcel says 'delivered' but it is not here.")
    pick_up(page, "Eli Error")
    send(page, "I'm sorry, Eli. Let me open a claim with the carrier.")
    expect(bubble(page, "open a claim")).to_have_attribute("data-status", "sent")
    try:
        fake_graph_mode(servers, "error_1")
        send(page, "Could you confirm your postcode?")
        failed = bubble(page, "confirm your postcode")
        expect(failed).to_have_attribute("data-status", "failed", timeout=15_000)
    finally:
        fake_graph_mode(servers, "ok")
    problem = failed.get_by_role("alert")
    expect(problem.get_by_role("button", name="Resend")).to_be_visible()
    expect(problem.get_by_role("button", name="Delete")).to_be_visible()
    reason = problem.inner_text().replace("Resend", "").replace("Delete", "").strip()
    assert len(reason.split()) >= 2, reason  # the reason, in words

    # A duplicate: the same text sent again within a few seconds. (The same
    # form posted twice, a double click, is stored once: tests/routing/test_messaging.py.)
    twice = bubble(page, "Thanks for waiting!")
    send(page, "Thanks for waiting!")
    expect(twice).to_have_count(1)
    send(page, "Thanks for waiting!")
    expect(twice).to_have_count(2)
    duplicate = page.locator('.transcript .bubble[data-status="duplicate"]')
    expect(duplicate).to_have_count(1)
    expect(duplicate.get_by_role("alert")).to_contain_text("same text")
    expect(duplicate.get_by_role("button", name="Resend")).to_be_visible()
    expect(duplicate.get_by_role("button", name="Delete")).to_be_visible()
    shot(page, "failed-message.png")

    duplicate.get_by_role("button", name="Delete").click()
    expect(twice).to_have_count(1)
    expect(twice).to_have_attribute("data-status", "sent")
    failed.get_by_role("button", name="Resend").click()
    expect(failed).to_have_attribute("data-status", "sent", timeout=15_000)
    expect(failed.get_by_role("button")).to_have_count(0)


# --- 8: Send, Enter and Shift+Enter ---------------------------------------------------


def test_send_button_enter_and_shift_enter(servers, new_page):
    desk = make_desk(servers, agents=["Alice"], customers=["Nia Newline"])
    page = open_desktop(new_page, servers, desk.agents[0])
    desk.customer_writes("Nia Newline", "What are your opening hours?")
    pick_up(page, "Nia Newline")
    box = page.get_by_label("Type your message")
    expect(box).to_be_focused()  # a pickup leaves the agent ready to type

    box.press_sequentially("Monday to Friday:")
    box.press("Shift+Enter")
    box.press_sequentially("9:00 to 18:00")
    assert box.input_value() == "Monday to Friday:\n9:00 to 18:00"
    expect(page.locator(".transcript .bubble.agent")).to_have_count(0)
    box.press("Enter")
    first = bubble(page, "Monday to Friday")
    expect(first).to_have_attribute("data-status", "sent")
    assert first.locator(".bubble-text").inner_html().count("<br>") == 1
    expect(box).to_have_value("")

    box.press("Enter")  # nothing to send: nothing happens
    box.fill("And Saturdays 10:00 to 14:00.")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(bubble(page, "Saturdays")).to_have_attribute("data-status", "sent")
    expect(page.locator(".transcript .bubble.agent")).to_have_count(2)

    toolbar(page).get_by_role("button", name="Hold").click()
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_disabled()
    box.fill("Typed while held")
    box.press("Enter")  # held: Enter sends nothing (the text may become a note)
    expect(page.locator(".transcript .bubble.agent")).to_have_count(2)


# --- beyond the seed: alerting --------------------------------------------------------

# Records notifications instead of showing them, and makes the tab look as if
# the agent were in another window (notifications are for when they are not here).
FAKE_NOTIFICATIONS = """
window.__notifications = [];
window.Notification = class {
  constructor(title, options) { window.__notifications.push({ title, ...options }); }
  close() {}
  static requestPermission() {
    localStorage.setItem("test.permission", "granted");
    window.Notification.permission = "granted";
    return Promise.resolve("granted");
  }
};
window.Notification.permission = localStorage.getItem("test.permission") || "default";
document.hasFocus = () => false;
"""


def test_new_offers_ring_notify_and_count_in_the_title(servers, new_page):
    desk = make_desk(servers, agents=["Alice"], customers=["Ann One", "Ben Two", "Cy Three"])
    page = new_page()
    page.add_init_script(FAKE_NOTIFICATIONS)
    from tests.browser.conftest import log_in

    log_in(page, servers, desk.agents[0])
    expect(page).to_have_title(re.compile(r"^Connect · "))
    # Notifications are asked for with a click, never on load.
    enable = page.get_by_role("button", name="Enable notifications")
    expect(enable).to_be_visible()
    enable.click()
    expect(enable).to_be_hidden()

    desk.customer_writes("Ann One", "Hello!")
    expect(row(page, "Ann One")).to_have_attribute("data-state", "alerting")
    expect(page).to_have_title(re.compile(r"^\(1\) Connect · "))
    expect(page.locator("body")).to_have_attribute("data-chimes", "1")
    notes = page.evaluate("window.__notifications")
    assert len(notes) == 1 and "Ann One" in notes[0]["body"]

    desk.customer_writes("Ben Two", "Hi there")
    expect(page).to_have_title(re.compile(r"^\(2\) Connect · "))
    expect(page.locator("body")).to_have_attribute("data-chimes", "2")
    # A new message on an offer already ringing does not ring again.
    desk.customer_writes("Ann One", "Anyone?")
    expect(row(page, "Ann One")).to_have_attribute("data-unread", "2")
    expect(page.locator("body")).to_have_attribute("data-chimes", "2")

    pick_up(page, "Ann One")
    expect(page).to_have_title(re.compile(r"^\(1\) Connect · "))

    # Muted: no chime; the choice survives a reload (localStorage).
    mute = page.get_by_role("button", name="Mute alert sound")
    expect(mute).to_have_attribute("aria-pressed", "false")
    mute.click()
    expect(mute).to_have_attribute("aria-pressed", "true")
    page.reload()
    page.locator('body[data-live="connected"]').wait_for()
    expect(page.get_by_role("button", name="Mute alert sound")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page).to_have_title(re.compile(r"^\(1\) Connect · "))
    desk.customer_writes("Cy Three", "Good morning")
    expect(row(page, "Cy Three")).to_have_attribute("data-state", "alerting")
    expect(page).to_have_title(re.compile(r"^\(2\) Connect · "))
    assert page.evaluate("document.body.dataset.chimes") is None
    # Still shown, silently; and only Cy Three's: Ben Two's offer waited for the
    # reloaded tab (even when the old tab's close was handled before it opened)
    # instead of going back and ringing anew.
    notes = page.evaluate("window.__notifications")
    assert ["Cy Three" in note["body"] for note in notes] == [True]

    page.get_by_role("button", name="Mute alert sound").click()
    select(page, "Ben Two")
    click_pickup(page)
    select(page, "Cy Three")
    click_pickup(page)
    expect(page).to_have_title(re.compile(r"^Connect · "))


def test_a_late_pickup_answer_does_not_replace_the_conversation_opened_since(servers, new_page):
    desk = make_desk(servers, agents=["Alice"], customers=["Dee Late", "Eve Next"])
    page = open_desktop(new_page, servers, desk.agents[0])
    desk.customer_writes("Dee Late", "Hello")
    desk.customer_writes("Eve Next", "Hi")
    expect(row(page, "Eve Next")).to_have_attribute("data-state", "alerting")
    # The Pickup's request is held in the browser, as a busy server would be slow to answer.
    held = []
    page.route("**/pickup", lambda route: held.append(route))
    select(page, "Dee Late")
    toolbar(page).get_by_role("button", name="Pickup").click()
    expect(page.locator(".tool-pickup.htmx-request")).to_have_count(1)
    select(page, "Eve Next")
    assert len(held) == 1
    held[0].continue_()

    expect(row(page, "Dee Late")).to_have_attribute("data-state", "connected")
    expect(page.locator(".htmx-request")).to_have_count(0)
    expect(page.locator(".conversation-head .customer-name")).to_have_text("Eve Next")


def test_a_row_pressed_while_a_push_redraws_the_list_still_opens(servers, new_page):
    desk = make_desk(
        servers,
        agents=["Alice"],
        customers=["Fay Press", "Gus Busy", "Hal Wait", "Ivy Late"],
        capacity=2,
    )
    page = open_desktop(new_page, servers, desk.agents[0])
    desk.customer_writes("Fay Press", "Hello")
    desk.customer_writes("Gus Busy", "Hi")
    expect(row(page, "Gus Busy")).to_have_attribute("data-unread", "1")
    # The agent presses on Fay's row; before they let go, a push redraws the list
    # (Gus writes again). A click is a press and a release on the same element:
    # had the push replaced the rows, the click would be lost.
    press_on(page, row(page, "Fay Press").locator(".row-name"))
    desk.customer_writes("Gus Busy", "Are you there?")
    expect(row(page, "Gus Busy")).to_have_attribute("data-unread", "2")
    page.mouse.up()

    expect(page.locator(".conversation-head .customer-name")).to_have_text("Fay Press")
    expect(row(page, "Fay Press")).to_have_attribute("aria-current", "true")

    # The same in the workgroup's queue, redrawn as someone else starts to wait.
    desk.customer_writes("Hal Wait", "Hello")
    waiting = page.locator("#workgroup-queue .interaction-row", has_text="Hal Wait")
    press_on(page, waiting.locator(".row-name"))
    desk.customer_writes("Ivy Late", "Hi")
    expect(page.locator("#workgroup-queue [data-queue-count]")).to_have_text("2")
    page.mouse.up()

    expect(page.locator(".conversation-head .customer-name")).to_have_text("Hal Wait")


# --- beyond the seed: keyboard ----------------------------------------------------------


def test_keyboard_shortcuts_for_every_queue_control(servers, new_page):
    desk = make_desk(servers, agents=["Alice", "Bob"], customers=["Kim Key", "Lee Board"])
    bob = open_desktop(new_page, servers, desk.agents[1])
    page = open_desktop(new_page, servers, desk.agents[0])
    bob.get_by_label("Status").select_option("away")
    expect(bob.locator(".status-picker .status-dot")).to_have_class(re.compile("status-away"))
    desk.customer_writes("Kim Key", "Hello")
    expect(row(page, "Kim Key")).to_have_attribute("data-state", "alerting")
    desk.customer_writes("Lee Board", "Hi")
    expect(row(page, "Lee Board")).to_have_attribute("data-state", "alerting")

    # ? opens the list of shortcuts (a dialog); Esc closes it.
    page.locator("body").press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_be_visible()
    for keys in ("Alt + P", "Alt + H", "Alt + T", "Alt + R", "Alt + D", "Alt + ↑ / ↓"):
        expect(help_dialog).to_contain_text(keys)
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    page.keyboard.press("Alt+ArrowDown")  # the first interaction
    expect(page.locator(".conversation-head .customer-name")).to_have_text("Kim Key")
    page.keyboard.press("Alt+P")
    expect(row(page, "Kim Key")).to_have_attribute("data-state", "connected")
    box = page.get_by_label("Type your message")
    expect(box).to_be_focused()

    # Typing: plain keys are text, Alt shortcuts still work.
    box.press_sequentially("Is this your order? ")
    expect(help_dialog).to_be_hidden()
    assert box.input_value() == "Is this your order? "
    page.keyboard.press("Alt+H")
    expect(row(page, "Kim Key")).to_have_attribute("data-state", "held")
    expect(toolbar(page).get_by_role("button", name="Hold")).to_be_disabled()
    expect(box).to_have_value("Is this your order? ")  # the draft survives the hold
    page.keyboard.press("Alt+P")
    expect(row(page, "Kim Key")).to_have_attribute("data-state", "connected")
    expect(toolbar(page).get_by_role("button", name="Hold")).to_be_enabled()
    page.keyboard.press("Alt+R")
    record = toolbar(page).get_by_role("button", name="Record")
    expect(record).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Alt+R")
    expect(toolbar(page).get_by_role("button", name="Record")).to_have_attribute(
        "aria-pressed", "false"
    )
    page.keyboard.press("Alt+T")
    transfer = page.locator("#transfer-dialog")
    expect(transfer).to_be_visible()
    page.keyboard.press("Escape")
    expect(transfer).to_be_hidden()

    page.keyboard.press("Alt+ArrowDown")
    expect(page.locator(".conversation-head .customer-name")).to_have_text("Lee Board")
    page.keyboard.press("Alt+H")  # does not apply to an offer: said, not done
    expect(page.locator("#desk-toast")).to_contain_text("Hold does not apply")
    expect(row(page, "Lee Board")).to_have_attribute("data-state", "alerting")
    page.keyboard.press("Alt+ArrowUp")
    expect(page.locator(".conversation-head .customer-name")).to_have_text("Kim Key")
    page.keyboard.press("Alt+D")
    expect(row(page, "Kim Key")).to_have_attribute("data-state", "disconnected")
    for name, keys in (("Pickup", "Alt+P"), ("Hold", "Alt+H"), ("Disconnect", "Alt+D")):
        expect(toolbar(page).get_by_role("button", name=name)).to_have_attribute(
            "aria-keyshortcuts", keys
        )


# --- beyond the seed: unread marks ------------------------------------------------------


def test_unread_marks_on_interactions_with_new_customer_messages(servers, new_page):
    desk = make_desk(servers, agents=["Alice"], customers=["Uma Open", "Vic Other"])
    page = open_desktop(new_page, servers, desk.agents[0])
    desk.customer_writes("Uma Open", "First question")
    desk.customer_writes("Vic Other", "Hello")
    pick_up(page, "Vic Other")
    pick_up(page, "Uma Open")
    expect(row(page, "Vic Other")).to_have_attribute("data-unread", "0")

    desk.customer_writes("Vic Other", "Are you there?", "Hello??")
    badge = row(page, "Vic Other").locator(".unread-badge")
    expect(badge).to_have_text(re.compile(r"^2"))
    expect(badge).to_be_visible()
    expect(row(page, "Vic Other")).to_have_class(re.compile("has-unread"))
    # The open conversation's new message is read as it arrives.
    desk.customer_writes("Uma Open", "One more detail")
    expect(bubble(page, "One more detail")).to_be_visible()
    expect(row(page, "Uma Open")).to_have_attribute("data-unread", "0")
    expect(row(page, "Vic Other")).to_have_attribute("data-unread", "2")

    select(page, "Vic Other")
    expect(row(page, "Vic Other")).to_have_attribute("data-unread", "0")
    expect(row(page, "Vic Other").locator(".unread-badge")).to_have_count(0)
    page.reload()
    expect(row(page, "Vic Other")).to_have_attribute("data-unread", "0")


# --- beyond the seed: the live connection ------------------------------------------------


def test_a_dropped_connection_shows_reconnects_and_resyncs(servers, new_page):
    desk = make_desk(servers, agents=["Alice"], customers=["Rita Resync", "Sam Second"])
    page = open_desktop(new_page, servers, desk.agents[0])
    desk.customer_writes("Rita Resync", "Hi")
    pick_up(page, "Rita Resync")
    banner = page.locator("#connection-banner")
    expect(banner).to_be_hidden()

    # The socket drops and the network stays away. (Closed first: offline
    # emulation would also hold up the closing handshake.)
    page.evaluate('document.body["htmx-internal-data"].webSocket.socket.close()')
    page.context.set_offline(True)
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Live updates lost. Reconnecting")
    expect(page.locator("body")).to_have_attribute("data-live", "lost")
    # Meanwhile: a message in the open conversation, and a new customer.
    desk.customer_writes("Rita Resync", "While you were away")
    desk.customer_writes("Sam Second", "New here")
    page.wait_for_timeout(1500)  # a few failed attempts, with backoff
    expect(banner).to_be_visible()
    expect(bubble(page, "While you were away")).to_have_count(0)

    page.context.set_offline(False)
    expect(banner).to_be_hidden(timeout=20_000)
    expect(page.locator("body")).to_have_attribute("data-live", "connected")
    # Nothing missed: the page caught up without a reload.
    expect(bubble(page, "While you were away")).to_be_visible()
    expect(row(page, "Sam Second")).to_have_attribute("data-state", "alerting")


# --- beyond the seed: layout, long conversations -------------------------------------------


def no_horizontal_scroll(page: Page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


@pytest.mark.parametrize("viewport", [(1280, 720), (1440, 900)], ids=["1280x720", "13-inch"])
def test_long_conversations_scroll_and_load_older_messages_without_jumps(
    servers, new_page, viewport
):
    desk = make_desk(servers, agents=["Alice"], customers=["Lou Long"])
    lines = [f"Line {n:03} of a long conversation." for n in range(1, 121)]
    desk.customer_writes("Lou Long", *lines)
    page = open_desktop(new_page, servers, desk.agents[0], viewport=viewport)
    pick_up(page, "Lou Long")

    # Everything at hand, nothing cut off or scrolling sideways.
    assert no_horizontal_scroll(page)
    for control in [
        *[toolbar(page).get_by_role("button", name=name) for name in TOOLS],
        page.get_by_label("Type your message"),
        page.get_by_role("button", name="Send", exact=True),
        page.get_by_role("complementary", name="Customer"),
        page.locator("#my-interactions"),
    ]:
        expect(control).to_be_in_viewport(ratio=1)
    log = page.get_by_role("log", name="Messages")
    assert log.bounding_box()["height"] > 250

    # Only the newest 50 at first, scrolled to the newest.
    expect(log.locator(".bubble")).to_have_count(50)
    expect(bubble(page, "Line 120")).to_be_in_viewport()
    older = log.get_by_role("button", name="Load older messages")
    expect(older).to_be_attached()

    # Scrolling up to the top loads the page before, keeping the reader's place.
    anchor = bubble(page, "Line 071")
    log.evaluate("e => { e.scrollTop = 200; }")
    page.wait_for_timeout(100)
    log.hover()
    page.mouse.wheel(0, -400)
    expect(log.locator(".bubble")).to_have_count(100)
    expect(anchor).to_be_in_viewport()
    # The button loads the rest; then there is nothing older.
    log.get_by_role("button", name="Load older messages").click()
    expect(log.locator(".bubble")).to_have_count(120)
    expect(log.get_by_role("button", name="Load older messages")).to_have_count(0)
    texts = log.locator(".bubble .bubble-text").all_inner_texts()
    assert texts == lines

    # Reading further up, a new message does not move what is on screen;
    # a "New messages" button says it came.
    bubble(page, "Line 060").scroll_into_view_if_needed()
    reading = bubble(page, "Line 060")
    before = reading.bounding_box()["y"]
    desk.customer_writes("Lou Long", "A new message at the bottom")
    new_messages = page.get_by_role("button", name="New messages")
    expect(new_messages).to_be_visible()
    assert abs(reading.bounding_box()["y"] - before) < 1
    new_messages.click()
    expect(bubble(page, "A new message at the bottom")).to_be_in_viewport()
    expect(new_messages).to_have_count(0)

    # At the bottom, new messages come into view by themselves.
    desk.customer_writes("Lou Long", "And one more")
    expect(bubble(page, "And one more")).to_be_in_viewport()
    assert no_horizontal_scroll(page)
    if viewport == (1440, 900):
        shot(page, "desktop-1440x900.png")


# --- beyond the seed: accessibility -------------------------------------------------------

# Checks run in the page (tests/browser/accessibility.js).
CHECKS = (Path(__file__).parent / "accessibility.js").read_text()


def check(page: Page, name: str):
    return page.evaluate(f"() => ({CHECKS}).{name}()")


def test_labels_focus_order_visible_focus_and_contrast(servers, new_page):
    desk = make_desk(servers, agents=["Alice"], customers=["Ada Access", "Max Other"])
    page = open_desktop(new_page, servers, desk.agents[0])
    desk.customer_writes("Max Other", "Hello")
    desk.customer_writes("Ada Access", "Can you hear me?")
    pick_up(page, "Ada Access")
    send(page, "Loud and clear!")
    expect(bubble(page, "Loud and clear!")).to_have_attribute("data-status", "sent")
    select(page, "Max Other")  # an offer: the alerting colours are judged too
    select(page, "Ada Access")

    assert check(page, "unlabelled") == []
    assert check(page, "contrastProblems") == []
    expect(page.get_by_role("log", name="Messages")).to_have_attribute("aria-live", "polite")
    expect(page.get_by_role("toolbar", name="Queue Control")).to_be_visible()
    expect(page.get_by_role("main", name="Current Interaction")).to_be_visible()

    # Keyboard: the first stop skips to the work, and the order follows the page:
    # top bar, My Interactions, Queue Control, the conversation, the composer, the customer.
    page.goto(page.url)
    page.locator('body[data-live="connected"]').wait_for()
    # The panel tells the server it was read as it loads, and the list redraws:
    # let that land before walking the focus order.
    page.wait_for_load_state("networkidle")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the current interaction")).to_be_focused()
    stops = []
    for _ in range(40):
        page.keyboard.press("Tab")
        stops.append(check(page, "focusStop"))
    zones = [zone.split(":")[0] for zone, _ in stops if not zone.startswith("other")]
    order = ["topbar", "list", "toolbar", "transcript", "composer", "customer"]
    firsts = [zones.index(zone) for zone in order]
    assert firsts == sorted(firsts), zones
    # Every stop shows where focus is.
    stops = [(zone, visible) for zone, visible in stops if zone != "other:BODY."]  # wrapped round
    assert all(visible for _, visible in stops), [s for s in stops if not s[1]]
    shot(page, "keyboard-focus.png")
