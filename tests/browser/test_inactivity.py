"""Inactivity in Chromium: the agent is warned with a countdown, then the interaction goes
back to the queue and to the next agent; the board shows who let it lapse."""

import dataclasses

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.desks import make_desk, open_desktop, pick_up, row

# The shared servers run without timers: a server of this test's own runs them.
from tests.browser.test_routing import timed_server  # noqa: F401

pytestmark = pytest.mark.browser

TIMEOUTS = """
from routing.models import Workgroup
Workgroup.objects.filter(name={workgroup!r}).update(
    agent_reply_timeout_seconds=12, agent_reply_warning_seconds=9
)
"""


# `new_page` after `timed_server`: the tabs close before the server stops.
def test_an_agent_who_does_not_reply_is_warned_then_loses_it_to_the_next_agent(
    servers,
    timed_server,  # noqa: F811
    new_page,
):
    desk = make_desk(servers, agents=["Alice", "Bob"], customers=["Quinn Quiet"])
    servers.manage("shell", "-c", TIMEOUTS.format(workgroup=f"Desk {desk.tag}"))
    desk = dataclasses.replace(desk, servers=timed_server)
    alice = open_desktop(new_page, timed_server, desk.agents[0])
    desk.customer_writes("Quinn Quiet", "Hello? I need help with my order.")
    pick_up(alice, "Quinn Quiet")

    warning = alice.locator(".conversation-head .inactivity-warning")
    expect(warning).to_contain_text(
        "No reply yet: this goes back to the queue in 0:0", timeout=10_000
    )
    expect(warning).to_have_attribute("role", "alert")
    first = warning.locator(".inactivity-clock").inner_text()
    expect(warning.locator(".inactivity-clock")).not_to_have_text(first)  # it counts down
    ARTIFACTS.mkdir(exist_ok=True)
    alice.screenshot(path=str(ARTIFACTS / "inactivity-warning.png"))

    bob = open_desktop(new_page, timed_server, desk.agents[1])
    expect(row(alice, "Quinn Quiet")).to_have_count(0, timeout=15_000)
    expect(row(bob, "Quinn Quiet")).to_have_attribute("data-state", "alerting")
    expect(alice.get_by_label("Status")).to_have_value("not_answering")
    expect(alice.locator(".status-picker .hint")).to_have_text(
        "You did not reply in time: set Available to get offers again."
    )
