"""The customer's profile as the adapter reports it: stored, announced, never "None"."""

from datetime import timedelta

import pytest
from django.utils import timezone

from routing import events
from routing.models import Customer
from routing.services import profile_is_stale, update_customer_profile
from tests.factories import customer_writes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def customer(workgroup) -> Customer:
    return customer_writes(workgroup, psid="7300000000001234").interaction.customer


def test_a_new_customer_s_profile_is_stale_until_fetched(customer):
    assert profile_is_stale(customer)
    now = timezone.now()
    update_customer_profile(customer_id=customer.pk, first_name="Ana", fetched_at=now)
    customer.refresh_from_db()
    assert not profile_is_stale(customer, now=now + timedelta(hours=23))
    assert profile_is_stale(customer, now=now + timedelta(hours=25))


def test_a_fetched_name_is_stored_and_announced(customer, routing_events):
    update_customer_profile(
        customer_id=customer.pk,
        first_name="Ana",
        last_name="Silva",
        profile_pic="https://cdn.example/ana.jpg",
        fetched_at=timezone.now(),
    )
    customer.refresh_from_db()
    assert (customer.display_name, customer.profile_pic) == (
        "Ana Silva",
        "https://cdn.example/ana.jpg",
    )
    event = routing_events[-1]
    assert event.type == events.EventType.INTERACTION_CHANGED
    assert event.interaction_id == customer.interactions.get().pk


def test_a_failed_fetch_only_notes_the_try(customer, routing_events):
    count = len(routing_events)
    update_customer_profile(customer_id=customer.pk, fetched_at=timezone.now())
    customer.refresh_from_db()
    assert customer.display_name == "Facebook user 1234"
    assert customer.profile_fetched_at is not None
    assert len(routing_events) == count


@pytest.mark.parametrize("names", [("None", "None"), ("", ""), ("  ", None)])
def test_empty_or_none_names_keep_the_readable_fallback(customer, names):
    first, last = names
    update_customer_profile(
        customer_id=customer.pk,
        first_name=first,
        last_name=last,
        profile_pic="javascript:alert(1)",
        fetched_at=timezone.now(),
    )
    customer.refresh_from_db()
    assert customer.display_name == "Facebook user 1234"
    assert customer.profile_pic == ""


def test_an_older_answer_changes_nothing(customer):
    now = timezone.now()
    update_customer_profile(customer_id=customer.pk, first_name="New", fetched_at=now)
    update_customer_profile(
        customer_id=customer.pk, first_name="Old", fetched_at=now - timedelta(minutes=1)
    )
    customer.refresh_from_db()
    assert customer.first_name == "New"
