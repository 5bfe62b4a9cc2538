"""``datasets.queries``: the catalogue and rows other modules may read, scoped."""

from __future__ import annotations

import pytest
from django.http import Http404

from regiohub.datasets import queries
from regiohub.datasets.tests.factories import COUNTS_CSV, make_dataset, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def datasets(region, steward):
    internal = make_dataset(region["KOR"], steward)
    upload(internal, steward, COUNTS_CSV)
    public = make_dataset(
        region["KOR"], steward, slug="open-tellingen", title="Open tellingen", access="open",
        licence="CC-BY-4.0", attribution="Stad Kortrijk",
    )  # fmt: skip
    upload(public, steward, COUNTS_CSV)
    return internal, public


def test_anonymous_callers_see_only_open_datasets(datasets):
    assert [d.slug for d in queries.catalogue(None)] == ["open-tellingen"]
    info = queries.dataset_info(None, "open-tellingen")
    assert info.licence.open and info.licence.attribution == "Stad Kortrijk"
    assert info.owner_code == "KOR" and info.current.number == 1 and info.current.rows == 3
    assert [c.key for c in info.current.columns][:2] == ["segment", "uur"]
    assert queries.dataset_info(None, "verkeerstellingen") is None


def test_another_municipalitys_analyst_does_not_see_internal_data(datasets, menen_analyst):
    assert "verkeerstellingen" not in [d.slug for d in queries.catalogue(menen_analyst)]
    with pytest.raises(Http404):
        queries.rows(menen_analyst, "verkeerstellingen", {})


def test_rows_go_through_the_query_layer(datasets, kortrijk_analyst):
    version, table, cursor = queries.rows(
        kortrijk_analyst, "verkeerstellingen", {"group_by": "segment", "agg": "count"}
    )
    assert version.number == 1 and cursor == ""
    assert sorted(table.to_pylist(), key=lambda r: r["segment"])[0]["count"] == 2
    with pytest.raises(queries.QueryError):
        queries.rows(kortrijk_analyst, "verkeerstellingen", {"nope__gte": "1"})
    with pytest.raises(Http404):
        queries.rows(kortrijk_analyst, "verkeerstellingen", {}, version=9)
