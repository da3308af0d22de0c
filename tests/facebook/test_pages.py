"""A Page whose token Meta refused: flagged, announced, shown in admin until a
supervisor enters a new token."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from facebook import pages
from facebook.models import FacebookPage
from tests.factories import make_page, make_workgroup

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def page():
    return make_page(make_workgroup("Facebook DM"), access_token="old-token-123456789")


@pytest.fixture
def supervisor() -> Client:
    user = get_user_model().objects.create_superuser("supervisor", password="demo-pass")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def announced():
    seen = []

    def note(sender, page_id, workgroup_ids, **kwargs):
        seen.append((page_id, set(workgroup_ids)))

    pages.page_changed.connect(note, dispatch_uid="tests.pages")
    yield seen
    pages.page_changed.disconnect(dispatch_uid="tests.pages")


def test_marking_the_token_invalid_is_announced_once(page, announced):
    assert pages.mark_token_invalid(page)
    assert not pages.mark_token_invalid(page)
    assert announced == [(page.page_id, {page.workgroup_id})]
    assert FacebookPage.objects.get(pk=page.pk).token_invalid


def test_admin_flags_the_page_until_a_new_token_is_saved(page, supervisor, announced):
    pages.mark_token_invalid(page)

    listing = supervisor.get("/admin/facebook/facebookpage/").content.decode()
    assert "⚠ Messenger refused this Page&#x27;s access token" in listing
    form_url = f"/admin/facebook/facebookpage/{page.pk}/change/"
    form = supervisor.get(form_url).content.decode()
    assert "Paste a new Page access token below and save." in form
    assert "old-token-123456789" not in form

    # Saving without a token keeps the flag: the old token is still refused.
    fields = {"page_id": page.page_id, "name": page.name, "workgroup": page.workgroup_id}
    assert supervisor.post(form_url, {**fields, "access_token": ""}).status_code == 302
    assert FacebookPage.objects.get(pk=page.pk).token_invalid

    announced.clear()
    assert supervisor.post(form_url, {**fields, "access_token": "new-token-987"}).status_code == 302
    saved = FacebookPage.objects.get(pk=page.pk)
    assert (saved.token_invalid, saved.access_token) == (False, "new-token-987")
    assert announced == [(page.page_id, {page.workgroup_id})]
    assert (
        "Accepted by Messenger" in supervisor.get("/admin/facebook/facebookpage/").content.decode()
    )


def test_moving_a_page_to_another_workgroup_tells_both(page, supervisor, announced):
    other = make_workgroup("Sales DM")
    form_url = f"/admin/facebook/facebookpage/{page.pk}/change/"
    fields = {"page_id": page.page_id, "name": page.name, "workgroup": other.pk}
    assert supervisor.post(form_url, {**fields, "access_token": ""}).status_code == 302
    assert announced == [(page.page_id, {page.workgroup_id, other.pk})]
