"""Time helpers shared by feeds: whole hours and calendar-month windows, always in UTC."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

HOUR = timedelta(hours=1)


def require_aware(when: datetime, name: str = "time") -> datetime:
    """``when`` in UTC; a naive datetime is a programming error (which zone was meant?)."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {when!r}")
    return when.astimezone(UTC)


def floor_hour(when: datetime) -> datetime:
    """The start of the hour ``when`` falls in, in UTC."""
    return require_aware(when).replace(minute=0, second=0, microsecond=0)


def add_months(when: datetime, months: int) -> datetime:
    """``when`` plus ``months`` calendar months; the day is clamped (31 Aug + 3 = 30 Nov)."""
    index = when.month - 1 + months
    year, month = when.year + index // 12, index % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


def month_windows(
    start: datetime, end: datetime, months: int
) -> Iterator[tuple[datetime, datetime]]:
    """Consecutive closed-open windows ``[a, b)`` covering ``[start, end)``, each at most
    ``months`` calendar months long."""
    while start < end:
        stop = min(add_months(start, months), end)
        yield start, stop
        start = stop
