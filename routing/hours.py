"""Business hours: is a workgroup open at a given moment, and when does it open next.

A workgroup's weekly spans (`BusinessHours`) and holidays (`Holiday`) are in
its own time zone. A workgroup with no span at all is always open, holidays
aside. Out of hours the ACD offers nothing of it (routing/services/acd.py):
what arrives waits in the queue, and the timer loop offers it at the opening.

The functions take the moment explicitly, so tests pass the clock they want.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.core.exceptions import ValidationError

from routing import config_cache

# An automatic message is sent as one Messenger text (under 2000 characters),
# with room for what its placeholders become.
MAX_AUTOMATIC_TEXT = 1500
# How far ahead the next opening is looked for.
LOOK_AHEAD_DAYS = 14


def validate_time_zone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(f"{value!r} is not a time zone name such as Europe/Paris or UTC.")


def zone_of(workgroup) -> ZoneInfo:
    try:
        return ZoneInfo(workgroup.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # refused by the admin form; never fatal here


@dataclass(frozen=True)
class Span:
    weekday: int  # Monday 0 … Sunday 6
    opens: time
    closes: time


@dataclass(frozen=True)
class Schedule:
    """A workgroup's hours as plain values: read once, asked many times."""

    zone: ZoneInfo
    spans: tuple[Span, ...]
    holidays: frozenset[date]

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.zone)
        if local.date() in self.holidays:
            return False
        if not self.spans:
            return True
        moment = local.time().replace(tzinfo=None)
        return any(
            span.weekday == local.weekday() and span.opens <= moment < span.closes
            for span in self.spans
        )

    def next_opening(self, after: datetime) -> datetime | None:
        """The first moment at or after `after` when it is open; None if not within two weeks."""
        if self.is_open(after):
            return after
        local = after.astimezone(self.zone)
        for offset in range(LOOK_AHEAD_DAYS + 1):
            day = local.date() + timedelta(days=offset)
            if day in self.holidays:
                continue
            if not self.spans:
                return datetime.combine(day, time.min, tzinfo=self.zone)
            for span in sorted(
                (s for s in self.spans if s.weekday == day.weekday()), key=lambda s: s.opens
            ):
                opening = datetime.combine(day, span.opens, tzinfo=self.zone)
                if opening > local:
                    return opening
        return None


def schedule_of(workgroup) -> Schedule:
    # Once per router batch (routing.config_cache); a plain read everywhere else.
    return config_cache.cached("schedule", workgroup.pk, lambda: _read_schedule(workgroup))


def _read_schedule(workgroup) -> Schedule:
    return Schedule(
        zone=zone_of(workgroup),
        spans=tuple(
            Span(weekday=row.weekday, opens=row.opens, closes=row.closes)
            for row in workgroup.business_hours.all()
        ),
        # .all(), not values_list: a board that prefetched them asks no query here.
        holidays=frozenset(holiday.date for holiday in workgroup.holidays.all()),
    )


def is_open(workgroup, at: datetime) -> bool:
    return schedule_of(workgroup).is_open(at)


def opening_words(workgroup, after: datetime, *, schedule: Schedule | None = None) -> str:
    """The next opening as a customer reads it ("Monday 21 December at 09:00"), or "soon"."""
    opening = (schedule or schedule_of(workgroup)).next_opening(after)
    if opening is None:
        return "soon"
    return f"{opening:%A} {opening.day} {opening:%B} at {opening:%H:%M}"
