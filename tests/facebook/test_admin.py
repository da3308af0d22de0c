"""The Facebook side of admin: Pages whose token is never shown back, the webhook log."""

import pytest

from facebook.models import FacebookPage, InstagramAccount, MessengerPersona, WebhookDelivery
from tests.factories import make_agent, make_page, make_workgroup
from tests.supervisors import logged_in, make_supervisor

pytestmark = pytest.mark.django_db


@pytest.fixture
def workgroup():
    group = make_workgroup("Facebook DM")
    make_page(group, access_token="EAAG-very-secret-page-token-1234")
    return group


@pytest.fixture
def supervisor():
    return make_supervisor()


def test_the_page_token_is_never_shown_back(supervisor, workgroup):
    page = workgroup.pages.get()
    body = logged_in(supervisor).get(f"/admin/facebook/facebookpage/{page.pk}/change/")
    assert body.status_code == 200
    assert "EAAG-very-secret-page-token-1234" not in body.content.decode()
    listing = logged_in(supervisor).get("/admin/facebook/facebookpage/").content.decode()
    assert "EAAG-very-secret-page-token-1234" not in listing
    assert "EAAG…1234" in listing


def test_the_webhook_log_is_read_only_with_verdicts(supervisor):
    WebhookDelivery.objects.create(body='{"object":"page"}', verdict="processed", event_count=1)
    client = logged_in(supervisor)
    listing = client.get("/admin/facebook/webhookdelivery/?verdict__exact=processed")
    assert listing.status_code == 200 and "Processed" in listing.content.decode()
    assert client.get("/admin/facebook/webhookdelivery/add/").status_code == 403


def test_personas_are_on_by_default_and_a_supervisor_switches_them_off(supervisor, workgroup):
    page = workgroup.pages.get()
    assert page.personas_enabled
    client = logged_in(supervisor)
    form = client.get(f"/admin/facebook/facebookpage/{page.pk}/change/").content.decode()
    assert 'name="personas_enabled"' in form and "Show who is answering" in form

    response = client.post(
        f"/admin/facebook/facebookpage/{page.pk}/change/",
        {"page_id": page.page_id, "name": page.name, "workgroup": workgroup.pk, "access_token": ""},
    )

    assert response.status_code == 302
    page = FacebookPage.objects.get(pk=page.pk)
    assert not page.personas_enabled
    assert page.access_token == "EAAG-very-secret-page-token-1234"  # kept

    client.post(
        f"/admin/facebook/facebookpage/{page.pk}/change/",
        {
            "page_id": page.page_id,
            "name": page.name,
            "workgroup": workgroup.pk,
            "access_token": "",
            "personas_enabled": "on",
        },
    )
    assert FacebookPage.objects.get(pk=page.pk).personas_enabled


def test_a_failed_persona_shows_its_reason_and_can_be_deleted(supervisor, workgroup):
    page = workgroup.pages.get()
    agent = make_agent("alice", workgroups=[workgroup])
    failed = MessengerPersona.objects.create(
        page=page, agent=agent, failures=2, last_error="1: Messenger had a temporary problem"
    )
    client = logged_in(supervisor)

    listing = client.get("/admin/facebook/messengerpersona/").content.decode()

    assert "Not created: 1: Messenger had a temporary problem" in listing
    assert client.get("/admin/facebook/messengerpersona/add/").status_code == 403
    client.post(
        "/admin/facebook/messengerpersona/",
        {"action": "delete_selected", "_selected_action": [failed.pk], "post": "yes"},
    )
    assert not MessengerPersona.objects.exists()


def test_a_supervisor_sets_the_pages_primary_app_for_conversation_routing(supervisor, workgroup):
    page = workgroup.pages.get()
    client = logged_in(supervisor)
    form = client.get(f"/admin/facebook/facebookpage/{page.pk}/change/").content.decode()
    assert 'name="primary_app_id"' in form and "Primary app id" in form
    fields = {"page_id": page.page_id, "name": page.name, "workgroup": workgroup.pk}

    refused = client.post(
        f"/admin/facebook/facebookpage/{page.pk}/change/", {**fields, "primary_app_id": "bot"}
    )
    ours = client.post(
        f"/admin/facebook/facebookpage/{page.pk}/change/",
        {**fields, "primary_app_id": "100000000000777"},
    )
    saved = client.post(
        f"/admin/facebook/facebookpage/{page.pk}/change/",
        {**fields, "primary_app_id": " 100000000000888 "},
    )

    assert refused.status_code == 200
    assert "A Meta app id is a number" in refused.content.decode()
    assert "That is this desktop&#x27;s own app" in ours.content.decode()
    assert saved.status_code == 302
    assert FacebookPage.objects.get(pk=page.pk).primary_app_id == "100000000000888"


def test_a_supervisor_links_an_instagram_account_to_a_page(supervisor, workgroup):
    page = workgroup.pages.get()
    client = logged_in(supervisor)

    response = client.post(
        "/admin/facebook/instagramaccount/add/",
        {"account_id": "17841400000000001", "page": page.pk, "username": "acme", "workgroup": ""},
    )

    assert response.status_code == 302
    account = InstagramAccount.objects.get()
    assert (account.page, account.username, account.workgroup) == (page, "acme", None)
    listing = client.get("/admin/facebook/instagramaccount/").content.decode()
    assert "17841400000000001" in listing
