"""`seed_demo` makes a superuser with the README's password: never on a production server."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from facebook.models import FacebookPage, InstagramAccount
from routing.models import Workgroup

pytestmark = pytest.mark.django_db


def test_with_debug_off_it_refuses_and_makes_nobody(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo", stdout=io.StringIO())

    assert not get_user_model().objects.filter(username__in=["supervisor", "agent1"]).exists()


def test_with_force_it_seeds_a_test_server(settings):
    settings.DEBUG = False
    out = io.StringIO()

    call_command("seed_demo", "--force", stdout=out)

    assert get_user_model().objects.get(username="supervisor").is_superuser
    assert "Demo data ready" in out.getvalue()


def test_with_debug_on_it_seeds_as_make_run_does(settings):
    settings.DEBUG = True

    call_command("seed_demo", stdout=io.StringIO())

    assert get_user_model().objects.get(username="agent1").check_password("demo-pass")


def test_the_demo_page_shows_who_is_answering(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    FacebookPage.objects.update(personas_enabled=False)

    call_command("seed_demo", stdout=io.StringIO())

    assert FacebookPage.objects.get(page_id="100000000000001").personas_enabled


def test_the_demo_lets_a_silent_customer_go_and_times_no_agent(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())  # twice: the same settings

    workgroup = Workgroup.objects.get(name="Facebook DM")
    assert (
        workgroup.customer_silence_timeout_seconds,
        workgroup.customer_silence_warning_seconds,
        workgroup.customer_silence_wrap_up_code.label,
    ) == (900, 120, "No answer needed")
    assert workgroup.agent_reply_timeout_seconds is None


def test_the_demo_workgroup_has_service_level_targets_that_show(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    workgroup = FacebookPage.objects.get(page_id="100000000000001").workgroup
    assert (workgroup.first_response_seconds, workgroup.next_response_seconds) == (120, 90)


def test_the_demo_page_has_its_instagram_account(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())  # idempotent

    account = InstagramAccount.objects.get()
    assert account.account_id == "17841400000000001"
    assert account.page.page_id == "100000000000001"
    assert account.workgroup_id_to_route == account.page.workgroup_id
