"""A Page whose token Meta refused: flagged, announced, shown in admin until a
supervisor enters a new token."""

import os
import subprocess
import sys
import threading
import time
from importlib import import_module
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client

from facebook import pages, token_crypto
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


# --- tokens at rest ------------------------------------------------------------------


def stored_column(page) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token FROM facebook_facebookpage WHERE id = %s", [page.pk])
        return cursor.fetchone()[0]


def test_the_token_is_encrypted_in_the_database_and_plain_in_python(page):
    column = stored_column(page)
    assert "old-token-123456789" not in column
    assert token_crypto.decrypt(column) == "old-token-123456789"
    assert FacebookPage.objects.get(pk=page.pk).access_token == "old-token-123456789"


def test_admin_stores_a_new_token_encrypted(page, supervisor):
    form_url = f"/admin/facebook/facebookpage/{page.pk}/change/"
    fields = {"page_id": page.page_id, "name": page.name, "workgroup": page.workgroup_id}
    assert supervisor.post(form_url, {**fields, "access_token": "new-token-987"}).status_code == 302
    assert "new-token-987" not in stored_column(page)
    assert FacebookPage.objects.get(pk=page.pk).access_token == "new-token-987"


def test_keys_rotate_old_tokens_stay_readable_until_re_encrypted(page, settings):
    first, second = settings.PAGE_TOKEN_KEYS
    # A token written with the old key (second) is read with both configured.
    settings.PAGE_TOKEN_KEYS = [second]
    pages.save_page(page, new_token="rotated-token")
    old_ciphertext = stored_column(page)
    settings.PAGE_TOKEN_KEYS = [first, second]
    assert FacebookPage.objects.get(pk=page.pk).access_token == "rotated-token"

    call_command("rotate_page_tokens", stdout=StringIO())
    settings.PAGE_TOKEN_KEYS = [first]  # the old key dropped
    assert stored_column(page) != old_ciphertext
    assert FacebookPage.objects.get(pk=page.pk).access_token == "rotated-token"


def test_a_token_no_key_decrypts_is_a_clear_error(page, settings):
    settings.PAGE_TOKEN_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(token_crypto.TokenUnreadable, match="PAGE_TOKEN_KEYS"):
        FacebookPage.objects.get(pk=page.pk)


def test_saving_a_page_outside_the_service_announces_nothing(page, announced):
    # No signal: only facebook.pages.save_page (what admin calls) tells the agents.
    page.name = "Renamed"
    page.save()
    assert announced == []
    pages.save_page(page)
    assert announced == [(page.page_id, {page.workgroup_id})]


def settings_in_a_new_process(**environment) -> str:
    """PAGE_TOKEN_KEYS as a server started with `environment` would have them."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "connect.settings", **environment}
    started = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(','.join(settings.PAGE_TOKEN_KEYS))",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert started.returncode == 0, started.stderr
    return started.stdout.strip()


def test_without_keys_of_its_own_a_server_derives_one_from_its_secret_key():
    # docs/contract.md promises a production server needs only the settings it lists.
    production = {
        "DEBUG": "0",
        "SECRET_KEY": "production-secret-0123456789",
        "FACEBOOK_APP_SECRET": "s",
        "FACEBOOK_VERIFY_TOKEN": "v",
        "PAGE_TOKEN_KEYS": "",
    }
    derived = settings_in_a_new_process(**production)
    assert derived == settings_in_a_new_process(**production)  # the same on every start
    assert derived != settings_in_a_new_process(**{**production, "SECRET_KEY": "another-one"})
    Fernet(derived.encode())  # a valid key
    own = Fernet.generate_key().decode()
    assert settings_in_a_new_process(**{**production, "PAGE_TOKEN_KEYS": own}) == own


def test_the_migration_encrypts_tokens_stored_in_plain_text(page):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE facebook_facebookpage SET access_token = %s WHERE id = %s",
            ["plain-old-token", page.pk],
        )
    migration = import_module("facebook.migrations.0004_page_tokens_encrypted")
    with connection.schema_editor() as editor:
        migration.encrypt_stored_tokens(None, editor)
    assert "plain-old-token" not in stored_column(page)
    assert FacebookPage.objects.get(pk=page.pk).access_token == "plain-old-token"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has one writer at a time")
def test_a_pages_last_event_note_held_by_another_router_is_skipped_not_waited_for(page):
    """Routers of several processes route one Page's customers side by side: the
    once-a-minute note never makes one wait for another's batch."""
    holding, release = threading.Event(), threading.Event()

    def another_router() -> None:
        try:
            with transaction.atomic():
                pages.note_events([FacebookPage.objects.get(pk=page.pk)])
                holding.set()
                release.wait(20)
        finally:
            connection.close()

    other = threading.Thread(target=another_router)
    other.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        with transaction.atomic():
            pages.note_events([FacebookPage.objects.get(pk=page.pk)])
        assert time.monotonic() - started < 5
    finally:
        release.set()
        other.join(20)
    page.refresh_from_db()
    assert page.last_event_at is not None  # noted once, by the other router
