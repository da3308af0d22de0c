"""Instagram messages through the Page, over real HTTP: Meta's `object: "instagram"`
webhook for an account linked to a Page → an Instagram interaction in the Page's
workgroup (or the account's) → Instagram's profile fields and limits → replies
through the fake Graph API with the Page's token. Unknown accounts stay refused."""

import json
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from facebook import sender
from facebook.fake import graph as fake_graph
from facebook.fake import webhooks
from facebook.models import InstagramAccount, WebhookDelivery, WebhookVerdict
from routing import services
from routing.models import Channel, Customer, Interaction, Message, MessageStatus
from tests.facebook.conftest import PAGE_TOKEN
from tests.factories import PAGE_ID, make_agent, make_page, make_workgroup

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HTTP_HX_REQUEST": "true"}
ACCOUNT_ID = "17841400000000001"
IGSID = "6600000000000042"


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


def instagram_writes(live_server, settings, *, account_id=ACCOUNT_ID, igsid=IGSID, mid, text):
    body = webhooks.instagram_envelope(
        webhooks.customer_message(page_id=account_id, psid=igsid, mid=mid, text=text),
        account_id=account_id,
    )
    response = webhooks.post(
        f"{live_server.url}/facebook/webhook", body, secret=settings.FACEBOOK_APP_SECRET
    )
    assert response.status_code == 200


@pytest.fixture
def linked():
    workgroup = make_workgroup()
    agent = make_agent(workgroups=[workgroup])
    page = make_page(workgroup, access_token=PAGE_TOKEN)  # personas on, as in the demo
    account = InstagramAccount.objects.create(account_id=ACCOUNT_ID, page=page)
    browser = Client()
    browser.force_login(agent.user)
    return workgroup, agent, account, browser


def test_an_instagram_message_is_routed_answered_and_shown_as_instagram(
    fake_graph_api, live_server, settings, linked
):
    workgroup, agent, _, browser = linked
    fake_graph.remember_profile(psid=IGSID, name="Ines Costa", instagram=True)

    instagram_writes(live_server, settings, mid="aWdfZAG1_1", text="Do you ship to Lyon?")
    wait_until(lambda: Message.objects.filter(mid="aWdfZAG1_1").exists())
    interaction = Message.objects.get(mid="aWdfZAG1_1").interaction
    # Routed like a Messenger DM, to the Page's workgroup, through the Page.
    assert interaction.workgroup == workgroup
    customer = interaction.customer
    assert (customer.channel, customer.page_id, customer.psid) == (
        Channel.INSTAGRAM,
        PAGE_ID,
        IGSID,
    )

    # Instagram's profile: name, username and picture, asked with the Page's token.
    wait_until(lambda: Customer.objects.get(pk=customer.pk).username != "")
    customer.refresh_from_db()
    assert (customer.first_name, customer.last_name, customer.username) == (
        "Ines",
        "Costa",
        "ines.costa",
    )
    assert customer.profile_pic.startswith("http")
    [asked] = fake_graph_api.calls(method="GET", recipient_psid=IGSID)
    assert asked.body == {"fields": "name,username,profile_pic"}

    wait_until(lambda: Interaction.objects.get(pk=interaction.pk).agent_id == agent.pk)
    services.pickup(interaction_id=interaction.pk, agent=agent)
    desktop = browser.get("/").content.decode()
    assert 'data-channel="instagram"' in desktop  # the row's icon
    html = browser.get(f"/interactions/{interaction.pk}/", **HTMX).content.decode()
    assert 'aria-label="Instagram DM"' in html
    assert "Instagram DM · @ines.costa · Acme Support" in html
    assert 'data-max-length="1000"' in html  # Instagram's limit, in the composer

    # Instagram takes 1,000 characters at most: refused with words, nothing sent.
    refused = browser.post(f"/interactions/{interaction.pk}/messages", {"text": "x" * 1001}, **HTMX)
    assert refused.status_code == 422
    assert "Instagram takes at most 1000 characters" in refused.content.decode()
    # …and no documents, only images, videos and audio.
    with_pdf = browser.post(
        f"/interactions/{interaction.pk}/messages",
        {"text": "", "files": [_pdf()]},
        **HTMX,
    )
    assert with_pdf.status_code == 422
    assert "Instagram cannot carry terms.pdf" in with_pdf.content.decode()
    assert fake_graph_api.message_calls() == []

    response = browser.post(
        f"/interactions/{interaction.pk}/messages", {"text": "Yes, in 2 days."}, **HTMX
    )
    assert response.status_code == 200
    assert sender.wait_for_idle(timeout=15)
    [call] = fake_graph_api.message_calls()
    assert call.path == f"/fake-graph/{settings.FACEBOOK_GRAPH_VERSION}/{PAGE_ID}/messages"
    assert call.body["recipient"] == {"id": IGSID}
    assert call.body["message"]["text"] == "Yes, in 2 days."
    assert "persona_id" not in call.body  # personas are Messenger's
    reply = Message.objects.get(text="Yes, in 2 days.")
    assert (reply.status, reply.mid) == (MessageStatus.SENT, call.message_id)

    # Meta echoes it on the Instagram account's entry: recognised as ours, stored once.
    wait_until(
        lambda: WebhookDelivery.objects.filter(
            body__contains=reply.mid, verdict=WebhookVerdict.PROCESSED
        ).exists()
    )
    echo = json.loads(WebhookDelivery.objects.get(body__contains=reply.mid).body)
    assert (echo["object"], echo["entry"][0]["id"]) == ("instagram", ACCOUNT_ID)
    assert Message.objects.filter(text="Yes, in 2 days.").count() == 1


def _pdf():
    return SimpleUploadedFile("terms.pdf", b"%PDF-1.4\n%fake\n", content_type="application/pdf")


def test_an_account_with_its_own_workgroup_routes_there(
    fake_graph_api, live_server, settings, linked
):
    _, _, account, _ = linked
    instagram_team = make_workgroup("Instagram")
    account.workgroup = instagram_team
    account.save()

    instagram_writes(live_server, settings, mid="aWdfZAG1_2", text="Hello")
    wait_until(lambda: Message.objects.filter(mid="aWdfZAG1_2").exists())
    assert Message.objects.get(mid="aWdfZAG1_2").interaction.workgroup == instagram_team


def test_an_unknown_instagram_account_is_stored_and_refused(
    fake_graph_api, live_server, settings, linked
):
    instagram_writes(
        live_server, settings, account_id="17841400000009999", mid="aWdfZAG1_3", text="Hi"
    )
    wait_until(lambda: WebhookDelivery.objects.filter(verdict=WebhookVerdict.UNKNOWN_PAGE).exists())
    delivery = WebhookDelivery.objects.get()
    assert "unknown Instagram account 17841400000009999" in delivery.detail
    assert not Message.objects.exists()
    assert not Customer.objects.exists()


def test_instagram_echoes_and_receipts_come_through_the_account(
    fake_graph_api, live_server, settings, linked
):
    instagram_writes(live_server, settings, mid="aWdfZAG1_4", text="Hello?")
    wait_until(lambda: Message.objects.filter(mid="aWdfZAG1_4").exists())
    interaction = Message.objects.get(mid="aWdfZAG1_4").interaction

    # Someone answered in the Instagram app: Meta echoes it on the account's entry.
    echo = webhooks.page_echo(page_id=ACCOUNT_ID, psid=IGSID, mid="aWdfZAG1_echo", text="Hi!")
    # Instagram's read names the message seen rather than a watermark.
    read = webhooks.from_customer(
        "read",
        {"mid": "aWdfZAG1_echo"},
        page_id=ACCOUNT_ID,
        psid=IGSID,
        at_ms=webhooks.now_ms() + 1000,
    )
    response = webhooks.post(
        f"{live_server.url}/facebook/webhook",
        webhooks.instagram_envelope(echo, read, account_id=ACCOUNT_ID),
        secret=settings.FACEBOOK_APP_SECRET,
    )
    assert response.status_code == 200

    wait_until(lambda: Message.objects.filter(mid="aWdfZAG1_echo").exists())
    typed_elsewhere = Message.objects.get(mid="aWdfZAG1_echo")
    assert typed_elsewhere.interaction == interaction
    assert typed_elsewhere.is_outbound and typed_elsewhere.author_id is None
    wait_until(lambda: Message.objects.get(mid="aWdfZAG1_echo").status == MessageStatus.READ)
