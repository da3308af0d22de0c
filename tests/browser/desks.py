"""A desk of one's own in the shared browser servers.

The servers (and their demo data) are shared by every browser test of a
session. Each test here gets its own Facebook Page, routed to its own
workgroup with its own agents, so that offers, queues and My Interactions of
one test never show up in another, whatever the order they run in.
"""

import json
import uuid
from dataclasses import dataclass, field

import httpx
from playwright.sync_api import Page, expect

from facebook.fake import webhooks
from tests.browser.conftest import Servers, log_in

SETUP = """
from django.contrib.auth import get_user_model
from facebook.models import FacebookPage, FakeProfile
from routing.models import Agent, Customer, Workgroup
spec = {spec!r}
workgroup = Workgroup.objects.create(
    name=spec["workgroup"], capacity_per_agent=spec["capacity"], alert_timeout_seconds=600
)
FacebookPage.objects.create(
    page_id=spec["page_id"], name="Acme Support", access_token=spec["token"], workgroup=workgroup
)
for username, first_name in spec["agents"]:
    user = get_user_model().objects.create_user(
        username=username, password="demo-pass", first_name=first_name, last_name="Agent"
    )
    agent = Agent.objects.create(user=user)
    workgroup.members.add(agent)
for psid, first_name, last_name in spec["customers"]:
    Customer.objects.create(
        page_id=spec["page_id"], psid=psid, first_name=first_name, last_name=last_name
    )
    FakeProfile.objects.update_or_create(
        psid=psid, defaults={{"first_name": first_name, "last_name": last_name}}
    )
"""


@dataclass
class Desk:
    servers: Servers
    tag: str
    page_id: str
    agents: list[str]
    customers: dict[str, str] = field(default_factory=dict)  # full name -> PSID

    def psid(self, name: str) -> str:
        return self.customers[name]

    def customer_writes(self, name: str, *texts: str) -> list[str]:
        """The customer `name` writes each of `texts`, in one signed webhook."""
        now_ms = webhooks.now_ms()
        mids = [f"m_desk_{uuid.uuid4().hex}" for _ in texts]
        psid = self.customers[name]
        items = [
            webhooks.customer_message(
                page_id=self.page_id, psid=psid, mid=mid, text=text, at_ms=now_ms + n
            )
            for n, (mid, text) in enumerate(zip(mids, texts, strict=True))
        ]
        response = self.servers.post_webhook(
            webhooks.envelope(*items, page_id=self.page_id, at_ms=now_ms)
        )
        assert response.status_code == 200, response.text
        return mids


def make_desk(servers: Servers, *, agents: list[str], customers: list[str], capacity=4) -> Desk:
    """A Page, workgroup and agents for one test; agents log in with `<tag>-<first name>`."""
    tag = uuid.uuid4().hex[:6]
    page_id = "19" + str(uuid.uuid4().int)[:13]
    usernames = [(f"{tag}-{first.lower()}", first) for first in agents]
    people = []
    for n, full_name in enumerate(customers):
        first_name, _, last_name = full_name.partition(" ")
        people.append((f"74{page_id[-6:]}{n:07d}", first_name, last_name))
    spec = {
        "workgroup": f"Desk {tag}",
        "capacity": capacity,
        "page_id": page_id,
        "token": f"desk-token-{tag}",
        "agents": usernames,
        "customers": people,
    }
    servers.manage("shell", "-c", SETUP.format(spec=spec))
    return Desk(
        servers=servers,
        tag=tag,
        page_id=page_id,
        agents=[username for username, _ in usernames],
        customers={f"{first} {last}".strip(): psid for psid, first, last in people},
    )


def fake_graph_mode(servers: Servers, mode: str) -> None:
    response = httpx.post(servers.desktop_url + "/simulator/fake-graph-mode", data={"mode": mode})
    assert response.status_code == 200 and json.loads(response.text)["mode"] == mode


def open_desktop(new_page, servers: Servers, username: str, viewport=(1280, 720)) -> Page:
    page = new_page(viewport=viewport)
    log_in(page, servers, username)
    return page


def row(page: Page, customer: str):
    return page.locator("#my-interactions .interaction-row", has_text=customer)


def select(page: Page, customer: str) -> None:
    row(page, customer).locator(".row-link").click()
    expect(page.locator(".conversation-head .customer-name")).to_have_text(customer)


def press_on(page: Page, locator) -> None:
    """The mouse button pressed, not yet released, on the middle of `locator`."""
    box = locator.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()


def toolbar(page: Page):
    return page.get_by_role("toolbar", name="Queue Control")


def pick_up(page: Page, customer: str) -> None:
    select(page, customer)
    click_pickup(page)
    expect(row(page, customer)).to_have_attribute("data-state", "connected")


def click_pickup(page: Page) -> None:
    """Click Pickup in the toolbar and wait for the workspace its answer draws.

    The socket's push of the pickup may come first: it redraws the list and
    the toolbar (taking away the button marked as requesting), not the
    composer. What the test does next (a drop, typing) must go to the
    workspace of the answer: the one shown now is marked, to wait until it
    is gone.
    """
    page.locator("#workspace .workspace-inner").evaluate("shown => shown.dataset.before = 'pickup'")
    toolbar(page).get_by_role("button", name="Pickup").click()
    expect(page.locator('#workspace [data-before="pickup"]')).to_have_count(0)
    expect(page.locator(".htmx-request")).to_have_count(0)
