"""The SLA clock runs only on Belgian business days, outside pauses, DST-proof.

Plain functions, no database: the calendar is pure Python.
"""

from __future__ import annotations

import dataclasses
import random
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from regiohub.meldpunt.sla import BRUSSELS, Calendar, public_holidays
from regiohub.meldpunt.sla import _coordinate as coordinate
from regiohub.meldpunt.sla import _instant as instant

CAL = Calendar()
US = timedelta(microseconds=1)


def bxl(year: int, month: int, day: int, hour: int = 0, minute: int = 0, fold: int = 0):
    """A local Brussels instant."""
    return datetime(year, month, day, hour, minute, tzinfo=BRUSSELS, fold=fold)


def _utc(moment: datetime | None) -> datetime:
    """Instants compared in UTC: aware datetimes sharing a tzinfo compare by wall clock."""
    assert moment is not None
    return moment.astimezone(UTC)


def assert_same_local(actual: datetime | None, expected: datetime) -> None:
    """Same instant, and expressed in Brussels local time."""
    assert actual is not None
    assert actual == expected
    assert actual.tzinfo == BRUSSELS
    assert actual.utcoffset() == expected.utcoffset()


# --- business days -----------------------------------------------------------------------

BELGIAN_HOLIDAYS_2026 = {
    date(2026, 1, 1): "New Year (Thursday)",
    date(2026, 4, 6): "Easter Monday",
    date(2026, 5, 1): "Labour Day (Friday)",
    date(2026, 5, 14): "Ascension (Thursday)",
    date(2026, 5, 25): "Whit Monday",
    date(2026, 7, 21): "National Day (Tuesday)",
    date(2026, 8, 15): "Assumption (Saturday)",
    date(2026, 11, 1): "All Saints (Sunday)",
    date(2026, 11, 11): "Armistice (Wednesday)",
    date(2026, 12, 25): "Christmas (Friday)",
}


def test_weekdays_are_business_days_and_weekends_are_not():
    week = [date(2026, 1, 12) + timedelta(days=i) for i in range(7)]  # Monday .. Sunday
    assert [CAL.is_business_day(d) for d in week] == [True] * 5 + [False] * 2


@pytest.mark.parametrize("holiday", BELGIAN_HOLIDAYS_2026, ids=BELGIAN_HOLIDAYS_2026.get)
def test_each_belgian_public_holiday_of_2026_is_not_a_business_day(holiday):
    assert holiday in public_holidays(2026)
    assert not CAL.is_business_day(holiday)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 4, 3),  # Good Friday is not a public holiday in Belgium
        date(2026, 4, 7),  # the day after Easter Monday
        date(2026, 5, 15),  # the Friday after Ascension ("brugdag") is no holiday by itself
        date(2026, 7, 20),
        date(2026, 11, 10),
        date(2026, 12, 24),
        date(2025, 12, 26),  # Boxing Day is no public holiday (a closing day at most)
        date(2026, 1, 2),
    ],
)
def test_days_around_holidays_are_ordinary_business_days(day):
    assert CAL.is_business_day(day)


def test_public_holidays_are_computed_once_per_year():
    assert public_holidays(2031) is public_holidays(2031)
    assert date(2031, 12, 25) in public_holidays(2031)


def test_a_closing_day_is_not_a_business_day_for_that_municipality_only():
    kortrijk = Calendar(closing_days=frozenset({date(2026, 1, 2), date(2026, 9, 14)}))
    assert not kortrijk.is_business_day(date(2026, 1, 2))
    assert not kortrijk.is_business_day(date(2026, 9, 14))
    assert CAL.is_business_day(date(2026, 1, 2))
    assert CAL.is_business_day(date(2026, 9, 14))


def test_a_closing_day_pushes_the_due_date():
    start = bxl(2025, 12, 31, 15)  # Wednesday; 1 January is a holiday
    assert_same_local(CAL.add_business_days(start, 1), bxl(2026, 1, 2, 15))
    closed_on_2_january = Calendar(closing_days=frozenset({date(2026, 1, 2)}))
    assert_same_local(closed_on_2_january.add_business_days(start, 1), bxl(2026, 1, 5, 15))


def test_closing_days_may_be_given_as_any_iterable_and_the_calendar_stays_immutable():
    calendar = Calendar(closing_days={date(2026, 1, 2)})  # a set, not a frozenset
    assert calendar.closing_days == frozenset({date(2026, 1, 2)})
    assert hash(calendar) == hash(Calendar(closing_days=frozenset({date(2026, 1, 2)})))
    with pytest.raises(dataclasses.FrozenInstanceError):
        calendar.closing_days = frozenset()  # type: ignore[misc]


def test_a_datetime_is_refused_as_closing_day_or_as_day():
    with pytest.raises(TypeError):
        Calendar(closing_days=frozenset({bxl(2026, 1, 2)}))
    with pytest.raises(TypeError):
        CAL.is_business_day(bxl(2026, 1, 2))


# --- due dates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        pytest.param(bxl(2026, 1, 12, 9), 1, bxl(2026, 1, 13, 9), id="monday-plus-one"),
        pytest.param(bxl(2026, 1, 12, 9), 5, bxl(2026, 1, 19, 9), id="a-working-week"),
        pytest.param(bxl(2026, 1, 9, 15), 1, bxl(2026, 1, 12, 15), id="friday-afternoon"),
        pytest.param(bxl(2026, 1, 10, 10), 1, bxl(2026, 1, 13), id="saturday-ends-monday"),
        pytest.param(bxl(2026, 1, 11, 23), 1, bxl(2026, 1, 13), id="sunday-ends-monday"),
        pytest.param(bxl(2026, 1, 12), 1, bxl(2026, 1, 13), id="monday-midnight"),
        pytest.param(bxl(2026, 1, 9), 1, bxl(2026, 1, 10), id="ends-at-friday-midnight"),
        pytest.param(bxl(2026, 4, 6, 10), 1, bxl(2026, 4, 8), id="made-on-easter-monday"),
        pytest.param(bxl(2026, 4, 3, 12), 1, bxl(2026, 4, 7, 12), id="over-easter"),
        pytest.param(bxl(2026, 4, 30, 12), 1, bxl(2026, 5, 4, 12), id="over-labour-day"),
        pytest.param(bxl(2026, 5, 13, 9), 2, bxl(2026, 5, 18, 9), id="over-ascension"),
        pytest.param(bxl(2026, 5, 14, 9), 1, bxl(2026, 5, 16), id="made-on-ascension"),
        pytest.param(bxl(2026, 5, 22, 12), 1, bxl(2026, 5, 26, 12), id="over-whit-monday"),
        pytest.param(bxl(2026, 7, 20, 8), 1, bxl(2026, 7, 22, 8), id="over-national-day"),
        pytest.param(bxl(2026, 8, 14, 12), 1, bxl(2026, 8, 17, 12), id="assumption-on-saturday"),
        pytest.param(bxl(2026, 10, 30, 12), 1, bxl(2026, 11, 2, 12), id="all-saints-on-sunday"),
        pytest.param(bxl(2026, 11, 10, 17), 1, bxl(2026, 11, 12, 17), id="over-armistice"),
        pytest.param(bxl(2026, 12, 24, 12), 1, bxl(2026, 12, 28, 12), id="over-christmas"),
        pytest.param(bxl(2025, 12, 31, 12), 1, bxl(2026, 1, 2, 12), id="over-new-year"),
    ],
)
def test_due_date_counts_only_business_days(start, days, due):
    assert_same_local(CAL.add_business_days(start, days), due)


def test_a_holiday_on_a_weekend_changes_nothing():
    normal_week = CAL.add_business_days(bxl(2026, 8, 7, 12), 1)
    assumption_week = CAL.add_business_days(bxl(2026, 8, 14, 12), 1)
    assert normal_week == bxl(2026, 8, 10, 12)
    assert assumption_week - bxl(2026, 8, 14, 12) == normal_week - bxl(2026, 8, 7, 12)


def test_zero_days_is_the_start_itself_even_on_a_weekend():
    assert_same_local(CAL.add_business_days(bxl(2026, 1, 10, 10), 0), bxl(2026, 1, 10, 10))


def test_the_result_is_in_brussels_time_whatever_the_input_zone():
    friday_15h_brussels = datetime(2026, 1, 9, 14, tzinfo=UTC)
    assert_same_local(CAL.add_business_days(friday_15h_brussels, 1), bxl(2026, 1, 12, 15))
    new_york = ZoneInfo("America/New_York")
    friday_15h_in_new_york = datetime(2026, 1, 9, 9, tzinfo=new_york)
    assert_same_local(CAL.add_business_days(friday_15h_in_new_york, 1), bxl(2026, 1, 12, 15))


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        pytest.param(bxl(2026, 1, 12, 9), 0.5, bxl(2026, 1, 12, 21), id="half-a-day-is-12h"),
        pytest.param(bxl(2026, 1, 12, 9), 0.25, bxl(2026, 1, 12, 15), id="quarter-day"),
        pytest.param(bxl(2026, 1, 12, 9), 0.1, bxl(2026, 1, 12, 11, 24), id="tenth-of-a-day"),
        pytest.param(bxl(2026, 1, 9, 18), 0.25, bxl(2026, 1, 10), id="fills-friday-exactly"),
        pytest.param(bxl(2026, 1, 9, 20), 0.25, bxl(2026, 1, 12, 2), id="spills-to-monday"),
        pytest.param(bxl(2026, 1, 10, 10), 2.5, bxl(2026, 1, 14, 12), id="from-saturday"),
        pytest.param(bxl(2026, 1, 12), 1 / 3, bxl(2026, 1, 12, 8), id="a-third-exactly"),
    ],
)
def test_fractional_days_are_business_time_in_proportion(start, days, due):
    assert_same_local(CAL.add_business_days(start, days), due)


@pytest.mark.parametrize("days", [-1, -0.001, float("nan"), float("inf")])
def test_a_negative_or_non_finite_number_of_days_is_refused(days):
    with pytest.raises(ValueError):
        CAL.add_business_days(bxl(2026, 1, 12, 9), days)


def test_days_may_be_a_decimal_as_stored_in_the_database():
    assert_same_local(
        CAL.add_business_days(bxl(2026, 1, 12, 9), Decimal("1.5")), bxl(2026, 1, 13, 21)
    )


def test_a_non_number_of_days_is_refused():
    with pytest.raises(TypeError):
        CAL.add_business_days(bxl(2026, 1, 12, 9), "1")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        CAL.add_business_days(bxl(2026, 1, 12, 9), True)


# --- pauses ------------------------------------------------------------------------------


def test_a_pause_stops_the_clock():
    start = bxl(2026, 1, 12, 9)  # Monday
    pause = (bxl(2026, 1, 12, 12), bxl(2026, 1, 13, 12))  # one business day
    assert_same_local(CAL.add_business_days(start, 1, [pause]), bxl(2026, 1, 14, 9))
    assert CAL.business_days_between(start, bxl(2026, 1, 14, 9), [pause]) == 1.0


def test_several_pauses_add_up():
    start = bxl(2026, 1, 12, 9)
    pauses = [
        (bxl(2026, 1, 12, 10), bxl(2026, 1, 12, 12)),  # 2 hours
        (bxl(2026, 1, 13, 1), bxl(2026, 1, 13, 4)),  # 3 hours
    ]
    assert_same_local(CAL.add_business_days(start, 1, pauses), bxl(2026, 1, 13, 14))


def test_overlapping_unsorted_pauses_count_as_their_union():
    start = bxl(2026, 1, 12, 9)
    messy = [
        (bxl(2026, 1, 12, 12), bxl(2026, 1, 12, 16)),
        (bxl(2026, 1, 12, 11), bxl(2026, 1, 12, 13)),
        (bxl(2026, 1, 12, 10), bxl(2026, 1, 12, 14)),
        (bxl(2026, 1, 12, 16), bxl(2026, 1, 12, 16)),  # empty
        (bxl(2026, 1, 12, 13), bxl(2026, 1, 12, 15)),  # inside another one
    ]
    union = [(bxl(2026, 1, 12, 10), bxl(2026, 1, 12, 16))]
    due = bxl(2026, 1, 13, 15)
    assert_same_local(CAL.add_business_days(start, 1, messy), due)
    assert_same_local(CAL.add_business_days(start, 1, union), due)
    end = bxl(2026, 1, 20, 7)
    assert CAL.business_days_between(start, end, messy) == CAL.business_days_between(
        start, end, union
    )


def test_touching_pauses_count_as_one():
    start = bxl(2026, 1, 12, 9)
    pauses = [
        (bxl(2026, 1, 12, 14), bxl(2026, 1, 12, 18)),
        (bxl(2026, 1, 12, 10), bxl(2026, 1, 12, 14)),
    ]
    assert_same_local(CAL.add_business_days(start, 1, pauses), bxl(2026, 1, 13, 17))


def test_a_pause_entirely_on_a_weekend_changes_nothing():
    start = bxl(2026, 1, 9, 15)  # Friday
    weekend_pause = (bxl(2026, 1, 10, 10), bxl(2026, 1, 11, 20))
    assert_same_local(CAL.add_business_days(start, 1, [weekend_pause]), bxl(2026, 1, 12, 15))


def test_a_pause_on_a_holiday_changes_nothing():
    start = bxl(2026, 5, 13, 9)
    ascension_pause = (bxl(2026, 5, 14, 8), bxl(2026, 5, 14, 17))
    assert_same_local(CAL.add_business_days(start, 2, [ascension_pause]), bxl(2026, 5, 18, 9))


def test_only_the_part_of_a_pause_on_business_time_counts():
    start = bxl(2026, 1, 9, 15)  # Friday
    pause = (bxl(2026, 1, 9, 20), bxl(2026, 1, 10, 12))  # 4 hours on Friday, rest on Saturday
    assert_same_local(CAL.add_business_days(start, 1, [pause]), bxl(2026, 1, 12, 19))


def test_a_pause_before_the_report_was_made_changes_nothing():
    start = bxl(2026, 1, 12, 9)
    earlier = (bxl(2026, 1, 5, 9), bxl(2026, 1, 12, 9))
    assert_same_local(CAL.add_business_days(start, 1, [earlier]), bxl(2026, 1, 13, 9))


def test_a_report_made_during_a_pause_starts_its_clock_when_the_pause_ends():
    start = bxl(2026, 1, 12, 9)
    pause = (bxl(2026, 1, 12, 8), bxl(2026, 1, 12, 12))
    assert_same_local(CAL.add_business_days(start, 1, [pause]), bxl(2026, 1, 13, 12))


def test_the_due_moment_may_fall_exactly_at_the_start_of_a_pause():
    start = bxl(2026, 1, 12, 9)
    pause = (bxl(2026, 1, 13, 9), bxl(2026, 1, 14, 9))
    assert_same_local(CAL.add_business_days(start, 1, [pause]), bxl(2026, 1, 13, 9))


def test_an_open_pause_makes_the_due_date_unknown():
    start = bxl(2026, 1, 12, 9)
    open_pause = (bxl(2026, 1, 12, 12), None)
    assert CAL.add_business_days(start, 1, [open_pause]) is None
    paused_from_the_start = (bxl(2026, 1, 12, 8), None)
    assert CAL.add_business_days(start, 0.01, [paused_from_the_start]) is None


def test_an_open_pause_swallows_later_pauses_and_still_hides_the_due_date():
    start = bxl(2026, 1, 12, 9)
    pauses = [
        (bxl(2026, 1, 20, 9), bxl(2026, 1, 21, 9)),
        (bxl(2026, 1, 12, 12), None),
        (bxl(2026, 1, 14, 9), bxl(2026, 1, 15, 9)),
    ]
    assert CAL.add_business_days(start, 1, pauses) is None


def test_an_open_pause_that_starts_after_the_due_moment_keeps_the_due_date():
    start = bxl(2026, 1, 12, 9)
    late_open_pause = (bxl(2026, 1, 14, 9), None)  # report was already overdue
    assert_same_local(CAL.add_business_days(start, 1, [late_open_pause]), bxl(2026, 1, 13, 9))


def test_elapsed_time_stops_at_an_open_pause():
    start = bxl(2026, 1, 12, 9)
    open_pause = (bxl(2026, 1, 12, 21), None)
    assert CAL.business_days_between(start, bxl(2026, 3, 1), [open_pause]) == 0.5


def test_a_pause_ending_before_it_starts_is_refused():
    with pytest.raises(ValueError):
        CAL.add_business_days(bxl(2026, 1, 12, 9), 1, [(bxl(2026, 1, 13), bxl(2026, 1, 12))])


# --- daylight saving time -----------------------------------------------------------------


def test_due_date_keeps_the_local_hour_over_the_spring_dst_change():
    start = bxl(2026, 3, 27, 15)  # Friday, CET; clocks go forward on Sunday 29 March
    due = CAL.add_business_days(start, 1)
    assert_same_local(due, bxl(2026, 3, 30, 15))
    assert due.utcoffset() == timedelta(hours=2)
    assert _utc(due) - _utc(start) == timedelta(hours=71)  # one real hour less
    assert CAL.business_days_between(start, due) == 1.0


def test_due_date_keeps_the_local_hour_over_the_autumn_dst_change():
    start = bxl(2026, 10, 23, 15)  # Friday, CEST; clocks go back on Sunday 25 October
    due = CAL.add_business_days(start, 1)
    assert_same_local(due, bxl(2026, 10, 26, 15))
    assert due.utcoffset() == timedelta(hours=1)
    assert _utc(due) - _utc(start) == timedelta(hours=73)  # one real hour more
    assert CAL.business_days_between(start, due) == 1.0


def test_a_report_made_in_the_repeated_autumn_hour_is_due_at_the_end_of_monday():
    first = bxl(2026, 10, 25, 2, 30, fold=0)
    second = bxl(2026, 10, 25, 2, 30, fold=1)
    assert second - first == timedelta(0)  # same wall clock ...
    assert _utc(second) - _utc(first) == timedelta(hours=1)  # ... not the same instant
    for start in (first, second):
        assert_same_local(CAL.add_business_days(start, 1), bxl(2026, 10, 27))
    assert CAL.business_days_between(first, second) == 0.0


def test_a_pause_over_a_dst_weekend_stops_exactly_its_business_part():
    start = bxl(2026, 3, 27, 9)
    pause = (bxl(2026, 3, 27, 12), bxl(2026, 3, 30, 12))  # Friday noon to Monday noon
    assert_same_local(CAL.add_business_days(start, 1, [pause]), bxl(2026, 3, 31, 9))
    assert CAL.business_days_between(bxl(2026, 3, 27), bxl(2026, 3, 31), [pause]) == 1.0


def test_a_dst_day_is_one_whole_day_and_its_fractions_follow_real_time():
    spring, autumn = date(2026, 3, 29), date(2026, 10, 25)
    assert coordinate(bxl(2026, 3, 30)) - coordinate(bxl(2026, 3, 29)) == 1
    assert coordinate(bxl(2026, 10, 26)) - coordinate(bxl(2026, 10, 25)) == 1
    # noon CEST on the 23-hour day is 11 real hours after midnight
    assert coordinate(bxl(2026, 3, 29, 12)) == spring.toordinal() + Fraction(11, 23)
    # the repeated hour maps to two distinct, ordered positions on the 25-hour day
    early = coordinate(bxl(2026, 10, 25, 2, 30, fold=0))
    late = coordinate(bxl(2026, 10, 25, 2, 30, fold=1))
    assert early - autumn.toordinal() == Fraction(5, 50)
    assert late - autumn.toordinal() == Fraction(7, 50)
    for moment in (
        bxl(2026, 3, 29, 1, 59),
        bxl(2026, 3, 29, 3),
        bxl(2026, 10, 25, 2, 30, fold=0),
        bxl(2026, 10, 25, 2, 30, fold=1),
        bxl(2026, 10, 25, 23, 59),
    ):
        assert instant(coordinate(moment)).astimezone(UTC) == moment.astimezone(UTC)


# --- elapsed business time ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "elapsed"),
    [
        pytest.param(bxl(2026, 1, 9, 15), bxl(2026, 1, 12, 15), 1.0, id="friday-to-monday"),
        pytest.param(bxl(2026, 1, 10), bxl(2026, 1, 12), 0.0, id="a-weekend"),
        pytest.param(bxl(2026, 1, 12), bxl(2026, 1, 19), 5.0, id="a-week"),
        pytest.param(bxl(2026, 5, 11), bxl(2026, 5, 18), 4.0, id="ascension-week"),
        pytest.param(bxl(2026, 12, 21), bxl(2027, 1, 4), 8.0, id="christmas-to-new-year"),
        pytest.param(bxl(2026, 1, 12, 9), bxl(2026, 1, 12, 21), 0.5, id="twelve-hours"),
        pytest.param(bxl(2026, 1, 1), bxl(2027, 1, 1), 253.0, id="the-year-2026"),
    ],
)
def test_elapsed_business_days_between_two_instants(start, end, elapsed):
    assert CAL.business_days_between(start, end) == elapsed


def test_elapsed_time_is_never_negative():
    assert CAL.business_days_between(bxl(2026, 1, 13), bxl(2026, 1, 12)) == 0.0
    assert CAL.business_days_between(bxl(2026, 1, 13), bxl(2026, 1, 13)) == 0.0


def test_a_closing_day_does_not_count_as_elapsed():
    calendar = Calendar(closing_days=frozenset({date(2026, 1, 14)}))
    assert calendar.business_days_between(bxl(2026, 1, 12), bxl(2026, 1, 19)) == 4.0


def _random_instant(rng: random.Random) -> datetime:
    """In UTC, so that arithmetic and comparisons are on instants, not wall-clock times."""
    seconds = rng.uniform(0, 3 * 365 * 86400)
    return datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)


def _random_pauses(rng: random.Random, around: datetime) -> list[tuple[datetime, datetime]]:
    pauses = []
    for _ in range(rng.randint(0, 4)):
        pause_start = around + timedelta(hours=rng.uniform(-48, 24 * 30))
        pauses.append((pause_start, pause_start + timedelta(hours=rng.uniform(0, 24 * 6))))
    return pauses


def test_elapsed_time_up_to_the_due_date_is_the_requested_number_of_days():
    rng = random.Random(20260329)
    for _ in range(400):
        start = _random_instant(rng)
        days = rng.choice([rng.randint(0, 20), rng.uniform(0, 30)])
        pauses = _random_pauses(rng, start)
        due = CAL.add_business_days(start, days, pauses)
        assert _utc(due) >= start
        assert CAL.business_days_between(start, due, pauses) == pytest.approx(days, abs=1e-9)


def test_the_due_date_for_the_elapsed_time_is_the_earliest_moment_reaching_it():
    rng = random.Random(20261025)
    for _ in range(400):
        start = _random_instant(rng)
        end = start + timedelta(hours=rng.uniform(0, 24 * 60))
        pauses = _random_pauses(rng, start)
        elapsed = CAL.business_days_between(start, end, pauses)
        assert elapsed >= 0
        due = CAL.add_business_days(start, elapsed, pauses)
        assert start <= _utc(due) <= end + US
        assert CAL.business_days_between(due, end, pauses) == pytest.approx(0, abs=1e-9)


def test_float_rounding_of_the_elapsed_time_never_skips_a_weekend():
    friday_midnight = bxl(2026, 1, 10)
    for microseconds in range(0, 5_000_000, 99_991):
        start = bxl(2026, 1, 8, 10) + timedelta(microseconds=microseconds)  # Thursday
        elapsed = CAL.business_days_between(start, bxl(2026, 1, 10, 12), [])
        assert_same_local(CAL.add_business_days(start, elapsed), friday_midnight)


def test_the_due_date_grows_with_the_number_of_days():
    rng = random.Random(11)
    for _ in range(100):
        start = _random_instant(rng)
        pauses = _random_pauses(rng, start)
        dues = [_utc(CAL.add_business_days(start, n / 4, pauses)) for n in range(12)]
        assert dues == sorted(dues)


# --- time zones are required -------------------------------------------------------------

NAIVE = datetime(2026, 1, 12, 9)


def test_a_naive_start_is_refused():
    with pytest.raises(ValueError, match="aware"):
        CAL.add_business_days(NAIVE, 1)
    with pytest.raises(ValueError, match="aware"):
        CAL.business_days_between(NAIVE, bxl(2026, 1, 13))


def test_a_naive_end_is_refused():
    with pytest.raises(ValueError, match="aware"):
        CAL.business_days_between(bxl(2026, 1, 12), NAIVE)


def test_a_naive_pause_is_refused():
    start = bxl(2026, 1, 12, 9)
    with pytest.raises(ValueError, match="aware"):
        CAL.add_business_days(start, 1, [(NAIVE, bxl(2026, 1, 13))])
    with pytest.raises(ValueError, match="aware"):
        CAL.add_business_days(start, 1, [(bxl(2026, 1, 12), NAIVE)])


# --- long spans --------------------------------------------------------------------------


def test_a_whole_year_of_business_days_ends_on_new_years_eve():
    assert_same_local(CAL.add_business_days(bxl(2026, 1, 1), 253), bxl(2027, 1, 1))
    assert_same_local(CAL.add_business_days(bxl(2026, 1, 1), 250), bxl(2026, 12, 29))


def test_long_spans_stay_fast():
    calendar = Calendar(closing_days=frozenset({date(2026, 1, 2), date(2026, 12, 26)}))
    rng = random.Random(250)
    began = time.perf_counter()
    for _ in range(20):
        start = _random_instant(rng)
        pauses = _random_pauses(rng, start)
        due = calendar.add_business_days(start, 250, pauses)
        assert due is not None
        calendar.add_business_days(start, 365, pauses)
        calendar.business_days_between(start, start + timedelta(days=10 * 365), pauses)
    assert time.perf_counter() - began < 2.0


# --- 11 July and yearly closing days -----------------------------------------------------

FLANDERS = Calendar(flemish_community_holiday=True)


@pytest.mark.parametrize("day", [date(2025, 7, 11), date(2029, 7, 11)], ids=["Friday", "Wednesday"])
def test_11_july_on_a_weekday_is_no_business_day_for_a_flemish_administration(day):
    assert not FLANDERS.is_business_day(day)
    assert CAL.is_business_day(day)  # not a federal public holiday
    assert FLANDERS.is_business_day(day - timedelta(days=1))


def test_11_july_pushes_the_due_date_unless_switched_off():
    start = bxl(2025, 7, 10, 15)  # Thursday
    assert_same_local(FLANDERS.add_business_days(start, 1), bxl(2025, 7, 14, 15))
    assert_same_local(CAL.add_business_days(start, 1), bxl(2025, 7, 11, 15))
    assert FLANDERS.business_days_between(start, bxl(2025, 7, 14, 15)) == 1.0


def test_11_july_on_a_saturday_gives_no_day_in_lieu():
    start = bxl(2026, 7, 10, 15)  # Friday; 11 July 2026 is a Saturday
    assert_same_local(FLANDERS.add_business_days(start, 1), bxl(2026, 7, 13, 15))


NEW_YEARS_EVE = Calendar(yearly_closing_days=frozenset({date(2026, 12, 31)}))


@pytest.mark.parametrize(
    ("start", "due"),
    [
        # Thursday; Friday 31 December closed, Saturday 1 January, Sunday
        (bxl(2027, 12, 30, 15), bxl(2028, 1, 3, 15)),
        # Monday; Tuesday 31 December closed, Wednesday 1 January a public holiday
        (bxl(2030, 12, 30, 15), bxl(2031, 1, 2, 15)),
    ],
    ids=["2027", "2030"],
)
def test_a_yearly_closing_day_closes_every_year(start, due):
    assert not NEW_YEARS_EVE.is_business_day(date(start.year, 12, 31))
    assert_same_local(NEW_YEARS_EVE.add_business_days(start, 1), due)
    assert NEW_YEARS_EVE.business_days_between(start, due) == 1.0


def test_a_yearly_closing_day_does_not_close_the_years_before_its_first():
    from_2027 = Calendar(yearly_closing_days=frozenset({date(2027, 12, 31)}))
    assert from_2027.is_business_day(date(2026, 12, 31))  # a Thursday, before it was decided
    assert not from_2027.is_business_day(date(2027, 12, 31))
    assert not from_2027.is_business_day(date(2030, 12, 31))


def test_a_one_off_closing_day_does_not_repeat():
    once = Calendar(closing_days=frozenset({date(2026, 12, 31)}))
    assert not once.is_business_day(date(2026, 12, 31))
    assert once.is_business_day(date(2030, 12, 31))


LEAP_DAY = Calendar(yearly_closing_days=frozenset({date(2028, 2, 29)}))


def test_a_yearly_29_february_closes_in_leap_years_only():
    assert not LEAP_DAY.is_business_day(date(2028, 2, 29))  # Tuesday
    assert not LEAP_DAY.is_business_day(date(2036, 2, 29))  # Friday
    # 2029 has no 29 February; nothing takes its place.
    assert LEAP_DAY.is_business_day(date(2029, 2, 28))
    assert LEAP_DAY.is_business_day(date(2029, 3, 1))
    assert_same_local(LEAP_DAY.add_business_days(bxl(2029, 2, 28, 15), 1), bxl(2029, 3, 1, 15))
    assert_same_local(LEAP_DAY.add_business_days(bxl(2028, 2, 28, 15), 1), bxl(2028, 3, 1, 15))


def test_yearly_closing_days_are_dates_and_keep_the_calendar_hashable():
    calendar = Calendar(yearly_closing_days={date(2026, 1, 2)}, flemish_community_holiday=True)
    assert calendar == Calendar(
        yearly_closing_days=frozenset({date(2026, 1, 2)}), flemish_community_holiday=True
    )
    assert hash(calendar) == hash(
        Calendar(yearly_closing_days=frozenset({date(2026, 1, 2)}), flemish_community_holiday=True)
    )
    assert calendar != Calendar(yearly_closing_days={date(2026, 1, 2)})
    with pytest.raises(TypeError):
        Calendar(yearly_closing_days=frozenset({bxl(2026, 1, 2)}))


# --- the calendar of a municipality, from the database ------------------------------------


@pytest.mark.django_db
def test_a_municipality_is_closed_on_11_july_unless_its_sla_calendar_says_otherwise(region):
    from regiohub.meldpunt.models import SlaCalendar
    from regiohub.meldpunt.services import calendar_for

    kortrijk = region["KOR"]
    assert calendar_for(kortrijk).flemish_community_holiday  # no row: the default
    SlaCalendar.objects.create(organisation=kortrijk, flemish_community_holiday=False)
    assert not calendar_for(kortrijk).flemish_community_holiday
    assert calendar_for(region["MEN"]).flemish_community_holiday


@pytest.mark.django_db
def test_closing_days_come_once_or_yearly_from_the_database(region):
    from regiohub.meldpunt.models import ClosingDay, SlaCalendar
    from regiohub.meldpunt.services import calendar_for

    kortrijk = region["KOR"]
    ClosingDay.objects.create(organisation=kortrijk, date=date(2026, 12, 31), repeats_yearly=True)
    ClosingDay.objects.create(organisation=kortrijk, date=date(2026, 9, 14))
    SlaCalendar.objects.create(organisation=kortrijk, flemish_community_holiday=True)
    calendar = calendar_for(kortrijk)
    assert calendar == Calendar(
        closing_days=frozenset({date(2026, 9, 14)}),
        yearly_closing_days=frozenset({date(2026, 12, 31)}),
        flemish_community_holiday=True,
    )
    assert not calendar.is_business_day(date(2030, 12, 31))
    assert calendar.is_business_day(date(2027, 9, 14))
    assert calendar_for(region["MEN"]) == FLANDERS


@pytest.mark.django_db
def test_due_dates_follow_the_municipalitys_calendar_each_time_they_are_computed(categories):
    """Filing, a status change and a question all recompute the due dates with the same
    calendar, so they agree; a changed calendar applies from the next computation."""
    from regiohub.core.tests.factories import MembershipFactory
    from regiohub.meldpunt import services
    from regiohub.meldpunt.models import Category, Report, SlaCalendar
    from regiohub.meldpunt.tests.factories import file_report
    from regiohub.meldpunt.workflow import Status

    agent = MembershipFactory(organisation=categories["KOR"], agent=True).user
    Category.objects.filter(organisation=categories["KOR"], code="pothole").update(
        response_days=Decimal("1"), resolution_days=Decimal("2")
    )
    report = file_report()
    Report.objects.filter(pk=report.pk).update(created_at=bxl(2025, 7, 10, 15))  # Thursday
    report.refresh_from_db()
    services.update_due_dates(report)
    assert_same_local(report.response_due_at, bxl(2025, 7, 14, 15))
    assert_same_local(report.resolution_due_at, bxl(2025, 7, 15, 15))

    report = services.change_status(report, Status.ACKNOWLEDGED, actor=agent)
    report.refresh_from_db()
    assert _utc(report.response_due_at) == _utc(bxl(2025, 7, 14, 15))
    assert _utc(report.resolution_due_at) == _utc(bxl(2025, 7, 15, 15))

    SlaCalendar.objects.create(organisation=categories["KOR"], flemish_community_holiday=False)
    report = services.change_status(report, Status.IN_PROGRESS, actor=agent)
    report.refresh_from_db()
    assert _utc(report.response_due_at) == _utc(bxl(2025, 7, 11, 15))
    assert _utc(report.resolution_due_at) == _utc(bxl(2025, 7, 14, 15))


@pytest.mark.django_db
def test_administrators_set_11_july_and_yearly_closing_days_in_the_admin(region, superuser):
    from regiohub.core.testing import staff_client
    from regiohub.meldpunt.models import ClosingDay, SlaCalendar
    from regiohub.meldpunt.services import calendar_for

    admin = staff_client(superuser)
    kortrijk = region["KOR"]
    response = admin.post(
        "/admin/meldpunt/slacalendar/add/", {"organisation": kortrijk.pk}
    )  # the box left unticked: open on 11 July
    assert response.status_code == 302, response.content[:2000]
    assert SlaCalendar.objects.get(organisation=kortrijk).flemish_community_holiday is False
    response = admin.post(
        "/admin/meldpunt/closingday/add/",
        {
            "organisation": kortrijk.pk,
            "date": "2026-12-31",
            "description": "Oudejaarsdag",
            "repeats_yearly": "on",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert ClosingDay.objects.get(organisation=kortrijk).repeats_yearly
    calendar = calendar_for(kortrijk)
    assert calendar.is_business_day(date(2029, 7, 11))
    assert not calendar.is_business_day(date(2030, 12, 31))
    assert admin.get("/admin/meldpunt/slacalendar/").status_code == 200
    assert admin.get("/admin/meldpunt/closingday/?repeats_yearly__exact=1").status_code == 200
