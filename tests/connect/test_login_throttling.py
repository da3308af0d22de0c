"""Logins cannot be guessed: django-axes locks a username, or an address, out
after AXES_FAILURE_LIMIT failures, and passwords that are easy to guess are
refused where a password is chosen."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.supervisors import logged_in, make_supervisor

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
LOCKED_WORDS = "Too many failed attempts"


@pytest.fixture
def user():
    return get_user_model().objects.create_user(username="agent7", password=PASSWORD)


def log_in(client: Client, username: str, password: str, *, path="/accounts/login/", **extra):
    return client.post(path, {"username": username, "password": password}, **extra)


def is_logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def fail(client: Client, username: str, times: int, **extra) -> list[int]:
    return [log_in(client, username, "wrong-password", **extra).status_code for _ in range(times)]


def test_the_limit_and_cool_off_are_the_documented_ones():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == ["username", "ip_address"]
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


def test_after_five_wrong_passwords_even_the_right_one_is_refused(client, user):
    # The first four are ordinary failures; the fifth locks the account.
    assert fail(client, "agent7", 5) == [200, 200, 200, 200, 429]

    response = log_in(client, "agent7", PASSWORD)

    assert response.status_code == 429
    assert LOCKED_WORDS in response.content.decode()
    assert not is_logged_in(client)


def test_the_lockout_page_says_how_long_to_wait_and_who_can_unlock(client, user):
    fail(client, "agent7", 5)

    response = log_in(client, "agent7", PASSWORD)

    html = response.content.decode()
    assert "Too many failed attempts to log in." in html
    assert "Try again in 15 minutes, or ask a supervisor to unlock your account." in html
    assert 'role="alert"' in html
    assert "/accounts/login/" in html


def test_the_account_is_locked_from_every_address(user):
    fail(Client(REMOTE_ADDR="203.0.113.1"), "agent7", 5)
    elsewhere = Client(REMOTE_ADDR="198.51.100.2")

    assert log_in(elsewhere, "agent7", PASSWORD).status_code == 429
    assert not is_logged_in(elsewhere)


def test_one_address_trying_many_usernames_is_locked_out(user):
    sprayer = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(5):
        log_in(sprayer, f"someone{n}", "password1")

    assert log_in(sprayer, "agent7", PASSWORD).status_code == 429
    # The account itself is fine from another address.
    other = Client(REMOTE_ADDR="198.51.100.7")
    assert log_in(other, "agent7", PASSWORD).status_code == 302
    assert is_logged_in(other)


def test_admin_login_is_throttled_too():
    boss = make_supervisor("boss")
    boss.set_password(PASSWORD)
    boss.save()
    client = Client()
    statuses = [
        log_in(client, "boss", "wrong-password", path="/admin/login/").status_code for _ in range(5)
    ]

    response = log_in(client, "boss", PASSWORD, path="/admin/login/")

    assert statuses[-1] == response.status_code == 429
    assert LOCKED_WORDS in response.content.decode()
    assert not is_logged_in(client)


def test_after_the_cool_off_the_right_password_works(client, user):
    fail(client, "agent7", 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    response = log_in(client, "agent7", PASSWORD)

    assert response.status_code == 302
    assert is_logged_in(client)


def test_a_supervisor_unlocks_the_account_in_admin(client, user):
    fail(client, "agent7", 5)
    supervisor = logged_in(make_supervisor())

    listing = supervisor.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200
    assert "agent7" in listing.content.decode()
    [attempt] = AccessAttempt.objects.filter(username="agent7")
    deleted = supervisor.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302

    assert log_in(client, "agent7", PASSWORD).status_code == 302
    assert is_logged_in(client)


def test_the_command_line_unlocks_a_username(client, user):
    fail(client, "agent7", 5)

    call_command("axes_reset_username", "agent7", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert log_in(client, "agent7", PASSWORD).status_code == 302


def test_the_demo_password_still_logs_in(client):
    call_command("seed_demo", "--force", stdout=open("/dev/null", "w"))  # noqa: SIM115

    response = log_in(client, "agent1", "demo-pass")

    assert (response.status_code, response["Location"]) == (302, "/")


@pytest.mark.parametrize("password", ["password", "12345678", "qwertyui", "agent7", "short"])
def test_easily_guessed_passwords_are_refused(user, password):
    with pytest.raises(ValidationError):
        password_validation.validate_password(password, user)


def test_a_supervisor_cannot_give_an_agent_a_common_password_in_admin(user):
    admin = logged_in(get_user_model().objects.create_superuser("root", password="x-long-enough-1"))

    response = admin.post(
        f"/admin/auth/user/{user.pk}/password/",
        {"password1": "qwertyui", "password2": "qwertyui"},
    )

    assert response.status_code == 200  # the form again, with the reason
    assert "This password is too common." in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_a_good_password_passes_the_validators(user):
    password_validation.validate_password("grey-lantern-orbit-52", user)
