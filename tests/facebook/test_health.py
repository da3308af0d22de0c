"""The webhook health guard against the fake Graph API over HTTP: the subscription
check, subscribing again, the backfill after an outage, the command."""

import io
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from facebook import graph, health
from facebook.fake import pages as fake_pages
from facebook.models import FacebookPage, Subscription
from facebook.selectors import HealthState, page_health
from routing.models import Message, MessageDirection
from tests.factories import PAGE_ID, make_agent, make_page, make_workgroup

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "health-test-token"
HTMX = {"HTTP_HX_REQUEST": "true"}


class ControlledClock:
    """The backfill's clock: it moves only when the throttle sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def throttle(self) -> health.Throttle:
        return health.Throttle(clock=self.clock, sleep=self.sleep)


@pytest.fixture
def page(fake_graph_api, live_server, settings):
    # The simulator posts to the live server's webhook, as Meta would.
    settings.FACEBOOK_SIMULATOR_WEBHOOK_URL = f"{live_server.url}/facebook/webhook"
    workgroup = make_workgroup("Facebook DM")
    make_agent("agent1", workgroups=[workgroup])
    return make_page(workgroup, access_token=TOKEN)


def customer_writes(client, text: str, *, name: str = "Ana Silva"):
    response = client.post("/simulator/send", {"name": name, "page": PAGE_ID, "text": text}, **HTMX)
    assert response.status_code == 200, response.content
    return response


def meta_does(client, action: str, **fields):
    response = client.post("/simulator/meta-page", {"page": PAGE_ID, "action": action, **fields})
    assert response.status_code in (200, 302), response.content
    return response


def customer_texts() -> list[str]:
    return list(
        Message.objects.filter(direction=MessageDirection.INBOUND)
        .order_by("sent_at", "id")
        .values_list("text", flat=True)
    )


def test_an_outage_of_20_messages_is_backfilled_once_in_order(client, page):
    customer_writes(client, "before the outage")
    assert customer_texts() == ["before the outage"]
    page.refresh_from_db()
    assert page.last_event_at is not None
    # Meta's Conversations API gives whole seconds: the outage starts in the next one.
    time.sleep(1.05)

    # The webhook goes down; after long failure Meta unsubscribes our app.
    meta_does(client, "outage_on")
    for number in range(1, 21):
        response = customer_writes(client, f"missed {number}")
        assert "webhook outage" in response.content.decode()
    meta_does(client, "unsubscribe")
    meta_does(client, "outage_off")
    assert customer_texts() == ["before the outage"]  # nothing reached us

    clock = ControlledClock()
    # Pages of 5: the thread's 21 messages take several calls, as with Meta's paging.
    report = health.check_page(page, throttle=clock.throttle(), page_size=5)

    assert report.resubscribed
    assert set(fake_pages.subscribed_fields(PAGE_ID)) >= set(graph.SUBSCRIBED_FIELDS)
    assert report.backfill is not None and report.backfill.error == ""
    assert report.backfill.stored == 20
    assert customer_texts() == ["before the outage"] + [f"missed {n}" for n in range(1, 21)]
    # Each mid once; all on the customer's one interaction, offered as usual.
    mids = list(Message.objects.filter(direction=MessageDirection.INBOUND).values_list("mid"))
    assert len(mids) == len(set(mids)) == 21
    # 2 calls a second per Page: every call after the first waited its half second.
    assert report.backfill.calls >= 6  # 1 conversations + 5 pages of messages
    assert clock.sleeps == [pytest.approx(0.5)] * (report.backfill.calls - 1)

    # Read again (the command, or the webhook redelivering): nothing is stored twice.
    again = health.backfill(
        page, since=timezone.now() - timedelta(hours=1), throttle=clock.throttle()
    )
    assert again.found == 21 and again.stored == 0
    assert len(customer_texts()) == 21


def test_the_check_subscribes_again_when_fields_are_missing(client, page, fake_graph_api):
    fake_pages.subscribe(PAGE_ID, [])  # creates the fake's state: every field
    meta_does(client, "unsubscribe")

    report = health.check_page(page, throttle=ControlledClock().throttle())

    assert report.resubscribed and report.token == "ok"
    posts = fake_graph_api.calls(method="POST", path__endswith="/subscribed_apps")
    assert len(posts) == 1
    assert posts[0].body["subscribed_fields"] == ",".join(graph.SUBSCRIBED_FIELDS)
    page.refresh_from_db()
    assert page.subscription == Subscription.SUBSCRIBED
    assert page.health_checked_at is not None
    assert page.last_graph_ok_at is not None


def test_a_refused_token_shows_the_page_as_token_invalid(page, fake_graph_api):
    fake_graph_api.mode("token_invalid")

    report = health.check_page(page)

    assert report.token == "invalid"
    page.refresh_from_db()
    assert page.token_invalid
    assert page_health(page).state == HealthState.TOKEN_INVALID


def test_a_page_silent_longer_than_usual(page):
    now = timezone.now()
    FacebookPage.objects.filter(pk=page.pk).update(
        last_event_at=now - timedelta(minutes=121), usual_silence_minutes=120
    )
    page.refresh_from_db()

    assert page_health(page, now=now).state == HealthState.SILENT
    assert page_health(page, now=now - timedelta(minutes=2)).state == HealthState.HEALTHY


def test_the_command_prints_one_line_per_page_and_backfills_since(client, page):
    other = make_page(page.workgroup, page_id="100000000000002", name="Zeta Help")
    meta_does(client, "outage_on")
    customer_writes(client, "while down")
    meta_does(client, "outage_off")
    since = (timezone.now() - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")

    out = io.StringIO()
    call_command("facebook_health", "--backfill", since, stdout=out)

    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{PAGE_ID} Acme Support: Healthy")
    assert "subscription subscribed" in lines[0] and "token ok" in lines[0]
    assert "1 new" in lines[0]
    assert lines[1].startswith(f"{other.page_id} Zeta Help:")
    assert customer_texts() == ["while down"]


def test_the_command_refuses_a_time_it_cannot_read(page):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="ISO time"):
        call_command("facebook_health", "--backfill", "yesterday")


def test_the_simulator_s_policy_block_reaches_the_page_over_the_webhook(client, page):
    meta_does(client, "policy_block")

    page.refresh_from_db()
    assert page.policy_action == "block"
    assert "Messenger Platform Policies" in page.policy_reason

    meta_does(client, "policy_unblock")
    page.refresh_from_db()
    assert page.policy_action == ""


def test_the_timer_checks_each_page_once_per_interval(page, settings, fake_graph_api):
    settings.FACEBOOK_HEALTH_CHECK_SECONDS = 300
    now = timezone.now()

    assert [p.pk for p in health.claim_due_checks(now=now)] == [page.pk]
    assert health.claim_due_checks(now=now + timedelta(seconds=299)) == []
    assert [p.pk for p in health.claim_due_checks(now=now + timedelta(seconds=301))] == [page.pk]

    FacebookPage.objects.filter(pk=page.pk).update(health_checked_at=None)
    assert health.check_due_pages() == 1
    assert health.pool.wait_for_idle(timeout=15)
    page.refresh_from_db()
    assert page.subscription == Subscription.SUBSCRIBED
    assert page.human_agent_status == "approved"


def test_a_silent_page_s_check_reads_back_what_came_since_its_last_event(page):
    FacebookPage.objects.filter(pk=page.pk).update(
        last_event_at=timezone.now() - timedelta(hours=3), usual_silence_minutes=120
    )
    page.refresh_from_db()
    # Our server was down past Meta's retries: Meta kept the message, we never got it.
    fake_pages.keep_message(
        page_id=PAGE_ID, psid="7300000000000055", mid="m_lost", text="anyone?", from_page=False
    )

    report = health.check_page(page, throttle=ControlledClock().throttle())

    assert not report.resubscribed
    assert report.backfill is not None and report.backfill.stored == 1
    assert customer_texts() == ["anyone?"]


def test_a_healthy_page_s_check_reads_no_conversations(page, fake_graph_api):
    report = health.check_page(page)

    assert report.backfill is None
    assert fake_graph_api.calls(path__endswith="/conversations") == []
