"""The Facebook side of admin: Pages whose token is never shown back, the webhook log."""

import pytest

from facebook.models import WebhookDelivery
from tests.factories import make_page, make_workgroup
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
