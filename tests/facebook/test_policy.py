"""Policy and limits: Meta's policy enforcement events, the Human Agent feature's review,
the Graph API version's retirement, as admin, the board and the desktop show them."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from connect import messenger_fragments
from facebook import health, parsing, versions
from facebook.fake import pages as fake_pages
from facebook.fake import webhooks
from facebook.models import FacebookPage
from routing import services
from routing.rules import reply_window
from routing.services import RoutingError
from tests.facebook import bodies
from tests.factories import PAGE_ID, customer_writes, make_agent, make_page, make_workgroup
from tests.supervisors import logged_in, make_supervisor

pytestmark = pytest.mark.django_db


@pytest.fixture
def page():
    workgroup = make_workgroup("Facebook DM")
    return make_page(workgroup)


def policy_body(action: str, reason: str = "", key: str = "policy_enforcement") -> dict:
    item = webhooks.policy_enforcement(page_id=PAGE_ID, action=action, reason=reason)
    item[key] = item.pop("policy_enforcement")
    return webhooks.envelope(item, page_id=PAGE_ID)


# --- messaging_policy_enforcement ---------------------------------------------------------


@pytest.mark.parametrize("key", ["policy_enforcement", "policy-enforcement"])
def test_a_policy_event_parses_without_a_sender(key):
    parsed = parsing.parse_body(bodies.raw(policy_body("block", "Spam", key=key)))

    [event] = parsed.events
    assert isinstance(event, parsing.PolicyEnforcement)
    assert (event.page_id, event.action, event.reason) == (PAGE_ID, "block", "Spam")
    assert parsed.skipped == ()


def test_a_policy_event_with_an_unknown_action_is_skipped_not_fatal():
    parsed = parsing.parse_body(bodies.raw(policy_body("explode")))

    assert parsed.events == ()
    assert "no valid action" in parsed.skipped[0].reason


def test_block_flags_the_page_and_shows_a_banner_unblock_clears_it(client, page):
    agent = make_agent(workgroups=[page.workgroup])

    assert bodies.post(client, policy_body("block", "Spammy messages")).status_code == 200

    page.refresh_from_db()
    assert (page.policy_action, page.policy_reason) == ("block", "Spammy messages")
    assert page.last_event_at is not None
    banner = messenger_fragments.token_banner(agent)
    assert "Meta blocked the Page <strong>Acme Support</strong>" in banner
    assert "Spammy messages" in banner

    bodies.post(client, policy_body("warning", "Careful"))
    page.refresh_from_db()
    assert page.policy_action == "warning"
    assert "Meta warned the Page" in messenger_fragments.token_banner(agent)

    bodies.post(client, policy_body("unblock"))
    page.refresh_from_db()
    assert page.policy_action == ""
    assert "Meta " not in messenger_fragments.token_banner(agent)


def test_the_banner_is_for_the_page_s_agents_only(client, page):
    elsewhere = make_agent(workgroups=[make_workgroup("Email")])

    bodies.post(client, policy_body("block"))

    assert "Meta blocked" not in messenger_fragments.token_banner(elsewhere)


def test_admin_flags_a_blocked_page(client, page):
    bodies.post(client, policy_body("block", "Spammy messages"))
    supervisor = logged_in(make_supervisor())

    listing = supervisor.get("/admin/facebook/facebookpage/").content.decode()
    assert "Acme Support: Meta blocked this Page from sending Messenger messages." in listing

    form = supervisor.get(f"/admin/facebook/facebookpage/{page.pk}/change/").content.decode()
    assert "Meta blocked this Page from sending Messenger messages" in form
    assert "Spammy messages" in form


# --- the Human Agent feature ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("review", "stored"),
    [("approved", "approved"), ("pending", "pending"), ("not_requested", "not_requested")],
)
def test_the_check_reads_the_human_agent_review(fake_graph_api, page, review, stored):
    page.access_token = "policy-test-token"
    page.save()
    fake_pages.set_human_agent_status(PAGE_ID, review)

    report = health.check_page(page)

    assert report.human_agent == stored
    assert FacebookPage.objects.get(pk=page.pk).human_agent_status == stored
    [call] = fake_graph_api.calls(path__endswith="/me/messaging_feature_review")
    assert call.answer_status == 200


def test_without_approval_the_human_agent_tag_is_not_offered(page):
    agent = make_agent(workgroups=[page.workgroup])
    received = customer_writes(page.workgroup, sent_at=timezone.now() - timedelta(days=2))
    services.pickup(interaction_id=received.interaction.pk, agent=agent)
    customer = received.interaction.customer

    customer.refresh_from_db()
    approved = reply_window(customer)
    assert (approved.open, approved.tag) == (True, "HUMAN_AGENT")

    FacebookPage.objects.filter(pk=page.pk).update(human_agent_status="pending")
    closed = reply_window(customer)
    assert not closed.open and closed.tag == ""
    assert "has not approved this Page's Human Agent feature" in closed.reason
    with pytest.raises(RoutingError, match="Human Agent feature"):
        services.store_reply(interaction_id=received.interaction.pk, agent=agent, text="Hi")

    # Inside 24 hours nothing changes: RESPONSE needs no approval.
    fresh = customer_writes(page.workgroup, psid="7300000000000099").interaction.customer
    fresh.refresh_from_db()
    assert reply_window(fresh).messaging_type == "RESPONSE"


def test_admin_shows_the_human_agent_review(page):
    FacebookPage.objects.filter(pk=page.pk).update(human_agent_status="rejected")

    listing = logged_in(make_supervisor()).get("/admin/facebook/facebookpage/").content.decode()

    assert "Rejected: replies only within 24 hours" in listing


# --- the Graph API version ------------------------------------------------------------------


def test_the_version_warns_six_months_before_retirement(settings):
    settings.FACEBOOK_GRAPH_VERSION = "v22.0"  # Meta's changelog: available until 2027-05-20
    settings.FACEBOOK_GRAPH_VERSION_RETIRES = ""

    assert not versions.version_notice(today=date(2026, 11, 17)).warn
    soon = versions.version_notice(today=date(2026, 11, 18))
    assert soon.warn and "will be retired by Meta on 2027-05-20" in soon.words
    gone = versions.version_notice(today=date(2027, 5, 20))
    assert gone.warn and "was retired" in gone.words


def test_a_version_meta_gave_no_date_for_retires_two_years_after_the_next_release(settings):
    settings.FACEBOOK_GRAPH_VERSION_RETIRES = ""
    # v26.0's successor is not out yet: two years from its own release, the least promised.
    assert versions.retirement("v26.0") == date(2028, 7, 29)
    assert versions.retirement("v25.0") == date(2028, 7, 29)  # announced


def test_an_unknown_version_warns_until_its_date_is_given(settings):
    settings.FACEBOOK_GRAPH_VERSION = "v99.0"
    settings.FACEBOOK_GRAPH_VERSION_RETIRES = ""
    assert versions.version_notice().warn

    settings.FACEBOOK_GRAPH_VERSION_RETIRES = "2030-01-01"
    assert not versions.version_notice(today=date(2026, 12, 1)).warn


def test_admin_warns_about_the_version(page, settings):
    settings.FACEBOOK_GRAPH_VERSION = "v18.0"
    settings.FACEBOOK_GRAPH_VERSION_RETIRES = ""

    listing = logged_in(make_supervisor()).get("/admin/facebook/facebookpage/").content.decode()

    assert "Graph API v18.0 was retired by Meta on 2026-01-26" in listing


# --- the board ------------------------------------------------------------------------------


def test_the_board_shows_each_page_s_health(page):
    FacebookPage.objects.filter(pk=page.pk).update(
        last_event_at=timezone.now() - timedelta(hours=5), usual_silence_minutes=60
    )

    html = logged_in(make_supervisor()).get("/board/").content.decode()

    assert 'data-health="silent"' in html
    assert "Silent longer than usual" in html and "No event from Meta for over 60 minutes" in html
