"""`/search/`: finding past conversations from the desktop, bad input answered in words, and the
read-only transcript opened at the match."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from routing import services
from routing.models import Interaction, Message
from tests.factories import customer_writes, make_agent, make_page, make_workgroup

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def workgroup():
    group = make_workgroup("Facebook DM")
    make_page(group)
    return group


@pytest.fixture
def agent(workgroup):
    return make_agent("alice", workgroups=[workgroup])


def client_for(agent) -> Client:
    client = Client()
    client.force_login(agent.user)
    return client


def finished(workgroup, agent, text: str, psid: str = "7300000000000077") -> Interaction:
    received = customer_writes(workgroup, psid=psid, text=text)
    services.pickup(interaction_id=received.interaction.pk, agent=agent)
    return services.disconnect(interaction_id=received.interaction.pk, agent=agent)


def test_the_desktop_top_bar_has_the_search_box(agent):
    html = client_for(agent).get("/").content.decode()

    top_bar = html[html.index('<header class="topbar">') : html.index("</header>")]
    assert 'action="/search/"' in top_bar
    assert '<label for="conversation-search-q" class="visually-hidden">Search conversations' in (
        top_bar
    )
    assert 'id="conversation-search-q" name="q"' in top_bar


def test_results_list_each_conversation_with_its_match_marked_and_escaped(workgroup, agent):
    interaction = finished(workgroup, agent, "My <script>alert(1)</script> parcel is late")

    response = client_for(agent).get("/search/", {"q": "parcel"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "1 conversation found" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <mark>parcel</mark> is late" in html
    assert "<script>alert" not in html
    message = Message.objects.get(interaction=interaction)
    assert f'href="/search/{interaction.pk}/?at=message-{message.pk}&amp;q=parcel"' in html
    assert "Facebook DM" in html and "Disconnected" in html and "alice" in html


def test_from_the_desktop_the_results_open_in_a_dialog(workgroup, agent):
    finished(workgroup, agent, "parcel")

    html = client_for(agent).get("/search/", {"q": "parcel"}, **HTMX).content.decode()

    assert html.lstrip().startswith('<dialog id="search-dialog"')
    assert 'hx-target="#dialog-slot"' in html


def test_without_a_query_the_page_asks_for_one(agent):
    response = client_for(agent).get("/search/")
    assert response.status_code == 200
    assert "by customer name, PSID, or the words of a message" in response.content.decode()


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"q": "  "}, "Type a name, a PSID or words"),
        ({"q": "x" * 201}, "at most 200 characters"),
        ({"q": "?!"}, "punctuation alone matches nothing"),
        ({"q": "parcel", "from": "10/03/2025"}, "Write the first date as YYYY-MM-DD"),
        ({"q": "parcel", "to": "2025-02-30"}, "Write the last date as YYYY-MM-DD"),
        ({"q": "parcel", "from": "2025-03-10", "to": "2025-03-09"}, "comes before the first"),
        ({"q": "parcel", "workgroup": "abc"}, "Choose one of your workgroups"),
    ],
)
def test_bad_input_is_answered_in_words(agent, params, words):
    response = client_for(agent).get("/search/", params)
    assert response.status_code == 400
    assert words in response.content.decode()

    in_dialog = client_for(agent).get("/search/", params, **HTMX)
    assert in_dialog.status_code == 422  # htmx swaps it in: the words show in the dialog
    assert words in in_dialog.content.decode()


def test_a_workgroup_the_agent_is_not_in_cannot_be_searched(agent):
    elsewhere = make_workgroup("Elsewhere")

    response = client_for(agent).get("/search/", {"q": "parcel", "workgroup": elsewhere.pk})

    assert response.status_code == 400
    assert "Choose one of your workgroups" in response.content.decode()
    assert "Elsewhere" not in response.content.decode()


def test_results_come_25_to_a_page(workgroup, agent):
    for n in range(26):
        finished(workgroup, agent, f"parcel {n}", psid=f"73000000000{n:05d}")

    first = client_for(agent).get("/search/", {"q": "parcel"}).content.decode()
    second = client_for(agent).get("/search/", {"q": "parcel", "page": "2"}).content.decode()
    nonsense = client_for(agent).get("/search/", {"q": "parcel", "page": "x"})

    assert "26 conversations found" in first and "Page 1 of 2" in first
    assert first.count('class="search-hit"') == 25
    assert second.count('class="search-hit"') == 1
    assert nonsense.status_code == 200


def test_the_transcript_opens_at_the_match_with_it_marked(workgroup, agent):
    later = finished(workgroup, agent, "first question")
    start = timezone.now()
    for n in range(40):
        Message.objects.create(
            interaction=later,
            direction="in",
            status="received",
            text=f"line {n}",
            sent_at=start + timedelta(seconds=n),
        )
    match = Message.objects.get(text="line 20")

    html = (
        client_for(agent)
        .get(f"/search/{later.pk}/", {"at": f"message-{match.pk}", "q": "line"}, **HTMX)
        .content.decode()
    )

    assert html.lstrip().startswith('<dialog id="search-transcript-dialog"')
    assert re.search(r'id="search-match".*?\s*<div id="message-(\d+)"', html, re.S).group(1) == str(
        match.pk
    )
    assert "line 5" in html and "line 35" in html and "line 4<" not in html
    assert f'hx-get="/search/{later.pk}/older?before=' in html
    assert f'hx-get="/search/{later.pk}/newer?after=' in html
    assert 'hx-get="/search/?q=line"' in html  # back to the results


def test_an_agent_cannot_open_another_agents_live_conversation(workgroup, agent):
    colleague = make_agent("bob", workgroups=[workgroup])
    received = customer_writes(workgroup, psid="7300000000000099", text="Secret order")
    services.pickup(interaction_id=received.interaction.pk, agent=colleague)
    pk = received.interaction.pk

    for path in (f"/search/{pk}/", f"/search/{pk}/older?before=1", f"/search/{pk}/newer?after=1"):
        response = client_for(agent).get(path, **HTMX)
        assert response.status_code == 404, path
        assert b"Secret order" not in response.content
    assert b"Secret order" not in client_for(agent).get("/search/", {"q": "secret"}).content


def test_older_and_newer_messages_load_around_the_window(workgroup, agent):
    interaction = finished(workgroup, agent, "message 0")
    start = timezone.now()
    for n in range(1, 80):
        Message.objects.create(
            interaction=interaction,
            direction="in",
            status="received",
            text=f"message {n}",
            sent_at=start + timedelta(seconds=n),
        )
    middle = Message.objects.get(text="message 40")
    client = client_for(agent)

    older = client.get(f"/search/{interaction.pk}/older", {"before": middle.pk}, **HTMX)
    newer = client.get(f"/search/{interaction.pk}/newer", {"after": middle.pk}, **HTMX)
    missing = client.get(f"/search/{interaction.pk}/newer", **HTMX)

    assert "message 39" in older.content.decode() and "message 41" not in older.content.decode()
    assert "message 41" in newer.content.decode() and "message 39" not in newer.content.decode()
    assert "Load newer messages" in newer.content.decode()
    assert missing.status_code == 422 and b"Say which message" in missing.content


def test_without_htmx_the_transcript_is_a_page_of_its_own(workgroup, agent):
    interaction = finished(workgroup, agent, "parcel")

    response = client_for(agent).get(f"/search/{interaction.pk}/", {"q": "parcel"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "<main" in html and "Read-only" in html and "parcel" in html
    assert '<a href="/search/?q=parcel">Back to results</a>' in html
