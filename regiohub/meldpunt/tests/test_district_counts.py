"""Reports per district over time (the reports map): for staff, scoped to what they may
see; for the public, only what the public map shows, with small counts suppressed."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from regiohub.core import geo
from regiohub.core.tests.factories import MembershipFactory
from regiohub.meldpunt import public_map, queries, services
from regiohub.meldpunt.models import Category, Report
from regiohub.meldpunt.tests.factories import KORTRIJK_CENTRE, MENEN_CENTRE, file_report
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db

BRUSSELS = ZoneInfo("Europe/Brussels")
YEAR = (date(2026, 1, 1), date(2027, 12, 31))


@pytest.fixture(autouse=True)
def fresh_map_subjects():
    """The public map keeps its subjects per process: each test reads its own."""
    public_map.forget()
    yield
    public_map.forget()


def filed_at(report: Report, *moment: int) -> Report:
    """``report`` as if filed at that local (Brussels) time."""
    when = datetime(*moment, tzinfo=BRUSSELS)
    Report.objects.filter(pk=report.pk).update(created_at=when)
    return report


def cells(found: list[queries.DistrictCount]) -> dict[tuple[date, str, str], int]:
    return {(c.period, c.key, c.municipality): c.count for c in found}


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


# --- For staff -----------------------------------------------------------------------------


def test_a_menen_agent_never_counts_kortrijks_reports(categories, region):
    filed_at(file_report(), 2026, 5, 6, 10, 0)
    filed_at(file_report(where=MENEN_CENTRE), 2026, 5, 6, 11, 0)
    menen_agent = MembershipFactory(organisation=region["MEN"], agent=True).user
    start, end = YEAR
    found = queries.district_counts(menen_agent, start=start, end=end, period="month")
    menen_district = geo.district_at(*MENEN_CENTRE)
    assert cells(found) == {(date(2026, 5, 1), menen_district, "MEN"): 1}
    assert found[0].label.endswith("(Menen)")
    assert queries.district_counts(None, start=start, end=end, period="month") == []


def test_weeks_start_on_monday_in_the_regions_time_zone_across_dst_and_new_year(
    categories, kortrijk_agent
):
    kortrijk = geo.district_at(*KORTRIJK_CENTRE)
    # Summer time starts Sunday 29 March 2026: Sunday 23:30 is still that week, Monday
    # 00:30 (Sunday 22:30 UTC) the next one.
    filed_at(file_report(), 2026, 3, 29, 23, 30)
    filed_at(file_report(), 2026, 3, 30, 0, 30)
    # Winter time from Sunday 25 October 2026: Monday 00:30 is Sunday 23:30 UTC.
    filed_at(file_report(), 2026, 10, 26, 0, 30)
    # The week of Monday 28 December 2026 runs into 2027 (ISO week 53).
    filed_at(file_report(), 2026, 12, 28, 0, 10)
    filed_at(file_report(), 2027, 1, 3, 23, 59)
    start, end = YEAR
    found = queries.district_counts(kortrijk_agent, start=start, end=end, period="week")
    assert cells(found) == {
        (date(2026, 3, 23), kortrijk, "KOR"): 1,
        (date(2026, 3, 30), kortrijk, "KOR"): 1,
        (date(2026, 10, 26), kortrijk, "KOR"): 1,
        (date(2026, 12, 28), kortrijk, "KOR"): 2,
    }
    assert all(c.period.weekday() == 0 for c in found)
    assert [c.period for c in found] == sorted(c.period for c in found)


def test_months_follow_the_local_calendar(categories, kortrijk_agent):
    kortrijk = geo.district_at(*KORTRIJK_CENTRE)
    filed_at(file_report(), 2026, 2, 28, 23, 30)  # 22:30 UTC: February
    filed_at(file_report(), 2026, 3, 1, 0, 30)  # 23:30 UTC on 28 February: March
    filed_at(file_report(), 2026, 12, 31, 23, 59)
    filed_at(file_report(), 2027, 1, 1, 0, 0)
    start, end = YEAR
    found = queries.district_counts(kortrijk_agent, start=start, end=end, period="month")
    assert cells(found) == {
        (date(2026, 2, 1), kortrijk, "KOR"): 1,
        (date(2026, 3, 1), kortrijk, "KOR"): 1,
        (date(2026, 12, 1), kortrijk, "KOR"): 1,
        (date(2027, 1, 1), kortrijk, "KOR"): 1,
    }
    # The range is inclusive, in local days: 1 March 00:30 is within 1 March.
    only_march = queries.district_counts(
        kortrijk_agent, start=date(2026, 3, 1), end=date(2026, 3, 1), period="month"
    )
    assert cells(only_march) == {(date(2026, 3, 1), kortrijk, "KOR"): 1}


def test_reports_without_a_district_count_in_the_unknown_bucket(categories, kortrijk_agent):
    filed_at(file_report(), 2026, 6, 2, 9, 0)
    filed_at(_approximate_in_kortrijk(), 2026, 6, 3, 9, 0)
    start, end = YEAR
    with translation.override("en"):
        found = queries.district_counts(kortrijk_agent, start=start, end=end, period="month")
    unknown = [c for c in found if c.key == ""]
    assert [(c.label, c.municipality, c.count) for c in unknown] == [("Place unknown", "KOR", 1)]
    assert [c.key for c in found] == sorted(c.key for c in found)


def test_the_organisation_filter_narrows_a_regional_view(categories, region):
    filed_at(file_report(), 2026, 4, 7, 9, 0)
    filed_at(file_report(where=MENEN_CENTRE), 2026, 4, 7, 9, 0)
    regional = MembershipFactory(organisation=region["ZWVL"], role="handler").user
    start, end = YEAR
    both = queries.district_counts(regional, start=start, end=end, period="month")
    assert {c.municipality for c in both} == {"KOR", "MEN"}
    menen = queries.district_counts(
        regional, start=start, end=end, period="month", organisation_ids={region["MEN"].pk}
    )
    assert cells(menen) == {(date(2026, 4, 1), geo.district_at(*MENEN_CENTRE), "MEN"): 1}


def test_bad_periods_and_ranges_are_refused(categories, kortrijk_agent):
    start, end = YEAR
    with pytest.raises(ValueError, match="per week or per month"):
        queries.district_counts(kortrijk_agent, start=start, end=end, period="day")
    with pytest.raises(ValueError, match="ends before it starts"):
        queries.district_counts(kortrijk_agent, start=end, end=start, period="week")


# --- For the public ------------------------------------------------------------------------


def test_anyone_gets_public_counts_and_small_cells_reveal_no_number(categories):
    for _ in range(3):
        filed_at(file_report(), 2026, 5, 4, 10, 0)
    for _ in range(2):
        filed_at(file_report(where=MENEN_CENTRE), 2026, 5, 5, 10, 0)
    start, end = YEAR
    found = queries.public_district_counts(start=start, end=end, period="week", threshold=3)
    by_key = {c.key: c for c in found}
    kortrijk = by_key[geo.district_at(*KORTRIJK_CENTRE)]
    menen = by_key[geo.district_at(*MENEN_CENTRE)]
    assert (kortrijk.count, kortrijk.suppressed) == (3, False)
    assert (menen.count, menen.suppressed) == (0, True)
    # The suppressed number (2) is in no field of the cell.
    assert 2 not in [v for v in dataclasses.astuple(menen) if isinstance(v, int)]
    assert "2" not in menen.label + menen.key.replace("34027W", "") + menen.municipality
    # A threshold of 1 hides nothing.
    shown = queries.public_district_counts(start=start, end=end, period="week", threshold=1)
    assert sorted(c.count for c in shown) == [2, 3] and not any(c.suppressed for c in shown)


def test_public_counts_hold_only_what_the_public_map_shows(categories, region):
    shown = filed_at(file_report(), 2026, 5, 4, 10, 0)
    finished = filed_at(file_report(), 2026, 5, 4, 11, 0)
    services.change_status(finished, Status.RESOLVED, actor=None, reason="Hersteld.")
    cancelled = filed_at(file_report(), 2026, 5, 4, 11, 30)
    Report.objects.filter(pk=cancelled.pk).update(status=Status.CANCELLED)
    filed_at(file_report(code="question"), 2026, 5, 4, 12, 0)  # not on the map
    Category.objects.filter(code="illegal-dumping").update(is_public_on_map=False)
    filed_at(file_report(code="illegal-dumping"), 2026, 5, 4, 12, 0)
    filed_at(_approximate_in_kortrijk(), 2026, 5, 4, 13, 0)
    outside = filed_at(file_report(where=MENEN_CENTRE), 2026, 5, 4, 14, 0)
    Report.objects.filter(pk=outside.pk).update(district_code="")  # outside every district
    public_map.forget()
    start, end = YEAR
    with translation.override("en"):
        found = queries.public_district_counts(start=start, end=end, period="month", threshold=1)
    assert cells(found) == {
        (date(2026, 5, 1), "", "MEN"): 1,
        # Resolved since: it was filed in May all the same; cancelled ones do not count.
        (date(2026, 5, 1), shown.district_code, "KOR"): 2,
    }
    assert found[0].label == "District unknown"
    only_kortrijk = queries.public_district_counts(
        start=start, end=end, period="month", threshold=1, organisation_ids={region["KOR"].pk}
    )
    assert [c.key for c in only_kortrijk] == [shown.district_code]


@pytest.mark.parametrize("threshold", [0, -3, 2.5, True, "5"])
def test_a_threshold_that_is_not_a_whole_positive_number_is_refused(categories, threshold):
    start, end = YEAR
    with pytest.raises(ValueError, match="threshold"):
        queries.public_district_counts(start=start, end=end, period="month", threshold=threshold)
