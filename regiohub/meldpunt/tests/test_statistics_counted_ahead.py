"""The statistics page reads counts made ahead per municipality, category and month (ADR
0039): the job every few minutes counts again exactly the months whose reports changed
(a report moved to another subject leaves its old cell), and months never counted."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from regiohub.core import schedule
from regiohub.core.testing import staff_client
from regiohub.meldpunt import queries, services, statistics
from regiohub.meldpunt.models import Report, StatisticsMonth
from regiohub.meldpunt.tasks import refresh_statistics, refresh_statistics_nightly
from regiohub.meldpunt.tests.factories import file_report
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db


def this_month() -> dict:
    today = timezone.localdate()
    return {"start": today, "end": today}


def test_the_job_counts_what_changed_and_the_page_says_when(categories, kortrijk_agent):
    browser = staff_client(kortrijk_agent)
    browser.cookies["regiohub_language"] = "en"
    page = browser.get(reverse("meldpunt:statistics"))
    assert "Not counted yet" in page.content.decode()

    report = file_report()
    assert queries.statistics(kortrijk_agent, **this_month()) == []  # not counted yet
    assert refresh_statistics.call() == 1  # one cell: this month, Kortrijk, potholes
    [row] = queries.statistics(kortrijk_agent, **this_month())
    assert (row.filed, row.resolved_now) == (1, 0)

    services.change_status(report, Status.RESOLVED, actor=kortrijk_agent)
    [row] = queries.statistics(kortrijk_agent, **this_month())
    assert row.resolved_now == 0  # as counted, until the job runs
    refresh_statistics.call()
    [row] = queries.statistics(kortrijk_agent, **this_month())
    assert (row.resolved_now, row.on_time, row.asked) == (1, 1, 1)
    assert "Counted at" in browser.get(reverse("meldpunt:statistics")).content.decode()


def test_only_changed_months_are_counted_again(categories, kortrijk_agent):
    old = file_report()
    Report.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=400),
        updated_at=timezone.now() - timedelta(days=400),
    )
    new = file_report()
    statistics.refresh_changed(timezone.now() - timedelta(days=1000))
    cells = {c.month: c.counted_at for c in StatisticsMonth.objects.all()}
    assert len(cells) == 2
    services.change_status(new, Status.RESOLVED, actor=kortrijk_agent)
    refresh_statistics.call()
    again = {c.month: c.counted_at for c in StatisticsMonth.objects.all()}
    old_month = min(cells)
    assert again[old_month] == cells[old_month]  # untouched
    assert again[max(cells)] > cells[max(cells)]


def test_a_report_moved_to_another_subject_leaves_its_old_cell(categories, kortrijk_agent):
    report = file_report(code="pothole")
    refresh_statistics.call()
    services.change_category(report, "street-light", actor=kortrijk_agent, reason="Lamp")
    refresh_statistics.call()
    rows = queries.statistics(kortrijk_agent, **this_month())
    assert [(r.category, r.filed) for r in rows] == [("street-light", 1)]


def test_months_never_counted_are_counted_at_the_first_run(categories, kortrijk_agent):
    long_ago = file_report()
    moment = timezone.now() - timedelta(days=800)
    Report.objects.filter(pk=long_ago.pk).update(created_at=moment, updated_at=moment)
    refresh_statistics_nightly.call()  # looks two days back, but the month was never counted
    first = timezone.localtime(moment).date().replace(day=1)
    assert StatisticsMonth.objects.filter(month=first).exists()
    months = statistics.months_never_counted()
    # Only the empty months between then and now are left (and cost an empty read).
    assert first not in months and all(m > first for m in months)


def test_the_jobs_are_scheduled():
    names = {job.name for job in schedule.jobs()}
    assert {"meldpunt.statistics", "meldpunt.statistics-nightly"} <= names


def test_a_cell_adds_up_to_the_same_figures_as_its_reports(categories, kortrijk_agent):
    """Months and quarters of the same reports agree."""
    for _ in range(3):
        report = file_report()
        services.change_status(report, Status.RESOLVED, actor=kortrijk_agent)
    refresh_statistics.call()
    today = timezone.localdate()
    [month] = queries.statistics(kortrijk_agent, start=today, end=today)
    [year] = queries.statistics(
        kortrijk_agent, start=date(today.year, 1, 1), end=today, period="year"
    )
    assert (month.filed, month.resolved_now, month.median_lead_time) == (
        year.filed, year.resolved_now, year.median_lead_time,
    )  # fmt: skip


def test_first_time_right_is_judged_when_asked_not_when_counted(categories, kortrijk_agent):
    """Counted 10 days after the first resolution, asked 25 days later: judged then."""
    from regiohub.meldpunt.tests.test_statistics_definitions import MARCH, local, report

    first = local(3, 2)
    report(local(3, 1), status=Status.CLOSED, first_resolved_at=first, resolved_at=first)
    report(local(3, 1), status=Status.REOPENED, first_resolved_at=first,
           reopened_at=first + timedelta(days=5))  # fmt: skip
    statistics.refresh_months([date(2026, 3, 1)], now=first + timedelta(days=10))
    question = {**MARCH, "now": first + timedelta(days=10)}
    [row] = queries.statistics(kortrijk_agent, **question)
    assert (row.judged, row.first_time_right) == (0, 0)  # too early for both
    [row] = queries.statistics(kortrijk_agent, **{**question, "now": first + timedelta(days=35)})
    assert (row.judged, row.first_time_right) == (2, 1)
    statistics.refresh_months([date(2026, 3, 1)], now=first + timedelta(days=40))
    [row] = queries.statistics(kortrijk_agent, **{**question, "now": first + timedelta(days=40)})
    assert (row.judged, row.first_time_right) == (2, 1)  # now counted in the cell itself
    assert StatisticsMonth.objects.get(month=date(2026, 3, 1)).first_resolved == b""


def test_a_worker_stopped_for_hours_or_killed_halfway_misses_nothing(
    categories, kortrijk_agent, monkeypatch
):
    from regiohub.meldpunt.models import StatisticsWatermark

    file_report()
    refresh_statistics.call()
    began = StatisticsWatermark.objects.get().began_at
    # The worker is down for five hours; a report of last year changes meanwhile.
    old = file_report()
    last_year = timezone.now() - timedelta(days=365)
    Report.objects.filter(pk=old.pk).update(created_at=last_year)
    StatisticsWatermark.objects.update(began_at=began - timedelta(hours=5))
    Report.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(hours=4))
    # The next count is killed after its first month (each month is its own transaction).
    real = statistics.count_month
    calls = []

    def dies_at_the_second(month, now=None):
        calls.append(month)
        if len(calls) == 2:
            raise SystemExit("kill -9")
        return real(month, now)

    monkeypatch.setattr(statistics, "count_month", dies_at_the_second)
    with pytest.raises(SystemExit):
        refresh_statistics.call()
    assert StatisticsWatermark.objects.get().began_at < began  # not moved: not complete
    monkeypatch.setattr(statistics, "count_month", real)
    refresh_statistics.call()  # restarted: covers the whole window again
    month = timezone.localtime(last_year).date().replace(day=1)
    assert StatisticsMonth.objects.filter(month=month).get().filed == 1
    rows = queries.statistics(kortrijk_agent, **this_month())
    assert sum(r.filed for r in rows) == 1  # this month: the first report only
