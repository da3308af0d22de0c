"""Who is answering: the customer sees the agent's persona with the Page's name."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.desks import make_desk, open_desktop, pick_up

pytestmark = pytest.mark.browser


def test_the_customer_sees_the_agents_name_with_the_page(servers, new_page):
    desk = make_desk(servers, agents=["Alice"], customers=[])
    desktop = open_desktop(new_page, servers, desk.agents[0])

    customer = new_page(viewport=(1000, 760))
    # The simulator of the server whose address is PUBLIC_BASE_URL: the persona's
    # picture is then same-origin, as the page's Content-Security-Policy wants.
    customer.goto(servers.desktop_url + "/simulator/")
    customer.get_by_label("Your name").fill("Dana Customer")
    customer.locator("#sim-page").select_option(desk.page_id)
    customer.get_by_role("textbox", name="Message").fill("Hi, is my order on its way?")
    customer.get_by_role("button", name="Send to Page").click()
    expect(customer.get_by_role("list", name="Messages")).to_contain_text("is my order")

    pick_up(desktop, "Dana Customer")
    box = desktop.get_by_label("Type your message")
    box.fill("Hi Dana, I'm Alice. Your parcel left the warehouse this morning.")
    box.press("Enter")
    sent = desktop.locator(".transcript .bubble.agent", has_text="left the warehouse")
    expect(sent).to_have_attribute("data-status", "sent")

    # The fake Graph API got the reply under Alice's persona: the simulator says so.
    reply = customer.locator(".bubble.page", has_text="left the warehouse")
    expect(reply.locator(".persona")).to_have_text("Alice from Acme Support")
    customer.wait_for_function(
        "() => { const i = document.querySelector('.bubble.page .persona-picture');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    # The customer's own message is theirs, not the persona's.
    expect(customer.locator(".bubble.customer .persona")).to_have_count(0)

    ARTIFACTS.mkdir(exist_ok=True)
    customer.mouse.move(0, 0)
    # The conversation card, where the reply and its sender are.
    customer.locator("section.chat").screenshot(path=str(ARTIFACTS / "simulator-persona.png"))
