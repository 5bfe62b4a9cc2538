"""``meldpunt.queries``: what other modules may read, scoped to what a person may see."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from regiohub.core import geo
from regiohub.core.tests.factories import MembershipFactory
from regiohub.meldpunt import queries, services
from regiohub.meldpunt.models import Report
from regiohub.meldpunt.tests.factories import KORTRIJK_CENTRE, MENEN_CENTRE, file_report
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def reports(categories):
    kortrijk = [file_report(), file_report(), file_report(channel="phone")]
    menen = file_report(where=MENEN_CENTRE)
    services.change_status(kortrijk[0], Status.RESOLVED, actor=None, reason="hersteld")
    return kortrijk, menen


def _today():
    return timezone.localdate()


def test_counts_per_status_see_only_the_agents_municipality(reports, kortrijk_agent):
    counts = queries.report_counts(kortrijk_agent, start=_today(), end=_today(), by="status")
    assert {c.key: c.count for c in counts} == {"new": 2, "resolved": 1}
    assert {c.key: c.open for c in counts} == {"new": 2, "resolved": 0}
    assert all(c.label for c in counts)


def test_counts_per_municipality_for_the_region(reports, region):
    regional = MembershipFactory(organisation=region["ZWVL"], role="handler").user
    counts = queries.report_counts(regional, start=_today(), end=_today(), by="municipality")
    assert {c.key: c.count for c in counts} == {"KOR": 3, "MEN": 1}
    assert {c.label for c in counts} == {"Kortrijk", "Menen"}


def test_counts_per_channel_and_day(reports, kortrijk_agent):
    by_channel = queries.report_counts(kortrijk_agent, start=_today(), end=_today(), by="channel")
    assert {c.key: c.count for c in by_channel} == {"web": 2, "phone": 1}
    by_day = queries.report_counts(kortrijk_agent, start=_today(), end=_today(), by="day")
    assert [(c.key, c.count) for c in by_day] == [(_today().isoformat(), 3)]


def test_a_period_without_reports_and_a_stranger_see_nothing(reports, kortrijk_agent):
    last_year = _today() - timedelta(days=365)
    assert queries.report_counts(kortrijk_agent, start=last_year, end=last_year, by="day") == []
    assert queries.report_counts(None, start=_today(), end=_today(), by="status") == []
    with pytest.raises(ValueError):
        queries.report_counts(kortrijk_agent, start=_today(), end=last_year, by="day")
    with pytest.raises(ValueError):
        queries.report_counts(kortrijk_agent, start=_today(), end=_today(), by="reporter_email")


def test_sla_outcomes_count_on_time_late_and_overdue(reports, kortrijk_agent):
    kortrijk, _ = reports
    # One open report is past its due date, one resolved report was late.
    Report.objects.filter(pk=kortrijk[1].pk).update(
        resolution_due_at=timezone.now() - timedelta(hours=1)
    )
    Report.objects.filter(pk=kortrijk[0].pk).update(
        resolution_due_at=timezone.now() - timedelta(days=1)
    )
    (outcome,) = queries.sla_outcomes(
        kortrijk_agent, start=_today(), end=_today(), by="municipality"
    )
    assert outcome.key == "KOR" and outcome.reports == 3
    assert (outcome.resolved_on_time, outcome.resolved_late) == (0, 1)
    assert (outcome.open_overdue, outcome.open_in_time) == (1, 1)
    assert outcome.on_time_share == 0.0


def test_reporter_contact_is_for_the_people_who_handle_the_report(reports, region):
    kortrijk, _ = reports
    agent = MembershipFactory(organisation=region["KOR"], agent=True).user
    handler_elsewhere = MembershipFactory(organisation=region["KOR"], role="handler").user
    assert queries.can_see_contact(agent, kortrijk[0])
    assert not queries.can_see_contact(handler_elsewhere, kortrijk[0])
    assert set(queries.handlers_of({region["KOR"].pk})) >= {agent, handler_elsewhere}


# --- Districts ---------------------------------------------------------------------------


def _approximate_in_kortrijk() -> Report:
    return services.submit_report(
        category_code="pothole",
        description="Gat in de weg.",
        latitude=None,
        longitude=None,
        address="Kerkstraat 4",
        municipality_code="KOR",
        channel="web",
    ).report


def test_a_filed_report_gets_the_district_of_its_point(categories):
    report = file_report()
    assert report.district_code.startswith("34022W")
    assert report.district_code == geo.district_at(*KORTRIJK_CENTRE)
    report.refresh_from_db()
    assert report.district_code.startswith("34022W")
    assert file_report(where=MENEN_CENTRE).district_code.startswith("34027W")


def test_an_approximately_placed_report_gets_no_district(categories):
    report = _approximate_in_kortrijk()
    assert report.location_is_approximate
    assert report.district_code == ""


def test_counts_per_district_see_only_the_agents_municipality(reports, kortrijk_agent, region):
    _approximate_in_kortrijk()
    kortrijk_district = geo.district_at(*KORTRIJK_CENTRE)
    counts = queries.report_counts(kortrijk_agent, start=_today(), end=_today(), by="district")
    assert {c.key: c.count for c in counts} == {"": 1, kortrijk_district: 3}
    assert {c.key: c.open for c in counts} == {"": 1, kortrijk_district: 2}
    labels = {c.key: c.label for c in counts}
    assert labels[kortrijk_district] == "Kortrijk Centrum (Kortrijk)"
    with translation.override("en"):
        counts = queries.report_counts(kortrijk_agent, start=_today(), end=_today(), by="district")
    assert {c.key: c.label for c in counts}[""] == "Place unknown"

    regional = MembershipFactory(organisation=region["ZWVL"], role="handler").user
    everywhere = queries.report_counts(regional, start=_today(), end=_today(), by="district")
    assert {c.key: c.count for c in everywhere} == {
        "": 1,
        kortrijk_district: 3,
        geo.district_at(*MENEN_CENTRE): 1,
    }
    only_menen = queries.report_counts(
        regional, start=_today(), end=_today(), by="district", organisation_ids={region["MEN"].pk}
    )
    assert [(c.key, c.count) for c in only_menen] == [(geo.district_at(*MENEN_CENTRE), 1)]


def test_sla_outcomes_per_district(reports, kortrijk_agent):
    (outcome,) = queries.sla_outcomes(kortrijk_agent, start=_today(), end=_today(), by="district")
    assert outcome.key == geo.district_at(*KORTRIJK_CENTRE)
    assert outcome.label == "Kortrijk Centrum (Kortrijk)"
    assert outcome.reports == 3 and outcome.resolved_on_time == 1


def test_a_split_keeps_the_district(categories, kortrijk_agent):
    original = file_report()
    new = services.split(
        original, category_code="street-light", description="Lamp stuk.", actor=kortrijk_agent
    )
    new.refresh_from_db()
    assert new.district_code == original.district_code != ""


def test_statistics_for_someone_who_handles_no_reports_is_empty(categories):
    """Scoped to no organisation at all, the statistics are empty rather than an error
    (on PostgreSQL they are read with a query of their own, which refused an empty
    scope)."""
    from datetime import date

    from regiohub.core.tests.factories import MembershipFactory
    from regiohub.meldpunt import queries

    employee = MembershipFactory(organisation=categories["KOR"], role="employee").user
    found = queries.statistics(employee, start=date(2026, 1, 1), end=date(2026, 12, 31))
    assert found == [] or all(row.filed == 0 for row in found)
