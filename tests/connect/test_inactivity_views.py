"""Inactivity on the desktop: the warning with the time left, pushed live, and the lapse."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from connect import audience, fragments
from routing import services
from routing.models import Interaction
from tests.factories import customer_writes, make_agent, make_page, make_workgroup, refresh

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def workgroup():
    workgroup = make_workgroup(
        "Facebook DM",
        agent_reply_timeout_seconds=300,
        agent_reply_warning_seconds=60,
        customer_silence_timeout_seconds=600,
        customer_silence_warning_seconds=120,
    )
    make_page(workgroup)
    return workgroup


@pytest.fixture
def ann(workgroup):
    return make_agent("ann", workgroups=[workgroup])


def logged_in(agent) -> Client:
    client = Client()
    client.force_login(agent.user)
    return client


def due_in(interaction: Interaction, field: str, seconds: int) -> None:
    Interaction.objects.filter(pk=interaction.pk).update(
        **{field: timezone.now() + timedelta(seconds=seconds)}
    )


def pushed_view(agent, interaction) -> str:
    """What the agent's desktop is pushed when the interaction changes."""
    return fragments.render(
        audience.Fragment(audience.AGENT_VIEW, agent_id=agent.pk, interaction_id=interaction.pk)
    )


def test_the_agent_sees_how_long_is_left_to_reply_and_the_reply_clears_it(workgroup, ann):
    chat = refresh(customer_writes(workgroup, psid="7700000000000101").interaction)
    services.pickup(interaction_id=chat.pk, agent=ann)
    client = logged_in(ann)
    assert "No reply yet" not in client.get(f"/interactions/{chat.pk}/", **HTMX).content.decode()

    due_in(chat, "reply_due_at", 45)
    services.run_due_timers()

    page = client.get(f"/interactions/{chat.pk}/", **HTMX).content.decode()
    assert 'class="inactivity-warning" role="alert" data-kind="no_reply"' in page
    assert "No reply yet: this goes back to the queue in" in page
    assert '<span class="inactivity-clock">0:4' in page  # 0:45 or a second less
    assert "No reply yet: this goes back to the queue in" in pushed_view(ann, chat)

    services.store_reply(interaction_id=chat.pk, agent=ann, text="Hello, I am here")

    assert "No reply yet" not in client.get(f"/interactions/{chat.pk}/", **HTMX).content.decode()
    assert "No reply yet" not in pushed_view(ann, chat)


def test_the_agent_is_told_the_silent_customer_is_about_to_be_disconnected(workgroup, ann):
    chat = refresh(customer_writes(workgroup, psid="7700000000000102").interaction)
    services.pickup(interaction_id=chat.pk, agent=ann)
    services.store_reply(interaction_id=chat.pk, agent=ann, text="Anything else?")
    due_in(chat, "silence_due_at", 90)
    services.run_due_timers()

    page = logged_in(ann).get(f"/interactions/{chat.pk}/", **HTMX).content.decode()
    assert "The customer is silent: this disconnects in" in page
    assert '<span class="inactivity-clock">1:' in page


def test_a_colleague_never_sees_the_owners_warning(workgroup, ann):
    chat = refresh(customer_writes(workgroup, psid="7700000000000103").interaction)
    services.pickup(interaction_id=chat.pk, agent=ann)
    due_in(chat, "reply_due_at", 30)
    services.run_due_timers()
    bob = make_agent("bob", workgroups=[workgroup])
    assert "No reply yet" not in fragments.interaction_parts(None, refresh(chat), read_at=0)
    assert logged_in(bob).get(f"/interactions/{chat.pk}/", **HTMX).status_code == 404


def test_the_agent_who_let_it_lapse_sees_why_it_went_back(workgroup, ann):
    chat = refresh(customer_writes(workgroup, psid="7700000000000104").interaction)
    services.pickup(interaction_id=chat.pk, agent=ann)
    due_in(chat, "reply_due_at", -1)
    services.run_due_timers()

    page = logged_in(ann).get(f"/interactions/{chat.pk}/", **HTMX).content.decode()
    assert "You did not reply in time: it went back to the queue" in page
    assert fragments.gone_reason(chat.pk) == (
        "Back in the Facebook DM queue: ann did not reply in time."
    )


def test_the_status_says_why_the_agent_is_not_answering(workgroup, ann):
    ringing = refresh(customer_writes(workgroup, psid="7700000000000105").interaction)
    Interaction.objects.filter(pk=ringing.pk).update(alert_deadline=timezone.now())
    services.run_due_timers()
    client = logged_in(ann)
    assert "You let an offer ring out: set Available" in client.get("/").content.decode()

    services.set_agent_status(agent=refresh_agent(ann), status="available")
    chat = refresh(ringing)
    services.pickup(interaction_id=chat.pk, agent=ann)
    due_in(chat, "reply_due_at", -1)
    services.run_due_timers()
    assert "You did not reply in time: set Available" in client.get("/").content.decode()


def refresh_agent(agent):
    agent.refresh_from_db()
    return agent
