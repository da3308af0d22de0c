"""Production settings: HTTPS, secure cookies, a shift-long session, all on with DEBUG
off and each overridable from the environment; `check --deploy` has nothing to say."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from tests.environments import PRODUCTION_ENV, ROOT, production_settings
from tests.factories import make_agent, make_workgroup

SECURE_DEFAULTS = {
    "SECURE_SSL_REDIRECT": True,
    "SECURE_HSTS_SECONDS": 365 * 24 * 60 * 60,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_HSTS_PRELOAD": True,
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "CSRF_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_AGE": 12 * 60 * 60,
}


def test_check_deploy_is_clean_with_a_production_environment(tmp_path):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "connect.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        **PRODUCTION_ENV,
    }

    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_with_debug_off_the_defaults_are_secure(monkeypatch):
    loaded = production_settings(monkeypatch)

    assert {name: loaded[name] for name in SECURE_DEFAULTS} == SECURE_DEFAULTS
    assert "SECURE_PROXY_SSL_HEADER" not in loaded
    assert loaded["SECURE_REDIRECT_EXEMPT"] == [r"^healthz$"]


def test_with_debug_on_nothing_insists_on_https(monkeypatch):
    loaded = production_settings(monkeypatch, DEBUG="1")

    assert not loaded["SECURE_SSL_REDIRECT"]
    assert loaded["SECURE_HSTS_SECONDS"] == 0
    assert not loaded["SESSION_COOKIE_SECURE"]
    assert not loaded["CSRF_COOKIE_SECURE"]


def test_each_one_can_be_set_from_the_environment(monkeypatch):
    loaded = production_settings(
        monkeypatch,
        SECURE_SSL_REDIRECT="0",
        SECURE_HSTS_SECONDS="3600",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="0",
        SECURE_HSTS_PRELOAD="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SESSION_COOKIE_AGE="28800",
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
    )

    assert not loaded["SECURE_SSL_REDIRECT"]
    assert loaded["SECURE_HSTS_SECONDS"] == 3600
    assert not loaded["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert not loaded["SECURE_HSTS_PRELOAD"]
    assert not loaded["SESSION_COOKIE_SECURE"]
    assert not loaded["CSRF_COOKIE_SECURE"]
    assert loaded["SESSION_COOKIE_AGE"] == 28800
    assert loaded["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")


def test_a_malformed_proxy_header_is_refused_at_start(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="SECURE_PROXY_SSL_HEADER"):
        production_settings(monkeypatch, SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO")


def test_login_throttling_can_be_tuned_from_the_environment(monkeypatch):
    loaded = production_settings(
        monkeypatch,
        AXES_FAILURE_LIMIT="10",
        AXES_COOLOFF_MINUTES="30",
        AXES_LOCKOUT_PARAMETERS="username,ip_address+username",
    )

    assert loaded["AXES_FAILURE_LIMIT"] == 10
    assert loaded["AXES_COOLOFF_TIME"].total_seconds() == 30 * 60
    assert loaded["AXES_LOCKOUT_PARAMETERS"] == ["username", ["ip_address", "username"]]


@pytest.mark.django_db
def test_plain_http_is_redirected_but_the_health_check(settings):
    settings.SECURE_SSL_REDIRECT = True
    client = Client()

    login = client.get("/accounts/login/")
    health = client.get("/healthz")

    assert (login.status_code, login["Location"]) == (301, "https://testserver/accounts/login/")
    assert health.status_code == 200


@pytest.mark.django_db
def test_behind_a_tls_proxy_its_header_counts_as_https(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600

    response = Client().get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=3600")


@pytest.mark.django_db
def test_the_csrf_cookie_is_out_of_scripts_reach_and_the_page_carries_the_token():
    agent = make_agent(workgroups=[make_workgroup()])
    client = Client()
    client.force_login(agent.user)

    response = client.get("/")

    cookie = response.cookies["csrftoken"]
    assert cookie["httponly"]
    html = response.content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in html


@pytest.mark.django_db
def test_a_session_lasts_a_shift():
    agent = make_agent(workgroups=[make_workgroup()])
    agent.user.set_password("a-fine-password-42")
    agent.user.save()
    client = Client()

    response = client.post(
        "/accounts/login/", {"username": agent.user.username, "password": "a-fine-password-42"}
    )

    assert response.status_code == 302
    assert response.cookies["sessionid"]["max-age"] == 12 * 60 * 60
    assert client.session.get_expiry_age() == 12 * 60 * 60
