"""Rows of My Interactions and of the queue: kept once drawn, drawn again on a change.

Every value a row shows is part of what it is kept under: after each kind of
change, the row kept reads exactly as the row drawn afresh.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from connect import fragments, rows
from routing import services
from routing.models import AgentStatus, Customer, Interaction
from tests.factories import customer_writes, make_agent, make_page, make_workgroup, refresh

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def nothing_kept():
    rows.forget_drawn_rows()
    yield
    rows.forget_drawn_rows()


@pytest.fixture
def workgroup():
    workgroup = make_workgroup("Facebook DM", first_response_seconds=600, next_response_seconds=300)
    make_page(workgroup)
    return workgroup


@pytest.fixture
def agent(workgroup):
    return make_agent("ann", workgroups=[workgroup], status=AgentStatus.AWAY)


def connected(workgroup, agent, psid: str) -> Interaction:
    chat = refresh(customer_writes(workgroup, psid=psid).interaction)
    return services.pickup(interaction_id=chat.pk, agent=agent)


def my_list(agent) -> str:
    """The agent's list, but for when it was read (a list is sent with it)."""
    return re.sub(r'data-read-at="\d+"', "", fragments.my_interactions(agent))


def drawn_afresh(draw) -> str:
    """What `draw()` reads with nothing kept (and what it kept forgotten again)."""
    rows.forget_drawn_rows()
    html = draw()
    rows.forget_drawn_rows()
    return html


def test_a_list_drawn_again_draws_only_the_row_that_changed(workgroup, agent):
    chats = [connected(workgroup, agent, f"73000000090000{n}") for n in range(3)]
    first = my_list(agent)
    assert rows.kept() == 3
    assert my_list(agent) == first
    assert rows.kept() == 3  # nothing drawn again

    services.hold(interaction_id=chats[1].pk, agent=agent)
    held = my_list(agent)
    assert held != first
    assert rows.kept() == 4  # the held row, once more
    assert held == drawn_afresh(lambda: my_list(agent))


def test_each_value_a_row_shows_draws_it_again(workgroup, agent):
    chat = connected(workgroup, agent, "7300000009100001")
    other = connected(workgroup, agent, "7300000009100002")

    def list_html() -> str:
        return my_list(agent)

    changes = {
        "unread": lambda: customer_writes(workgroup, psid="7300000009100001", text="Still there?"),
        "state": lambda: services.hold(interaction_id=other.pk, agent=agent),
        "recording": lambda: services.set_recording(
            interaction_id=chat.pk, agent=agent, on=not refresh(chat).recording
        ),
        "priority": lambda: Interaction.objects.filter(pk=chat.pk).update(priority=7),
        "name": lambda: services.update_customer_profiles(
            [
                services.ProfileAnswer(
                    customer_id=chat.customer_id,
                    first_name="Ada",
                    last_name="Lovelace",
                    fetched_at=timezone.now(),
                )
            ]
        ),
        "channel": lambda: Customer.objects.filter(pk=chat.customer_id).update(channel="instagram"),
        "time left": lambda: Interaction.objects.filter(pk=chat.pk).update(
            customer_waiting_since=timezone.now() - timedelta(seconds=400)
        ),
        "reply window": lambda: Customer.objects.filter(pk=chat.customer_id).update(
            last_message_at=timezone.now() - timedelta(hours=22)
        ),
    }
    for change, make in changes.items():
        before = list_html()
        make()
        after = list_html()
        assert after != before, f"{change}: the row was not drawn again"
        assert after == drawn_afresh(list_html), f"{change}: the kept row differs"


def test_a_queue_row_shows_whom_it_waits_for(workgroup, agent):
    bob = make_agent("bob", workgroups=[workgroup], status=AgentStatus.AWAY)
    waiting = refresh(customer_writes(workgroup, psid="7300000009200001").interaction)

    def queue_html() -> str:
        return fragments.workgroup_queue(workgroup.pk)

    before = queue_html()
    assert rows.kept() == 1
    Interaction.objects.filter(pk=waiting.pk).update(
        preferred_agent=bob, preferred_until=timezone.now() + timedelta(minutes=2)
    )
    after = queue_html()
    assert "for bob" in after and "for bob" not in before
    assert after == drawn_afresh(queue_html)
    bob.user.first_name = "Bob"
    bob.user.last_name = "Ray"
    bob.user.save()
    assert "for Bob Ray" in queue_html()


def test_a_row_refers_to_its_channels_icon_which_each_page_draws_once(workgroup, agent, client):
    # Rows go out in every pushed list and queue: the icon's path is in the
    # page once, not in each row of each frame.
    chat = connected(workgroup, agent, "7300000009000099")
    row = rows.interaction_row(refresh(chat))
    assert '<use href="#icon-messenger"/>' in row and "<path" not in row
    client.force_login(agent.user)
    page = client.get("/").content.decode()
    for channel in ("messenger", "instagram", "comment"):
        assert page.count(f'<symbol id="icon-{channel}"') == 1, channel
    listed = page[page.index('id="my-interactions"') :]
    assert f'id="interaction-{chat.pk}"' in listed and '<use href="#icon-messenger"/>' in listed
