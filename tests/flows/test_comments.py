"""A comment on the Page's post, over real HTTP: Meta's feed webhook → a comment
interaction → one private reply through the fake Graph API → the person answers
in Messenger and the conversation continues as a DM linked to the comment."""

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from facebook import graph, sender
from facebook.fake import graph as fake_graph
from facebook.fake import webhooks
from facebook.models import FacebookPage, WebhookDelivery, WebhookVerdict
from routing import services
from routing.models import (
    Channel,
    Interaction,
    Message,
    MessageDirection,
    MessageStatus,
    PageComment,
)
from routing.services import RoutingError
from tests.facebook.conftest import PAGE_TOKEN
from tests.factories import PAGE_ID, make_agent, make_page, make_workgroup

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HTTP_HX_REQUEST": "true"}

POST_ID = f"{PAGE_ID}_900000000000001"
COMMENT_ID = f"{POST_ID}_700000000000001"
COMMENTER_ID = "1000000000000007"  # the person in the Page's feed
PSID = "7300000000000077"  # the same person in Messenger, as Meta names them
PERMALINK = "https://www.facebook.com/acme/posts/900000000000001"


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


def post_to_webhook(live_server, settings, body: dict) -> None:
    url = f"{live_server.url}/facebook/webhook"
    response = webhooks.post(url, body, secret=settings.FACEBOOK_APP_SECRET)
    assert response.status_code == 200


def comment(*, created_s: int | None = None, text: str = "Is the blue one in stock?") -> dict:
    return webhooks.comment_added(
        page_id=PAGE_ID,
        post_id=POST_ID,
        comment_id=COMMENT_ID,
        commenter_id=COMMENTER_ID,
        commenter_name="Ana Silva",
        text=text,
        created_s=created_s,
        permalink_url=PERMALINK,
    )


@pytest.fixture
def desk():
    workgroup = make_workgroup()
    agent = make_agent(workgroups=[workgroup])
    make_page(workgroup, access_token=PAGE_TOKEN)
    browser = Client()
    browser.force_login(agent.user)
    return workgroup, agent, browser


def comment_interaction(live_server, settings, *, age: timedelta = timedelta(0)) -> Interaction:
    commented_at = timezone.now() - age
    # Meta knows who commented: their private reply goes to their Messenger.
    fake_graph.remember_comment(
        comment_id=COMMENT_ID, page_id=PAGE_ID, psid=PSID, commented_at=commented_at
    )
    post_to_webhook(live_server, settings, comment(created_s=int(commented_at.timestamp())))
    wait_until(lambda: PageComment.objects.filter(comment_id=COMMENT_ID).exists())
    return PageComment.objects.get(comment_id=COMMENT_ID).interaction


def test_a_comment_is_answered_with_one_private_reply_and_the_dm_continues_it(
    fake_graph_api, live_server, settings, desk
):
    workgroup, agent, browser = desk
    interaction = comment_interaction(live_server, settings)

    # An interaction of its own kind, in the Page's workgroup, named as the feed names them.
    assert interaction.workgroup == workgroup
    assert interaction.customer.channel == Channel.COMMENT
    assert interaction.customer.display_name == "Ana Silva"
    [shown] = interaction.messages.all()
    assert (shown.text, shown.mid) == ("Is the blue one in stock?", COMMENT_ID)

    services.pickup(interaction_id=interaction.pk, agent=agent)
    html = browser.get(f"/interactions/{interaction.pk}/", **HTMX).content.decode()
    assert 'aria-label="Page comment"' in html  # the comment icon
    assert "Page comment · Acme Support" in html
    assert f'href="{PERMALINK}"' in html  # the post
    assert "Is the blue one in stock?" in html  # the comment
    assert "One private reply, in Messenger, until" in html

    response = browser.post(
        f"/interactions/{interaction.pk}/messages", {"text": "Yes! I sent you the details."}, **HTMX
    )
    assert response.status_code == 200
    assert sender.wait_for_idle(timeout=15)

    [call] = fake_graph_api.message_calls()
    assert call.path == f"/fake-graph/{settings.FACEBOOK_GRAPH_VERSION}/{PAGE_ID}/messages"
    assert call.body["recipient"] == {"comment_id": COMMENT_ID}
    assert call.body["message"]["text"] == "Yes! I sent you the details."
    assert call.answer == {"recipient_id": PSID, "message_id": call.message_id}
    reply = Message.objects.get(direction=MessageDirection.OUTBOUND)
    assert (reply.status, reply.mid, reply.reply_to_mid) == (
        MessageStatus.SENT,
        call.message_id,
        COMMENT_ID,
    )
    assert PageComment.objects.get(comment_id=COMMENT_ID).reply_psid == PSID

    # One private reply per comment: the composer is closed and says why.
    html = browser.get(f"/interactions/{interaction.pk}/", **HTMX).content.decode()
    assert "one private reply, and this one has been" in html
    refused = browser.post(
        f"/interactions/{interaction.pk}/messages", {"text": "And also…"}, **HTMX
    )
    assert refused.status_code == 422
    assert "one private reply, and this one has been" in refused.content.decode()
    assert len(fake_graph_api.message_calls()) == 1

    # Meta echoes the private reply into the person's Messenger thread: recognised as ours.
    wait_until(
        lambda: WebhookDelivery.objects.filter(
            body__contains=reply.mid, verdict=WebhookVerdict.PROCESSED
        ).exists()
    )
    assert Message.objects.filter(direction=MessageDirection.OUTBOUND).count() == 1

    # The person answers in Messenger: a normal DM interaction, linked to the comment.
    post_to_webhook(
        live_server,
        settings,
        webhooks.envelope(
            webhooks.customer_message(
                page_id=PAGE_ID, psid=PSID, mid="m_after_comment", text="Thanks, what colours?"
            ),
            page_id=PAGE_ID,
        ),
    )
    wait_until(lambda: Message.objects.filter(mid="m_after_comment").exists())
    dm = Message.objects.get(mid="m_after_comment").interaction
    assert dm.pk != interaction.pk
    assert dm.customer.channel == Channel.MESSENGER
    assert dm.customer.psid == PSID
    assert dm.follows_id == interaction.pk
    assert dm.events.filter(verb="continue_comment").exists()
    wait_until(lambda: Interaction.objects.get(pk=dm.pk).agent_id is not None)
    dm.refresh_from_db()
    services.pickup(interaction_id=dm.pk, agent=dm.agent)
    browser.force_login(dm.agent.user)
    html = browser.get(f"/interactions/{dm.pk}/", **HTMX).content.decode()
    assert 'aria-label="Facebook DM"' in html
    assert "Continues the private reply to a comment on" in html
    assert "Is the blue one in stock?" in html
    # A normal DM: Messenger's reply window, not the private reply's.
    assert "Reply window:" in html


def test_a_comment_older_than_7_days_cannot_be_answered(
    fake_graph_api, live_server, settings, desk
):
    _, agent, browser = desk
    interaction = comment_interaction(live_server, settings, age=timedelta(days=7, minutes=1))
    services.pickup(interaction_id=interaction.pk, agent=agent)

    html = browser.get(f"/interactions/{interaction.pk}/", **HTMX).content.decode()
    assert "Meta allows a private reply for 7 days after the comment" in html
    with pytest.raises(RoutingError, match="7 days after the comment"):
        services.store_reply(interaction_id=interaction.pk, agent=agent, text="Sorry for the wait")
    assert fake_graph_api.message_calls() == []


def test_meta_refuses_a_private_reply_to_a_comment_too_old(fake_graph_api, desk):
    # The fake Graph API holds Meta's rule too: what the composer closes, Meta refuses.
    fake_graph.remember_comment(
        comment_id=COMMENT_ID,
        page_id=PAGE_ID,
        psid=PSID,
        commented_at=timezone.now() - timedelta(days=8),
    )
    page = FacebookPage.objects.get(page_id=PAGE_ID)
    with pytest.raises(graph.GraphError) as refused:
        graph.send_private_reply(page=page, comment_id=COMMENT_ID, text="Hello")
    assert refused.value.kind == graph.ErrorKind.PRIVATE_REPLY_REFUSED
    assert "one private reply per comment, within 7 days" in refused.value.reason


def test_a_redelivered_comment_is_stored_once(fake_graph_api, live_server, settings, desk):
    comment_interaction(live_server, settings)
    post_to_webhook(live_server, settings, comment())
    wait_until(
        lambda: (
            WebhookDelivery.objects.filter(verdict=WebhookVerdict.PENDING).count() == 0
            and WebhookDelivery.objects.count() == 2
        )
    )
    assert PageComment.objects.count() == 1
    assert Message.objects.filter(mid=COMMENT_ID).count() == 1
