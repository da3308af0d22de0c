"""After-contact work on the desktop: the countdown and Done."""

import pytest
from django.test import Client

from routing import services
from routing.models import InteractionEvent
from tests.factories import customer_writes, make_agent, make_page, make_workgroup, refresh

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_the_head_counts_down_and_done_ends_it_and_offers_what_waits():
    workgroup = make_workgroup("Facebook DM", after_contact_seconds=90)
    make_page(workgroup)
    agent = make_agent("ann", workgroups=[workgroup])
    client = Client()
    client.force_login(agent.user)
    chat = refresh(customer_writes(workgroup, psid="7500000000000011").interaction)
    services.pickup(interaction_id=chat.pk, agent=agent)
    services.disconnect(interaction_id=chat.pk, agent=agent)
    waiting = refresh(customer_writes(workgroup, psid="7500000000000012").interaction)
    assert waiting.agent_id is None

    page = client.get(f"/interactions/{chat.pk}/", **HTMX).content.decode()
    assert 'class="after-contact" role="timer" data-left-seconds="' in page
    assert "After-contact work: <span" in page and ">Done</button>" in page

    response = client.post(f"/interactions/{chat.pk}/after-contact-done", **HTMX)

    assert response.status_code == 200
    assert "After-contact work:" not in response.content.decode()
    assert InteractionEvent.objects.filter(interaction=chat, verb="after_contact_done").exists()
    assert refresh(waiting).agent_id == agent.pk
    again = client.post(f"/interactions/{chat.pk}/after-contact-done", **HTMX)
    assert again.status_code == 409
    assert "already over" in again.content.decode()
