"""The contact point's read door: what other modules (and its own views) may read.

Every function is scoped to what ``user`` may see (``core.access``) and answers plain,
typed rows, so a dashboard counts reports without knowing the ``Report`` model or the
workflow's states. Writes go through ``meldpunt.services``; news through
``meldpunt.events``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _

from regiohub.core import access
from regiohub.core.models import Membership, User
from regiohub.meldpunt import public_map
from regiohub.meldpunt import statistics as stats
from regiohub.meldpunt.models import Channel, Report, StatisticsMonth
from regiohub.meldpunt.permissions import HANDLE_REPORTS, TAKE_REPORTS
from regiohub.meldpunt.statistics import StatisticsRow
from regiohub.meldpunt.workflow import FINISHED, OPEN, Status

#: The door other modules may use (tests/test_module_walls.py checks it).
__all__ = [
    "COUNT_PERIODS",
    "GROUPS",
    "CountPeriod",
    "DistrictCount",
    "GroupBy",
    "ReportCount",
    "SlaOutcome",
    "StatisticsRow",
    "can_see_contact",
    "channel_choices",
    "district_counts",
    "handlers_of",
    "public_district_counts",
    "report_counts",
    "reports_for",
    "sla_outcomes",
    "statistics",
    "statistics_counted_at",
    "subject_choices",
]

GroupBy = Literal[
    "status", "category", "municipality", "district", "department", "channel", "day", "month"
]
GROUPS: tuple[str, ...] = GroupBy.__args__  # type: ignore[attr-defined]

CountPeriod = Literal["week", "month"]
COUNT_PERIODS: tuple[str, ...] = CountPeriod.__args__  # type: ignore[attr-defined]

_FIELDS = {
    "status": "status",
    "category": "category__code",
    "municipality": "organisation__code",
    "district": "district_code",
    "department": "department_id",
    "channel": "channel",
}


def reports_for(user: Any) -> QuerySet[Report]:
    """Every report the user may handle (the scope of all staff views)."""
    return access.scope(Report.objects.all(), user, capability=HANDLE_REPORTS)


def can_see_contact(user: Any, report: Report) -> bool:
    """Reporter details are for the people who handle this report: the contact centre of
    its municipality, its department, and the person it is assigned to."""
    if user.is_superuser or report.assignee_id == user.pk:
        return True
    if access.can(user, TAKE_REPORTS, report.organisation_id):
        return True
    return Membership.objects.filter(user=user, department_id=report.department_id).exists()


def contact_visible_q(user: Any) -> Q:
    """The reports whose reporter details ``user`` may see (the rule of
    :func:`can_see_contact`), as a filter: to search by e-mail address or phone number."""
    if user.is_superuser:
        return Q()
    departments = Membership.objects.filter(user=user, department__isnull=False).values(
        "department_id"
    )
    return (
        Q(assignee=user)
        | Q(organisation_id__in=access.organisation_ids(user, TAKE_REPORTS))
        | Q(department_id__in=departments)
    )


def handlers_of(organisation_ids: set[int] | frozenset[int]) -> QuerySet[User]:
    """People who may be assigned reports of these organisations."""
    return (
        User.objects.filter(is_active=True, memberships__organisation_id__in=organisation_ids)
        .distinct()
        .order_by("full_name", "email")
    )


@dataclass(frozen=True)
class ReportCount:
    """Reports filed in a period, per group. ``key`` is stable (a status, a category,
    municipality or district code, a department id, a channel, an ISO date); ``label`` is
    for people. Reports without a district (an approximate place) have district key ``""``."""

    key: str
    label: str
    count: int
    open: int


@dataclass(frozen=True)
class SlaOutcome:
    """How the promise to resolve in time was kept for the reports filed in a period, per
    group: finished on time or late, still open and overdue, still open within time."""

    key: str
    label: str
    reports: int
    resolved_on_time: int
    resolved_late: int
    open_overdue: int
    open_in_time: int

    @property
    def on_time_share(self) -> float | None:
        """On-time share of the resolved reports (``None`` when none were resolved)."""
        done = self.resolved_on_time + self.resolved_late
        return self.resolved_on_time / done if done else None


def _period(start: date, end: date) -> Q:
    """Filed from ``start`` up to and including ``end``, in the region's time zone."""
    if end < start:
        raise ValueError("the period ends before it starts")
    zone = timezone.get_current_timezone()
    since = timezone.make_aware(datetime.combine(start, time.min), zone)
    until = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), zone)
    return Q(created_at__gte=since, created_at__lt=until)


def _narrowed(
    reports: QuerySet[Report],
    organisation_ids: set[int] | None,
    category_codes: set[str] | None = None,
    channels: set[str] | None = None,
) -> QuerySet[Report]:
    """Only of these organisations, subjects (by code, in every municipality) and
    channels; ``None`` is all of them."""
    if organisation_ids is not None:
        reports = reports.filter(organisation_id__in=organisation_ids)
    if category_codes is not None:
        reports = reports.filter(category__code__in=category_codes)
    if channels is not None:
        reports = reports.filter(channel__in=channels)
    return reports


def _local_day_sql(unit: str, start: date, end: date) -> Any:
    """On SQLite, the local (Belgian) day, week or month of ``created_at`` in SQLite's own
    C functions, as text ``YYYY-MM-DD``: Django's ``Trunc`` with a time zone calls a Python
    function per row there (seconds for a million reports). The UTC offsets between
    ``start`` and ``end`` are spelled out as a CASE (two changes a year), so the answer is
    the one ``Trunc`` gives, also around the clock changes."""
    from django.db.models.expressions import RawSQL

    zone = timezone.get_current_timezone()
    since = datetime.combine(start - timedelta(days=1), time.min, tzinfo=UTC)
    until = datetime.combine(end + timedelta(days=2), time.min, tzinfo=UTC)
    steps: list[tuple[datetime, int]] = []  # (from this moment, offset in seconds)
    moment = since
    offset = int(since.astimezone(zone).utcoffset().total_seconds())
    while moment < until:
        following = moment + timedelta(hours=1)
        now = int(following.astimezone(zone).utcoffset().total_seconds())
        if now != offset:
            steps.append((following, offset))
            offset = now
        moment = following
    column = '"meldpunt_report"."created_at"'
    params: list[Any] = []
    if steps:
        cases = []
        for changes_at, before in steps:
            cases.append(f"WHEN {column} < %s THEN %s")
            params += [changes_at.strftime("%Y-%m-%d %H:%M:%S"), f"{before:+d} seconds"]
        shift = f"CASE {' '.join(cases)} ELSE %s END"
        params.append(f"{offset:+d} seconds")
    else:
        shift = "%s"
        params.append(f"{offset:+d} seconds")
    day = f"date({column}, {shift})"
    if unit == "month":
        sql = f"strftime('%%Y-%%m-01', {column}, {shift})"
    elif unit == "week":  # back to the Monday: ISO weeks
        sql = f"date({day}, '-6 days', 'weekday 1')"
    else:
        sql = day
    return RawSQL(sql, params)  # noqa: S611 - constants and a quoted column; values bound


def _bucket(reports: QuerySet[Report], unit: str, start: date, end: date) -> QuerySet[Report]:
    """``reports`` with ``bucket``: the local day, week or month they were filed in (a
    date on SQLite, a moment at its local midnight elsewhere; see :func:`_as_date`)."""
    from django.db import connection

    if connection.vendor == "sqlite":
        return reports.annotate(bucket=_local_day_sql(unit, start, end))
    trunc = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}[unit]
    return reports.annotate(bucket=trunc("created_at", tzinfo=timezone.get_current_timezone()))


def _as_date(value: Any) -> date:
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        return timezone.localtime(value).date()
    return value


def _grouped(
    user: Any,
    start: date,
    end: date,
    by: GroupBy,
    organisation_ids: set[int] | None,
    category_codes: set[str] | None = None,
    channels: set[str] | None = None,
) -> tuple[QuerySet[Report], str]:
    if by not in GROUPS:
        raise ValueError(f"group by one of {', '.join(GROUPS)}")
    reports = reports_for(user).filter(_period(start, end))
    reports = _narrowed(reports, organisation_ids, category_codes, channels)
    if by in ("day", "month"):
        return _bucket(reports, by, start, end), "bucket"
    return reports.annotate(group=F(_FIELDS[by])), "group"


def _labels(by: str, keys: list[Any]) -> dict[Any, str]:
    if by == "status":
        return {k: str(Status(k).label) for k in keys if k in Status.values}
    if by == "channel":
        return {k: str(Channel(k).label) for k in keys if k in Channel.values}
    if by == "category":
        from regiohub.meldpunt.models import Category

        names = Category.objects.filter(code__in=keys).values_list("code", "name")
        return dict(names)
    if by == "municipality":
        from regiohub.core.models import Organisation

        return {o.code: o.display_name for o in Organisation.objects.filter(code__in=keys)}
    if by == "district":
        from regiohub.core.models import District

        districts: dict[Any, str] = dict(
            District.objects.filter(code__in=keys).values_list("code", "name")
        )
        if "" in keys:
            # Approximate places, and points outside every district.
            districts[""] = _("Place unknown")
        return districts
    if by == "department":
        from regiohub.core.models import Department

        return dict(Department.objects.filter(pk__in=keys).values_list("pk", "name"))
    return {k: k.date().isoformat() if isinstance(k, datetime) else str(k) for k in keys}


def _key(value: Any) -> str:
    if isinstance(value, datetime):
        return timezone.localtime(value).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def report_counts(
    user: Any,
    *,
    start: date,
    end: date,
    by: GroupBy,
    organisation_ids: set[int] | None = None,
    category_codes: set[str] | None = None,
    channels: set[str] | None = None,
) -> list[ReportCount]:
    """Reports filed between ``start`` and ``end`` (inclusive) that ``user`` may see,
    counted per ``by``; optionally only of ``organisation_ids``, of the subjects
    ``category_codes`` and of the ``channels``."""
    reports, group = _grouped(user, start, end, by, organisation_ids, category_codes, channels)
    rows = list(
        reports.values(group)
        .annotate(count=Count("pk"), open=Count("pk", filter=Q(status__in=OPEN)))
        .order_by(group)
    )
    labels = _labels(by, [row[group] for row in rows])
    return [
        ReportCount(
            key=_key(row[group]),
            label=labels.get(row[group], _key(row[group])),
            count=row["count"],
            open=row["open"],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class DistrictCount:
    """Reports filed in one week or month, in one district, of one municipality: a cell
    of the reports map. ``period`` is the first day (the Monday, or the 1st) in the
    region's time zone. ``key`` is the district code, ``""`` when the district is not
    known (an approximate place, or a point outside every district). ``municipality`` is
    the organisation code of the reports (``KOR``): a report near a border may lie in a
    district of the neighbouring municipality. A ``suppressed`` cell (public counts only)
    had too few reports to show: its ``count`` is 0 and says nothing."""

    period: date
    key: str
    label: str
    municipality: str
    count: int
    suppressed: bool = False


def _district_cells(
    reports: QuerySet[Report], period: str, unknown: str, start: date, end: date
) -> list[DistrictCount]:
    """``reports`` counted per period x district x municipality, in that order."""
    if period not in COUNT_PERIODS:
        raise ValueError(f"count per {' or per '.join(COUNT_PERIODS)}, not per {period!r}")
    # Truncated in the region's zone: a report at 00:30 on 1 March (23:30 UTC on 28
    # February) counts in March, and weeks start on the Monday (ISO) as Belgians count.
    rows = list(
        _bucket(reports, period, start, end)
        .values("bucket", "district_code", "organisation__code")
        .annotate(count=Count("pk"))
        .order_by("bucket", "district_code", "organisation__code")
    )
    labels = _labels("district", [row["district_code"] for row in rows])
    labels[""] = unknown
    return [
        DistrictCount(
            period=_as_date(row["bucket"]),
            key=row["district_code"],
            label=labels.get(row["district_code"], row["district_code"]),
            municipality=row["organisation__code"],
            count=row["count"],
        )
        for row in rows
    ]


def district_counts(
    user: Any,
    *,
    start: date,
    end: date,
    period: CountPeriod,
    organisation_ids: set[int] | None = None,
    category_codes: set[str] | None = None,
    channels: set[str] | None = None,
) -> list[DistrictCount]:
    """Reports ``user`` may see, filed from ``start`` up to and including ``end``, per
    week or month x district x municipality (the reports map for staff), sorted by
    period, district and municipality. The first and last period count only the days
    within the range: pass whole weeks or months to compare like with like.

    Raises ``ValueError`` for a reversed range or another period."""
    reports = reports_for(user).filter(_period(start, end))
    reports = _narrowed(reports, organisation_ids, category_codes, channels)
    return _district_cells(reports, period, _("Place unknown"), start, end)


def public_district_counts(
    *,
    start: date,
    end: date,
    period: CountPeriod,
    organisation_ids: set[int] | None = None,
    threshold: int,
    category_codes: set[str] | None = None,
    channels: set[str] | None = None,
) -> list[DistrictCount]:
    """:func:`district_counts` for anyone, anonymous visitors too: only reports of a
    subject shown on the public map, placed exactly, whatever became of them since (open
    or resolved; ``public_map.placed_on_map``: not the merged duplicates and the cancelled
    ones), so ``""`` holds the points outside every district.

    A cell with fewer than ``threshold`` reports (but some) comes back ``suppressed``
    with count 0, so that its number is nowhere in the answer. Suppression is per cell
    and no totals are returned: a total per district, municipality or period published
    beside these cells would let a reader subtract the suppressed one back out, so the
    public pages show none (the dashboards' timelapse marks a district suppressed when
    any of its cells is).

    Raises ``ValueError`` for a reversed range, another period, or a threshold that is
    not a whole number of at least 1."""
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
        raise ValueError(f"the threshold is a whole number of reports, at least 1: {threshold!r}")
    reports = public_map.placed_on_map(public_map.catalogue().subject_ids()).filter(
        _period(start, end)
    )
    reports = _narrowed(reports, organisation_ids, category_codes, channels)
    return [
        DistrictCount(cell.period, cell.key, cell.label, cell.municipality, 0, suppressed=True)
        if 0 < cell.count < threshold
        else cell
        for cell in _district_cells(reports, period, _("District unknown"), start, end)
    ]


def sla_outcomes(
    user: Any,
    *,
    start: date,
    end: date,
    by: GroupBy,
    organisation_ids: set[int] | None = None,
    now: datetime | None = None,
    category_codes: set[str] | None = None,
    channels: set[str] | None = None,
) -> list[SlaOutcome]:
    """Did the reports filed in the period get resolved by their due date? Per ``by``.

    A finished report counts by when it was resolved (or closed, when it skipped
    "resolved"); reports without a resolution promise count as on time.
    """
    now = now or timezone.now()
    reports, group = _grouped(user, start, end, by, organisation_ids, category_codes, channels)
    finished_at = Q(resolved_at__isnull=False) | Q(closed_at__isnull=False)
    late_resolved = Q(resolved_at__gt=F("resolution_due_at")) | Q(
        resolved_at__isnull=True, closed_at__gt=F("resolution_due_at")
    )
    done = Q(status__in=FINISHED) & finished_at
    rows = list(
        reports.values(group)
        .annotate(
            reports=Count("pk"),
            late=Count("pk", filter=done & late_resolved),
            done=Count("pk", filter=done),
            overdue=Count("pk", filter=Q(status__in=OPEN, resolution_due_at__lt=now)),
            open=Count("pk", filter=Q(status__in=OPEN)),
        )
        .order_by(group)
    )
    labels = _labels(by, [row[group] for row in rows])
    return [
        SlaOutcome(
            key=_key(row[group]),
            label=labels.get(row[group], _key(row[group])),
            reports=row["reports"],
            resolved_on_time=row["done"] - row["late"],
            resolved_late=row["late"],
            open_overdue=row["overdue"],
            open_in_time=row["open"] - row["overdue"],
        )
        for row in rows
    ]


def statistics(
    user: Any,
    *,
    start: date,
    end: date,
    period: stats.Period = "month",
    rows: stats.Rows = "municipality_category",
    organisation_ids: set[int] | None = None,
    category_codes: set[str] | None = None,
    now: datetime | None = None,
) -> list[StatisticsRow]:
    """Satisfaction and handling figures of the reports ``user`` may handle, filed in the
    whole periods (month, quarter or year) from the one holding ``start`` to the one
    holding ``end``: per period and municipality x category (or per municipality, per
    category, or for the region as a whole). See ``meldpunt.statistics.DEFINITIONS``; the
    figures are as counted last (every few minutes, ``statistics_counted_at``).

    Raises ``ValueError`` for a reversed range or more than ten years of months."""
    cells = access.scope(StatisticsMonth.objects.all(), user, capability=HANDLE_REPORTS)
    if organisation_ids is not None:
        cells = cells.filter(organisation_id__in=organisation_ids)
    if category_codes is not None:
        cells = cells.filter(category__code__in=category_codes)
    return stats.compute(cells, start=start, end=end, period=period, rows=rows, now=now)


def subject_choices(*, public: bool = False) -> list[tuple[str, str]]:
    """The subjects people report about, once per code (every municipality has its own
    row of a subject), by name: for a filter. ``public``: only those on the public map."""
    from regiohub.meldpunt.models import Category

    found = Category.objects.all()
    if public:
        found = found.filter(pk__in=public_map.catalogue().subject_ids())
    names: dict[str, str] = {}
    for code, name in found.order_by("code", "pk").values_list("code", "name"):
        names.setdefault(code, name)
    return sorted(names.items(), key=lambda item: item[1].lower())


def channel_choices() -> list[tuple[str, str]]:
    """The channels a report comes in through (value, name in the active language)."""
    return [(value, str(label)) for value, label in Channel.choices]


def statistics_counted_at() -> datetime | None:
    """When the statistics were last counted (``None``: not yet)."""
    return stats.last_counted()
