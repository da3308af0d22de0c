"""A message's text as HTML: escaped, its web addresses clickable, its line breaks kept.

Messenger sends plain text, so the text is escaped first and only then are the
addresses found in it turned into links: nothing a customer types can become
markup. Only http(s) addresses and www. names are linked, so a `javascript:`
or `data:` address stays text.
"""

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# What every link to an address from a message carries: a new tab that cannot
# reach back to the desktop, no referrer, no search-engine credit.
LINK_REL = "noopener noreferrer nofollow ugc"

# An address starts at a word boundary (not inside a word, an e-mail address,
# a path or another scheme such as `javascript:`), with a letter or digit after
# its prefix, and runs to the next space, angle bracket or double quote. Bidi
# and zero-width characters end it too: they could disguise where it leads.
ADDRESS = re.compile(
    r"(?<![\w@.:/\-])(?:https?://|www\.)(?=[^\W_])[^\s<>\"\u200b-\u200f\u202a-\u202e\u2066-\u2069]+",
    re.IGNORECASE,
)
# Punctuation that ends a sentence or a quotation rather than the address it follows
# (phones type typographic quotes).
TRAILING = ".,;:!?'*_~\u201d\u2019\u00bb\u203a"
CLOSING = {")": "(", "]": "[", "}": "{"}


def address_end(address: str) -> str:
    """`address` without the punctuation after it; a closing bracket stays when it closes
    one opened inside the address (https://en.wikipedia.org/wiki/Python_(language))."""
    while address:
        last = address[-1]
        unopened = last in CLOSING and address.count(last) > address.count(CLOSING[last])
        if last not in TRAILING and not unopened:
            break
        address = address[:-1]
    return address


def link(address: str) -> str:
    href = address if address[:4].lower() == "http" else "https://" + address
    return f'<a href="{escape(href)}" target="_blank" rel="{LINK_REL}">{escape(address)}</a>'


@register.filter
def message_text(text: str | None) -> SafeString:
    """The text as HTML: every character escaped, addresses linked, line breaks as <br>."""
    if not text:
        return mark_safe("")
    text = str(text).replace("\r\n", "\n").replace("\r", "\n")
    parts: list[str] = []
    done = 0
    for found in ADDRESS.finditer(text):
        # The lookahead put a letter or digit after the prefix: trimming leaves an address.
        address = address_end(found.group())
        parts.append(escape(text[done : found.start()]))
        parts.append(link(address))
        done = found.start() + len(address)
    parts.append(escape(text[done:]))
    # Addresses never hold a line break (it ends them), so this touches text only.
    return mark_safe("".join(parts).replace("\n", "<br>"))
