"""The statistics page: satisfaction and handling figures per municipality x category x
period, filtered by a GET form (so a view can be bookmarked), with a CSV download.
Scoped like the inbox (``queries.reports_for``); the figures come from ``queries``."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.http import content_disposition_header
from django.utils.translation import get_language, gettext_lazy, pgettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from regiohub.core import access
from regiohub.core.auth.decorators import staff_required
from regiohub.core.models import Organisation
from regiohub.meldpunt import queries
from regiohub.meldpunt import statistics as stats
from regiohub.meldpunt.inbox import EXPORT_DELIMITER, spreadsheet_safe
from regiohub.meldpunt.models import Category
from regiohub.meldpunt.permissions import HANDLE_REPORTS
from regiohub.meldpunt.tasks import STATISTICS_MINUTES

#: Dates a question may ask about: reports are never older, and the periods must be
#: counted without overflowing the calendar.
FIRST_YEAR, LAST_YEAR = 2000, 2100


class StatisticsForm(forms.Form):
    start = forms.DateField(
        label=gettext_lazy("Filed from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=gettext_lazy("Up to and including"), widget=forms.DateInput(attrs={"type": "date"})
    )
    period = forms.ChoiceField(
        label=gettext_lazy("Per"),
        choices=[
            ("month", gettext_lazy("Month")),
            ("quarter", gettext_lazy("Quarter")),
            ("year", gettext_lazy("Year")),
        ],
    )
    rows = forms.ChoiceField(
        label=gettext_lazy("Rows"),
        choices=[
            ("municipality_category", gettext_lazy("Per municipality and category")),
            ("municipality", gettext_lazy("Per municipality")),
            ("category", gettext_lazy("Per category, all municipalities together")),
            ("region", gettext_lazy("All reports together")),
        ],
    )
    municipality = forms.ChoiceField(label=gettext_lazy("Municipality"), required=False)
    category = forms.ChoiceField(label=gettext_lazy("Category"), required=False)

    def __init__(self, organisation_ids: frozenset[int], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        municipalities = Organisation.objects.filter(
            pk__in=organisation_ids, kind="municipality"
        ).defer("boundary")
        self.fields["municipality"].choices = [
            ("", _("All")),
            *sorted(((o.code, o.display_name) for o in municipalities), key=lambda c: c[1]),
        ]
        categories = Category.objects.filter(organisation_id__in=organisation_ids)
        names: dict[str, str] = {}
        for category in categories.order_by("organisation_id"):
            names.setdefault(category.code, category.display_name)
        self.fields["category"].choices = [
            ("", _("All")),
            *sorted(names.items(), key=lambda c: c[1]),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start is None or end is None:
            return data
        if not (FIRST_YEAR <= start.year <= LAST_YEAR and FIRST_YEAR <= end.year <= LAST_YEAR):
            raise ValidationError(
                _("Choose dates between %(first)d and %(last)d.")
                % {"first": FIRST_YEAR, "last": LAST_YEAR}
            )
        if end < start:
            raise ValidationError(_("The end date is before the start date."))
        try:
            stats.periods(start, end, data.get("period") or "year")
        except ValueError:
            raise ValidationError(
                _("That is more than %(count)d periods: count per quarter or year, or choose "
                  "a shorter range.") % {"count": stats.MAX_PERIODS}
            ) from None  # fmt: skip
        return data


def defaults(today: date, *, several_municipalities: bool) -> dict[str, str]:
    """The page without a question: this quarter and the three before it, per quarter;
    per municipality and category, or per municipality first for someone who handles
    several (a region-wide agent would get a table of hundreds of rows)."""
    start = stats.period_start(today, "quarter")
    for _step in range(3):
        start = stats.period_start(start - timedelta(days=1), "quarter")
    return {
        "start": start.isoformat(),
        "end": today.isoformat(),
        "period": "quarter",
        "rows": "municipality" if several_municipalities else "municipality_category",
    }


def _form(request: HttpRequest) -> tuple[StatisticsForm, frozenset[int]]:
    organisation_ids = access.organisation_ids(request.user, HANDLE_REPORTS)
    if not organisation_ids:
        raise PermissionDenied
    data = QueryDict(mutable=True)
    municipalities = Organisation.objects.filter(pk__in=organisation_ids, kind="municipality")
    data.update(defaults(timezone.localdate(), several_municipalities=municipalities.count() > 1))
    for key in StatisticsForm.base_fields:
        if key in request.GET:
            data[key] = request.GET[key]
    return StatisticsForm(organisation_ids, data), organisation_ids


def _figures(request: HttpRequest, form: StatisticsForm) -> list[stats.StatisticsRow]:
    data = form.cleaned_data
    organisation_ids = None
    if data["municipality"]:
        organisation_ids = set(
            Organisation.objects.filter(code=data["municipality"]).values_list("pk", flat=True)
        )
    return queries.statistics(
        request.user,
        start=data["start"],
        end=data["end"],
        period=data["period"],
        rows=data["rows"],
        organisation_ids=organisation_ids,
        category_codes={data["category"]} if data["category"] else None,
    )


def percent(share: float | None) -> str:
    """A share as a percentage with one decimal, in the language's notation (66,7)."""
    return "" if share is None else number_format(round(share * 100, 1), 1)


def days(lead: timedelta | None, decimals: int = 1) -> str:
    """A lead time in days of 24 hours (number_format cuts, so round first)."""
    if lead is None:
        return ""
    return number_format(round(lead.total_seconds() / 86_400, decimals), decimals)


def _cells(row: stats.StatisticsRow) -> list[tuple[str, str]]:
    """The table's figure cells: (the share or value, what it is counted from)."""

    def share(value: float | None, part: int, whole: int) -> tuple[str, str]:
        return (f"{percent(value)} %" if value is not None else "—", f"{part}/{whole}")

    return [
        (str(row.filed), ""),
        share(row.response_rate, row.answered, row.asked),
        share(row.satisfied_share, row.satisfied, row.answered),
        share(row.reopen_request_rate, row.reopen_requested, row.resolved),
        share(row.reopen_rate, row.reopened, row.resolved),
        share(row.first_time_right_share, row.first_time_right, row.judged),
        share(row.on_time_share, row.on_time, row.resolved_now),
        (days(row.median_lead_time) or "—", str(row.resolved_now) if row.resolved_now else ""),
    ]


@staff_required
@require_GET
def statistics_page(request: HttpRequest) -> HttpResponse:
    form, _ids = _form(request)
    rows = _figures(request, form) if form.is_valid() else []
    context = {
        "form": form,
        "rows": [(row, _cells(row)) for row in rows],
        "definitions": stats.DEFINITIONS,
        "counted_at": queries.statistics_counted_at(),
        "every_minutes": STATISTICS_MINUTES,
        "query": request.GET.urlencode(),
        "show_municipality": form.is_valid()
        and form.cleaned_data["rows"] in ("municipality_category", "municipality"),
        "show_category": form.is_valid()
        and form.cleaned_data["rows"] in ("municipality_category", "category"),
    }
    return render(
        request, "meldpunt/staff/statistics.html", context, status=200 if form.is_valid() else 400
    )


CSV_HEADER = (
    gettext_lazy("Period"),
    gettext_lazy("Period starts"),
    gettext_lazy("Municipality code"),
    gettext_lazy("Municipality"),
    gettext_lazy("Category code"),
    gettext_lazy("Category"),
    gettext_lazy("Filed"),
    gettext_lazy("Resolved at least once"),
    gettext_lazy("Asked"),
    gettext_lazy("Answered"),
    gettext_lazy("Response rate (%)"),
    gettext_lazy("Satisfied"),
    gettext_lazy("Satisfied (%)"),
    gettext_lazy("Reopen requested"),
    gettext_lazy("Reopen requested (%)"),
    gettext_lazy("Reopened"),
    gettext_lazy("Reopened (%)"),
    gettext_lazy("Resolved 30 days ago or more"),
    gettext_lazy("First time right"),
    gettext_lazy("First time right (%)"),
    gettext_lazy("Resolved or closed now"),
    gettext_lazy("On time"),
    gettext_lazy("On time (%)"),
    gettext_lazy("Median lead time (days)"),
)


def csv_rows(rows: list[stats.StatisticsRow]) -> Iterator[list[str]]:
    """The header and one line per row, every cell safe to open in a spreadsheet."""
    yield [spreadsheet_safe(str(label)) for label in CSV_HEADER]
    for row in rows:
        cells = [
            row.period_label, row.period.isoformat(), row.municipality, row.municipality_name,
            row.category, row.category_name, row.filed, row.resolved, row.asked, row.answered,
            percent(row.response_rate), row.satisfied, percent(row.satisfied_share),
            row.reopen_requested, percent(row.reopen_request_rate), row.reopened,
            percent(row.reopen_rate), row.judged, row.first_time_right,
            percent(row.first_time_right_share), row.resolved_now, row.on_time,
            percent(row.on_time_share), days(row.median_lead_time, 2),
        ]  # fmt: skip
        yield [spreadsheet_safe(str(cell)) for cell in cells]


class _Echo:
    def write(self, value: str) -> str:
        return value


@staff_required
@require_GET
def statistics_export(request: HttpRequest) -> HttpResponse:
    """The page's figures as a CSV file (UTF-8 with a byte order mark, semicolons: what
    Excel on a Belgian computer opens as columns)."""
    form, _ids = _form(request)
    if not form.is_valid():
        return statistics_page(request)
    rows = _figures(request, form)
    language = get_language()

    def lines() -> Iterator[bytes]:
        writer = csv.writer(_Echo(), delimiter=EXPORT_DELIMITER, lineterminator="\r\n")
        with translation.override(language):
            yield "\ufeff".encode()
            for cells in csv_rows(rows):
                yield writer.writerow(cells).encode()

    filename = f"{pgettext('file name', 'statistics')}-{timezone.localdate():%Y-%m-%d}.csv"
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response
