"""An internal note never reaches Meta: proved against the fake Graph API, over HTTP."""

import json

import pytest
from django.db import transaction

from facebook import background, sender
from routing import services

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_note_written_between_replies_is_never_sent(fake_graph_api, conversation):
    talk = conversation()
    talk.reply("First, the reply the customer gets.")
    with transaction.atomic():
        services.add_note(
            interaction_id=talk.interaction_id, agent=talk.agent, text="SECRET: refund approved"
        )
    talk.reply("Second reply, after the note.")
    assert sender.wait_for_idle(timeout=15) and background.wait_for_all(timeout=15)

    sent = [call.body["message"]["text"] for call in fake_graph_api.message_calls()]
    assert sent == ["First, the reply the customer gets.", "Second reply, after the note."]
    every_call = [json.dumps(call.body) for call in fake_graph_api.calls()]
    assert every_call and not any("SECRET" in body for body in every_call)
