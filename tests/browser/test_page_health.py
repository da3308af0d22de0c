"""The health guard and Meta's policy as people see them: a policy block's banner on
the Page's agents' desktops, live; the Pages' health on the board; the flag in admin;
and the `facebook_health` command finding the Page as Meta (the fake) knows it."""

import time

import pytest
from playwright.sync_api import expect

from facebook.fake import webhooks
from tests.browser.conftest import ARTIFACTS, log_in
from tests.browser.test_messenger import Desk, log_in_admin

pytestmark = pytest.mark.browser


def test_a_policy_block_shows_on_the_desktop_the_board_and_admin(servers, new_page):
    desk = Desk(servers, page_name="Northwind Policy", first="Ida", last="Holm")
    desktop = new_page()
    log_in(desktop, servers, desk.agent)
    desk.post(desk.message(int(time.time() * 1000), text="Hello?"))
    banner = desktop.locator(".token-banner", has_text="Northwind Policy")
    expect(banner).to_have_count(0)

    def meta_says(action: str, reason: str = "") -> None:
        desk.post(webhooks.policy_enforcement(page_id=desk.page_id, action=action, reason=reason))

    meta_says("block", "Too many messages outside the window.")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Meta blocked the Page Northwind Policy")
    ARTIFACTS.mkdir(exist_ok=True)
    desktop.screenshot(path=str(ARTIFACTS / "page-health-policy-banner.png"))

    supervisor = new_page(viewport=(1280, 1000))
    log_in_admin(supervisor, servers)
    supervisor.goto(f"{servers.desktop_url}/board/")
    row = supervisor.locator(f'.page-health li[data-page="{desk.page_id}"]')
    expect(row).to_contain_text("Northwind Policy")
    expect(row).to_contain_text("Meta's policy block")
    expect(row).to_have_attribute("data-health", "healthy")  # events still arrive
    supervisor.locator(".page-health").screenshot(path=str(ARTIFACTS / "page-health-board.png"))

    supervisor.goto(f"{servers.desktop_url}/admin/facebook/facebookpage/?q={desk.page_id}")
    expect(supervisor.locator(".messagelist")).to_contain_text(
        "Northwind Policy: Meta blocked this Page from sending Messenger messages."
    )

    # The health command checks the Page with the fake Meta over HTTP: one line for it.
    line = next(
        line
        for line in servers.manage("facebook_health", "--page", desk.page_id).splitlines()
        if line.startswith(desk.page_id)
    )
    assert "Northwind Policy: Healthy" in line and "token ok" in line and "policy block" in line

    meta_says("unblock")
    expect(banner).to_be_hidden()
