"""The fake Meta's Page state over HTTP: subscribed apps, conversations paged as Meta
pages them, a thread's messages, the feature review, and the simulator's switches."""

import httpx
import pytest

from facebook import graph
from facebook.fake import pages as fake_pages
from facebook.models import FacebookPage, FakeThreadMessage
from tests.factories import PAGE_ID, make_page, make_workgroup

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "fake-pages-token"
PSIDS = [f"73000000000001{n:02d}" for n in range(7)]


@pytest.fixture
def page(fake_graph_api):
    page = make_page(make_workgroup(), access_token=TOKEN)
    for number, psid in enumerate(PSIDS):
        for turn in range(3):
            fake_pages.keep_message(
                page_id=PAGE_ID,
                psid=psid,
                mid=f"m_{number}_{turn}",
                text=f"{number}.{turn}",
                from_page=turn == 1,
                at_ms=1_700_000_000_000 + number * 10_000 + turn * 1000,
            )
    return page


def get(fake_graph_api, path: str, **params) -> httpx.Response:
    return httpx.get(f"{fake_graph_api.url}/v24.0/{path}", params={"access_token": TOKEN, **params})


def test_conversations_are_paged_most_recent_first(fake_graph_api, page):
    seen, after = [], ""
    while True:
        listing = graph.conversations(page=page, after=after, limit=3)
        seen += [thread["id"] for thread in listing.items]
        if not listing.after:
            break
        after = listing.after

    assert seen == [f"t_{psid}" for psid in reversed(PSIDS)]
    first = get(fake_graph_api, f"{PAGE_ID}/conversations", limit=3).json()
    assert set(first["paging"]) == {"cursors", "next"}
    assert "access_token" in first["paging"]["next"]  # as Meta's: usable as it is


def test_a_thread_s_messages_newest_first_with_who_wrote(fake_graph_api, page):
    listing = graph.conversation_messages(page=page, conversation_id=f"t_{PSIDS[0]}")

    assert [item["message"] for item in listing.items] == ["0.2", "0.1", "0.0"]
    assert listing.items[1]["from"]["id"] == PAGE_ID
    assert listing.items[0]["from"]["id"] == PSIDS[0]
    assert listing.items[0]["created_time"].endswith("+0000")
    assert listing.after == ""


def test_an_unknown_thread_or_token_is_refused_as_meta_does(fake_graph_api, page):
    unknown = get(fake_graph_api, "t_999/messages")
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == 100

    bad = httpx.get(
        f"{fake_graph_api.url}/v24.0/{PAGE_ID}/subscribed_apps", params={"access_token": "x"}
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == 190


def test_subscribed_apps_and_subscribing_again(fake_graph_api, page):
    assert graph.subscribed_fields(page=page) == list(graph.SUBSCRIBED_FIELDS)
    fake_pages.unsubscribe(PAGE_ID)
    assert graph.subscribed_fields(page=page) is None

    graph.subscribe(page=page, fields=("messages",))
    assert graph.subscribed_fields(page=page) == ["messages"]
    FacebookPage.objects.get(pk=page.pk)  # the Page is untouched by the fake


def test_the_simulator_switches_meta_s_side(client, page):
    for action, check in [
        ("outage_on", lambda: fake_pages.delivery_blocked(PAGE_ID) == "webhook outage switched on"),
        ("outage_off", lambda: fake_pages.delivery_blocked(PAGE_ID) == ""),
        ("unsubscribe", lambda: fake_pages.subscribed_fields(PAGE_ID) == []),
    ]:
        response = client.post(
            "/simulator/meta-page", {"page": PAGE_ID, "action": action}, HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 200 and check(), action

    response = client.post(
        "/simulator/meta-page",
        {"page": PAGE_ID, "action": "human_agent", "human_agent": "rejected"},
        HTTP_HX_REQUEST="true",
    )
    assert "Human Agent feature: rejected" in response.content.decode()
    assert fake_pages.human_agent_status(PAGE_ID) == "rejected"
    assert client.post("/simulator/meta-page", {"page": PAGE_ID, "action": "x"}).status_code == 400
    assert (
        client.post("/simulator/meta-page", {"page": "1", "action": "unsubscribe"}).status_code
        == 400
    )
    assert FakeThreadMessage.objects.count() == 21
