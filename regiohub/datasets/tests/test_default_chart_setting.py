"""The steward chooses and saves the dataset's default chart on its edit page; settings
that do not fit the current version's columns are refused, with a message per field."""

from __future__ import annotations

import pytest
from django.test import Client

from regiohub.core.testing import staff_client
from regiohub.datasets.tests.test_quick_chart_choices import statbel_dataset, statbel_lines, sums

pytestmark = pytest.mark.django_db


def edit_form(region, **chart):
    return {
        "title": "Inkomens",
        "description": "",
        "owner": region["KOR"].pk,
        "theme": "TRAN",
        "licence": "CC0-1.0",
        "attribution": "Statbel",
        "access": "open",
        **{f"chart_{name}": value for name, value in chart.items()},
    }


def test_the_saved_default_chart_is_drawn_for_the_latest_year(region, steward):
    text = statbel_lines()
    dataset = statbel_dataset(region, steward, text)
    client = staff_client(steward)
    url = f"/staff/data/{dataset.slug}/edit/"
    page = client.get(url)
    assert b'name="chart_x"' in page.content and b"ms_tot_net_inc" in page.content
    chart = {"x": "cd_munty_refnis", "measure": "ms_tot_net_inc", "aggregation": "sum"}
    assert client.post(url, edit_form(region, **chart)).status_code == 302
    dataset.refresh_from_db()
    assert dataset.chart == {**chart, "group": ""}

    shown = Client().get(f"/data/{dataset.slug}/").context["chart"]
    latest = "\n".join(line for line in text.splitlines() if line[:4] in ("CD_Y", "2013"))
    per_name = sums(latest, "TX_MUNTY_DESCR_NL", "MS_TOT_NET_INC")
    assert "2013" in shown.title  # the latest year, not a sum of nine years
    assert dict(shown.points) == pytest.approx(per_name)

    # An average across the years per municipality is no sum: every year counts.
    chart = {"x": "cd_munty_refnis", "measure": "ms_tot_net_inc", "aggregation": "avg"}
    client.post(url, edit_form(region, **chart))
    shown = Client().get(f"/data/{dataset.slug}/").context["chart"]
    every = sums(text, "TX_MUNTY_DESCR_NL", "MS_TOT_NET_INC")
    assert dict(shown.points) == pytest.approx({k: v / 9 for k, v in every.items()})

    # Grouped: one bar per municipality and year, counted.
    chart = {"x": "cd_munty_refnis", "aggregation": "count", "group": "cd_year"}
    assert client.post(url, edit_form(region, **chart)).status_code == 302
    shown = Client().get(f"/data/{dataset.slug}/").context["chart"]
    assert shown.points[0][0].startswith("Aartselaar · 20") and shown.points[0][1] == 1

    # Empty again: the chart chosen from the columns.
    assert client.post(url, edit_form(region)).status_code == 302
    dataset.refresh_from_db()
    assert dataset.chart == {}
    assert Client().get(f"/data/{dataset.slug}/").context["chart"].x_label == "CD_YEAR"


def test_bad_chart_settings_are_refused_per_field(region, steward):
    dataset = statbel_dataset(region, steward, statbel_lines(years=("2005",)))
    client = staff_client(steward)
    url = f"/staff/data/{dataset.slug}/edit/"
    bad = {
        "x": "no_such_column",
        "measure": "tx_munty_descr_nl",
        "aggregation": "median",
        "group": "gone",
    }
    response = client.post(url, edit_form(region, **bad))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "no column “no_such_column”" in errors["chart_x"][0]
    assert "is not a number" in errors["chart_measure"][0]
    assert "median" in errors["chart_aggregation"][0]
    assert "no column “gone”" in errors["chart_group"][0]

    response = client.post(
        url, edit_form(region, x="", measure="ms_tot_net_inc", aggregation="sum")
    )
    assert "along the chart's axis" in response.context["form"].errors["chart_x"][0]
    response = client.post(url, edit_form(region, x="cd_year", aggregation="sum", group="cd_year"))
    errors = response.context["form"].errors
    assert "Choose the number to show" in errors["chart_measure"][0]
    assert "another column" in errors["chart_group"][0]
    dataset.refresh_from_db()
    assert dataset.chart == {}
