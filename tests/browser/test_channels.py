"""Page comments and Instagram, in the browser: the simulator comments and writes on
Instagram, the agent sees each channel's icon, answers the comment with its one
private reply, and the person's Messenger answer continues it."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.desks import make_desk, open_desktop

pytestmark = pytest.mark.browser

LINK_INSTAGRAM = """
from facebook.models import FacebookPage, InstagramAccount
InstagramAccount.objects.create(
    account_id={account_id!r}, page=FacebookPage.objects.get(page_id={page_id!r}), username="acme"
)
"""


def simulator(new_page, servers, desk, name: str):
    customer = new_page(viewport=(1000, 760))
    customer.goto(servers.customer_url)
    customer.get_by_label("Your name").fill(name)
    customer.locator("#sim-page").select_option(desk.page_id)
    return customer


def write(customer, channel: str, text: str) -> None:
    customer.get_by_label("Write as", exact=True).select_option(channel)
    customer.get_by_role("textbox", name="Message").fill(text)
    customer.get_by_role("button", name="Send to Page").click()
    expect(customer.get_by_role("list", name="Messages")).to_contain_text(text)


def pick_up_row(desktop, row) -> None:
    row.locator(".row-link").click()
    desktop.get_by_role("toolbar", name="Queue Control").get_by_role(
        "button", name="Pickup"
    ).click()
    expect(row).to_have_attribute("data-state", "connected")


def test_a_comment_gets_one_private_reply_and_the_answer_continues_in_messenger(servers, new_page):
    desk = make_desk(servers, agents=["Alice"], customers=[])
    desktop = open_desktop(new_page, servers, desk.agents[0])
    customer = simulator(new_page, servers, desk, "Rita Commenter")

    write(customer, "comment", "Does the blue one come in XL?")

    comment_row = desktop.locator('#my-interactions .interaction-row:has([data-channel="comment"])')
    expect(comment_row).to_contain_text("Rita Commenter")
    pick_up_row(desktop, comment_row)
    expect(desktop.locator(".conversation-head")).to_contain_text("Page comment")
    expect(desktop.get_by_role("region", name="Page comment")).to_contain_text(
        "Commented on the Page's post"
    )
    expect(desktop.locator(".transcript .bubble.customer")).to_have_text(
        re.compile("Does the blue one come in XL?")
    )

    box = desktop.get_by_label("Type your message")
    box.fill("Hi Rita, it does: I sent you the sizes.")
    box.press("Enter")
    reply = desktop.locator(".transcript .bubble.agent", has_text="I sent you the sizes")
    expect(reply).to_have_attribute("data-status", "sent")
    # One private reply per comment: the composer closes and says why.
    expect(desktop.locator(".window-note")).to_contain_text(
        "one private reply, and this one has been"
    )
    expect(desktop.get_by_role("button", name="Send")).to_be_disabled()
    ARTIFACTS.mkdir(exist_ok=True)
    desktop.screenshot(path=str(ARTIFACTS / "comment.png"))

    # The person gets it in Messenger, and answers there.
    expect(customer.locator(".bubble.page", has_text="I sent you the sizes")).to_contain_text(
        "Private reply"
    )
    write(customer, "messenger", "Great, XL please!")

    dm_row = desktop.locator('#my-interactions .interaction-row:has([data-channel="messenger"])')
    expect(dm_row).to_contain_text("Rita Commenter")
    pick_up_row(desktop, dm_row)
    context = desktop.get_by_role("region", name="Page comment")
    expect(context).to_contain_text("Continues the private reply to a comment")
    expect(context).to_contain_text("Does the blue one come in XL?")
    expect(desktop.locator(".transcript")).to_contain_text("Great, XL please!")
    expect(desktop.get_by_role("button", name="Send")).to_be_enabled()


def test_an_instagram_message_is_answered_from_the_desktop(servers, new_page):
    desk = make_desk(servers, agents=["Bea"], customers=[])
    account_id = "178414" + desk.page_id[-11:]
    servers.manage(
        "shell", "-c", LINK_INSTAGRAM.format(account_id=account_id, page_id=desk.page_id)
    )
    desktop = open_desktop(new_page, servers, desk.agents[0])
    customer = simulator(new_page, servers, desk, "Ines Costa")

    write(customer, "instagram", "Do you ship to Lyon?")

    row = desktop.locator('#my-interactions .interaction-row:has([data-channel="instagram"])')
    expect(row).to_contain_text("Ines Costa")
    pick_up_row(desktop, row)
    expect(desktop.locator(".conversation-head")).to_contain_text("Instagram DM · @ines.costa")
    box = desktop.get_by_label("Type your message")
    box.fill("x" * 1001)
    expect(desktop.locator(".char-count")).to_contain_text("1000")
    box.fill("Yes, in two days.")
    box.press("Enter")
    expect(desktop.locator(".transcript .bubble.agent", has_text="in two days")).to_have_attribute(
        "data-status", "sent"
    )
    expect(customer.locator(".bubble.page", has_text="in two days")).to_contain_text("Instagram")
    ARTIFACTS.mkdir(exist_ok=True)
    desktop.screenshot(path=str(ARTIFACTS / "instagram.png"))
