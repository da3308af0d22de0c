"""The customer's name and picture from the User Profile API (the fake, over real
HTTP), fetched off the request on their first message, cached, refreshed when stale."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connections, transaction
from django.utils import timezone

from connect import fragments
from facebook import background, profiles
from facebook.fake import graph as fake_graph
from facebook.models import FacebookPage
from routing import events
from routing.events import routing_event
from routing.models import Customer, Interaction
from tests import factories
from tests.facebook.bodies import PSID, envelope, from_customer, post, text
from tests.factories import make_agent, make_page, make_workgroup

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def page(fake_graph_api):
    return make_page(make_workgroup("Facebook DM"))


def customer_writes(client, words: str = "Hello") -> Customer:
    assert post(client, envelope(from_customer("message", text(words)))).status_code == 200
    assert background.wait_for_all(timeout=15)
    return Customer.objects.get(psid=PSID)


def profile_calls(fake_graph_api) -> list:
    return fake_graph_api.calls(method="GET", recipient_psid=PSID)


def test_the_first_message_fetches_the_name_and_shows_it_live(client, page, fake_graph_api):
    agent = make_agent(workgroups=[page.workgroup])
    fake_graph.remember_profile(psid=PSID, name="Ana Silva")
    changed = []
    routing_event.connect(
        lambda sender, event, **kw: changed.append(event), weak=False, dispatch_uid="tests.p"
    )
    try:
        customer = customer_writes(client)
    finally:
        routing_event.disconnect(dispatch_uid="tests.p")

    assert (customer.first_name, customer.last_name) == ("Ana", "Silva")
    assert customer.profile_pic.endswith("/static/simulator/avatar.svg")
    assert customer.profile_fetched_at is not None
    assert len(profile_calls(fake_graph_api)) == 1
    interaction = Interaction.objects.get()
    # The desktop showing it hears of the new name.
    assert changed[-1].type == events.EventType.INTERACTION_CHANGED
    assert changed[-1].interaction_id == interaction.pk
    assert "Ana Silva" in fragments.my_interactions(agent)


def test_the_profile_is_cached_and_refreshed_when_stale(client, page, fake_graph_api):
    fake_graph.remember_profile(psid=PSID, name="Ana Silva")
    customer_writes(client, "first")
    customer_writes(client, "second")
    assert len(profile_calls(fake_graph_api)) == 1

    Customer.objects.update(profile_fetched_at=timezone.now() - timedelta(hours=25))
    fake_graph.remember_profile(psid=PSID, name="Ana Costa")
    customer = customer_writes(client, "third")

    assert len(profile_calls(fake_graph_api)) == 2
    assert customer.last_name == "Costa"


def test_no_profile_keeps_a_readable_name_and_is_not_asked_again(client, page, fake_graph_api):
    agent = make_agent(workgroups=[page.workgroup])
    fake_graph_api.mode("no_profile")

    customer = customer_writes(client)

    assert (customer.first_name, customer.last_name) == ("", "")
    assert customer.display_name == "Facebook user 0001"
    assert customer.profile_fetched_at is not None  # tried: not again until stale
    html = fragments.my_interactions(agent)
    assert "Facebook user 0001" in html
    assert "None" not in html
    customer_writes(client, "again")
    assert len(profile_calls(fake_graph_api)) == 1


def test_a_passing_failure_asks_again_on_the_next_message(client, page, fake_graph_api):
    fake_graph_api.mode("error_1")
    customer = customer_writes(client)
    assert customer.profile_fetched_at is None

    fake_graph_api.mode("ok")
    fake_graph.remember_profile(psid=PSID, name="Ben Novak")
    customer = customer_writes(client, "again")
    assert customer.display_name == "Ben Novak"


def test_a_refused_token_marks_the_page_and_keeps_the_fallback_name(client, page, fake_graph_api):
    fake_graph_api.mode("token_invalid")

    customer = customer_writes(client)

    assert customer.display_name == "Facebook user 0001"
    assert FacebookPage.objects.get(pk=page.pk).token_invalid


def test_answers_given_while_another_thread_stores_are_stored_by_it():
    """A fetching thread that finds another storing leaves its answer to that one,
    which stores it once its own batch is in: none is left behind."""
    workgroup = make_workgroup("Busy")
    customers = [
        factories.customer_writes(workgroup, psid=f"74000000000{n:05d}").interaction.customer
        for n in range(3)
    ]
    now = timezone.now()
    first, *others = (
        profiles.ProfileAnswer(customer_id=c.pk, first_name=f"Name{c.pk}", fetched_at=now)
        for c in customers
    )
    held, let_go = threading.Event(), threading.Event()

    def hold_the_first_customer() -> None:
        with transaction.atomic():
            Customer.objects.select_for_update().filter(pk=first.customer_id).first()
            held.set()
            let_go.wait(timeout=20)
        connections.close_all()

    def store_the_first() -> None:
        profiles._store(first)
        connections.close_all()

    holder = threading.Thread(target=hold_the_first_customer)
    holder.start()
    assert held.wait(timeout=10)
    storing = threading.Thread(target=store_the_first)
    storing.start()
    # The storing thread waits for the row; the others' answers come meanwhile.
    deadline = time.monotonic() + 10
    while not profiles._answers.empty() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    for answer in others:
        profiles._store(answer)  # returns at once: the storing thread takes it
    assert profiles._answers.qsize() == 2
    let_go.set()
    holder.join(timeout=20)
    storing.join(timeout=20)

    assert profiles._answers.empty()
    names = dict(
        Customer.objects.filter(pk__in=[c.pk for c in customers]).values_list("pk", "first_name")
    )
    assert names == {c.pk: f"Name{c.pk}" for c in customers}
