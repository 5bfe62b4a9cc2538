"""The quick chart makes sense to a citizen: NIS codes are labelled with the municipality's
name, and a measure is never summed across years: it is shown per year or per period."""

from __future__ import annotations

import csv
import io
from collections import defaultdict

import pytest
from django.test import Client

from regiohub.core.testing import shared_path
from regiohub.datasets.tests import telraam_months
from regiohub.datasets.tests.factories import make_dataset, upload

pytestmark = pytest.mark.django_db


def statbel_lines(years: tuple[str, ...] = (), municipalities: int = 10) -> str:
    """The real Statbel income file, cut to its first municipalities (9 years each)."""
    path = shared_path("data", "statbel", "TF_PSNL_INC_TAX_MUNTY.txt")
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    rows = [line for line in lines[1 : 1 + 9 * municipalities] if line.split("|")[0] in years]
    return "\n".join([lines[0], *(rows if years else lines[1 : 1 + 9 * municipalities])]) + "\n"


def statbel_dataset(region, steward, text: str):
    dataset = make_dataset(region["KOR"], steward, slug="inkomens", access="open")
    load = upload(dataset, steward, text, name="TF_PSNL_INC_TAX_MUNTY.txt")
    assert load.state == "done", load.message
    return dataset


def page_chart(dataset, **params):
    response = Client().get(f"/data/{dataset.slug}/", params)
    assert response.status_code == 200
    return response.context["chart"]


def sums(text: str, by: str, measure: str) -> dict[str, float]:
    found: dict[str, float] = defaultdict(float)
    for row in csv.DictReader(io.StringIO(text), delimiter="|"):
        found[row[by]] += float(row[measure])
    return found


def test_a_measure_is_shown_per_year_not_summed_across_years(region, steward):
    text = statbel_lines()
    dataset = statbel_dataset(region, steward, text)
    chart = page_chart(dataset, chart="ms_tot_net_inc")
    per_year = sums(text, "CD_YEAR", "MS_TOT_NET_INC")
    assert chart.x_label == "CD_YEAR"
    assert [label for label, _v in chart.points] == sorted(per_year)
    for label, value in chart.points:
        assert value == pytest.approx(per_year[label])
    assert chart.kind == "line"


def test_nis_codes_are_labelled_with_the_municipality_name(region, steward):
    text = statbel_lines(years=("2005",))  # one year: nothing to sum across years
    dataset = statbel_dataset(region, steward, text)
    chart = page_chart(dataset, chart="ms_tot_net_inc")
    per_name = sums(text, "TX_MUNTY_DESCR_NL", "MS_TOT_NET_INC")
    assert chart.kind == "bar" and chart.x_label == "TX_MUNTY_DESCR_NL"
    assert {label for label, _v in chart.points} == set(per_name)
    assert "Aartselaar" in per_name
    for label, value in chart.points:
        assert value == pytest.approx(per_name[label])
    largest = max(per_name, key=per_name.get)
    assert chart.points[0][0] == largest


def test_on_a_french_page_the_french_names_label_the_codes(region, steward):
    from django.utils import translation

    dataset = statbel_dataset(region, steward, statbel_lines(years=("2005",)))
    with translation.override("fr"):
        from regiohub.datasets import quick_chart, storage

        version = dataset.current_version
        files = storage.files(dataset.storage_key, version.delta_version)
        code = next(c for c in version.schema if c["key"] == "cd_munty_refnis")
        name = quick_chart.name_column(code, version.schema, version.stats, files)
    assert name["key"] == "tx_munty_descr_fr"


def test_telraam_counts_are_shown_per_day_of_the_month(region, steward):
    rows = telraam_months.month_rows("2025-10")
    dataset = make_dataset(region["KOR"], steward, access="open")
    upload(dataset, steward, telraam_months.as_csv(rows), primary_key=telraam_months.KEY)
    chart = page_chart(dataset, chart="car")
    assert chart.kind == "line" and "per day" in chart.title
    days = {row["hour"].date() for row in rows}
    assert abs(len(chart.points) - len(days)) <= 1  # Brussels days, UTC hours
    assert sum(v or 0 for _l, v in chart.points) == pytest.approx(telraam_months.total(rows))
