"""A row of My Interactions or of a workgroup's queue, drawn once per change.

A live push redraws a whole list (an agent's, or a workgroup's queue) when one
of its rows changed, and most of its rows are as they were: each offer redrew
every row of the offered agent's list. A row is a pure function of the values
it shows, so its HTML is kept under exactly those values (`_shown`) and drawn
again only when one of them changed. A row with a running clock shows the
seconds left: it is drawn again in each second it is sent.

Every value the `interaction_row` partial reads is in `_shown`, and it reads
nothing else: its clocks come from here (`response`, `window`), not from tags
that would read the time again. `tests/connect/test_rows.py` draws rows both
ways after changing each value.
"""

from collections import OrderedDict
from threading import Lock

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils import timezone, translation

from connect.templatetags.service_levels import clock_context
from routing import service_levels
from routing.models import InteractionState

ROW_TEMPLATE = "desktop/desktop.html#interaction_row"
# Rows kept: a floor's lists and queues several times over (a row is ~1.5 KB).
KEPT = 8192

_drawn: OrderedDict[tuple, str] = OrderedDict()
_lock = Lock()


def interaction_row(interaction, row_prefix: str = "") -> str:
    """The row's HTML: kept from the last time it showed the same values, else drawn."""
    response = clock_context(service_levels.response_clock(interaction))
    window = (
        {"clock": None}
        if row_prefix
        else clock_context(service_levels.row_window_clock(interaction, now=timezone.now()))
    )
    key = _shown(interaction, row_prefix, response, window)
    with _lock:
        html = _drawn.get(key)
        if html is not None:
            _drawn.move_to_end(key)
            return html
    html = render_to_string(
        ROW_TEMPLATE,
        {
            "interaction": interaction,
            "row_prefix": row_prefix,
            "response": response,
            "window": window,
        },
    )
    with _lock:
        _drawn[key] = html
        while len(_drawn) > KEPT:
            _drawn.popitem(last=False)
    return html


def kept() -> int:
    """How many drawn rows are kept."""
    with _lock:
        return len(_drawn)


@receiver(setting_changed, dispatch_uid="connect.rows.forget")
def forget_drawn_rows(**_kwargs) -> None:
    """Forget every row kept (a test's settings may change how rows read)."""
    with _lock:
        _drawn.clear()


def _shown(interaction, row_prefix: str, response: dict, window: dict) -> tuple:
    customer = interaction.customer
    preferred: tuple = ()
    if (
        interaction.state == InteractionState.QUEUED
        and interaction.preferred_until
        and interaction.preferred_agent_id
    ):
        preferred = (
            interaction.preferred_agent.display_name,
            interaction.preferred_until,
            timezone.get_current_timezone_name(),
        )
    return (
        translation.get_language(),
        row_prefix,
        interaction.pk,
        getattr(interaction, "unread", 0) or 0,
        interaction.state,
        interaction.priority,
        interaction.recording,
        preferred,
        customer.channel,
        customer.display_name,
        _frozen(response),
        _frozen(window),
    )


def _frozen(clock: dict) -> tuple:
    return tuple(
        (name, _frozen(value) if isinstance(value, dict) else value)
        for name, value in sorted(clock.items())
    )
