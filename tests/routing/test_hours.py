"""Business hours: open or closed at a given moment, and the next opening."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from routing.hours import Schedule, Span, is_open, opening_words, validate_time_zone
from routing.models import BusinessHours, Holiday, Weekday
from tests.factories import make_workgroup

PARIS = ZoneInfo("Europe/Paris")
# Monday to Friday, 09:00-12:00 and 13:00-17:30, in Paris.
WEEKDAYS = tuple(
    Span(weekday=day, opens=opens, closes=closes)
    for day in range(5)
    for opens, closes in ((time(9), time(12)), (time(13), time(17, 30)))
)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def schedule(*holidays: date) -> Schedule:
    return Schedule(zone=PARIS, spans=WEEKDAYS, holidays=frozenset(holidays))


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (at(2026, 12, 7, 8, 59), False),  # Monday, before opening
        (at(2026, 12, 7, 9, 0), True),
        (at(2026, 12, 7, 12, 0), False),  # lunch: a close is exclusive
        (at(2026, 12, 7, 13, 0), True),
        (at(2026, 12, 7, 17, 29), True),
        (at(2026, 12, 7, 17, 30), False),
        (at(2026, 12, 12, 10, 0), False),  # Saturday
    ],
)
def test_open_within_a_span_of_the_weekday(moment, open_):
    assert schedule().is_open(moment) is open_


def test_the_time_zone_is_the_workgroups_own():
    # 08:30 UTC is 09:30 in Paris (winter): open.
    assert schedule().is_open(datetime(2026, 12, 7, 8, 30, tzinfo=ZoneInfo("UTC")))
    assert not schedule().is_open(datetime(2026, 12, 7, 7, 30, tzinfo=ZoneInfo("UTC")))


def test_a_holiday_closes_the_whole_day_and_the_next_opening_skips_it():
    christmas = schedule(date(2026, 12, 25))  # a Friday
    assert not christmas.is_open(at(2026, 12, 25, 10, 0))
    assert christmas.next_opening(at(2026, 12, 24, 18, 0)) == at(2026, 12, 28, 9, 0)


def test_next_opening_is_later_today_or_the_next_working_day():
    assert schedule().next_opening(at(2026, 12, 7, 12, 15)) == at(2026, 12, 7, 13, 0)
    assert schedule().next_opening(at(2026, 12, 11, 18, 0)) == at(2026, 12, 14, 9, 0)
    assert schedule().next_opening(at(2026, 12, 7, 10, 0)) == at(2026, 12, 7, 10, 0)


def test_no_hours_means_always_open_except_holidays():
    always = Schedule(zone=PARIS, spans=(), holidays=frozenset({date(2026, 1, 1)}))
    assert always.is_open(at(2026, 12, 13, 3, 0))
    assert not always.is_open(at(2026, 1, 1, 12, 0))
    assert always.next_opening(at(2026, 1, 1, 12, 0)) == at(2026, 1, 2, 0, 0)


@pytest.mark.django_db
def test_read_from_the_workgroups_rows():
    workgroup = make_workgroup(time_zone="Europe/Paris")
    BusinessHours.objects.create(
        workgroup=workgroup, weekday=Weekday.MONDAY, opens=time(9), closes=time(17)
    )
    Holiday.objects.create(workgroup=workgroup, date=date(2026, 12, 14), name="Closed")
    assert is_open(workgroup, at(2026, 12, 7, 10, 0))
    assert not is_open(workgroup, at(2026, 12, 8, 10, 0))  # Tuesday: no span
    assert not is_open(workgroup, at(2026, 12, 14, 10, 0))
    # The next Monday is a holiday: the one after.
    assert opening_words(workgroup, at(2026, 12, 7, 18, 0)) == "Monday 21 December at 09:00"
    assert opening_words(workgroup, at(2026, 12, 28, 8, 0)) == "Monday 28 December at 09:00"
    assert opening_words(workgroup, at(2026, 12, 1, 8, 0)) == "Monday 7 December at 09:00"


def test_a_time_zone_must_be_a_real_one():
    validate_time_zone("Europe/Paris")
    with pytest.raises(ValidationError, match="not a time zone"):
        validate_time_zone("Mars/Olympus")
