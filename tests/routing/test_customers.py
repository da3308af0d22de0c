"""The customer's profile as the adapter reports it: stored, announced, never "None"."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from routing import events
from routing.models import Customer
from routing.services import (
    ProfileAnswer,
    profile_is_stale,
    update_customer_profiles,
)
from tests.factories import customer_writes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def customer(workgroup) -> Customer:
    return customer_writes(workgroup, psid="7300000000001234").interaction.customer


def test_a_new_customer_s_profile_is_stale_until_fetched(customer):
    assert profile_is_stale(customer)
    now = timezone.now()
    update_customer_profiles(
        [ProfileAnswer(customer_id=customer.pk, first_name="Ana", fetched_at=now)]
    )
    customer.refresh_from_db()
    assert not profile_is_stale(customer, now=now + timedelta(hours=23))
    assert profile_is_stale(customer, now=now + timedelta(hours=25))


def test_a_fetched_name_is_stored_and_announced(customer, routing_events):
    update_customer_profiles(
        [
            ProfileAnswer(
                customer_id=customer.pk,
                first_name="Ana",
                last_name="Silva",
                profile_pic="https://cdn.example/ana.jpg",
                fetched_at=timezone.now(),
            )
        ]
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
    update_customer_profiles([ProfileAnswer(customer_id=customer.pk, fetched_at=timezone.now())])
    customer.refresh_from_db()
    assert customer.display_name == "Facebook user 1234"
    assert customer.profile_fetched_at is not None
    assert len(routing_events) == count


@pytest.mark.parametrize("names", [("None", "None"), ("", ""), ("  ", None)])
def test_empty_or_none_names_keep_the_readable_fallback(customer, names):
    first, last = names
    update_customer_profiles(
        [
            ProfileAnswer(
                customer_id=customer.pk,
                first_name=first,
                last_name=last,
                profile_pic="javascript:alert(1)",
                fetched_at=timezone.now(),
            )
        ]
    )
    customer.refresh_from_db()
    assert customer.display_name == "Facebook user 1234"
    assert customer.profile_pic == ""


def test_an_older_answer_changes_nothing(customer):
    now = timezone.now()
    update_customer_profiles(
        [ProfileAnswer(customer_id=customer.pk, first_name="New", fetched_at=now)]
    )
    update_customer_profiles(
        [
            ProfileAnswer(
                customer_id=customer.pk, first_name="Old", fetched_at=now - timedelta(minutes=1)
            )
        ]
    )
    customer.refresh_from_db()
    assert customer.first_name == "New"


def _customers(workgroup, count: int, first: int = 0) -> list[Customer]:
    return [
        customer_writes(workgroup, psid=f"73000000000{n:05d}").interaction.customer
        for n in range(first, first + count)
    ]


def _stored_in_one_go(customers: list[Customer], fetched_at) -> int:
    """Statements to store a name for each of `customers` at once."""
    answers = [
        ProfileAnswer(customer_id=c.pk, first_name=f"Name{c.pk}", fetched_at=fetched_at)
        for c in customers
    ]
    with CaptureQueriesContext(connection) as queries:
        stored = update_customer_profiles(answers)
    assert [customer.pk for customer in stored] == [c.pk for c in customers]
    return len(queries)


def test_many_profiles_are_stored_in_the_same_few_statements_as_two(workgroup, routing_events):
    now = timezone.now()
    two = _stored_in_one_go(_customers(workgroup, 2), now)
    customers = _customers(workgroup, 40, first=2)
    count = len(routing_events)
    forty = _stored_in_one_go(customers, now)
    assert forty == two
    names = dict(Customer.objects.values_list("pk", "first_name"))
    assert all(name == f"Name{pk}" for pk, name in names.items())
    # Each renamed customer's interaction announced, once.
    announced = [event.interaction_id for event in routing_events[count:]]
    assert len(announced) == len(set(announced)) == 40


def test_a_batch_of_answers_keeps_the_newest_and_skips_a_customer_gone(customer):
    now = timezone.now()
    newer = ProfileAnswer(customer_id=customer.pk, first_name="New", fetched_at=now)
    older = ProfileAnswer(
        customer_id=customer.pk, first_name="Old", fetched_at=now - timedelta(minutes=1)
    )
    gone = ProfileAnswer(customer_id=customer.pk + 1000, first_name="Nobody", fetched_at=now)
    stored = update_customer_profiles([newer, gone, older])
    assert [c.pk if c else None for c in stored] == [customer.pk, None, customer.pk]
    customer.refresh_from_db()
    assert customer.first_name == "New"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks")
def test_profiles_stored_while_a_router_holds_some_of_their_customers_never_deadlock(workgroup):
    """A router's batch locks its customers in arrival order, here the second
    customer and then the first: the profiles' batch, given both, waits for
    neither while it holds the other."""
    first, second = _customers(workgroup, 2)
    holding, router_done = threading.Event(), []

    def router_batch() -> None:
        try:
            with transaction.atomic():
                Customer.objects.select_for_update().get(pk=second.pk)
                holding.set()
                time.sleep(0.3)  # the profiles' batch runs meanwhile
                Customer.objects.select_for_update().get(pk=first.pk)
            router_done.append(True)
        finally:
            connection.close()

    router = threading.Thread(target=router_batch)
    router.start()
    assert holding.wait(10)
    now = timezone.now()
    stored = update_customer_profiles(
        [
            ProfileAnswer(customer_id=first.pk, first_name="First", fetched_at=now),
            ProfileAnswer(customer_id=second.pk, first_name="Second", fetched_at=now),
        ]
    )
    router.join(20)

    assert router_done == [True]
    assert [customer.pk for customer in stored] == [first.pk, second.pk]
    names = dict(Customer.objects.values_list("pk", "first_name"))
    assert (names[first.pk], names[second.pk]) == ("First", "Second")
