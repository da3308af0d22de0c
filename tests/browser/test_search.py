"""Finding a past conversation from the desktop's top bar, in Chromium: the results in a dialog,
the match marked, and the read-only transcript opened at it."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.desks import make_desk, open_desktop, pick_up, row, toolbar

pytestmark = pytest.mark.browser


def test_search_a_past_conversation_and_open_it_at_the_match(servers, new_page):
    desk = make_desk(servers, agents=["Alice"], customers=["Dana Whitfield", "Omar Haddad"])
    page = open_desktop(new_page, servers, desk.agents[0])
    earlier = [f"Another detail, number {n}" for n in range(18)]
    later = [f"And one more thing, number {n}" for n in range(12)]
    desk.customer_writes(
        "Dana Whitfield", *earlier, "My parcel 4711 never arrived, can you check?", *later
    )
    desk.customer_writes("Omar Haddad", "How do I change my address?")
    pick_up(page, "Dana Whitfield")
    toolbar(page).get_by_role("button", name="Disconnect").click()
    expect(row(page, "Dana Whitfield")).to_have_attribute("data-state", "disconnected")

    # Keyboard: Alt+S to the box, type, Enter.
    page.keyboard.press("Alt+s")
    box = page.get_by_label("Search conversations")
    expect(box).to_be_focused()
    box.fill("parcel")
    page.keyboard.press("Enter")

    results = page.get_by_role("dialog", name="Search conversations")
    expect(results).to_be_visible()
    expect(results.get_by_role("status")).to_have_text("1 conversation found")
    hit = results.locator(".search-hit")
    expect(hit.locator(".search-hit-customer")).to_have_text("Dana Whitfield")
    expect(hit.locator(".search-hit-meta")).to_contain_text(f"Desk {desk.tag}")
    expect(hit.locator(".search-hit-meta")).to_contain_text("Disconnected")
    expect(hit.locator("mark")).to_have_text("parcel")
    expect(results.get_by_text("Omar Haddad")).to_have_count(0)
    page.mouse.move(0, 0)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search.png"))

    hit.get_by_role("link").click()
    transcript = page.get_by_role("dialog", name="Dana Whitfield")
    expect(transcript).to_be_visible()
    match = transcript.locator("#search-match + .bubble")
    expect(match).to_contain_text("My parcel 4711 never arrived")
    expect(match).to_be_in_viewport()
    expect(transcript.get_by_role("button", name="Load older messages")).to_be_visible()
    page.mouse.move(0, 0)
    page.screenshot(path=str(ARTIFACTS / "search-transcript.png"))

    transcript.get_by_role("button", name="Back to results").click()
    expect(page.get_by_role("dialog", name="Search conversations")).to_be_visible()
