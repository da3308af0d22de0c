"""Internal notes on the desktop: Add note, shown apart from replies, told to whom it names."""

import pytest
from django.test import Client

from connect import audience, fragments
from routing import services
from routing.models import Note
from tests.factories import customer_writes, make_agent, make_page, make_workgroup

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def workgroup():
    group = make_workgroup("Facebook DM")
    make_page(group)
    return group


def logged_in(agent) -> Client:
    client = Client()
    client.force_login(agent.user)
    return client


def connected(workgroup, agent):
    received = customer_writes(workgroup, text="My parcel is late")
    return services.pickup(interaction_id=received.interaction.pk, agent=agent)


def test_add_note_stores_the_text_as_a_note_and_clears_the_composer(workgroup):
    agent = make_agent("ann", workgroups=[workgroup])
    chat = connected(workgroup, agent)

    response = logged_in(agent).post(
        f"/interactions/{chat.pk}/notes", {"text": "Gold customer: waive the fee"}, **HTMX
    )

    assert response.status_code == 200
    note = Note.objects.get()
    body = response.content.decode()
    assert "Internal note" in body and "Gold customer: waive the fee" in body
    assert f'id="note-{note.pk}"' in body
    assert f'id="composer-{chat.pk}"' in body and "waive the fee</textarea>" not in body


def test_the_desktop_offers_add_note_to_the_owner_and_shows_notes_among_the_messages(workgroup):
    agent = make_agent("ann", workgroups=[workgroup])
    chat = connected(workgroup, agent)
    services.add_note(interaction_id=chat.pk, agent=agent, text="Checked the tracking")
    customer_writes(workgroup, text="Any news?")

    page = logged_in(agent).get(f"/?interaction={chat.pk}").content.decode()

    assert ">Add note</button>" in page
    late, note, news = (
        page.index(t) for t in ("My parcel is late", "Checked the tracking", "Any news?")
    )
    assert late < note < news  # in the order they were written
    assert page.count("Internal note ·") == 1


def test_on_hold_the_owner_may_still_write_a_note_but_not_reply(workgroup):
    agent = make_agent("ann", workgroups=[workgroup])
    chat = connected(workgroup, agent)
    services.hold(interaction_id=chat.pk, agent=agent)

    page = logged_in(agent).get(f"/?interaction={chat.pk}").content.decode()

    assert ">Add note</button>" in page
    assert 'data-can-reply="0" data-can-note="1"' in page


def test_a_refused_note_says_why_and_keeps_the_text(workgroup):
    agent = make_agent("ann", workgroups=[workgroup])
    chat = connected(workgroup, agent)

    response = logged_in(agent).post(f"/interactions/{chat.pk}/notes", {"text": "   "}, **HTMX)

    assert response.status_code == 422
    assert "Type the note first." in response.content.decode()
    assert not Note.objects.exists()


def test_no_one_else_may_write_on_an_interaction_or_learn_of_it(workgroup):
    agent = make_agent("ann", workgroups=[workgroup])
    outsider = make_agent("eve", workgroups=[make_workgroup("Elsewhere")])
    chat = connected(workgroup, agent)

    response = logged_in(outsider).post(f"/interactions/{chat.pk}/notes", {"text": "hi"}, **HTMX)

    assert response.status_code == 404
    assert "You cannot see this interaction." in response.content.decode()
    assert not Note.objects.exists()


def test_a_named_colleague_is_told_who_wrote_what_on_which_conversation(workgroup):
    agent = make_agent("ann", workgroups=[workgroup])
    chat = connected(workgroup, agent)
    bob = make_agent("bob", workgroups=[workgroup])

    note = services.add_note(interaction_id=chat.pk, agent=agent, text="@bob please double-check")
    html = fragments.render(
        audience.Fragment(
            audience.MENTION, agent_id=bob.pk, interaction_id=chat.pk, note_id=note.pk
        )
    )

    assert 'hx-swap-oob="beforeend:#mentions"' in html
    assert "<strong>ann</strong> named you in a note" in html
    assert "@bob please double-check" in html
    assert chat.customer.display_name in html
