"""Messenger fidelity as the agent sees it: an image attachment kept and shown, the
reply window counted down, ticks turning delivered and read live, the length
limit before sending, and the banner for a Page whose token Meta refused."""

import json
import re
import time
import uuid

import pytest
from playwright.sync_api import expect

from facebook.fake import webhooks
from tests.browser.conftest import ARTIFACTS, log_in
from tests.browser.desks import click_pickup, fake_graph_mode

pytestmark = pytest.mark.browser

DAY_MS = 24 * 3600 * 1000

# A Page, workgroup and agent of the test's own, so that nothing of other
# browser tests (sharing the servers) is offered here, and a profile the fake
# Graph API answers for the customer. The Pages' names sort after the demo's
# "Acme Support", which the simulator picks by default.
SETUP = """
from django.contrib.auth import get_user_model
from facebook.models import FacebookPage, FakeProfile
from routing.models import Agent, Workgroup
spec = {spec!r}
workgroup = Workgroup.objects.create(name=spec["workgroup"], alert_timeout_seconds=600)
FacebookPage.objects.create(
    page_id=spec["page_id"], name=spec["page_name"], access_token=spec["token"],
    workgroup=workgroup,
)
user = get_user_model().objects.create_user(username=spec["agent"], password="demo-pass")
workgroup.members.add(Agent.objects.create(user=user))
FakeProfile.objects.update_or_create(
    psid=spec["psid"], defaults={{"first_name": spec["first"], "last_name": spec["last"]}}
)
"""


class Desk:
    def __init__(self, servers, *, page_name: str, first: str, last: str) -> None:
        tag = uuid.uuid4().hex[:8]
        self.servers = servers
        self.page_id = f"3{int(tag, 16) % 10**14:014d}"
        self.psid = f"74{int(tag, 16) % 10**14:014d}"
        self.agent = f"messenger_{tag}"
        self.page_name = page_name
        self.customer = f"{first} {last}"
        spec = {
            "workgroup": f"Messenger {tag}",
            "page_id": self.page_id,
            "page_name": page_name,
            "token": f"token-{tag}",
            "agent": self.agent,
            "psid": self.psid,
            "first": first,
            "last": last,
        }
        servers.manage("shell", "-c", SETUP.format(spec=spec))

    def post(self, *items: dict) -> None:
        response = self.servers.post_webhook(webhooks.envelope(*items, page_id=self.page_id))
        assert response.status_code == 200, response.text

    def customer_item(self, kind: str, value: dict, at_ms: int | None = None) -> dict:
        return webhooks.from_customer(
            kind, value, page_id=self.page_id, psid=self.psid, at_ms=at_ms
        )

    def message(self, at_ms: int, **message) -> dict:
        return self.customer_item("message", {"mid": f"m_br_{uuid.uuid4().hex}", **message}, at_ms)


def wait_for_sender_actions(servers, psid: str, expected: set[str]) -> None:
    """Until the fake Graph API has received these sender actions for the customer."""
    script = (
        "from facebook.models import FakeGraphCall; "
        f"print(sorted({{c.body.get('sender_action') for c in FakeGraphCall.objects.filter("
        f"recipient_psid='{psid}') if c.body.get('sender_action')}}))"
    )
    deadline = time.monotonic() + 15
    while True:
        got = set(
            json.loads(servers.manage("shell", "-c", script).splitlines()[-1].replace("'", '"'))
        )
        if expected <= got or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert expected <= got, got


def open_offer(desktop, desk: Desk):
    row = desktop.locator("#my-interactions .interaction-row", has_text=desk.customer)
    expect(row).to_have_attribute("data-state", "alerting")
    row.locator("a").click()
    expect(desktop.locator(f"#toolbar-{row.get_attribute('data-interaction-id')}")).to_be_visible()
    click_pickup(desktop)
    expect(row).to_have_attribute("data-state", "connected")
    return row


def test_image_ticks_and_the_reply_window(servers, new_page):
    desk = Desk(servers, page_name="Northwind Photos", first="Mira", last="Lindqvist")
    desktop = new_page()
    log_in(desktop, servers, desk.agent)

    # Written almost 24 hours ago (a delivery Meta retried): 2½ minutes of the window left.
    written = int(time.time() * 1000) - DAY_MS + 150_000
    photo = f"{servers.desktop_url}/fake-graph/_media/photo.png"
    desk.post(
        desk.message(written - 1000, attachments=[{"type": "image", "payload": {"url": photo}}]),
        desk.message(written, text="The box arrived crushed, see the photo."),
    )
    open_offer(desktop, desk)

    # The image, from our own copy (Meta's URL expires), in the customer's bubble.
    image = desktop.locator(".bubble.customer img.attachment-image")
    expect(image).to_have_attribute("src", re.compile(r"^/messages/\d+/attachments/0$"))
    desktop.wait_for_function(
        "() => { const i = document.querySelector('.bubble.customer img.attachment-image');"
        " return i && i.complete && i.naturalWidth === 240; }"
    )

    # The window counts down in the composer, live.
    countdown = desktop.locator(".window-countdown")
    expect(countdown).to_have_text(re.compile(r"^Reply window: 2 min \d+ s left$"))
    expect(countdown).not_to_have_text(countdown.inner_text(), timeout=5000)

    # Too long for Messenger: said before sending, and Send is off.
    box = desktop.get_by_label("Type your message")
    box.fill("x" * 2005)
    expect(desktop.locator(".char-count")).to_have_text(
        "Too long for Messenger: 2005 characters, at most 1999. Shorten it by 6."
    )
    expect(desktop.get_by_role("button", name="Send")).to_be_disabled()

    box.fill("Sorry about that! A replacement is on its way.")
    expect(desktop.get_by_role("button", name="Send")).to_be_enabled()
    # Picking up marked the customer's messages seen; typing showed the Page typing.
    wait_for_sender_actions(servers, desk.psid, {"mark_seen", "typing_on"})
    desktop.get_by_role("button", name="Send").click()
    reply = desktop.locator(".bubble.agent", has_text="A replacement is on its way")
    expect(reply).to_have_attribute("data-status", "sent")
    expect(reply.locator(".tick")).to_have_attribute("aria-label", "Sent")

    # Meta reports delivery, then the read: the ticks change with no reload.
    now_ms = int(time.time() * 1000) + 1000
    desk.post(desk.customer_item("delivery", {"watermark": now_ms}))
    expect(reply).to_have_attribute("data-status", "delivered")
    expect(reply.locator(".tick")).to_have_attribute("aria-label", "Delivered")
    desk.post(desk.customer_item("read", {"watermark": now_ms}))
    expect(reply).to_have_attribute("data-status", "read")
    expect(reply.locator(".tick.read")).to_have_text("✓✓")

    ARTIFACTS.mkdir(exist_ok=True)
    desktop.screenshot(path=str(ARTIFACTS / "messenger-image-ticks-window.png"))


def test_a_refused_token_shows_a_banner_until_a_new_one_is_entered(servers, new_page):
    desk = Desk(servers, page_name="Northwind Outlet", first="Tomas", last="Berg")
    desktop = new_page()
    log_in(desktop, servers, desk.agent)
    desk.post(desk.message(int(time.time() * 1000), text="Is the outlet open on Sunday?"))
    open_offer(desktop, desk)
    # One banner per workgroup: none shows yet.
    expect(desktop.locator(".token-banner:not([hidden])")).to_have_count(0)
    banner = desktop.locator(".token-banner", has_text="Northwind Outlet")

    fake_graph_mode(servers, "token_invalid")
    try:
        desktop.get_by_label("Type your message").fill("Yes, from 10 to 16.")
        desktop.get_by_role("button", name="Send").click()
        reply = desktop.locator(".bubble.agent", has_text="from 10 to 16")
        expect(reply).to_have_attribute("data-status", "failed")
        expect(reply).to_contain_text(
            "The Page's access token is invalid or expired: a supervisor must enter a new one"
        )
        expect(banner).to_be_visible()
        expect(banner).to_contain_text(
            "Messenger refused the access token of the Page Northwind Outlet"
        )
    finally:
        fake_graph_mode(servers, "ok")
    ARTIFACTS.mkdir(exist_ok=True)
    desktop.screenshot(path=str(ARTIFACTS / "messenger-token-banner.png"))

    # The supervisor sees the flag in admin and enters a new token: the banner goes, live.
    admin = new_page()
    log_in_admin(admin, servers)
    admin.goto(f"{servers.desktop_url}/admin/facebook/facebookpage/?q={desk.page_id}")
    expect(admin.locator(".token-invalid")).to_contain_text(
        "Messenger refused this Page's access token"
    )
    admin.get_by_role("link", name="Northwind Outlet").click()
    expect(admin.locator(".messagelist")).to_contain_text("Paste a new Page access token below")
    admin.screenshot(path=str(ARTIFACTS / "messenger-token-admin.png"))
    admin.get_by_label("Access token").fill(f"renewed-{uuid.uuid4().hex[:8]}")
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator(".messagelist")).to_contain_text("was changed successfully")
    expect(banner).to_be_hidden()

    desktop.get_by_role("button", name="Resend").click()
    expect(reply).to_have_attribute("data-status", "sent")


def log_in_admin(page, servers) -> None:
    page.goto(servers.desktop_url + "/admin/login/")
    page.get_by_label("Username").fill("supervisor")
    page.get_by_label("Password").fill("demo-pass")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(servers.desktop_url + "/admin/")


def test_the_bubble_shows_what_the_customer_did(servers, new_page):
    desk = Desk(servers, page_name="Northwind Shoes", first="Lea", last="Moreau")
    desktop = new_page(viewport=(1280, 900))
    log_in(desktop, servers, desk.agent)
    now = int(time.time() * 1000)
    first = desk.message(now - 9000, text="Do you have these in 39?")
    first_mid = first["message"]["mid"]
    desk.post(
        desk.customer_item(
            "postback",
            {"title": "Get Started", "payload": "GET_STARTED", "mid": "m_gs"},
            now - 10000,
        ),
        first,
    )
    open_offer(desktop, desk)
    desktop.get_by_label("Type your message").fill("Yes! Black or white?")
    desktop.get_by_role("button", name="Send").click()
    reply = desktop.locator(".bubble.agent", has_text="Black or white?")
    expect(reply).to_have_attribute("data-status", "sent")
    reply_id = reply.get_attribute("id")
    reply_mid = servers.manage(
        "shell",
        "-c",
        f"from routing.models import Message; print(Message.objects.get(pk={reply_id[8:]}).mid)",
    ).splitlines()[-1]  # after the shell's own notice of what it imported

    later = int(time.time() * 1000)
    desk.post(
        desk.message(later, text="Black", quick_reply={"payload": "COLOUR_BLACK"}),
        desk.customer_item(
            "reaction",
            {"reaction": "love", "emoji": "\u2764", "action": "react", "mid": reply_mid},
            later + 1,
        ),
        desk.customer_item(
            "message_edit",
            {"mid": first_mid, "text": "Do you have these in 40?", "num_edit": 1},
            later + 2,
        ),
        desk.message(later + 3, text="The ones in your post", reply_to={"mid": reply_mid}),
        desk.message(
            later + 4, attachments=[{"type": "fallback", "payload": None, "title": "Shared"}]
        ),
    )
    body = {
        "object": "page",
        "entry": [
            {
                "id": desk.page_id,
                "time": later + 5,
                "standby": [desk.message(later + 5, text="Track my order (to the bot)")],
            }
        ],
    }
    assert servers.post_webhook(body).status_code == 200

    transcript = desktop.get_by_role("log", name="Messages")
    expect(transcript.locator(".chip-postback")).to_contain_text("Get Started")
    expect(transcript.locator(".chip-quick_reply")).to_contain_text("Black")
    expect(reply.locator(".bubble-reaction")).to_have_text("\u2764")
    edited = transcript.locator(".bubble.customer", has_text="in 40?")
    edited.get_by_text("Edited").click()
    expect(edited.locator(".edit-history")).to_contain_text("Do you have these in 39?")
    expect(transcript.locator(".bubble-quote")).to_contain_text("Yes! Black or white?")
    expect(transcript.locator(".attachment-missing")).to_have_text("Attachment unavailable")
    expect(transcript.locator(".bubble.system")).to_contain_text("Another app handled this message")

    # Meta redelivers an older message late: it takes its place by timestamp, live.
    desk.post(desk.message(now - 9500, text="Hello? (sent earlier, delivered late)"))
    late = transcript.locator(".bubble.customer", has_text="delivered late")
    expect(late).to_be_visible()
    order = transcript.locator(".bubble").all_inner_texts()
    assert [i for i, t in enumerate(order) if "delivered late" in t] == [1], order
    desktop.screenshot(path=str(ARTIFACTS / "messenger-bubble-extras.png"))
