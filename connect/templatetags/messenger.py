"""Template helpers for the Messenger parts of the desktop: bubble extras, the reply
window countdown and the token banner."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.safestring import mark_safe

from connect import bubbles, messenger_fragments
from routing import rules
from routing.rules import (
    AD_RESPONSE_WINDOW,
    HUMAN_AGENT_WINDOW,
    MAX_TEXT_LENGTH,
    human_agent_allowed,
    response_window_ends,
)

register = template.Library()


@register.filter
def bubble_parts(message) -> bubbles.BubbleParts:
    return bubbles.bubble_parts(message)


@register.filter
def epoch_ms(value: datetime | None) -> str:
    """Milliseconds since the epoch, for the desktop's scripts (ordering, countdown)."""
    return str(int(value.timestamp() * 1000)) if value else ""


def time_left(seconds: float) -> str:
    """ "2 d 3 h", "5 h 12 min", "12 min 30 s", "30 s": the same words desktop's script uses."""
    seconds = max(int(seconds), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"


def window_words(*, now: datetime, response_ends: datetime, closes_at: datetime) -> str:
    if now < response_ends:
        return f"Reply window: {time_left((response_ends - now).total_seconds())} left"
    if now < closes_at:
        left = time_left((closes_at - now).total_seconds())
        return f"Human agent window: {left} left (replies carry the HUMAN_AGENT tag)"
    return "The reply window has closed."


@register.inclusion_tag("desktop/_window_countdown.html")
def window_countdown(customer) -> dict:
    """The time left to reply, counted down in the browser from the data attributes."""
    last = customer.last_message_at
    if last is None:
        return {"last": None}
    now = timezone.now()
    # An ad-sourced conversation's standard window may outlast 24 h (routing.rules).
    response_ends = response_window_ends(customer) or last
    closes_at = max(last + HUMAN_AGENT_WINDOW, response_ends)
    if not human_agent_allowed(customer.page_id):
        closes_at = response_ends  # Meta has not approved the Page's Human Agent feature
    phase = "response" if now < response_ends else "human_agent" if now < closes_at else "closed"
    return {
        "last": last,
        "response_ends": response_ends,
        "closes_at": closes_at,
        "phase": phase,
        "words": window_words(now=now, response_ends=response_ends, closes_at=closes_at),
    }


@register.filter
def ad_window_ends(customer) -> datetime | None:
    """The end of the 7 days an ad-sourced conversation may answer without a tag."""
    start = customer.ad_window_from
    return start + AD_RESPONSE_WINDOW if start else None


@register.simple_tag
def text_limit(channel: str = "") -> int:
    """The longest message text Meta takes on the channel (routing.rules), for the
    composer's counters: Instagram's is shorter than Messenger's."""
    return rules.text_limit(channel) if channel else MAX_TEXT_LENGTH


@register.simple_tag
def token_banner(agent) -> str:
    return mark_safe(messenger_fragments.token_banner(agent))  # rendered with autoescape
