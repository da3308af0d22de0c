"""Referrals over real HTTP: a customer comes from an ad or an m.me link (the simulator's
bodies, signed and posted to our webhook), the customer panel says so, and a reply to
an ad-sourced conversation days later still goes out as a standard message at the fake
Graph API."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction

from connect import fragments
from facebook import sender
from facebook.fake import simulator, webhooks
from routing import services
from routing.models import Customer, Interaction
from tests.factories import make_agent, make_page, make_workgroup

pytestmark = pytest.mark.django_db(transaction=True)

PSID = "7300000000000055"


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


@pytest.fixture
def desk(fake_graph_api):
    workgroup = make_workgroup()
    agent = make_agent(workgroups=[workgroup])
    page = make_page(workgroup, access_token="referral-test-token")
    return workgroup, agent, page


def customer_writes_from(live_server, page, *, came_from: str, ref: str = "", ago=timedelta(0)):
    at_ms = webhooks.now_ms() - int(ago.total_seconds() * 1000)
    body = simulator.customer_body(
        page_id=page.page_id,
        psid=PSID,
        mid=f"m_ref_{at_ms}",
        text="Is it still on sale?",
        at_ms=at_ms,
        came_from=came_from,
        ref=ref,
    )
    url = f"{live_server.url}/facebook/webhook"
    assert webhooks.post(url, body, secret=settings.FACEBOOK_APP_SECRET).status_code == 200
    wait_until(lambda: Interaction.objects.filter(customer__psid=PSID).exists())
    return Interaction.objects.get(customer__psid=PSID)


def reply(interaction, agent):
    services.pickup(interaction_id=interaction.pk, agent=agent)
    with transaction.atomic():
        message = services.store_reply(
            interaction_id=interaction.pk, agent=agent, text="Yes, until Sunday."
        )
    assert sender.wait_for_idle(timeout=15)
    message.refresh_from_db()
    return message


def test_a_conversation_from_an_ad_is_shown_and_answered_as_standard_for_days(
    live_server, fake_graph_api, desk
):
    _, agent, page = desk

    interaction = customer_writes_from(
        live_server, page, came_from="ad", ref="summer", ago=timedelta(days=3)
    )

    customer = Customer.objects.get(psid=PSID)
    assert customer.referral["source"] == "ADS"
    assert customer.ad_window_from == customer.last_message_at
    html = fragments.workspace(agent, interaction)
    assert "An ad “Summer sale: 20% off everything”" in html
    assert "(ad 6045246247433)" in html and "<code>summer</code>" in html
    assert "Standard replies until" in html

    # Three days on: without the ad it would need the HUMAN_AGENT tag; from the ad, it is
    # still within the standard window.
    message = reply(interaction, agent)
    assert (message.status, message.messaging_type) == ("sent", "RESPONSE")
    [sent] = fake_graph_api.message_calls()
    assert sent.body["messaging_type"] == "RESPONSE"
    assert "tag" not in sent.body


def test_without_the_ad_the_same_reply_carries_the_human_agent_tag(
    live_server, fake_graph_api, desk
):
    _, agent, page = desk
    interaction = customer_writes_from(live_server, page, came_from="", ago=timedelta(days=3))

    message = reply(interaction, agent)

    assert message.messaging_type == "MESSAGE_TAG"
    [sent] = fake_graph_api.message_calls()
    assert (sent.body["messaging_type"], sent.body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


def test_a_customer_from_an_m_me_link_shows_its_ref(live_server, fake_graph_api, desk):
    _, agent, page = desk

    interaction = customer_writes_from(live_server, page, came_from="link", ref="spring-flyer")

    wait_until(lambda: Customer.objects.get(psid=PSID).referral.get("ref") == "spring-flyer")
    html = fragments.workspace(agent, Interaction.objects.get(pk=interaction.pk))
    assert "An m.me link · ref <code>spring-flyer</code>" in html
    assert Customer.objects.get(psid=PSID).ad_window_from is None
