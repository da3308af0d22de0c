"""Reading conversations in the desktop: older messages, unread marks, the customer panel."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from connect import fragments
from routing import services
from routing.models import Interaction, Message
from tests.factories import customer_writes, make_agent, make_page, make_workgroup, refresh

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
PSID = "7300000000000077"


@pytest.fixture
def workgroup():
    group = make_workgroup("Facebook DM")
    make_page(group)
    return group


@pytest.fixture
def agent(workgroup):
    return make_agent("alice", workgroups=[workgroup])


@pytest.fixture
def other(workgroup):
    return make_agent("bob", workgroups=[workgroup])


def client_for(agent) -> Client:
    client = Client()
    client.force_login(agent.user)
    return client


def connected(workgroup, agent, psid=PSID, text="Hello") -> Interaction:
    received = customer_writes(workgroup, psid=psid, text=text)
    return services.pickup(interaction_id=received.interaction.pk, agent=agent)


def long_conversation(interaction: Interaction, count: int) -> None:
    start = timezone.now() - timedelta(hours=2)
    Message.objects.filter(interaction=interaction).update(sent_at=start)
    Message.objects.bulk_create(
        Message(
            interaction=interaction,
            direction="in",
            text=f"line {n:03}",
            status="received",
            sent_at=start + timedelta(seconds=n),
        )
        for n in range(1, count)
    )


def test_a_long_transcript_shows_the_last_messages_and_loads_older_ones(workgroup, agent):
    interaction = connected(workgroup, agent)
    long_conversation(interaction, 130)
    client = client_for(agent)

    html = client.get(f"/interactions/{interaction.pk}/", **HTMX).content.decode()
    assert html.count('class="bubble ') == 50
    assert "line 129" in html and "line 079" not in html
    assert "Load older messages" in html
    oldest = Message.objects.get(text="line 080")
    assert f"/interactions/{interaction.pk}/older?before={oldest.pk}" in html
    assert 'aria-live="polite"' in html

    older = client.get(
        f"/interactions/{interaction.pk}/older?before={oldest.pk}", **HTMX
    ).content.decode()
    assert older.count('class="bubble ') == 50
    assert "line 030" in older and "line 079" in older and "line 080" not in older
    assert "Load older messages" in older

    first_page = Message.objects.get(text="line 030")
    last = client.get(
        f"/interactions/{interaction.pk}/older?before={first_page.pk}", **HTMX
    ).content.decode()
    assert "Hello" in last and "Load older messages" not in last


def quoting_conversation(interaction: Interaction, count: int) -> None:
    """`count` customer messages, each replying to the one before it."""
    start = timezone.now() - timedelta(hours=1)
    first = interaction.messages.get()
    Message.objects.bulk_create(
        Message(
            interaction=interaction,
            direction="in",
            text=f"answer {n:03}",
            status="received",
            mid=f"m_quoting_{interaction.pk}_{n}",
            reply_to_mid=first.mid if n == 1 else f"m_quoting_{interaction.pk}_{n - 1}",
            sent_at=start + timedelta(seconds=n),
        )
        for n in range(1, count + 1)
    )


def transcript_queries(agent, interaction) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        html = fragments.transcript(agent, interaction)
    return len(queries), html


def test_quoted_messages_are_read_once_for_a_page_of_the_transcript(workgroup, agent, other):
    few = connected(workgroup, agent, psid="7300000000000081", text="First question")
    quoting_conversation(few, 2)
    many = connected(workgroup, agent, psid="7300000000000082", text="First question")
    quoting_conversation(many, 40)

    few_queries, few_html = transcript_queries(agent, few)
    many_queries, many_html = transcript_queries(agent, many)

    assert many_html.count('<blockquote class="bubble-quote">') == 40
    assert "Replying to the customer</span> answer 038" in many_html
    assert "Replying to the customer</span> First question" in many_html
    assert many_queries == few_queries


def test_a_quote_of_another_customer_s_message_is_not_shown(workgroup, agent, other):
    theirs = connected(workgroup, other, psid="7300000000000083", text="Another's secret")
    mine = connected(workgroup, agent, psid="7300000000000084")
    Message.objects.create(
        interaction=mine,
        direction="in",
        text="What about this?",
        status="received",
        mid="m_quoting_elsewhere",
        reply_to_mid=theirs.messages.get().mid,
        sent_at=timezone.now(),
    )

    html = fragments.transcript(agent, mine)
    assert "Replying to a message not shown here" in html
    assert "Another's secret" not in html


def test_a_quote_of_a_message_without_text_names_what_it_was(workgroup, agent):
    interaction = connected(workgroup, agent, psid="7300000000000085")
    for mid, attachments in (
        ("m_photo", [{"type": "image", "url": "https://cdn.example/1.jpg", "title": ""}]),
        ("m_tapped", [{"type": "quick_reply", "url": None, "title": "", "payload": "YES"}]),
    ):
        Message.objects.create(
            interaction=interaction,
            direction="in",
            text="",
            status="received",
            mid=mid,
            attachments=attachments,
            sent_at=timezone.now(),
        )
        Message.objects.create(
            interaction=interaction,
            direction="in",
            text=f"About {mid}",
            status="received",
            mid=f"{mid}_reply",
            reply_to_mid=mid,
            sent_at=timezone.now(),
        )

    html = fragments.transcript(agent, interaction)
    assert "Replying to the customer</span> [Image]" in html
    assert "Replying to the customer</span> [Message]" in html


def test_older_messages_only_of_an_interaction_one_can_see(workgroup, agent, other):
    interaction = connected(workgroup, agent)
    message = interaction.messages.get()
    client = client_for(other)
    response = client.get(f"/interactions/{interaction.pk}/older?before={message.pk}", **HTMX)
    assert response.status_code == 404
    response = client_for(agent).get(f"/interactions/{interaction.pk}/older", **HTMX)
    assert response.status_code == 422


def test_opening_an_interaction_reads_it(workgroup, agent):
    interaction = connected(workgroup, agent)
    customer_writes(workgroup, psid=PSID, text="Anyone?")
    client = client_for(agent)
    page = client.get("/").content.decode()
    assert 'data-unread="2"' in page and "2 unread messages" in page

    # A GET changes nothing; the panel it returns posts the read as it loads.
    panel = client.get(f"/interactions/{interaction.pk}/", **HTMX).content.decode()
    assert refresh(interaction).agent_read_at is None
    assert client.get(f"/?interaction={interaction.pk}").status_code == 200
    assert refresh(interaction).agent_read_at is None
    read_url = f"/interactions/{interaction.pk}/read"
    assert f'hx-post="{read_url}" hx-trigger="load"' in panel
    assert client.get(read_url).status_code == 405

    assert client.post(read_url, **HTMX).status_code == 204
    assert refresh(interaction).agent_read_at is not None
    assert 'data-unread="0"' in client.get("/").content.decode()


def test_a_queued_interaction_opened_from_the_queue_is_not_read(workgroup, agent):
    queued = customer_writes(workgroup, psid=PSID, text="Hello?").interaction
    panel = client_for(agent).get(f"/interactions/{queued.pk}/", **HTMX)
    assert (
        panel.status_code == 200 and f"/interactions/{queued.pk}/read" not in panel.content.decode()
    )


def test_mark_read_up_to_a_pushed_message(workgroup, agent, other):
    interaction = connected(workgroup, agent)
    services.mark_read_by_agent(interaction_id=interaction.pk, agent=agent)
    pushed = customer_writes(workgroup, psid=PSID, text="New").message
    response = client_for(agent).post(
        f"/interactions/{interaction.pk}/read", {"up_to": pushed.pk}, **HTMX
    )
    assert response.status_code == 204
    assert refresh(interaction).agent_read_at == pushed.created_at
    # Someone who may not see it learns nothing of why: one answer for all.
    refused = client_for(other).post(f"/interactions/{interaction.pk}/read", **HTMX)
    assert refused.status_code == 404 and b"not yours" not in refused.content
    missing = client_for(other).post("/interactions/999999/read", **HTMX)
    assert (missing.status_code, missing.content) == (refused.status_code, refused.content)


def test_the_customer_panel_shows_who_and_their_past(workgroup, agent, other):
    past = connected(workgroup, other, text="Last week's question")
    services.disconnect(interaction_id=past.pk, agent=other)
    current = connected(workgroup, agent, text="I'm back")
    customer = current.customer
    customer.first_name, customer.last_name = "Dana", "Smith"
    customer.profile_pic = "https://example.test/dana.jpg"
    customer.save()

    html = client_for(agent).get(f"/interactions/{current.pk}/", **HTMX).content.decode()
    assert 'class="customer-panel"' in html
    assert "Dana Smith" in html and PSID in html and "Acme Support" in html
    assert 'src="https://example.test/dana.jpg"' in html
    assert f"/interactions/{current.pk}/history/{past.pk}" in html
    assert "1 message · bob" in html


def test_past_interactions_open_read_only_through_a_visible_one(workgroup, agent, other):
    past = connected(workgroup, other, text="Last week's question")
    services.disconnect(interaction_id=past.pk, agent=other)
    current = connected(workgroup, agent, text="I'm back")
    stranger = connected(workgroup, other, psid="7300000000000078", text="Not yours")

    client = client_for(agent)
    dialog = client.get(f"/interactions/{current.pk}/history/{past.pk}", **HTMX)
    assert dialog.status_code == 200
    html = dialog.content.decode()
    assert "Last week&#x27;s question" in html and "Read-only" in html
    assert "<dialog" in html and "<textarea" not in html

    # Another customer's interaction, the current one itself, or through an
    # interaction the agent cannot see: refused.
    assert client.get(f"/interactions/{current.pk}/history/{stranger.pk}").status_code == 404
    assert client.get(f"/interactions/{current.pk}/history/{current.pk}").status_code == 404
    assert client.get(f"/interactions/{stranger.pk}/history/{past.pk}").status_code == 404

    # Once the current interaction is gone from the agent, so is the history.
    services.disconnect(interaction_id=current.pk, agent=agent)
    services.dismiss(interaction_id=current.pk, agent=agent)
    assert client.get(f"/interactions/{current.pk}/history/{past.pk}").status_code == 404


def test_members_see_the_history_of_a_customer_waiting_in_their_queue(workgroup, agent, other):
    past = connected(workgroup, other, text="Earlier")
    services.disconnect(interaction_id=past.pk, agent=other)
    waiting = customer_writes(workgroup, psid=PSID, text="Again").interaction
    assert waiting.state == "queued"
    response = client_for(agent).get(f"/interactions/{waiting.pk}/history/{past.pk}", **HTMX)
    assert response.status_code == 200


def test_another_agent_s_or_workgroup_s_interaction_is_neither_listed_nor_opened(
    workgroup, agent, other
):
    elsewhere = make_workgroup("Billing")
    stranger = make_agent("sam", workgroups=[elsewhere])
    theirs_before = connected(elsewhere, stranger, text="Billing question")
    services.disconnect(interaction_id=theirs_before.pk, agent=stranger)
    colleagues = connected(workgroup, other, text="Colleague's answer")
    services.disconnect(interaction_id=colleagues.pk, agent=other)
    # Alice's own interaction, finished but still on her desktop: the customer panel's anchor.
    current = connected(workgroup, agent, text="Alice helped")
    services.disconnect(interaction_id=current.pk, agent=agent)
    live = connected(elsewhere, stranger, text="Live with Billing")
    services.store_reply(interaction_id=live.pk, agent=stranger, text="Your card ends in 4242")

    client = client_for(agent)
    html = client.get(f"/interactions/{current.pk}/", **HTMX).content.decode()
    assert f"/interactions/{current.pk}/history/{colleagues.pk}" in html
    assert "4242" not in html
    for hidden in (theirs_before, live):
        assert f"/interactions/{current.pk}/history/{hidden.pk}" not in html
        # 404, as for an interaction that does not exist: its existence is not confirmed.
        opened = client.get(f"/interactions/{current.pk}/history/{hidden.pk}", **HTMX)
        assert opened.status_code == 404 and b"4242" not in opened.content
        older = client.get(f"/interactions/{current.pk}/history/{hidden.pk}?before=1", **HTMX)
        assert older.status_code == 404
    assert client.get(f"/interactions/{current.pk}/history/{colleagues.pk}").status_code == 200
    missing = client.get(f"/interactions/{current.pk}/history/999999", **HTMX)
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("state", "enabled"),
    [
        ("queued", {"pickup"}),
        ("alerting", {"pickup"}),
        ("connected", {"hold", "transfer", "record", "disconnect"}),
        ("held", {"pickup", "transfer", "record", "disconnect"}),
        ("disconnected", set()),
    ],
)
def test_toolbar_buttons_apply_exactly_in_each_state(workgroup, agent, state, enabled):
    interaction = customer_writes(workgroup, psid=PSID).interaction
    if state != "queued":
        interaction.state, interaction.agent = state, agent
        interaction.save()
    flags = fragments.toolbar_flags(refresh(interaction), agent)
    assert {name for name, on in flags.items() if on} == enabled
