"""Composing on the desktop: the emoji and list tools in the composer, the emoji picker,
and bubbles that show links and line breaks; a formatted reply reaches Meta as the
plain text the agent typed."""

import re
import uuid

import pytest
from django.test import Client

from connect import emoji, fragments
from connect.templatetags.message_text import LINK_REL
from facebook import actions, background, sender
from facebook.models import FakeGraphCall
from routing import services
from routing.models import Message
from tests.factories import customer_writes, make_agent, make_page, make_workgroup

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HTTP_HX_REQUEST": "true"}
HOSTILE = "Hi <script>alert(1)</script>\nsee https://acme.example/t?a=1&b=2.\nthanks"


@pytest.fixture
def connected():
    workgroup = make_workgroup("Facebook DM")
    make_page(workgroup)
    agent = make_agent("ann", workgroups=[workgroup])
    received = customer_writes(workgroup, text=HOSTILE)
    interaction = services.pickup(interaction_id=received.interaction.pk, agent=agent)
    browser = Client()
    browser.force_login(agent.user)
    return agent, interaction, browser


def bubble_html(page: str, message: Message) -> str:
    start = page.index(f'id="message-{message.pk}"')
    return page[start : page.index('<div class="bubble-meta">', start)]


def test_a_customers_bubble_links_addresses_keeps_lines_and_escapes_the_rest(connected):
    agent, interaction, browser = connected
    message = Message.objects.get(interaction=interaction)

    page = browser.get(f"/?interaction={interaction.pk}").content.decode()
    bubble = bubble_html(page, message)

    assert "<script>alert(1)" not in bubble and "&lt;script&gt;alert(1)&lt;/script&gt;" in bubble
    assert (
        'Hi &lt;script&gt;alert(1)&lt;/script&gt;<br>see <a href="https://acme.example/t?a=1&amp;b=2"'
        f' target="_blank" rel="{LINK_REL}">https://acme.example/t?a=1&amp;b=2</a>.<br>thanks'
    ) in bubble
    # The same bubble pushed live (rendered once, out of band) reads the same.
    assert bubble in fragments.bubble(message)


def test_an_agents_reply_and_a_note_show_their_links_and_lines_too(connected):
    agent, interaction, browser = connected
    reply = services.store_reply(
        interaction_id=interaction.pk, agent=agent, text="• One 👍\n• www.acme.example/faq"
    )
    note = services.add_note(
        interaction_id=interaction.pk, agent=agent, text="Ticket:\nhttps://desk.example/42"
    )

    page = browser.get(f"/?interaction={interaction.pk}").content.decode()

    link = (
        f'<a href="https://www.acme.example/faq" target="_blank" rel="{LINK_REL}">'
        "www.acme.example/faq</a>"
    )
    assert "• One 👍<br>• " + link in bubble_html(page, reply)
    assert (
        f'Ticket:<br><a href="https://desk.example/42" target="_blank" rel="{LINK_REL}">'
        in fragments.note(note)
    )
    assert sender.wait_for_idle(timeout=15) and background.wait_for_all(timeout=15)


def test_the_composer_offers_emoji_and_lists_with_names_and_shortcuts(connected):
    agent, interaction, browser = connected

    page = browser.get(f"/?interaction={interaction.pk}").content.decode()

    composer = page[page.index(f'id="composer-{interaction.pk}"') :]
    for name, keys in (("Emoji", "Alt+E"), ("Bulleted list", "Alt+B"), ("Numbered list", "Alt+N")):
        button = re.search(rf'<button [^>]*aria-label="{name}"[^>]*>', composer)
        assert button, name
        assert (
            f'aria-keyshortcuts="{keys}"' in button.group() and "data-needs-reply" in button.group()
        )
    assert f'id="emoji-suggest-{interaction.pk}"' in composer
    # The help lists the new keys beside the others.
    help_dialog = page[page.index('id="shortcuts-help"') :]
    assert "<td>Emoji</td>" in help_dialog and "<td>Bulleted / numbered list</td>" in help_dialog
    # Behaviour comes from static files only (the CSP forbids inline script).
    assert 'src="/static/connect/compose.js"' in page and "compose.css" in page


def test_the_emoji_picker_is_on_the_page_once_with_a_named_button_per_emoji(connected):
    agent, interaction, browser = connected

    page = browser.get(f"/?interaction={interaction.pk}").content.decode()

    assert page.count('id="emoji-picker"') == 1
    picker = page[page.index('id="emoji-picker"') :]
    assert 'role="dialog" aria-label="Emoji" hidden' in page
    assert '<label class="visually-hidden" for="emoji-search">Search emoji</label>' in picker
    buttons = re.findall(
        r'<button type="button" class="emoji-choice"[^>]*>([^<]+)</button>', picker
    )
    assert buttons == [each.char for each in emoji.all_emoji()]
    for category in emoji.CATEGORIES:
        assert f">{category.name}</h3>" in picker
    thumbs = next(each for each in emoji.all_emoji() if each.name == "thumbs up")
    assert (
        f'data-emoji="👍" data-shortcode="thumbs_up" data-words="{thumbs.search_words}"'
        ' aria-label="thumbs up"'
    ) in picker


def test_the_emoji_list_is_small_with_unique_names_and_shortcodes():
    every = emoji.all_emoji()

    assert 50 <= len(every) <= 150
    assert len({each.char for each in every}) == len(every)
    assert len({each.name for each in every}) == len(every)
    assert len({each.shortcode for each in every}) == len(every)
    for each in every:
        assert re.fullmatch(r"[a-z0-9_]+", each.shortcode), each.name
        assert " " not in "".join(each.also)  # search words are single words
    assert emoji.all_emoji()[0].search_words.startswith("grinning face grinning_face")


def test_a_formatted_reply_reaches_meta_as_the_plain_text_typed(connected, live_server, settings):
    agent, interaction, browser = connected
    settings.FACEBOOK_GRAPH_URL = f"{live_server.url}/fake-graph"
    actions.forget_throttle()
    text = (
        "Here is what I did 🎉\n• refunded the fee\n• sent a new parcel\n\n"
        "1. check www.acme.example\n2. reply"
    )

    response = browser.post(
        f"/interactions/{interaction.pk}/messages",
        {"text": text, "client_id": str(uuid.uuid4())},
        **HTMX,
    )

    assert response.status_code == 200
    assert sender.wait_for_idle(timeout=15) and background.wait_for_all(timeout=15)
    sent = [
        call.body["message"]["text"]
        for call in FakeGraphCall.objects.filter(method="POST").order_by("id")
        if "message" in call.body
    ]
    assert sent == [text]  # no markup added, the line breaks as typed
    assert Message.objects.get(interaction=interaction, text=text).status == "sent"
