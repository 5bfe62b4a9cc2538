"""The agent's inbox: filters, sort orders and keyset paging over the reports a user may
handle. Everything here reads; changes go through the services.

Paging is by keyset (the last row's sort value and id), never by OFFSET, so page 500 is as
fast as page 1 on a million reports; the count stops at ``COUNT_LIMIT``.
"""

from __future__ import annotations

import base64
import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import BooleanField, Case, F, Q, QuerySet, Value, When
from django.db.models.functions import Replace
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from regiohub.core import geo
from regiohub.core.spreadsheets import DELIMITER, spreadsheet_safe
from regiohub.meldpunt.attributes import describe as describe_answers
from regiohub.meldpunt.models import CategoryAttribute, Report, SlaState, sla_state
from regiohub.meldpunt.models.satisfaction import ReopenDecision, ReopenRequest
from regiohub.meldpunt.queries import contact_visible_q, reports_for
from regiohub.meldpunt.services import handoff
from regiohub.meldpunt.workflow import FINISHED, OPEN, SLA_PAUSED, UNANSWERED, Status

_ID = re.compile(r"^[0-9]{1,9}\Z")  # ASCII digits only; "²".isdigit() is True
#: A reference (KOR-2026-000123) or its beginning (KOR-2026, KOR-2026-0001).
_REFERENCE = re.compile(r"^[A-Z][A-Z0-9]{1,9}-[0-9]{4}(-[0-9]{0,6})?\Z")
_FULL_REFERENCE = re.compile(r"^[A-Z][A-Z0-9]{1,9}-[0-9]{4}-[0-9]{6}\Z")
#: The end of a reference without its municipality: 2026-000123, 2026-123.
_YEAR_NUMBER = re.compile(r"^([0-9]{4})-([0-9]{1,6})\Z")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z")
#: What people type between the digits of a phone number.
_PHONE_SEPARATORS = " \u00a0./-()"
_PHONE = re.compile(r"^(\+|0)[0-9 \u00a0./()-]+\Z")  # 0..., 00..., +...
_DATE = re.compile(r"^([0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{2,4}|[0-9]{4}-[0-9]{2}-[0-9]{2})\Z")
_PHONE_MIN_DIGITS = 8  # 056 27 00 00; a report number has at most 6

PAGE_SIZE = 50
COUNT_LIMIT = 1000
_RUNNING = sorted(set(OPEN) - set(SLA_PAUSED))

#: sort key -> (field, descending)
SORTS: dict[str, tuple[str, bool, Any]] = {
    "newest": ("created_at", True, _("Newest first")),
    "oldest": ("created_at", False, _("Oldest first")),
    "due": ("resolution_due_at", False, _("Due soonest")),
    "updated": ("updated_at", True, _("Recently changed")),
}


def sla_q(state: str, now: datetime | None = None) -> Q:
    """The rows in one SLA state; the same rules as ``models.sla_state``."""
    now = now or timezone.now()
    soon = now + timedelta(days=1)
    overdue = Q(status__in=_RUNNING) & (
        Q(resolution_due_at__lt=now) | Q(status__in=UNANSWERED, response_due_at__lt=now)
    )
    # Not overdue and due before ``soon``, written as date ranges so that an index finds
    # the few rows in them instead of every overdue report being read and thrown away.
    due_soon = (
        Q(status__in=_RUNNING)
        & ~Q(status__in=UNANSWERED, response_due_at__lt=now)
        & (
            Q(resolution_due_at__gte=now, resolution_due_at__lt=soon)
            | (
                Q(status__in=UNANSWERED, response_due_at__gte=now, response_due_at__lt=soon)
                & (Q(resolution_due_at__gte=now) | Q(resolution_due_at__isnull=True))
            )
        )
    )
    if state == SlaState.OVERDUE:
        return overdue
    if state == SlaState.DUE_SOON:
        return due_soon
    if state == SlaState.PAUSED:
        return Q(status__in=SLA_PAUSED)
    if state == SlaState.DONE:
        return Q(status__in=FINISHED)
    return Q(status__in=_RUNNING) & ~overdue & ~due_soon


@dataclass
class InboxQuery:
    statuses: list[str] = field(default_factory=lambda: ["open"])
    categories: list[str] = field(default_factory=list)
    department: int | None = None
    municipality: str = ""
    channel: str = ""
    sla: str = ""
    routing: str = ""  # "uncertain": the routing-uncertain queue
    handover: str = ""  # "overdue": an external body has not acknowledged in time
    reopen: str = ""  # "requested": a reporter's request to reopen waits (ADR 0039)
    assignee: str = ""  # "me", "none" or a user id
    text: str = ""
    sort: str = "newest"
    after: str = ""
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_params(cls, params: QueryDict) -> InboxQuery:
        """Read the filters from a query string; junk is ignored, never a 500."""
        if any("\x00" in value for _key, values in params.lists() for value in values):
            # PostgreSQL refuses NUL in text and no real filter contains one: drop them.
            cleaned = QueryDict(mutable=True)
            for key, values in params.lists():
                cleaned.setlist(key, [value.replace("\x00", "") for value in values])
            params = cleaned
        query = cls()
        statuses = [s for s in params.getlist("status") if s]
        valid_status = {"open", "all", *Status.values}
        if statuses:
            query.statuses = [s for s in statuses if s in valid_status] or ["open"]
        query.categories = [c[:50] for c in params.getlist("category") if c][:20]
        department = params.get("department", "")
        if _ID.match(department):
            query.department = int(department)
        query.municipality = params.get("municipality", "")[:20]
        channel = params.get("channel", "")
        query.channel = (
            channel if channel in {c for c, _label in Report.channel.field.choices} else ""
        )
        sla = params.get("sla", "")
        query.sla = sla if sla in SlaState.values else ""
        query.routing = "uncertain" if params.get("routing", "") == "uncertain" else ""
        query.handover = "overdue" if params.get("handover", "") == "overdue" else ""
        query.reopen = "requested" if params.get("reopen", "") == "requested" else ""
        if query.reopen and not statuses:
            query.statuses = ["all"]  # the reports asked about are resolved or closed
        assignee = params.get("assignee", "")
        query.assignee = assignee if assignee in ("me", "none") or _ID.match(assignee) else ""
        query.text = params.get("q", "").strip()[:200]
        sort = params.get("sort", "newest")
        query.sort = sort if sort in SORTS else "newest"
        query.after = params.get("after", "")[:200]
        return query

    @staticmethod
    def is_id(value: str) -> bool:
        return bool(_ID.match(value))

    @property
    def search_kind(self) -> str:
        """What the search box holds (see :func:`search_kind`); "" when it is empty."""
        return search_kind(self.text) if self.text else ""

    @property
    def ignores_filters(self) -> bool:
        """A reference, an e-mail address or a phone number names what the agent looks
        for: the other filters would only hide it."""
        return self.search_kind in FINDERS

    @property
    def full_reference(self) -> str:
        """The reference searched for, when the search box holds a whole one."""
        upper = self.text.upper()
        return upper if _FULL_REFERENCE.match(upper) else ""

    def params(self, **overrides: Any) -> str:
        """This query as a URL query string (for links, saved filters and paging)."""
        data = QueryDict(mutable=True)
        if self.statuses != ["open"]:
            data.setlist("status", self.statuses)
        if self.categories:
            data.setlist("category", self.categories)
        for key, value in (
            ("department", self.department),
            ("municipality", self.municipality),
            ("channel", self.channel),
            ("sla", self.sla),
            ("routing", self.routing),
            ("handover", self.handover),
            ("reopen", self.reopen),
            ("assignee", self.assignee),
            ("q", self.text),
            ("sort", "" if self.sort == "newest" else self.sort),
        ):
            if value:
                data[key] = str(value)
        for key, value in overrides.items():
            if value:
                data[key] = value
            else:
                data.pop(key, None)
        return data.urlencode()

    def filter(self, queryset: QuerySet[Report], user: Any) -> QuerySet[Report]:
        if self.ignores_filters:
            # Whatever the status or the deadline: only the scope (``queryset``) holds.
            return find(queryset, self.text, self.search_kind, user)
        if "all" not in self.statuses:
            wanted: set[str] = set()
            for status in self.statuses:
                wanted |= {str(s) for s in OPEN} if status == "open" else {status}
            queryset = queryset.filter(status__in=sorted(wanted))
        if self.categories:
            queryset = queryset.filter(category__code__in=self.categories)
        if self.department:
            queryset = queryset.filter(department_id=self.department)
        if self.municipality:
            queryset = queryset.filter(organisation__code=self.municipality)
        if self.channel:
            queryset = queryset.filter(channel=self.channel)
        if self.sla:
            queryset = queryset.filter(sla_q(self.sla))
        if self.routing:
            queryset = queryset.filter(routing_state=self.routing)
        if self.handover:
            queryset = queryset.filter(handoff.overdue_reports_q())
        if self.reopen:
            waiting = ReopenRequest.objects.filter(decision=ReopenDecision.PENDING)
            queryset = queryset.filter(pk__in=waiting.values("report_id"))
        if self.assignee == "me":
            queryset = queryset.filter(assignee=user)
        elif self.assignee == "none":
            queryset = queryset.filter(assignee__isnull=True)
        elif self.assignee:
            queryset = queryset.filter(assignee_id=int(self.assignee))
        if self.text:
            queryset = queryset.filter(text_q(self.text))
        return queryset


#: Search kinds that find a report or a person whatever the other filters say.
FINDERS = ("reference", "email", "phone")


def search_kind(text: str) -> str:
    """What the search box holds: a "reference" (KOR-2026-000123, its beginning, or its
    year and number: 2026-000123), an "email" address, a "phone" number, or "words"."""
    text = text.strip()
    upper = text.upper()
    if _REFERENCE.match(upper) or _YEAR_NUMBER.match(upper):
        return "reference"
    if _EMAIL.match(text):
        return "email"
    digits = sum(c.isdigit() for c in text)
    if _PHONE.match(text) and digits >= _PHONE_MIN_DIGITS and not _DATE.match(text):
        return "phone"
    return "words"


def phone_variants(text: str) -> set[str]:
    """The ways one phone number may be written, without separators: 056 27 00 00,
    +32 56 27 00 00, 0032 56 27 00 00 and +32 (0)56 27 00 00 are the same number (a
    number starting with a single 0 is Belgian, +32)."""
    digits = "".join(c for c in text if c.isdigit() or c == "+")
    if digits.startswith("+"):
        international = digits[1:]
    elif digits.startswith("00"):
        international = digits[2:]
    elif digits.startswith("0"):
        international = "32" + digits[1:]
    else:
        return {digits}
    variants = {"+" + international, "00" + international}
    if international.startswith("32"):
        national = international[2:].removeprefix("0")
        variants |= {"0" + national, "+32" + national, "0032" + national}
        variants |= {"+320" + national, "00320" + national}
    return variants


def _phone_digits() -> Any:
    """The reporter's phone number as stored, without the separators people type."""
    expression: Any = F("reporter_phone")
    for separator in _PHONE_SEPARATORS:
        expression = Replace(expression, Value(separator), Value(""))
    return expression


def find(queryset: QuerySet[Report], text: str, kind: str, user: Any) -> QuerySet[Report]:
    """The reports a reference, e-mail address or phone number names, in any status.

    By contact details only among the reports whose reporter ``user`` may see
    (``queries.can_see_contact``): for the others a search by e-mail or phone finds
    nothing, so not even the number of matches says who reported what.
    """
    if kind == "reference":
        return queryset.filter(text_q(text))
    visible = queryset.filter(contact_visible_q(user))
    if kind == "email":
        return visible.filter(reporter_email__iexact=text.strip())
    return visible.alias(phone_digits=_phone_digits()).filter(
        reporter_phone__gt="", phone_digits__in=sorted(phone_variants(text))
    )


def text_q(text: str) -> Q:
    """A reference (KOR-2026-000123, its beginning, or its year and number 2026-000123)
    matches exactly; other words search the description and the address."""
    upper = text.strip().upper()
    if _REFERENCE.match(upper):
        # A range on the unique index: LIKE 'KOR-2026%' cannot use it on SQLite, where LIKE
        # ignores case. References hold only A-Z, 0-9 and "-", all sorting below "~".
        query = Q(reference__gte=upper, reference__lt=upper + "~")
        prefix, year, *number = upper.split("-")
        if number and number[0]:  # KOR-2026-123 is KOR-2026-000123 too
            query |= Q(reference=f"{prefix}-{year}-{number[0].zfill(6)}")
        return query
    year_number = _YEAR_NUMBER.match(upper)
    if year_number:
        year, number = year_number.groups()
        return Q(reference__endswith=f"-{year}-{number.zfill(6)}")
    query = Q()
    for word in text.split()[:5]:
        query &= Q(description__icontains=word) | Q(address__icontains=word)
    if _ID.match(text) and len(text) <= 6:
        query |= Q(reference__endswith=text.zfill(6))
    return query


def _encode(value: Any, pk: int) -> str:
    raw = json.dumps([value.isoformat() if isinstance(value, datetime) else value, pk])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode(cursor: str) -> tuple[datetime | None, int] | None:
    try:
        value, pk = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        moment = parse_datetime(value) if value is not None else None
        if (value is not None and moment is None) or not isinstance(pk, int):
            return None
        return moment, pk
    except (ValueError, TypeError):
        return None


@dataclass
class Page:
    reports: list[Report]
    next_cursor: str
    count: int
    count_is_exact: bool


def _ordered(rows: QuerySet[Report], sort: str) -> QuerySet[Report]:
    """``rows`` in the inbox's order ``sort``, ties broken by id."""
    column, descending, _label = SORTS[sort]
    # Only the nullable column asks for NULLS LAST (PostgreSQL's default for ASC, so the
    # (resolution_due_at, id) index still serves it); asking it of a NOT NULL column would
    # keep PostgreSQL from using the created_at index (see bench/meldpunt_inbox.py).
    nullable = Report._meta.get_field(column).null
    if descending:
        return rows.order_by(
            F(column).desc(nulls_last=True) if nullable else F(column).desc(), "-pk"
        )
    return rows.order_by(F(column).asc(nulls_last=True) if nullable else F(column).asc(), "pk")


def page(query: InboxQuery, user: Any, size: int = PAGE_SIZE) -> Page:
    """One page of the inbox: rows after the cursor, in the chosen order."""
    column, descending, _label = SORTS[query.sort]
    base = query.filter(reports_for(user), user)
    count = base.order_by()[: COUNT_LIMIT + 1].count()
    rows = base
    cursor = _decode(query.after) if query.after else None
    if cursor is not None:
        value, pk = cursor
        if value is None:  # we were already among the rows without a value (sorted last)
            pk_after = {"pk__lt": pk} if descending else {"pk__gt": pk}
            rows = rows.filter(**{f"{column}__isnull": True}, **pk_after)
        elif descending:
            rows = rows.filter(
                Q(**{f"{column}__lt": value})
                | Q(**{column: value, "pk__lt": pk})
                | Q(**{f"{column}__isnull": True})
            )
        else:
            rows = rows.filter(
                Q(**{f"{column}__gt": value})
                | Q(**{column: value, "pk__gt": pk})
                | Q(**{f"{column}__isnull": True})
            )
    rows = _ordered(rows, query.sort)
    # The page's ids first, from the report table alone (a join would let SQLite's planner
    # start from a small table and sort every open report), then the rows with their names.
    ids = list(rows.values_list("pk", flat=True)[: size + 1])
    found = Report.objects.select_related(
        "organisation", "category", "department", "assignee"
    ).in_bulk(ids)
    reports = [found[pk] for pk in ids if pk in found]
    overdue = handoff.overdue_report_ids([r.pk for r in reports if r.status == Status.FORWARDED])
    for report in reports:
        report.handover_overdue = report.pk in overdue  # the row's badge
    next_cursor = ""
    if len(reports) > size:
        reports = reports[:size]
        last = reports[-1]
        next_cursor = _encode(getattr(last, column), last.pk)
    return Page(
        reports=reports,
        next_cursor=next_cursor,
        count=min(count, COUNT_LIMIT),
        count_is_exact=count <= COUNT_LIMIT,
    )


def nearby(
    user: Any,
    latitude: float,
    longitude: float,
    *,
    radius_m: float = 250,
    days: int = 60,
    exclude: int | None = None,
    limit: int = 10,
) -> list[tuple[Report, float]]:
    """Open reports the user may see within ``radius_m`` of the point in the last ``days``
    days, nearest first, with their distance in metres. A bounding box on the indexed
    coordinates keeps it fast; the exact distance is computed on the few candidates."""
    lat_min, lat_max, lon_min, lon_max = geo.bounding_box(latitude, longitude, radius_m)
    candidates = (
        reports_for(user)
        .open()
        .filter(
            latitude__range=(lat_min, lat_max),
            longitude__range=(lon_min, lon_max),
            created_at__gte=timezone.now() - timedelta(days=days),
        )
        .select_related("category", "organisation")
    )
    if exclude:
        candidates = candidates.exclude(pk=exclude)
    found = []
    for report in candidates[:500]:
        distance = geo.distance_m(latitude, longitude, report.latitude, report.longitude)
        if distance <= radius_m:
            found.append((report, distance))
    found.sort(key=lambda pair: pair[1])
    return found[:limit]


# --- Export -------------------------------------------------------------------------------

#: Semicolons: what Excel on a Belgian computer splits a CSV file on (``core.spreadsheets``).
EXPORT_DELIMITER = DELIMITER
EXPORT_CHUNK = 2000
#: The reporter's columns: filled only for reports whose reporter the user may see.
CONTACT_COLUMNS = 3

EXPORT_HEADER = (
    _("Reference"),
    _("Status"),
    _("Deadline"),
    _("Category"),
    _("Municipality"),
    _("Department"),
    _("Assigned to"),
    _("Channel"),
    _("Reported on"),
    _("Response due"),
    _("Resolution due"),
    _("Answered on"),
    _("Resolved on"),
    _("Closed on"),
    _("Address"),
    _("Description"),
    _("Answers to the extra questions"),
    _("Merged into"),
    _("Reporter's name"),
    _("Reporter's e-mail"),
    _("Reporter's phone"),
)


def _local(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def export_rows(query: InboxQuery, user: Any) -> Iterator[list[str]]:
    """The header, then every report the inbox lists for ``query`` (all pages, in its
    order, within the user's scope), as spreadsheet-safe cells.

    The reporter's name, e-mail and phone are filled only where ``user`` may see them
    (the rule of ``queries.can_see_contact``, asked in the same query); the columns stay,
    empty, elsewhere, so every file has the same shape.
    """
    now = timezone.now()
    visible_q = contact_visible_q(user)
    contact_visible: Any = (
        Case(When(visible_q, then=Value(True)), default=Value(False), output_field=BooleanField())
        if visible_q
        else Value(True)  # a superuser: every report
    )
    rows = (
        _ordered(query.filter(reports_for(user), user), query.sort)
        .annotate(contact_visible=contact_visible)
        .select_related("organisation", "category", "department", "assignee", "merged_into")
    )
    yield [spreadsheet_safe(str(label)) for label in EXPORT_HEADER]
    questions: dict[int, list[CategoryAttribute]] = {}  # per category, read once
    for report in rows.iterator(chunk_size=EXPORT_CHUNK):
        contact = (
            [report.reporter_name, report.reporter_email, report.reporter_phone]
            if report.contact_visible
            else [""] * CONTACT_COLUMNS
        )
        cells = [
            report.reference,
            str(Status(report.status).label),
            str(sla_state(report, now).label),
            report.category.display_name,
            report.organisation.display_name,
            report.department.display_name if report.department else "",
            str(report.assignee) if report.assignee else "",
            str(report.get_channel_display()),
            _local(report.created_at),
            _local(report.response_due_at),
            _local(report.resolution_due_at),
            _local(report.responded_at),
            _local(report.resolved_at),
            _local(report.closed_at),
            report.address,
            report.description,
            _answers(report, questions),
            report.merged_into.reference if report.merged_into else "",
            *contact,
        ]
        yield [spreadsheet_safe(cell) for cell in cells]


def _answers(report: Report, questions: dict[int, list[CategoryAttribute]]) -> str:
    """The answers to the extra questions in one cell: "question: answer; ..."."""
    if not report.attributes:
        return ""
    if report.category_id not in questions:
        questions[report.category_id] = list(
            CategoryAttribute.objects.filter(category_id=report.category_id)
        )
    shown = describe_answers(report.attributes, questions[report.category_id])
    return "; ".join(f"{question}: {answer}" for question, answer in shown)


class _Echo:
    """A file that hands back what is written: ``csv.writer`` then returns each line."""

    def write(self, value: str) -> str:
        return value


def export_csv(query: InboxQuery, user: Any, language: str) -> Iterator[bytes]:
    """:func:`export_rows` as UTF-8 CSV with a byte order mark (so Excel reads accents),
    in lines of a few hundred rows: the response streams, whatever the number of reports.
    ``language``: the headers' and labels' language, kept while the response streams."""
    writer = csv.writer(_Echo(), delimiter=EXPORT_DELIMITER, lineterminator="\r\n")
    with translation.override(language):
        yield "\ufeff".encode()
        lines: list[str] = []
        for cells in export_rows(query, user):
            lines.append(writer.writerow(cells))
            if len(lines) >= 500:
                yield "".join(lines).encode()
                lines = []
        yield "".join(lines).encode()
