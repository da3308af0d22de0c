"""The message_text filter: a message's text as HTML, escaped first, web addresses linked,
line breaks kept; hostile text stays text."""

from html.parser import HTMLParser

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from connect.templatetags.message_text import LINK_REL, message_text


def link(href: str, shown: str | None = None) -> str:
    return f'<a href="{href}" target="_blank" rel="{LINK_REL}">{shown or href}</a>'


class Tags(HTMLParser):
    """Every tag of a piece of HTML, with its attributes, and its text."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text = ""
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text += data


def test_the_rel_keeps_the_desktop_out_of_reach_of_the_linked_page():
    assert set(LINK_REL.split()) == {"noopener", "noreferrer", "nofollow", "ugc"}


@pytest.mark.parametrize(
    ("text", "html"),
    [
        (
            "Track it at https://acme.example/track?id=7",
            "Track it at " + link("https://acme.example/track?id=7"),
        ),
        ("http://acme.example", link("http://acme.example")),
        (
            "see www.acme.example/help",
            "see " + link("https://www.acme.example/help", "www.acme.example/help"),
        ),
        ("HTTPS://ACME.EXAMPLE/A", link("HTTPS://ACME.EXAMPLE/A")),
        (
            "a=1&b=2 https://x.example/?a=1&b=2",
            "a=1&amp;b=2 " + link("https://x.example/?a=1&amp;b=2"),
        ),
    ],
)
def test_web_addresses_become_links_that_open_apart(text, html):
    assert message_text(text) == html


@pytest.mark.parametrize(
    ("text", "linked"),
    [
        ("Look: https://acme.example.", "https://acme.example"),
        ("Is it https://acme.example/faq?", "https://acme.example/faq"),
        ("https://acme.example/a, then", "https://acme.example/a"),
        ("wow https://acme.example/!!!", "https://acme.example/"),
        ("(see https://acme.example/x)", "https://acme.example/x"),
        ("[https://acme.example/x]", "https://acme.example/x"),
        (
            "https://en.wikipedia.org/wiki/Python_(language).",
            "https://en.wikipedia.org/wiki/Python_(language)",
        ),
        ("'https://acme.example/q'", "https://acme.example/q"),
        ("<https://acme.example/q>", "https://acme.example/q"),
        ("“https://acme.example/q”.", "https://acme.example/q"),
        ("«https://acme.example/q»", "https://acme.example/q"),
    ],
)
def test_punctuation_after_an_address_is_not_part_of_the_link(text, linked):
    tags = Tags(message_text(text))

    assert [attrs["href"] for tag, attrs in tags.tags if tag == "a"] == [linked]
    assert tags.text == text  # every character still shown, once


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "javascript:alert(document.cookie)",
        "JaVaScRiPt:alert(1)",
        "javascript:https://acme.example/%0Aalert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        'https://acme.example/"onmouseover="alert(1)',
        "https://acme.example/'onmouseover='alert(1)",
        "https://acme.example/<script>alert(1)</script>",
        'www.acme.example"><script>alert(1)</script>',
        "&lt;b&gt;not bold&lt;/b&gt; &amp; https://acme.example/?a=&quot;x&quot;",
        "https://acme.example/\u202egnp.exe",
        "user@www.acme.example and ftp://acme.example and //acme.example",
        "https://_/ https:// www. https://.x",
    ],
)
def test_hostile_text_stays_text(text):
    html = message_text(text)
    tags = Tags(html)

    assert tags.text == text  # nothing swallowed, nothing became markup
    for tag, attrs in tags.tags:
        assert tag == "a", html
        assert set(attrs) == {"href", "target", "rel"}, html
        assert attrs["href"].lower().startswith(("https://", "http://")), html
        assert attrs["target"] == "_blank" and attrs["rel"] == LINK_REL
        assert '"' not in attrs["href"] and "<" not in attrs["href"]
        assert "\u202e" not in attrs["href"]  # a bidi override cannot disguise where it leads


@pytest.mark.parametrize(
    "text", ["javascript:alert(1)", "data:text/html,x", "user@www.acme.example", "https://", "www."]
)
def test_what_is_not_a_web_address_is_not_linked(text):
    assert "<a" not in message_text(text)


def test_line_breaks_are_kept_and_end_an_address():
    text = "Your order:\r\n• 1 parcel 📦\n• www.acme.example/track\r\rThanks!"

    assert message_text(text) == (
        "Your order:<br>• 1 parcel 📦<br>• "
        + link("https://www.acme.example/track", "www.acme.example/track")
        + "<br><br>Thanks!"
    )


def test_nothing_gives_nothing():
    assert message_text("") == "" and message_text(None) == ""


def test_the_simulator_shows_the_pages_links_and_line_breaks():
    html = render_to_string(
        "simulator/_conversation.html",
        {
            "conversation": {
                "name": "Dana",
                "psid": "7300000000000001",
                "items": [
                    {
                        "who": "page",
                        "text": "Here:\nhttps://acme.example/t <b>",
                        "at": timezone.now(),
                        "note": "",
                    }
                ],
                "typing": False,
            }
        },
    )

    assert "Here:<br>" + link("https://acme.example/t") + " &lt;b&gt;" in html
