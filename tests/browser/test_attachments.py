"""Sending files: pick them with Attach files, see and remove chips, Send, watch each
file's bubble go to sent, and the customer (the simulator) see the picture."""

import re

import pytest
from playwright.sync_api import expect

from facebook.fake.graph import png
from tests.browser.conftest import ARTIFACTS
from tests.browser.desks import make_desk, open_desktop, pick_up

pytestmark = pytest.mark.browser


def test_an_agent_attaches_files_removes_one_and_the_customer_sees_the_picture(
    servers, new_page, tmp_path
):
    desk = make_desk(servers, agents=["Ann"], customers=[])
    desktop = open_desktop(new_page, servers, desk.agents[0])

    customer = new_page(viewport=(900, 720))
    customer.goto(servers.customer_url)
    name = f"Lena {desk.tag}"
    customer.get_by_label("Your name").fill(name)
    customer.get_by_label("Page", exact=True).select_option(desk.page_id)
    customer.get_by_role("textbox", name="Message").fill("Can you send me the return label?")
    customer.get_by_role("button", name="Send to Page").click()
    expect(customer.get_by_role("list", name="Messages")).to_contain_text("return label")

    expect(desktop.locator("#my-interactions .interaction-row")).to_have_count(1)
    pick_up(desktop, name)

    label = tmp_path / "return-label.png"
    label.write_bytes(png(320, 200))
    notes = tmp_path / "notes.txt"
    notes.write_text("not this one\n")
    desktop.get_by_label("Attach files").set_input_files([str(label), str(notes)])
    chips = desktop.get_by_role("list", name="Files to send").get_by_role("listitem")
    expect(chips).to_have_count(2)
    desktop.get_by_role("button", name="Remove notes.txt").click()
    expect(chips).to_have_count(1)
    expect(chips.first).to_contain_text("return-label.png")
    desktop.get_by_label("Type your message").fill("Here is your return label.")
    ARTIFACTS.mkdir(exist_ok=True)
    desktop.screenshot(path=str(ARTIFACTS / "attachments-composer.png"))

    desktop.get_by_role("button", name="Send").click()
    picture = desktop.locator(
        ".bubble.agent",
        has=desktop.get_by_role("img", name="return-label.png sent to the customer"),
    )
    expect(picture).to_have_attribute("data-status", "sent")
    expect(
        desktop.locator(".bubble.agent", has_text="Here is your return label.")
    ).to_have_attribute("data-status", "sent")
    expect(desktop.get_by_text("notes.txt")).to_have_count(0)
    expect(desktop.get_by_role("list", name="Files to send")).to_be_hidden()

    # The fake Graph API got the upload and the send by id; the customer sees the picture.
    shown = customer.get_by_role("img", name="return-label.png")
    expect(shown).to_be_visible()
    assert shown.evaluate("image => image.complete && image.naturalWidth") == 320
    desktop.screenshot(path=str(ARTIFACTS / "attachments-sent.png"))
    customer.screenshot(path=str(ARTIFACTS / "attachments-simulator.png"))


RESPONSE_WITH_FILE = """
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from routing import services
from facebook.fake.graph import png
mine = services.save_my_response(
    user=get_user_model().objects.get(username={username!r}),
    name="Size chart", shortcut="sizes", labels="", category="Mine",
    text="Here is our size chart.",
)
mine.file.save("size-chart.png", ContentFile(png(240, 160)), save=True)
"""


def test_a_stored_response_brings_its_file_to_the_composer(servers, new_page):
    desk = make_desk(servers, agents=["Ann"], customers=["Sara Size"])
    servers.manage("shell", "-c", RESPONSE_WITH_FILE.format(username=desk.agents[0]))
    desktop = open_desktop(new_page, servers, desk.agents[0])
    desk.customer_writes("Sara Size", "Which size should I take?")
    pick_up(desktop, "Sara Size")

    desktop.get_by_role("button", name="Responses").click()
    picker = desktop.get_by_role("dialog", name="Stored responses")
    picker.get_by_label("Search stored responses").fill("size chart")
    item = picker.locator(".response-item", has_text="Size chart")
    expect(item).to_contain_text("size-chart.png")
    item.locator(".response-insert").click()

    expect(desktop.get_by_label("Type your message")).to_have_value("Here is our size chart.")
    chips = desktop.get_by_role("list", name="Files to send").get_by_role("listitem")
    expect(chips).to_have_count(1)
    expect(chips.first).to_contain_text("size-chart.png")
    desktop.get_by_role("button", name="Send").click()
    picture = desktop.locator(
        ".bubble.agent",
        has=desktop.get_by_role("img", name="size-chart.png sent to the customer"),
    )
    expect(picture).to_have_attribute("data-status", "sent")


DROP_AND_PASTE = """
([kind]) => {
  const box = document.querySelector(".composer textarea[name=text]");
  const data = new DataTransfer();
  const bytes = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]);
  const name = kind === "drop" ? "dropped.png" : "image.png";
  data.items.add(new File([bytes], name, { type: "image/png" }));
  const how = { bubbles: true, cancelable: true };
  if (kind === "drop") {
    box.dispatchEvent(new DragEvent("dragover", { ...how, dataTransfer: data }));
    box.dispatchEvent(new DragEvent("drop", { ...how, dataTransfer: data }));
  } else {
    box.dispatchEvent(new ClipboardEvent("paste", { ...how, clipboardData: data }));
  }
}
"""


def test_files_dropped_on_the_composer_or_pasted_into_it_become_chips(servers, new_page):
    desk = make_desk(servers, agents=["Ann"], customers=["Dora Drop"])
    desktop = open_desktop(new_page, servers, desk.agents[0])
    desk.customer_writes("Dora Drop", "Here is my receipt")
    pick_up(desktop, "Dora Drop")
    chips = desktop.get_by_role("list", name="Files to send").get_by_role("listitem")

    desktop.evaluate(DROP_AND_PASTE, ["drop"])
    expect(chips).to_have_count(1)
    expect(chips.first).to_contain_text("dropped.png")
    desktop.evaluate(DROP_AND_PASTE, ["paste"])
    expect(chips).to_have_count(2)
    # A pasted screenshot is named for when it was taken, not "image.png".
    expect(chips.nth(1)).not_to_contain_text("image.png")
    expect(chips.nth(1).get_by_role("button", name=re.compile(r"^Remove "))).to_be_visible()
