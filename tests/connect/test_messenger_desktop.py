"""Messenger's side of the desktop: typing and seen indicators, kept attachment files,
the reply window countdown, the length counter, ticks and the token banner live."""

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from connect import fragments
from facebook import actions, background, pages
from facebook.fake import modes
from facebook.models import FacebookPage, FakeGraphCall
from facebook.parsing import PolicyEnforcement
from routing import services
from routing.models import Channel, Message, MessageDirection, MessageStatus
from tests.connect.test_consumers import desktop_socket, receive_until, session_cookie
from tests.factories import PAGE_ID, customer_writes, make_agent, make_page, make_workgroup
from tests.supervisors import logged_in, make_supervisor

pytestmark = pytest.mark.django_db(transaction=True)

PSID = "7300000000000001"


@pytest.fixture
def page():
    return make_page(make_workgroup("Facebook DM"))


@pytest.fixture
def connected(page):
    """An agent connected to a customer who just wrote, and their logged-in browser."""
    agent = make_agent(workgroups=[page.workgroup])
    interaction = customer_writes(page.workgroup, psid=PSID).interaction
    services.pickup(interaction_id=interaction.pk, agent=agent)
    browser = Client()
    browser.force_login(agent.user)
    return agent, interaction, browser


@pytest.fixture
def fake(live_server, settings):
    settings.FACEBOOK_GRAPH_URL = f"{live_server.url}/fake-graph"
    actions.forget_throttle()
    yield
    assert background.wait_for_all(timeout=15)


def sender_actions() -> list[str]:
    assert background.wait_for_all(timeout=15)
    calls = FakeGraphCall.objects.filter(body__has_key="sender_action").order_by("id")
    return [call.body["sender_action"] for call in calls]


# --- typing and seen ----------------------------------------------------------------------


def test_typing_is_sent_throttled_and_turned_off(fake, connected):
    agent, interaction, browser = connected
    url = f"/interactions/{interaction.pk}/typing"

    assert browser.post(url, {"state": "on"}).status_code == 204
    assert browser.post(url, {"state": "on"}).status_code == 204  # within 5 s: not sent again
    assert browser.post(url, {"state": "off"}).status_code == 204
    assert browser.post(url, {"state": "on"}).status_code == 204  # after off: a new start

    assert sender_actions() == ["typing_on", "typing_off", "typing_on"]
    call = FakeGraphCall.objects.filter(body__has_key="sender_action").first()
    assert call.body == {"recipient": {"id": PSID}, "sender_action": "typing_on"}


def test_typing_goes_under_the_agents_persona(fake, connected, live_server, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    agent, interaction, browser = connected

    assert (
        browser.post(f"/interactions/{interaction.pk}/typing", {"state": "on"}).status_code == 204
    )

    assert sender_actions() == ["typing_on"]
    created = FakeGraphCall.objects.get(path__endswith="/personas")
    typing = FakeGraphCall.objects.get(body__has_key="sender_action")
    assert typing.persona_id == created.persona_id != ""
    assert typing.body["persona_id"] == created.persona_id


def test_opening_the_interaction_marks_it_seen(fake, connected):
    agent, interaction, browser = connected
    assert browser.post(f"/interactions/{interaction.pk}/seen").status_code == 204
    assert sender_actions() == ["mark_seen"]


def test_only_the_connected_agent_inside_the_window_sends_indicators(fake, page, connected):
    agent, interaction, browser = connected
    stranger = Client()
    stranger.force_login(make_agent(workgroups=[make_workgroup()]).user)
    assert stranger.post(f"/interactions/{interaction.pk}/typing").status_code == 404
    assert Client().post(f"/interactions/{interaction.pk}/typing").status_code == 302
    assert browser.post(f"/interactions/{interaction.pk}/typing", {"state": "x"}).status_code == 400

    services.hold(interaction_id=interaction.pk, agent=agent)
    assert browser.post(f"/interactions/{interaction.pk}/seen").status_code == 409
    services.pickup(interaction_id=interaction.pk, agent=agent)
    interaction.customer.__class__.objects.update(
        last_message_at=timezone.now() - timedelta(days=8)
    )
    assert browser.post(f"/interactions/{interaction.pk}/typing").status_code == 409
    assert sender_actions() == []


def test_a_failing_sender_action_is_only_a_log_line(fake, connected):
    agent, interaction, browser = connected
    modes.set_mode("token_invalid")
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = logging.getLogger("facebook.actions")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        assert browser.post(f"/interactions/{interaction.pk}/typing").status_code == 204
        assert background.wait_for_all(timeout=15)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)

    assert lines == [f"Sender action typing_on for Page {PAGE_ID} refused: 190/460"]
    # A courtesy failing does not flag the Page: only a refused reply or profile does.
    assert not FacebookPage.objects.get(page_id=PAGE_ID).token_invalid


# --- kept attachment files -----------------------------------------------------------------


def message_with_copy(
    interaction,
    settings,
    *,
    kind="image",
    content_type="image/png",
    name="kept.png",
    content=b"\x89PNG fake",
    title="",
) -> Message:
    folder = Path(settings.MEDIA_ROOT) / "attachments" / "2025" / "11"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    return Message.objects.create(
        interaction=interaction,
        direction=MessageDirection.INBOUND,
        status=MessageStatus.RECEIVED,
        sent_at=timezone.now(),
        mid=f"m_copy_{name}",
        attachments=[
            {
                "type": kind,
                "url": "https://cdn.example/x",
                "title": title,
                "copy": {
                    "path": f"attachments/2025/11/{name}",
                    "content_type": content_type,
                    "size": len(content),
                },
            }
        ],
    )


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings


def test_a_kept_file_is_served_only_to_who_may_see_it(media, page, connected):
    agent, interaction, browser = connected
    message = message_with_copy(interaction, media)
    url = f"/messages/{message.pk}/attachments/0"

    response = browser.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "sandbox" in response["Content-Security-Policy"]

    other_member = Client()
    other_member.force_login(make_agent(workgroups=[page.workgroup]).user)
    assert other_member.get(url).status_code == 404  # connected to someone else
    assert logged_in(make_supervisor()).get(url).status_code == 200
    assert browser.get(f"/messages/{message.pk}/attachments/1").status_code == 404


def test_staff_without_the_view_message_permission_get_no_attachment(media, connected):
    agent, interaction, browser = connected
    url = f"/messages/{message_with_copy(interaction, media).pk}/attachments/0"
    staffer = get_user_model().objects.create_user("clerk", password="x", is_staff=True)
    assert logged_in(staffer).get(url).status_code == 404

    # The permission alone, granted directly, is what lets them in.
    staffer.user_permissions.add(
        Permission.objects.get(content_type__app_label="routing", codename="view_message")
    )
    assert logged_in(staffer).get(url).status_code == 200
    # Permission without staff (an agent given it by mistake) is not enough.
    staffer.is_staff = False
    staffer.save()
    assert logged_in(staffer).get(url).status_code == 404


def test_what_a_browser_should_not_run_is_a_download(media, connected):
    agent, interaction, browser = connected
    svg = message_with_copy(
        interaction, media, content_type="image/svg+xml", name="x.svg", content=b"<svg/>"
    )
    pdf = message_with_copy(
        interaction,
        media,
        kind="file",
        content_type="application/pdf",
        name="i.pdf",
        title="Invoice 12.pdf",
    )

    response = browser.get(f"/messages/{svg.pk}/attachments/0")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    response = browser.get(f"/messages/{pdf.pk}/attachments/0")
    assert response["Content-Disposition"] == 'attachment; filename="Invoice 12.pdf"'
    assert "download>⬇ Invoice 12.pdf" in fragments.bubble(pdf, oob=False)


def test_a_copy_path_outside_the_attachments_folder_is_refused(media, connected):
    agent, interaction, browser = connected
    message = message_with_copy(interaction, media)
    message.attachments[0]["copy"]["path"] = "../../etc/passwd"
    message.save()
    assert browser.get(f"/messages/{message.pk}/attachments/0").status_code == 404


# --- the reply window, the length limit ---------------------------------------------------------


def composer_status(agent, interaction) -> str:
    return fragments.interaction_parts(agent, interaction, read_at=0)


def test_inside_24_hours_the_window_counts_down(connected):
    agent, interaction, browser = connected
    last = timezone.now() - timedelta(minutes=30)
    type(interaction.customer).objects.update(last_message_at=last)
    interaction.refresh_from_db()

    html = composer_status(agent, interaction)

    response_ends = int((last + timedelta(hours=24)).timestamp() * 1000)
    closes_at = int((last + timedelta(days=7)).timestamp() * 1000)
    assert f'data-response-ends="{response_ends}"' in html
    assert f'data-closes-at="{closes_at}"' in html
    assert "Reply window: 23 h 29 min left" in html or "Reply window: 23 h 30 min left" in html


def test_from_24_hours_to_7_days_it_counts_the_human_agent_window(connected):
    agent, interaction, browser = connected
    type(interaction.customer).objects.update(
        last_message_at=timezone.now() - timedelta(days=2, minutes=1)
    )
    interaction.refresh_from_db()

    html = composer_status(agent, interaction)

    assert "Human agent window: 4 d 23 h left (replies carry the HUMAN_AGENT tag)" in html
    assert 'data-phase="human_agent"' in html
    assert 'data-can-reply="1"' in html


def test_after_7_days_the_composer_is_closed_and_says_since_when(connected):
    agent, interaction, browser = connected
    last = timezone.now() - timedelta(days=8)
    type(interaction.customer).objects.update(last_message_at=last)
    interaction.refresh_from_db()

    html = composer_status(agent, interaction)

    closed_on = timezone.localtime(last + timedelta(days=7)).strftime("%Y-%m-%d %H:%M")
    assert f"this conversation closed on {closed_on}" in html
    assert 'data-can-reply="0"' in html
    assert "window-countdown" not in html


def test_the_composer_counts_characters_instead_of_cutting_them(connected):
    agent, interaction, browser = connected
    html = browser.get(f"/?interaction={interaction.pk}").content.decode()
    assert 'data-max-length="1999"' in html
    assert 'maxlength="1999"' not in html  # a paste over the limit is shown, not cut silently
    assert 'class="char-count"' in html
    assert "connect/messenger.js" in html


# --- live: ticks and the token banner ------------------------------------------------------------


async def test_delivery_and_read_watermarks_update_the_open_bubble_live(page):
    agent = await database_sync_to_async(make_agent)(workgroups=[page.workgroup], online=False)
    cookie = await database_sync_to_async(session_cookie)(agent.user)
    communicator = desktop_socket(cookie)
    await communicator.connect()
    received = await database_sync_to_async(customer_writes)(page.workgroup, psid=PSID)
    await receive_until(communicator, 'data-state="alerting"')
    await database_sync_to_async(services.pickup)(
        interaction_id=received.interaction.pk, agent=agent
    )
    await receive_until(communicator, 'data-state="connected"')
    reply = await database_sync_to_async(Message.objects.create)(
        interaction=received.interaction,
        direction=MessageDirection.OUTBOUND,
        text="On its way",
        status=MessageStatus.SENT,
        mid="m_OUT_LIVE",
        sent_at=timezone.now() - timedelta(seconds=5),
    )

    await database_sync_to_async(services.record_delivered)(
        page_id=PAGE_ID, psid=PSID, watermark=timezone.now()
    )
    frame = await receive_until(communicator, f'id="message-{reply.pk}"')
    assert 'data-status="delivered"' in frame and 'aria-label="Delivered"' in frame

    await database_sync_to_async(services.record_read)(
        page_id=PAGE_ID, psid=PSID, watermark=timezone.now()
    )
    frame = await receive_until(communicator, 'data-status="read"')
    assert 'class="tick read"' in frame
    await communicator.disconnect()


def test_the_token_banner_shows_for_the_page_s_agents_only(page):
    mine = make_agent(workgroups=[page.workgroup])
    other = make_agent(workgroups=[make_workgroup()])
    pages.mark_token_invalid(page)

    for agent, expected in ((mine, True), (other, False)):
        browser = Client()
        browser.force_login(agent.user)
        html = browser.get("/").content.decode()
        assert 'id="token-banners"' in html
        assert ("Messenger refused the access token of the Page" in html) is expected


async def test_the_token_banner_is_pushed_live_and_cleared_by_a_new_token(page):
    agent = await database_sync_to_async(make_agent)(workgroups=[page.workgroup], online=False)
    cookie = await database_sync_to_async(session_cookie)(agent.user)
    communicator = desktop_socket(cookie)
    await communicator.connect()
    await asyncio.sleep(0.1)

    await database_sync_to_async(pages.mark_token_invalid)(page)
    frame = await receive_until(communicator, 'id="token-banner-')
    assert 'hx-swap-oob="true"' in frame
    assert "Acme Support" in frame and " hidden" not in frame.split(">")[0]

    def new_token():
        page.refresh_from_db()
        pages.save_page(page, new_token="a-fresh-token")

    await database_sync_to_async(new_token)()
    frame = await receive_until(communicator, 'id="token-banner-')
    assert " hidden" in frame.split(">")[0]
    await communicator.disconnect()


def test_resync_after_a_lost_connection_brings_the_banner(page):
    agent = make_agent(workgroups=[page.workgroup])
    pages.mark_token_invalid(page)
    browser = Client()
    browser.force_login(agent.user)
    html = browser.get("/desktop/resync").content.decode()
    assert f'id="token-banner-{page.workgroup_id}"' in html and "Acme Support" in html


async def test_meta_s_policy_block_is_pushed_live_to_the_page_s_agents(page):
    agent = await database_sync_to_async(make_agent)(workgroups=[page.workgroup], online=False)
    cookie = await database_sync_to_async(session_cookie)(agent.user)
    communicator = desktop_socket(cookie)
    await communicator.connect()
    await asyncio.sleep(0.1)

    def meta_says(action: str) -> None:
        event = PolicyEnforcement(
            page_id=page.page_id, timestamp_ms=1_765_000_000_000, action=action, reason="Spam"
        )
        pages.record_policy(page, event)

    await database_sync_to_async(meta_says)("block")
    frame = await receive_until(communicator, 'id="token-banner-')
    assert "Meta blocked the Page <strong>Acme Support</strong>" in frame
    assert " hidden" not in frame.split(">")[0]

    await database_sync_to_async(meta_says)("unblock")
    frame = await receive_until(communicator, 'id="token-banner-')
    assert " hidden" in frame.split(">")[0]
    await communicator.disconnect()


def test_an_unsubscribed_page_shows_a_banner_to_its_agents(page):
    agent = make_agent(workgroups=[page.workgroup])
    FacebookPage.objects.filter(pk=page.pk).update(subscription="unsubscribed")

    browser = Client()
    browser.force_login(agent.user)
    html = browser.get("/").content.decode()

    assert "Messenger is not sending the messages of the Page <strong>Acme Support</strong>" in html


# --- Instagram and Page comments ------------------------------------------------------------


def test_typing_on_instagram_goes_as_the_page(fake, page, live_server, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    agent = make_agent(workgroups=[page.workgroup])
    interaction = services.receive_customer_message(
        workgroup_id=page.workgroup_id,
        page_id=PAGE_ID,
        psid="6600000000000042",
        mid="aWdfZAG1_typing",
        text="Hi",
        sent_at=timezone.now(),
        channel=Channel.INSTAGRAM,
    ).interaction
    services.pickup(interaction_id=interaction.pk, agent=agent)
    browser = Client()
    browser.force_login(agent.user)

    response = browser.post(f"/interactions/{interaction.pk}/typing", {"state": "on"})

    assert response.status_code == 204
    assert sender_actions() == ["typing_on"]
    typing = FakeGraphCall.objects.get(body__has_key="sender_action")
    # Personas are Messenger's: none is made, and the Page itself is typing.
    assert typing.body == {"recipient": {"id": "6600000000000042"}, "sender_action": "typing_on"}
    assert not FakeGraphCall.objects.filter(path__endswith="/personas").exists()


def test_a_comment_has_no_conversation_to_type_in(fake, page):
    agent = make_agent(workgroups=[page.workgroup])
    interaction = services.receive_page_comment(
        workgroup_id=page.workgroup_id,
        page_id=PAGE_ID,
        commenter_id="1000000000000007",
        comment_id=f"{PAGE_ID}_42_7001",
        post_id=f"{PAGE_ID}_42",
        text="In stock?",
        commented_at=timezone.now(),
    ).interaction
    services.pickup(interaction_id=interaction.pk, agent=agent)
    browser = Client()
    browser.force_login(agent.user)

    response = browser.post(f"/interactions/{interaction.pk}/typing", {"state": "on"})

    assert response.status_code == 409
    assert "A comment has no conversation to show typing in." in response.content.decode()
    assert sender_actions() == []
