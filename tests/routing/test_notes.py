"""Internal notes: who may write them, who is told, and that they follow the interaction."""

import pytest
from django.contrib.auth import get_user_model

from routing import services
from routing.events import EventType
from routing.models import Agent, InteractionEvent, Message, Note
from routing.rules import MAX_TEXT_LENGTH
from routing.services import NotYours, TransitionRefused
from routing.services.notes import mentioned_usernames
from tests.factories import make_agent, make_workgroup

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(workgroup) -> Agent:
    return make_agent("ann", workgroups=[workgroup])


@pytest.fixture
def bob(workgroup) -> Agent:
    return make_agent("bob", workgroups=[workgroup])


def note(interaction, agent, text="Customer is on the premium plan") -> Note:
    return services.add_note(interaction_id=interaction.pk, agent=agent, text=text)


def test_the_owner_writes_a_note_with_an_event_and_nothing_for_the_customer(
    desk, agent, routing_events, django_capture_on_commit_callbacks
):
    chat = desk.connected(agent)
    messages_before = Message.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        written = note(chat, agent, "  Premium plan; refund approved  ")

    assert (written.text, written.author_id) == ("Premium plan; refund approved", agent.user_id)
    assert Message.objects.count() == messages_before  # a note is not a message
    event = InteractionEvent.objects.filter(interaction=chat, verb="note").get()
    assert event.detail == {"note_id": written.pk, "mentioned": []}
    announced = [e for e in routing_events if e.type == EventType.NOTE_ADDED]
    assert [(e.interaction_id, e.note_id, e.agent_id) for e in announced] == [
        (chat.pk, written.pk, agent.pk)
    ]


def test_on_hold_too(desk, agent):
    held = desk.held(agent)
    assert note(held, agent).interaction_id == held.pk


@pytest.mark.parametrize("state", ["queued", "alerting", "disconnected"])
def test_not_before_pickup_nor_after_the_end(desk, agent, state):
    interaction = desk.queued() if state == "queued" else getattr(desk, state)(agent)
    with pytest.raises((TransitionRefused, NotYours)):
        note(interaction, agent)
    assert not Note.objects.exists()


def test_only_the_owner(desk, agent, bob):
    chat = desk.connected(agent)
    with pytest.raises(NotYours):
        note(chat, bob)
    assert not Note.objects.exists()


@pytest.mark.parametrize(
    ("text", "words"),
    [("   ", "Type the note first."), ("x" * (MAX_TEXT_LENGTH + 1), "at most")],
)
def test_empty_or_too_long_is_refused_with_words(desk, agent, text, words):
    chat = desk.connected(agent)
    with pytest.raises(TransitionRefused, match=words):
        note(chat, agent, text)


def test_mentioned_agents_are_told_but_not_the_author_unknown_or_inactive_names(
    desk, agent, bob, routing_events, django_capture_on_commit_callbacks
):
    carol = make_agent("carol.s", workgroups=[make_workgroup()])
    gone = make_agent("dave")
    get_user_model().objects.filter(pk=gone.user_id).update(is_active=False)
    chat = desk.connected(agent)

    with django_capture_on_commit_callbacks(execute=True):
        written = note(chat, agent, "@bob can you check? cc @carol.s. (not @dave, @nobody, @ann)")

    assert set(written.mentioned.all()) == {bob, carol}
    (announced,) = [e for e in routing_events if e.type == EventType.NOTE_ADDED]
    assert announced.mentioned == frozenset({bob.pk, carol.pk})


def test_mentions_are_read_as_usernames():
    assert mentioned_usernames("@bob, @carol.s. mail a@b.com @bob @x-y-") == [
        "bob",
        "carol.s",
        "x-y",
    ]


def test_a_note_follows_the_interaction_to_the_next_agent(desk, agent, bob):
    chat = desk.connected(agent)
    written = note(chat, agent, "Asked for a refund twice")

    services.transfer_to_agent(interaction_id=chat.pk, agent=agent, to_agent_id=bob.pk)
    services.pickup(interaction_id=chat.pk, agent=bob)

    assert list(Note.objects.filter(interaction=chat)) == [written]
    assert note(chat, bob, "Refund done").interaction_id == chat.pk
