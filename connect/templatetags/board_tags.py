"""Template filters for the supervisor pages."""

from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def clock(duration: timedelta | None) -> str:
    """A duration as a wall clock: 0:45, 12:05, 1:02:09; empty for None."""
    if duration is None:
        return ""
    total = max(int(duration.total_seconds()), 0)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes}:{seconds:02d}"


@register.filter
def seconds_since(moment, now) -> int:
    """Whole seconds from `moment` to `now` (0 when either is missing)."""
    if moment is None or now is None:
        return 0
    return max(int((now - moment).total_seconds()), 0)
