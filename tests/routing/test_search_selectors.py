"""Finding past conversations (`routing.search_selectors`): what matches, only inside what the
agent may see, in a fixed number of queries, and on PostgreSQL off the GIN indexes."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from routing import search_selectors, services
from routing.models import Interaction, Message
from routing.search_selectors import ConversationQuery, SnippetPart
from tests.factories import customer_writes, make_agent, make_workgroup, refresh

pytestmark = pytest.mark.django_db


def found(agent, text: str, **filters) -> list[Interaction]:
    query = ConversationQuery(text=text, **filters)
    return list(search_selectors.search_conversations(agent, query))


def finished(desk, agent, text: str, *, psid: str | None = None, workgroup=None) -> Interaction:
    kwargs = {"text": text, **({"psid": psid} if psid else {})}
    interaction = desk.queued(workgroup, **kwargs)
    services.pickup(interaction_id=interaction.pk, agent=agent)
    return services.disconnect(interaction_id=interaction.pk, agent=agent)


@pytest.fixture
def me(workgroup):
    return make_agent("me", workgroups=[workgroup])


def test_a_word_of_a_customer_message_finds_the_conversation(desk, me):
    wanted = finished(desk, me, "My parcel never arrived, order 4711")
    finished(desk, me, "Can I change my address?")

    assert found(me, "parcel") == [wanted]
    assert found(me, "PARCEL 4711") == [wanted]  # every word, any case
    assert found(me, "parcel address") == []  # every word in one message
    assert found(me, "refund") == []


def test_a_reply_of_the_agent_finds_it_and_a_deleted_message_does_not(desk, me):
    interaction = desk.connected(me, text="Hello")
    services.store_reply(interaction_id=interaction.pk, agent=me, text="Your voucher is ready")
    assert found(me, "voucher") == [interaction]

    Message.objects.filter(interaction=interaction).update(deleted_at=timezone.now())
    assert found(me, "voucher") == []


def test_an_internal_note_finds_it(desk, me):
    interaction = desk.connected(me, text="Hello")
    services.add_note(interaction_id=interaction.pk, agent=me, text="Escalated to billing")

    (only,) = found(me, "billing")
    assert only == interaction
    (hit,) = search_selectors.search_hits([only], ["billing"])
    assert (hit.found_in, hit.anchor) == ("note", f"note-{only.note_hit}")
    assert SnippetPart("billing", True) in hit.snippet


def test_the_customer_name_and_psid_find_it(desk, me):
    interaction = finished(desk, me, "Hello", psid="7399000000001234")
    services.update_customer_profiles(
        [
            services.ProfileAnswer(
                customer_id=interaction.customer_id,
                first_name="Ana",
                last_name="Lopez",
                fetched_at=timezone.now(),
            )
        ]
    )

    assert found(me, "ana lopez") == [interaction]
    assert found(me, "7399000000001234") == [interaction]
    assert found(me, "739900") == [interaction]  # the start of a PSID
    assert found(me, "001234") == []  # not any digits of it
    (hit,) = search_selectors.search_hits(found(me, "lopez"), ["lopez"])
    assert hit.found_in == "customer" and hit.anchor == ""
    assert hit.customer_name == (SnippetPart("Ana ", False), SnippetPart("Lopez", True))


def test_the_first_matching_message_is_the_hit(desk, me):
    interaction = desk.connected(me, text="Where is my refund?")
    later = customer_writes(interaction.workgroup, psid=interaction.customer.psid, text="refund!")

    (only,) = found(me, "refund")
    assert only.message_hit != later.message.pk
    assert only.message_hit == Message.objects.filter(text="Where is my refund?").get().pk


# --- who sees what: the one rule, `selectors.interactions_visible_to` --------------------


def test_only_what_the_agent_may_see_is_found(workgroup, desk, me):
    colleague = make_agent("colleague", workgroups=[workgroup])
    elsewhere = make_workgroup("Elsewhere")
    stranger = make_agent("stranger", workgroups=[elsewhere])

    my_live = desk.connected(me, text="secret word")
    my_past = finished(desk, me, "secret word")
    teams_past = finished(desk, colleague, "secret word")
    colleagues_live = desk.connected(colleague, text="secret word")
    queued = desk.queued(text="secret word")
    other_workgroups_past = finished(desk, stranger, "secret word", workgroup=elsewhere)

    results = set(found(me, "secret"))

    assert {my_live, my_past, teams_past} <= results
    assert colleagues_live not in results, "never another agent's live interaction"
    assert other_workgroups_past not in results, "never another workgroup's"
    assert queued not in results  # the queue shows it, with Pickup
    assert results == {my_live, my_past, teams_past}


def test_my_own_past_in_a_workgroup_i_left_stays_findable(workgroup, desk, me):
    past = finished(desk, me, "secret word")
    workgroup.members.remove(me)

    assert found(me, "secret") == [past]


# --- filters -------------------------------------------------------------------------------


def test_dates_and_workgroup_narrow_the_results(workgroup, desk, me):
    other = make_workgroup("Other")
    other.members.add(me)
    old = finished(desk, me, "invoice")
    Interaction.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    new = finished(desk, me, "invoice")
    elsewhere = finished(desk, me, "invoice", workgroup=other)
    today = timezone.localdate()

    assert found(me, "invoice") == [elsewhere, new, refresh(old)]  # newest first
    assert found(me, "invoice", start=today) == [elsewhere, new]
    assert found(me, "invoice", end=today - timedelta(days=9)) == [old]
    assert found(me, "invoice", start=today, end=today, workgroup_id=workgroup.pk) == [new]


def test_punctuation_alone_searches_nothing(desk, me):
    finished(desk, me, "% _ ' & | ! :*")
    assert found(me, "%") == []
    assert found(me, "' & | !:*") == []
    assert search_selectors.search_terms("it's a_b!  C3PO:*") == ["it", "s", "a", "b", "c3po"]


# --- the snippet -----------------------------------------------------------------------


def test_the_snippet_is_cut_around_the_match_and_marks_every_term():
    text = "word " * 60 + "the Parcel is late, the parcel" + " tail" * 40
    parts = search_selectors.snippet(text, ["parcel"], length=80)

    assert parts[0] == SnippetPart("…", False) and parts[-1] == SnippetPart("…", False)
    assert [p.text for p in parts if p.match] == ["Parcel", "parcel"]
    assert sum(len(p.text) for p in parts) <= 80 + 2


def test_the_snippet_keeps_markup_as_plain_text():
    parts = search_selectors.snippet("<b>refund</b> now", ["refund"])
    assert parts == (
        SnippetPart("<b>", False),
        SnippetPart("refund", True),
        SnippetPart("</b> now", False),
    )


# --- the transcript at the match -----------------------------------------------------


def test_the_transcript_opens_around_the_match(desk, me):
    interaction = desk.connected(me, text="message 0")
    psid = interaction.customer.psid
    start = timezone.now()
    texts = [f"message {n}" for n in range(1, 60)]
    for n, text in enumerate(texts, start=1):
        customer_writes(
            interaction.workgroup, psid=psid, text=text, sent_at=start + timedelta(seconds=n)
        )
    match = Message.objects.get(text="message 30")

    window = search_selectors.transcript_around(interaction, f"message-{match.pk}", each_side=5)

    assert [m.text for m in window.page.messages] == [f"message {n}" for n in range(25, 36)]
    assert window.page.has_older and window.has_newer
    assert window.marked_message == match.pk and window.marked_note is None
    after = search_selectors.transcript_after(
        interaction, after_id=window.page.messages[-1].pk, limit=30
    )
    assert [m.text for m in after.page.messages][:2] == ["message 36", "message 37"]
    assert not after.has_newer


def test_the_transcript_opens_at_a_note_with_the_messages_around_it(desk, me):
    interaction = desk.connected(me, text="before the note")
    note = services.add_note(interaction_id=interaction.pk, agent=me, text="Called them")
    customer_writes(
        interaction.workgroup,
        psid=interaction.customer.psid,
        text="after the note",
        sent_at=timezone.now() + timedelta(seconds=5),
    )

    window = search_selectors.transcript_around(interaction, f"note-{note.pk}")

    assert [getattr(e, "text", "") for e in window.page.entries] == [
        "before the note",
        "Called them",
        "after the note",
    ]
    assert window.marked_note == note.pk


def test_an_anchor_of_another_interaction_opens_nothing(desk, me):
    mine = desk.connected(me, text="mine")
    other = finished(desk, me, "other")
    theirs = Message.objects.get(interaction=other)

    assert search_selectors.transcript_around(mine, f"message-{theirs.pk}") is None
    assert search_selectors.transcript_around(mine, "message-x") is None
    assert search_selectors.transcript_around(mine, "order-1") is None


# --- cost ----------------------------------------------------------------------------------


def _page_of_results(agent, text):
    interactions = list(
        search_selectors.search_conversations(agent, ConversationQuery(text=text))[:25]
    )
    return search_selectors.search_hits(interactions, ConversationQuery(text=text).terms)


def test_a_page_of_results_costs_the_same_queries_for_3_or_13(desk, me, django_assert_num_queries):
    for n in range(2):
        finished(desk, me, f"alpha {n}")
    for n in range(12):
        finished(desk, me, f"beta {n}")
    for word in ("alpha", "beta"):
        with_note = desk.connected(me, text="hello")
        services.add_note(interaction_id=with_note.pk, agent=me, text=f"{word} note")

    # The interactions with their hits, then the texts of the message and note hits.
    with django_assert_num_queries(3):
        assert len(_page_of_results(me, "alpha")) == 3
    with django_assert_num_queries(3):
        assert len(_page_of_results(me, "beta")) == 13


def test_postgresql_searches_messages_and_notes_off_their_gin_indexes(desk, me):
    if connection.vendor != "postgresql":
        pytest.skip("the full-text indexes exist on PostgreSQL only")
    finished(desk, me, "parcel")
    query = search_selectors.search_conversations(me, ConversationQuery(text="parcel"))
    with connection.cursor() as cursor:
        # A handful of rows: without this the planner rightly reads the tables whole. The
        # test is that the query's expression is the indexed one, so the index can serve it.
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = query.explain()

    assert search_selectors.MESSAGE_TEXT_INDEX in plan
    assert search_selectors.NOTE_TEXT_INDEX in plan
