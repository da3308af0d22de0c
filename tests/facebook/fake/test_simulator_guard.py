"""The simulator is for development and test servers: a production server refuses
to start with it, it posts only to its own address, and its fake CDN has a cap."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from facebook.fake import graph as fake_graph
from tests.environments import production_settings
from tests.factories import PAGE_ID, make_page, make_workgroup

HTMX = {"HTTP_HX_REQUEST": "true"}


# --- refusing to start ----------------------------------------------------------


def test_a_production_server_refuses_to_start_with_the_simulator_on(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="never for production"):
        production_settings(monkeypatch, FACEBOOK_SIMULATOR="1")


@pytest.mark.parametrize(
    "env",
    [
        {"FACEBOOK_SIMULATOR": "1", "FACEBOOK_SIMULATOR_ALLOW_PRODUCTION": "1"},  # a test server
        {"FACEBOOK_SIMULATOR": "1", "DEBUG": "1"},  # make run
        {"FACEBOOK_SIMULATOR": "0"},  # production
    ],
)
def test_it_starts_when_the_simulator_is_meant(monkeypatch, env):
    loaded = production_settings(monkeypatch, **env)

    assert loaded["FACEBOOK_SIMULATOR"] == (env["FACEBOOK_SIMULATOR"] == "1")


# --- where it posts ----------------------------------------------------------------


@pytest.fixture
def page(db):
    return make_page(make_workgroup())


def test_the_host_header_does_not_choose_where_the_signed_body_goes(
    client, page, webhook_catcher, settings
):
    """The configured address gets the body; a Host naming another server gets nothing."""
    settings.FACEBOOK_SIMULATOR_WEBHOOK_URL = f"http://{webhook_catcher.host}/facebook/webhook"

    response = client.post(
        "/simulator/send",
        {"name": "Ana", "page": PAGE_ID, "text": "Hi"},
        HTTP_HOST="localhost:1",
        **HTMX,
    )

    assert response.status_code == 200
    assert len(webhook_catcher.requests) == 1


def test_without_a_configured_address_it_posts_to_the_socket_it_was_reached_on(settings):
    settings.FACEBOOK_SIMULATOR_WEBHOOK_URL = ""
    request = RequestFactory().post("/simulator/send", HTTP_HOST="attacker.example")
    request.scope = {"type": "http", "server": ("127.0.0.1", 8123)}

    assert fake_graph.own_webhook_url(request) == "http://127.0.0.1:8123/facebook/webhook"

    request.scope = {"type": "http", "server": ("::1", 8123)}
    assert fake_graph.own_webhook_url(request) == "http://[::1]:8123/facebook/webhook"


def test_with_no_address_to_post_to_it_says_so_and_posts_nothing(
    client, page, settings, webhook_catcher
):
    # The test client is no ASGI server: there is no socket address to use.
    settings.FACEBOOK_SIMULATOR_WEBHOOK_URL = ""

    response = client.post(
        "/simulator/send",
        {"name": "Ana", "page": PAGE_ID, "text": "Hi"},
        HTTP_HOST=webhook_catcher.host,
        **HTMX,
    )

    assert response.status_code == 400
    assert "set FACEBOOK_SIMULATOR_WEBHOOK_URL" in response.content.decode()
    assert webhook_catcher.requests == []


# --- the fake CDN's size cap ------------------------------------------------------------


@pytest.mark.django_db
def test_fake_media_over_the_cap_is_refused(client):
    response = client.get("/fake-graph/_media/x", {"bytes": str(64 * 1024 * 1024)})

    assert response.status_code == 400
    assert len(response.content) < 100
    over = client.get("/fake-graph/_media/x", {"bytes": str(fake_graph.MAX_MEDIA_BYTES + 1)})
    assert over.status_code == 400


@pytest.mark.django_db
def test_fake_media_under_the_cap_is_served(client):
    response = client.get("/fake-graph/_media/x.mp4", {"bytes": "5000"})

    assert response.status_code == 200
    assert len(response.content) == 5000
    assert fake_graph.MAX_MEDIA_BYTES == 26 * 1024 * 1024
