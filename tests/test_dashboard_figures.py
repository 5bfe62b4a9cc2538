"""A dashboard's figure over the contact point: the rows come through the read door for
the viewer, so a Menen agent's chart never counts Kortrijk's reports; filters are checked
with a specific message each."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone, translation

from regiohub.core.tests.factories import MembershipFactory
from regiohub.dashboards.definitions import parse
from regiohub.dashboards.figures import FilterError, figure, parse_filters
from regiohub.meldpunt.tests.factories import KORTRIJK_CENTRE, MENEN_CENTRE, file_report

pytestmark = pytest.mark.django_db

DEFINITION = """
slug: meldingen
title: {nl: Meldingen, fr: Signalements, en: Reports}
description: {nl: Per gemeente, fr: Par commune, en: Per municipality}
audience: internal
organisations: [ZWVL]
charts:
  - slug: per-gemeente
    title: {nl: Meldingen per gemeente, fr: Signalements par commune, en: Reports per municipality}
    caption: {nl: Ingediend in de periode, fr: Déposés dans la période, en: Filed in the period}
    query: {meldpunt: report_counts, params: {by: municipality}}
    columns: [key, label, count, open]
    spec:
      mark: bar
      encoding:
        x: {field: label, type: nominal, sort: "-y"}
        y: {field: count, type: quantitative}
"""


def today_only() -> dict:
    today = timezone.localdate()
    return {"start": today.isoformat(), "end": today.isoformat()}


def test_the_figure_counts_only_what_its_viewer_may_see(categories, kortrijk_agent):
    file_report(where=KORTRIJK_CENTRE)
    file_report(where=KORTRIJK_CENTRE)
    file_report(where=MENEN_CENTRE)
    chart = parse(DEFINITION).charts[0]
    filters = parse_filters(today_only(), today=timezone.localdate())
    menen = MembershipFactory(organisation=categories["MEN"], agent=True).user
    regio = MembershipFactory(organisation=categories["ZWVL"], agent=True).user

    mine = figure(chart, kortrijk_agent, filters, language="nl")
    assert [(r["key"], r["count"]) for r in mine.rows] == [("KOR", 2)]
    theirs = figure(chart, menen, filters, language="nl")
    assert [(r["key"], r["count"]) for r in theirs.rows] == [("MEN", 1)]
    assert "Kortrijk" not in theirs.svg and "Kortrijk" not in theirs.summary
    everyone = figure(chart, regio, filters, language="nl")
    assert {r["key"]: r["count"] for r in everyone.rows} == {"KOR": 2, "MEN": 1}
    assert everyone.summary == "Hoogste: Kortrijk (2). Laagste: Menen (1)."
    assert 'role="img"' in everyone.svg and "Meldingen per gemeente" in everyone.svg


def test_a_municipality_filter_narrows_the_figure(categories):
    file_report(where=KORTRIJK_CENTRE)
    file_report(where=MENEN_CENTRE)
    regio = MembershipFactory(organisation=categories["ZWVL"], agent=True).user
    chart = parse(DEFINITION).charts[0]
    filters = parse_filters({**today_only(), "municipality": "MEN"}, today=timezone.localdate())
    found = figure(chart, regio, filters, language="en")
    assert [r["key"] for r in found.rows] == ["MEN"]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"start": "2026-13-01"}, "start", "Give a date such as 2026-03-31."),
        ({"start": "31/01/2026"}, "start", "Give a date such as 2026-03-31."),
        ({"end": "2026-01-01\x00"}, "end", "Give a date such as 2026-03-31."),
        ({"start": "2026-03-01", "end": "2026-02-01"}, "end", "The period ends before it starts."),
        ({"start": "1990-01-01", "end": "2026-01-01"}, "start", "at most ten years"),
        ({"municipality": "XYZ"}, "municipality", "Unknown municipality “XYZ”."),
    ],
)
def test_each_bad_filter_is_named(categories, params, field, message):
    with translation.override("en"), pytest.raises(FilterError) as refused:
        parse_filters(params, today=date(2026, 12, 7))
    assert refused.value.field == field
    assert message in str(refused.value)


def test_the_default_period_is_the_last_twelve_months(categories):
    filters = parse_filters({}, today=date(2026, 12, 7))
    assert (filters.start, filters.end) == (date(2025, 12, 1), date(2026, 12, 7))


DATASET_CHART = """
slug: verkeer
title: {nl: Verkeer, fr: Trafic, en: Traffic}
description: {nl: Tellingen, fr: Comptages, en: Counts}
audience: internal
organisations: [KOR]
charts:
  - slug: fietsers-per-segment
    title: {nl: Fietsers per segment, fr: Cyclistes par segment, en: Cyclists per segment}
    caption: {nl: Som, fr: Somme, en: Sum}
    query:
      dataset: verkeerstellingen
      params: {group_by: segment, agg: "sum:fietsers", order: segment}
    columns: [segment, sum_fietsers]
    spec:
      mark: bar
      encoding:
        x: {field: segment, type: nominal}
        y: {field: sum_fietsers, type: quantitative}
"""


def test_a_chart_over_an_internal_dataset_is_kortrijks_alone(categories, kortrijk_admin):
    from django.http import Http404

    from regiohub.datasets.tests.factories import COUNTS_CSV, make_dataset, upload

    dataset = make_dataset(categories["KOR"], kortrijk_admin)
    load = upload(dataset, kortrijk_admin, COUNTS_CSV)
    assert load.state == "done", load.error
    chart = parse(DATASET_CHART).charts[0]
    filters = parse_filters({}, today=timezone.localdate())
    found = figure(chart, kortrijk_admin, filters, language="nl")
    assert found.rows == [
        {"segment": 101, "sum_fietsers": 20},
        {"segment": 102, "sum_fietsers": 0},
    ]
    assert found.summary == "Hoogste: segment 101 (20). Laagste: segment 102 (0)."
    menen = MembershipFactory(organisation=categories["MEN"], agent=True).user
    with pytest.raises(Http404):
        figure(chart, menen, filters, language="nl")


def test_the_data_behind_a_figure_carries_its_source(categories, kortrijk_admin):
    import json

    from regiohub.datasets.tests.factories import COUNTS_CSV, make_dataset, upload

    dataset = make_dataset(categories["KOR"], kortrijk_admin, attribution="Stad Kortrijk")
    upload(dataset, kortrijk_admin, COUNTS_CSV)
    chart = parse(DATASET_CHART).charts[0]
    filters = parse_filters({}, today=timezone.localdate())
    with translation.override("nl"):
        found = figure(chart, kortrijk_admin, filters, language="nl")
        csv_text = found.as_csv()
    data = json.loads(found.as_json())
    assert data["source"]["name"] == "Verkeerstellingen"
    assert data["source"]["attribution"] == "Stad Kortrijk"
    assert data["source"]["version"] == 1
    assert data["columns"] == ["segment", "sum_fietsers"]
    lines = csv_text.splitlines()
    assert lines[:3] == ["segment;sum_fietsers", "101;20", "102;0"]
    assert lines[-1].startswith("Bron: Verkeerstellingen") and "Stad Kortrijk" in lines[-1]


def test_a_figure_over_the_contact_point_says_so(categories, kortrijk_agent):
    file_report(where=KORTRIJK_CENTRE)
    chart = parse(DEFINITION).charts[0]
    filters = parse_filters(today_only(), today=timezone.localdate())
    found = figure(chart, kortrijk_agent, filters, language="en")
    assert found.source.version is None and found.source.refreshed is not None
