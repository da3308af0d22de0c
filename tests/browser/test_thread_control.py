"""Conversation routing as the agent sees it: a bot takes the conversation, the desktop
says so, a reply is refused with 2018300, the bubble's Take over (with a reason) takes
it back, and Resend goes through."""

import json
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, log_in
from tests.browser.test_messenger import Desk, open_offer

pytestmark = pytest.mark.browser

BOT_TAKES = """
import json
from facebook.fake import graph
print(json.dumps(graph.bot_handover(
    "take_thread_control", page_id={page_id!r}, psid={psid!r}, metadata="Order bot"
)))
"""


def test_a_bot_takes_the_conversation_and_the_agent_takes_it_over(servers, new_page):
    desk = Desk(servers, page_name="Northwind Bikes", first="Lea", last="Moreau")
    desktop = new_page()
    log_in(desktop, servers, desk.agent)
    desk.post(desk.message(int(time.time() * 1000), text="My order has not arrived."))
    open_offer(desktop, desk)

    # The Page's bot takes the conversation; Meta tells us, and the desktop says so.
    body = servers.manage(
        "shell", "-c", BOT_TAKES.format(page_id=desk.page_id, psid=desk.psid)
    ).splitlines()[-1]
    response = servers.post_webhook(json.loads(body))
    assert response.status_code == 200, response.text
    notice = desktop.locator(".thread-owner")
    expect(notice).to_contain_text("App 100000000000888 controls this conversation")
    expect(desktop.locator(".bubble.system")).to_contain_text(
        "App 100000000000888 took the conversation: Order bot"
    )

    # Our reply is refused: another app controls the thread.
    desktop.get_by_label("Type your message").fill("Let me check that for you.")
    desktop.get_by_role("button", name="Send").click()
    reply = desktop.locator(".bubble.agent", has_text="Let me check that for you.")
    expect(reply).to_have_attribute("data-status", "failed")
    expect(reply).to_contain_text("Another app controls this conversation right now")

    # The bubble offers Take over, with the reason the bot is told.
    reply.get_by_label("Reason for taking over").fill("The customer asked for a person")
    reply.get_by_role("button", name="Take over").click()
    expect(desktop.locator(".thread-owner")).to_have_count(0)
    expect(desktop.locator(".bubble.system").last).to_contain_text(
        "took the conversation over from app 100000000000888: The customer asked for a person"
    )

    reply = desktop.locator(".bubble.agent", has_text="Let me check that for you.")
    reply.get_by_role("button", name="Resend").click()
    expect(reply).to_have_attribute("data-status", "sent")
    ARTIFACTS.mkdir(exist_ok=True)
    desktop.screenshot(path=str(ARTIFACTS / "thread-control-taken-over.png"))
