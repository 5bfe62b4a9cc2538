"""The SLA clock of a report (behandeltermijn): a business-day calendar, pure Python.

How the clock runs
------------------
* The clock runs only on **business days**: Monday to Friday, not a Belgian public holiday
  (New Year, Easter Monday, Labour Day, Ascension, Whit Monday, 21 July, 15 August,
  1 November, 11 November, Christmas; from the ``holidays`` package), not 11 July for an
  administration in Flanders (the Flemish community holiday, a day off for Flemish local
  government though not a federal public holiday; :attr:`Calendar.flemish_community_holiday`)
  and not one of the municipality's own **closing days**: once
  (:attr:`Calendar.closing_days`, the local fair day of 2026) or every year from a first
  date on (:attr:`Calendar.yearly_closing_days`, e.g. 2 January, 26 December).
* A yearly closing day on **29 February** closes only in leap years. In other years that
  day does not exist and nothing takes its place: neither 28 February nor 1 March closes
  (moving it would lengthen deadlines on a day nobody decided to close).
* Closing days are whole days. A holiday or closing day on a weekend gives no day in lieu:
  the clock already stood still that day.
* A business day is a whole **local calendar day** in Europe/Brussels, 00:00 to 24:00. It
  counts as exactly one day even when a DST change makes it 23 or 25 hours long; within
  such a day the clock advances in proportion to real elapsed time (half of a 25-hour day
  is 12.5 hours). On an ordinary day, 0.5 business days is 12 hours.
* Time on weekends, public holidays, closing days and inside **pauses** does not count. A
  pause ``(start, end)`` stops the clock from ``start`` to ``end``; ``end=None`` means the
  report is still paused. Pauses may overlap, touch, be unsorted, or lie (partly) outside
  the measured span; only their union matters.

The two questions
-----------------
* :meth:`Calendar.add_business_days` ``(start, n)``: the instant at which exactly ``n``
  business days of running clock have elapsed since ``start``. A report made Friday 15:00
  with ``n=1`` is due Monday 15:00; made Saturday 10:00 it is due Tuesday 00:00 (the end of
  Monday). When the due moment falls exactly at the end of a business day, the result is
  the following midnight, not the start of the next business day. ``n=0`` returns
  ``start`` itself. If the clock is stopped by an open pause before ``n`` days have run,
  the due date cannot be known yet and the result is ``None``; an open pause that begins
  only after the due moment does not hide it (the deadline had already passed).
* :meth:`Calendar.business_days_between` ``(start, end)``: the running business time
  between two instants, in days as a float, never negative (``0.0`` if ``end`` is not after
  ``start``). It is the inverse of the former: ``business_days_between(s, add(s, n)) == n``.

Both take aware datetimes (naive ones raise :class:`ValueError`) and return aware datetimes
in Europe/Brussels, rounded to the microsecond. Because ``days`` is usually a float, an
amount that reaches the end of a stretch of running clock to within half a microsecond ends
there: feeding ``business_days_between`` back into ``add_business_days`` never skips a
weekend because of float rounding. Internally every instant becomes an exact
local-day coordinate, ``date.toordinal() + fraction of that local day`` as a
:class:`~fractions.Fraction`, so there is no float drift and no DST arithmetic by hand.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from numbers import Real
from zoneinfo import ZoneInfo

import holidays

BRUSSELS = ZoneInfo("Europe/Brussels")
COUNTRY = "BE"

Pause = tuple[datetime, datetime | None]

_MICROSECOND = timedelta(microseconds=1)
# Half a microsecond of a day: below the resolution of the result, above float rounding of
# ``days`` (so feeding a float from business_days_between back in cannot skip a weekend).
_TOLERANCE = Fraction(1, 2 * 86_400 * 10**6)
_SATURDAY = 5
#: 11 July, Feest van de Vlaamse Gemeenschap (month, day).
FLEMISH_COMMUNITY_HOLIDAY = (7, 11)


@lru_cache(maxsize=256)
def public_holidays(year: int) -> frozenset[date]:
    """The Belgian public holidays of ``year`` (computed once per year, then cached)."""
    return frozenset(holidays.country_holidays(COUNTRY, years=year).keys())


@dataclass(frozen=True)
class Calendar:
    """The business days of one municipality: Belgian public holidays, 11 July when it is a
    Flemish administration, and its closing days.

    ``closing_days`` close once. Each date of ``yearly_closing_days`` closes that day of the
    month every year from its own year on (a yearly 2 January 2026 closes 2 January 2027 and
    2030, not 2 January 2025: earlier deadlines do not move). Both may be given as any
    iterable of dates; they are stored as frozensets so a calendar stays hashable and
    immutable.
    """

    closing_days: frozenset[date] = frozenset()
    yearly_closing_days: frozenset[date] = frozenset()
    flemish_community_holiday: bool = False
    #: (month, day) -> the first year a yearly closing day closes.
    _yearly_from: dict[tuple[int, int], int] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        yearly_from: dict[tuple[int, int], int] = {}
        for name in ("closing_days", "yearly_closing_days"):
            days = frozenset(getattr(self, name))
            for day in days:
                if isinstance(day, datetime) or not isinstance(day, date):
                    raise TypeError(f"closing days must be dates, not {day!r}")
            object.__setattr__(self, name, days)
        for day in self.yearly_closing_days:
            key = (day.month, day.day)
            yearly_from[key] = min(day.year, yearly_from.get(key, day.year))
        object.__setattr__(self, "_yearly_from", yearly_from)

    def is_business_day(self, day: date) -> bool:
        """Whether the clock runs on ``day``: Mon-Fri, no public holiday, no closing day."""
        if isinstance(day, datetime):
            raise TypeError("pass a date (the local Brussels date), not a datetime")
        if day.weekday() >= _SATURDAY or day in public_holidays(day.year):
            return False
        if day in self.closing_days:
            return False
        month_day = (day.month, day.day)
        if self.flemish_community_holiday and month_day == FLEMISH_COMMUNITY_HOLIDAY:
            return False
        first_year = self._yearly_from.get(month_day)
        return first_year is None or day.year < first_year

    def add_business_days(
        self, start: datetime, days: float, pauses: Sequence[Pause] = ()
    ) -> datetime | None:
        """The instant at which ``days`` business days of running clock have elapsed.

        ``days`` may be fractional (``0.5`` is half a business day; an int, float, Decimal or
        Fraction) but not negative.
        Returns ``None`` when an open pause stops the clock before that moment is reached.
        """
        x = _coordinate(start)
        remaining = _amount(days)
        if remaining == 0:
            return start.astimezone(BRUSSELS)
        for seg_start, seg_end in self._running(x, _merge(pauses)):
            length = seg_end - seg_start
            if length >= remaining - _TOLERANCE:
                return _instant(seg_start + min(remaining, length))
            remaining -= length
        return None

    def business_days_between(
        self, start: datetime, end: datetime, pauses: Sequence[Pause] = ()
    ) -> float:
        """The running business time from ``start`` to ``end``, in days (never negative)."""
        x, x_end = _coordinate(start), _coordinate(end)
        merged = _merge(pauses)  # validated even when the span is empty
        if x_end <= x:
            return 0.0
        total = Fraction(0)
        for seg_start, seg_end in self._running(x, merged):
            if seg_start >= x_end:
                break
            total += min(seg_end, x_end) - seg_start
        return float(total)

    def _running(
        self, x: Fraction, pauses: list[tuple[Fraction, Fraction | None]]
    ) -> Iterator[tuple[Fraction, Fraction]]:
        """The intervals of running clock from coordinate ``x`` on, in order.

        Endless unless an open pause stops the clock for good. ``pauses`` are merged:
        sorted, disjoint, and only the last may be open (end ``None``).
        """
        i = 0
        while True:
            while i < len(pauses) and (end := pauses[i][1]) is not None and end <= x:
                i += 1
            if i < len(pauses) and pauses[i][0] <= x:
                end = pauses[i][1]
                if end is None:
                    return
                x = end
                i += 1
                continue
            ordinal = math.floor(x)
            next_midnight = Fraction(ordinal + 1)
            if not self.is_business_day(date.fromordinal(ordinal)):
                x = next_midnight
                continue
            seg_end = next_midnight
            if i < len(pauses) and pauses[i][0] < seg_end:
                seg_end = pauses[i][0]
            yield x, seg_end
            x = seg_end


def _amount(days: float) -> Fraction:
    if not isinstance(days, Real | Decimal) or isinstance(days, bool):
        raise TypeError(f"days must be a number, not {days!r}")
    if not math.isfinite(days) or days < 0:
        raise ValueError(f"days must be a finite number >= 0, not {days!r}")
    return Fraction(days)


def _require_aware(moment: datetime, name: str = "datetime") -> None:
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, not {moment!r}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be time-zone aware, got naive {moment!r}")


def _local_midnight_utc(day: date) -> datetime:
    """00:00 of ``day`` in Brussels, as UTC (midnight always exists there: DST is at 2-3h)."""
    return datetime.combine(day, time(), tzinfo=BRUSSELS).astimezone(UTC)


def _day_bounds(day: date) -> tuple[datetime, int]:
    """Local midnight of ``day`` (UTC) and the day's real length in microseconds."""
    midnight = _local_midnight_utc(day)
    length = (_local_midnight_utc(day + timedelta(days=1)) - midnight) // _MICROSECOND
    return midnight, length


def _coordinate(moment: datetime, name: str = "datetime") -> Fraction:
    """``moment`` as local-day ordinal + exact fraction of that (23/24/25-hour) day."""
    _require_aware(moment, name)
    day = moment.astimezone(BRUSSELS).date()
    midnight, length = _day_bounds(day)
    # Subtract in UTC: aware datetimes sharing a tzinfo subtract as wall-clock times.
    elapsed = (moment.astimezone(UTC) - midnight) // _MICROSECOND
    return day.toordinal() + Fraction(elapsed, length)


def _instant(x: Fraction) -> datetime:
    """The aware Brussels datetime at coordinate ``x``, rounded to the microsecond."""
    ordinal = math.floor(x)
    midnight, length = _day_bounds(date.fromordinal(ordinal))
    offset = round((x - ordinal) * length)
    return (midnight + offset * _MICROSECOND).astimezone(BRUSSELS)


def _merge(pauses: Sequence[Pause]) -> list[tuple[Fraction, Fraction | None]]:
    """Pauses as sorted, disjoint coordinate intervals; an open pause absorbs all later ones."""
    intervals: list[tuple[Fraction, Fraction | None]] = []
    for pause in pauses:
        pause_start, pause_end = pause
        a = _coordinate(pause_start, "pause start")
        b = None if pause_end is None else _coordinate(pause_end, "pause end")
        if b is not None and b < a:
            raise ValueError(f"pause ends before it starts: {pause!r}")
        if b != a:
            intervals.append((a, b))
    intervals.sort(key=lambda interval: interval[0])
    merged: list[tuple[Fraction, Fraction | None]] = []
    for a, b in intervals:
        if merged:
            last_a, last_b = merged[-1]
            if last_b is None:
                break
            if a <= last_b:
                merged[-1] = (last_a, None if b is None else max(last_b, b))
                continue
        merged.append((a, b))
    return merged
