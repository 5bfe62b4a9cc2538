"""How well reports are handled, per municipality x category x period (ADR 0039).

Every figure is about the reports *filed* in a period (a cohort): what happened to them
since. The definitions are in :data:`DEFINITIONS`, shown on the page as computed here.

Counting a million reports for every page view is too slow, so the reports of each
municipality, category and local month are counted ahead into a ``StatisticsMonth``
cell: :func:`refresh_months` recounts the months whose reports changed (a job every few
minutes, :func:`refresh_changed`), and :func:`compute` adds cells up into the periods and
rows asked for. Counts add up; the median lead time is taken from the lead times each
cell keeps, so it is exact for any grouping; "first time right" is judged at the moment
of the question (``now``, never before the count): the cell counts the reports judged
when it was counted and keeps the first resolutions of the others.

Other modules read this through ``meldpunt.queries``.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

import numpy as np
from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from regiohub.core.models import Organisation
from regiohub.meldpunt.models import Category, Report, StatisticsMonth, StatisticsWatermark
from regiohub.meldpunt.workflow import Status

Period = Literal["month", "quarter", "year"]
PERIODS: tuple[str, ...] = Period.__args__  # type: ignore[attr-defined]
Rows = Literal["municipality_category", "municipality", "category", "region"]
ROWS: tuple[str, ...] = Rows.__args__  # type: ignore[attr-defined]

#: A resolved report is "first time right" when it is not reopened within this many days
#: (of 24 hours) of its first resolution.
FIRST_TIME_RIGHT_DAYS = 30
#: The most periods one question may ask for (ten years of months).
MAX_PERIODS = 120
#: How the values behind the median and "first time right" are packed in a cell.
LEAD = np.dtype("<u4")
MOMENT = np.dtype("<i8")

#: (key, name, definition) of every figure, in the order of the table.
DEFINITIONS = [
    ("filed", gettext_lazy("Filed"), gettext_lazy(
        "Reports filed in the period, on every channel, whatever happened to them since.")),
    ("response_rate", gettext_lazy("Response rate"), gettext_lazy(
        "Of the reports whose reporter we asked whether they are satisfied (by mail once the "
        "report was first resolved, or on their follow-up page), the share that answered.")),
    ("satisfied", gettext_lazy("Satisfied"), gettext_lazy(
        "Of the answers, the share of answers that mean satisfied (each standard answer is "
        "marked satisfied or not; a 1-5 rating from before counts from 4 up).")),
    ("reopen_request_rate", gettext_lazy("Reopen requested"), gettext_lazy(
        "Of the reports resolved at least once, the share whose reporter asked to look at "
        "the report again.")),
    ("reopen_rate", gettext_lazy("Reopened"), gettext_lazy(
        "Of the reports resolved at least once, the share reopened afterwards (by an agent, "
        "at the reporter's request or not, or by a connected system).")),
    ("first_time_right", gettext_lazy("First time right"), gettext_lazy(
        "Of the reports first resolved at least 30 days ago, the share not reopened within "
        "30 days (of 24 hours) of that first resolution.")),
    ("on_time", gettext_lazy("On time"), gettext_lazy(
        "Of the reports resolved or closed now, the share resolved by their resolution due "
        "date (the SLA, in business days; a report without a due date counts as on time).")),
    ("median_lead_time", gettext_lazy("Median lead time"), gettext_lazy(
        "Of the reports resolved or closed now, the middle value of the time from filing "
        "to the last resolution, in days of 24 hours.")),
]  # fmt: skip

#: The counts a cell keeps, as the report table counts them.
_RESOLVED_NOW = Q(status__in=[Status.RESOLVED, Status.CLOSED], resolved_at__isnull=False)
COUNTS: dict[str, Q | None] = {
    "filed": None,
    "resolved": Q(first_resolved_at__isnull=False),
    "asked": Q(satisfaction_asked_at__isnull=False),
    "answered": Q(satisfied__isnull=False),
    "satisfied": Q(satisfied=True),
    "reopen_requested": Q(reopen_requested_at__isnull=False),
    "reopened": Q(reopened_at__isnull=False),
    "resolved_now": _RESOLVED_NOW,
    "on_time": _RESOLVED_NOW
    & (Q(resolution_due_at__isnull=True) | Q(resolved_at__lte=F("resolution_due_at"))),
}


@dataclass(frozen=True)
class StatisticsRow:
    """The figures of one period for one municipality and category (empty code: all of
    them, when the rows are not split that way). Counts, and shares derived from them."""

    period: date  # the first day of the period
    period_label: str
    municipality: str
    municipality_name: str
    category: str
    category_name: str
    filed: int
    resolved: int  # resolved at least once
    asked: int
    answered: int
    satisfied: int
    reopen_requested: int
    reopened: int
    judged: int  # first resolved at least FIRST_TIME_RIGHT_DAYS ago
    first_time_right: int
    resolved_now: int
    on_time: int
    median_lead_time: timedelta | None

    @staticmethod
    def _share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def response_rate(self) -> float | None:
        return self._share(self.answered, self.asked)

    @property
    def satisfied_share(self) -> float | None:
        return self._share(self.satisfied, self.answered)

    @property
    def reopen_request_rate(self) -> float | None:
        return self._share(self.reopen_requested, self.resolved)

    @property
    def reopen_rate(self) -> float | None:
        return self._share(self.reopened, self.resolved)

    @property
    def first_time_right_share(self) -> float | None:
        return self._share(self.first_time_right, self.judged)

    @property
    def on_time_share(self) -> float | None:
        return self._share(self.on_time, self.resolved_now)


# --- Periods ------------------------------------------------------------------------------


def period_start(day: date, period: str) -> date:
    """The first day of the period ``day`` lies in."""
    if period == "year":
        return date(day.year, 1, 1)
    if period == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, day.month, 1)


def next_period(day: date, period: str) -> date:
    """The first day of the period after the one starting on ``day``."""
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def periods(start: date, end: date, period: str) -> list[date]:
    """The first days of the whole periods from the one holding ``start`` to the one
    holding ``end``, and the first day after them (so ``len - 1`` periods). Raises
    ``ValueError`` for a reversed range or more than :data:`MAX_PERIODS` periods."""
    if end < start:
        raise ValueError("the period ends before it starts")
    days = [period_start(start, period)]
    while days[-1] <= end:
        days.append(next_period(days[-1], period))
        if len(days) > MAX_PERIODS + 1:
            raise ValueError(f"at most {MAX_PERIODS} periods")
    return days


def period_label(day: date, period: str) -> str:
    if period == "year":
        return str(day.year)
    if period == "quarter":
        return _("%(year)d Q%(quarter)d") % {"year": day.year, "quarter": (day.month + 2) // 3}
    return f"{day.year}-{day.month:02d}"


def local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


# --- Counting ahead: one month of reports into cells --------------------------------------


def _pack(values: list[int], dtype: np.dtype) -> bytes:
    return np.asarray(values, dtype=dtype).tobytes()


def count_month(month: date, now: datetime | None = None) -> list[StatisticsMonth]:
    """The cells of the reports filed in the local month starting on ``month``: one per
    municipality and category that has reports then (unsaved), counted at ``now``."""
    now = now or timezone.now()
    reports = Report.objects.filter(
        created_at__gte=local_midnight(month),
        created_at__lt=local_midnight(next_period(month, "month")),
    )
    counts = {
        (row["organisation_id"], row["category_id"]): row
        for row in reports.values("organisation_id", "category_id")
        .annotate(**{name: Count("pk", filter=q) for name, q in COUNTS.items()})
        .order_by()
    }
    leads: dict[tuple[int, int], list[int]] = defaultdict(list)
    for org, cat, created, resolved in (
        reports.filter(_RESOLVED_NOW)
        .values_list("organisation_id", "category_id", "created_at", "resolved_at")
        .order_by()
    ):
        leads[org, cat].append(max(0, round((resolved - created).total_seconds())))
    judged: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    firsts: dict[tuple[int, int], list[int]] = defaultdict(list)
    soon: dict[tuple[int, int], list[int]] = defaultdict(list)
    window = timedelta(days=FIRST_TIME_RIGHT_DAYS)
    for org, cat, first, reopened in (
        reports.filter(first_resolved_at__isnull=False)
        .values_list("organisation_id", "category_id", "first_resolved_at", "reopened_at")
        .order_by()
    ):
        reopened_soon = reopened is not None and reopened - first <= window
        if first <= now - window:  # judged already: counted
            judged[org, cat][0] += 1
            judged[org, cat][1] += reopened_soon
        else:  # judged later, at the question: kept
            firsts[org, cat].append(int(first.timestamp()))
            if reopened_soon:
                soon[org, cat].append(int(first.timestamp()))
    return [
        StatisticsMonth(
            organisation_id=org,
            category_id=cat,
            month=month,
            **{name: row[name] for name in COUNTS},
            judged=judged[org, cat][0],
            judged_reopened_soon=judged[org, cat][1],
            lead_seconds=_pack(leads[org, cat], LEAD),
            first_resolved=_pack(firsts[org, cat], MOMENT),
            reopened_soon=_pack(soon[org, cat], MOMENT),
            counted_at=now,
        )
        for (org, cat), row in counts.items()
    ]


def refresh_months(months: Iterable[date], now: datetime | None = None) -> int:
    """Count these months again (each in one transaction: the page never sees half a
    month); returns how many cells they now have."""
    cells = 0
    for month in sorted({period_start(m, "month") for m in months}):
        with transaction.atomic():
            StatisticsMonth.objects.filter(month=month).delete()
            counted = count_month(month, now)
            StatisticsMonth.objects.bulk_create(counted, batch_size=500)
            cells += len(counted)
    return cells


def months_changed_since(moment: datetime) -> set[date]:
    """The months of the reports changed (saved) since ``moment``: a report moved to
    another municipality or category stays in its month, so counting the month again
    counts it out of its old cell too."""
    changed = Report.objects.filter(updated_at__gte=moment).order_by()
    return set(changed.dates("created_at", "month"))


def months_never_counted() -> set[date]:
    """Months from the first report up to now without any cell (a new site, or after an
    upgrade): empty months come back here, and cost an empty range read each time."""
    first = Report.objects.aggregate(first=Min("created_at"))["first"]
    if first is None:
        return set()
    counted = set(StatisticsMonth.objects.values_list("month", flat=True).distinct())
    months, month = set(), period_start(timezone.localtime(first).date(), "month")
    this_month = period_start(timezone.localdate(), "month")
    while month <= this_month:
        if month not in counted:
            months.add(month)
        month = next_period(month, "month")
    return months


def refresh_changed(since: datetime) -> int:
    """Count again the months whose reports changed since ``since``, and those never
    counted; returns the number of cells written."""
    return refresh_months(months_changed_since(since) | months_never_counted())


#: How far before the last count's start a count looks: a filing that began before it
#: may commit after it (and a clock may be a little off).
MARGIN = timedelta(minutes=15)


def refresh_due(now: datetime | None = None, *, lookback: timedelta = MARGIN) -> int:
    """Count again the months changed since the last complete count began (less
    :data:`MARGIN`, and at least ``lookback``), and those never counted; then move the
    watermark. A count killed halfway leaves the watermark where it was: the next one
    covers its window again (each month is one transaction, so nothing is half-counted)."""
    now = now or timezone.now()
    mark = StatisticsWatermark.objects.filter(pk=1).values_list("began_at", flat=True).first()
    since = now - lookback if mark is None else min(now - lookback, mark - MARGIN)
    cells = refresh_changed(since)
    StatisticsWatermark.objects.update_or_create(pk=1, defaults={"began_at": now})
    return cells


def counted_at(cells: QuerySet[StatisticsMonth]) -> datetime | None:
    """When the oldest of these cells was counted (what the page says it shows)."""
    return cells.aggregate(at=Min("counted_at"))["at"]


def last_counted() -> datetime | None:
    return StatisticsMonth.objects.aggregate(at=Max("counted_at"))["at"]


# --- The question -------------------------------------------------------------------------

_VALUES = ("organisation_id", "category_id", "category__code", "month", *COUNTS, "judged",
           "judged_reopened_soon")  # fmt: skip


#: The names of the numbers a cell adds to its group, in the order of ``_VALUES``.
_ADDED = (*COUNTS, "judged", "judged_reopened_soon")
#: Which of (period, municipality, category id, category code) make a group, per grouping.
_GROUPS = {
    "municipality_category": lambda index, org, cat, code: (index, org, cat),
    "municipality": lambda index, org, cat, code: (index, org, None),
    "category": lambda index, org, cat, code: (index, None, code),
    "region": lambda index, org, cat, code: (index, None, None),
}


@dataclass
class _Sum:
    counts: list[tuple[int, ...]] = field(default_factory=list)
    leads: list[Any] = field(default_factory=list)
    firsts: list[Any] = field(default_factory=list)
    soon: list[Any] = field(default_factory=list)

    def total(self) -> dict[str, int]:
        columns = zip(*self.counts, strict=True)
        return {name: sum(column) for name, column in zip(_ADDED, columns, strict=True)}


def compute(
    cells: QuerySet[StatisticsMonth],
    *,
    start: date,
    end: date,
    period: Period = "month",
    rows: Rows = "municipality_category",
    now: datetime | None = None,
) -> list[StatisticsRow]:
    """The figures of ``cells`` (already scoped and filtered) for the whole periods from
    the one holding ``start`` to the one holding ``end``: one row per period and group that
    has reports. Raises ``ValueError`` for a reversed range, an unknown period or grouping,
    or more than :data:`MAX_PERIODS` periods."""
    if period not in PERIODS or rows not in ROWS:
        raise ValueError("unknown period or grouping")
    now = now or timezone.now()
    days = periods(start, end, period)
    found = cells.filter(month__gte=days[0], month__lt=days[-1]).values_list(
        *_VALUES, "lead_seconds", "first_resolved", "reopened_soon"
    )
    group = _GROUPS[rows]
    sums: dict[tuple[Any, ...], _Sum] = defaultdict(_Sum)
    for org, cat, code, month, *counts, leads, firsts, soon in _rows_of(found.order_by()):
        total = sums[group(bisect.bisect_right(days, month) - 1, org, cat, code)]
        total.counts.append(counts)
        total.leads.append(leads)
        if firsts:  # only the months of the last weeks keep any
            total.firsts.append(firsts)
            total.soon.append(soon)
    cutoff = int((now - timedelta(days=FIRST_TIME_RIGHT_DAYS)).timestamp())
    return _rows(sums, rows, days, period, cutoff)


def _rows_of(queryset: QuerySet[Any]) -> Iterable[tuple[Any, ...]]:
    """The rows of a ``values_list`` query. On PostgreSQL in binary: the cells' packed
    values arrive as they are stored instead of as hexadecimal text to decode (a third of
    the time of the widest question: six years of the region read ~4 MB of them)."""
    if connection.vendor != "postgresql":
        return queryset
    import psycopg
    from django.core.exceptions import EmptyResultSet

    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:  # scoped to no organisation at all: nothing to read
        return []
    connection.ensure_connection()
    # Django's cursors bind on the client, which cannot ask for binary results.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True)
        return cursor.fetchall()


def _rows(
    sums: dict[tuple[Any, ...], _Sum], rows: str, days: list[date], period: str, cutoff: int
) -> list[StatisticsRow]:
    organisations = {
        o.pk: o
        for o in Organisation.objects.filter(pk__in={k[1] for k in sums if k[1]}).defer(
            "boundary"  # a large geometry, not needed for a name
        )
    }
    categories = Category.objects.order_by("organisation_id")
    if rows == "category":
        categories = categories.filter(code__in={k[2] for k in sums})
    else:
        categories = categories.filter(pk__in={k[2] for k in sums if k[2]})
    by_key: dict[Any, Category] = {}
    for category in categories:
        by_key.setdefault(category.code if rows == "category" else category.pk, category)
    labels = {index: period_label(day, period) for index, day in enumerate(days)}
    result = []
    for (index, org, cat), total in sums.items():
        organisation = organisations.get(org)
        category = by_key.get(cat)
        leads = np.frombuffer(b"".join(total.leads), dtype=LEAD)
        firsts = np.frombuffer(b"".join(total.firsts), dtype=MOMENT)
        soon = np.frombuffer(b"".join(total.soon), dtype=MOMENT)
        counts = total.total()
        judged = counts["judged"] + int(np.count_nonzero(firsts <= cutoff))
        missed = counts["judged_reopened_soon"] + int(np.count_nonzero(soon <= cutoff))
        result.append(
            StatisticsRow(
                period=days[index],
                period_label=labels[index],
                municipality=organisation.code if organisation else "",
                municipality_name=organisation.display_name if organisation else "",
                category=category.code if category else "",
                category_name=category.display_name if category else "",
                filed=counts["filed"],
                resolved=counts["resolved"],
                asked=counts["asked"],
                answered=counts["answered"],
                satisfied=counts["satisfied"],
                reopen_requested=counts["reopen_requested"],
                reopened=counts["reopened"],
                judged=judged,
                first_time_right=judged - missed,
                resolved_now=counts["resolved_now"],
                on_time=counts["on_time"],
                median_lead_time=timedelta(seconds=round(float(np.median(leads))))
                if leads.size
                else None,
            )
        )
    result.sort(key=lambda r: (r.period, r.municipality_name, r.category_name))
    return result
