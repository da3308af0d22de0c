"""Messenger's extras in `Message.attachments` are never taken for attachments."""

from datetime import UTC, datetime

import pytest

from routing import message_entries
from routing.models import Message
from routing.transcript_text import interaction_text
from tests.factories import customer_writes, make_workgroup

pytestmark = pytest.mark.django_db

AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_the_payloads_tapped_are_those_of_buttons_and_quick_replies_only():
    entries = [
        {"type": "file", "url": "https://cdn.example/a.pdf", "title": "", "payload": "NOT_ONE"},
        message_entries.quick_reply("YES"),
        message_entries.quick_reply(None),
        message_entries.postback("Talk to sales", "TALK_TO_SALES"),
        message_entries.standby("postback"),
        "not an entry",
    ]
    assert message_entries.payloads(entries) == ["YES", "TALK_TO_SALES"]
    assert message_entries.payloads(None) == []


def test_each_kind_is_built_and_read_back():
    entries = [
        {"type": "image", "url": "https://cdn.example/a.png", "title": ""},
        message_entries.quick_reply("YES"),
        message_entries.postback("Get Started", "START"),
        message_entries.edit("old words", 1, AT),
        message_entries.reaction("react", "love", "❤", AT),
        message_entries.standby("message"),
    ]
    assert message_entries.attachments(entries) == [(0, entries[0])]
    assert [message_entries.kind_of(e) for e in entries[1:]] == [
        "quick_reply",
        "postback",
        "edit",
        "reaction",
        "standby",
    ]
    assert message_entries.of_kind(entries, message_entries.EDIT)[0]["previous_text"] == "old words"
    assert message_entries.standby("echo")["kind"] == "echo"
    assert message_entries.reaction_at(entries[4]) == AT
    assert message_entries.reaction_at({"type": "reaction"}) is None


def test_an_admin_transcript_shows_attachments_not_reactions_edits_or_buttons():
    workgroup = make_workgroup()
    received = customer_writes(workgroup, text="Where is it?")
    Message.objects.filter(pk=received.message.pk).update(
        reaction="❤",
        attachments=[
            {"type": "image", "url": "https://cdn.example/a.png", "title": ""},
            message_entries.postback("Track my order", "TRACK"),
            message_entries.edit("Where is my parcel?", 1, AT),
            message_entries.reaction("react", "love", "❤", AT),
        ],
    )
    text = interaction_text(received.interaction)
    line = next(line for line in text.splitlines() if "Where is it?" in line)
    assert "[image: https://cdn.example/a.png]" in line
    assert "(edited)" in line and "[reacted ❤]" in line
    # The extras are not printed as attachments (they were, as "[reaction]", "[edit]"…).
    for kind in ("[postback", "[edit", "[reaction"):
        assert kind not in line
