"""The service-level clock as the desktop and the board show it (routing.service_levels).

The server renders the time left when it renders the row, and the browser
(static/connect/service_clocks.js) counts on from there, turning the clock
amber and red on its own: no frame is sent as time passes. The seconds are
counted from when the element arrives, as the desktop's other clocks are, so
a wrong clock on the agent's machine does not matter; the due time itself is
in the `<time>` element. Nothing here depends on who looks at it.
"""

from django import template
from django.utils import timezone

from connect.templatetags.messenger import time_left
from routing import service_levels
from routing.service_levels import Clock

register = template.Library()


def clock_words(seconds_left: int) -> str:
    """ "4 min 10 s left", "1 h 2 min over": the same words the browser's script uses."""
    if seconds_left > 0:
        return f"{time_left(seconds_left)} left"
    return f"{time_left(-seconds_left)} over"


def clock_context(clock: Clock | None) -> dict:
    """The clock's level, counts and words now; and its next stage's counts, if any."""
    if clock is None:
        return {"clock": None}
    now = timezone.now()
    clock = clock.current(now)
    left = clock.seconds_left(now)
    context: dict[str, object] = {
        "clock": clock,
        "level": clock.level(now).value,
        "left": left,
        "near": int((clock.near_at - now).total_seconds()),
        "words": clock_words(left),
    }
    if clock.then is not None:
        context["then"] = {
            "label": clock.then.label,
            "left": clock.then.seconds_left(now),
            "near": int((clock.then.near_at - now).total_seconds()),
        }
    return context


@register.inclusion_tag("desktop/_service_clock.html")
def service_clock(clock: dict) -> dict:
    """A clock whose context (`clock_context`) the caller worked out: a row's (connect.rows)."""
    return clock


@register.inclusion_tag("desktop/_service_clock.html")
def response_clock(interaction) -> dict:
    """The time left to answer the customer of `interaction` (nothing when no clock runs)."""
    return clock_context(service_levels.response_clock(interaction))


@register.simple_tag
def window_clock_attributes(last_message_at) -> dict:
    """The reply window's clock: its level and counts, for `_window_countdown.html`."""
    return clock_context(service_levels.window_clock(last_message_at, now=timezone.now()))


@register.filter
def percent(share: float | None) -> str:
    """0.8 → "80%"; no share (nothing to measure) → "—"."""
    return "—" if share is None else f"{share * 100:.0f}%"
