"""A dashboard over datasets is checked against the data platform when it is saved: an
unknown dataset, a column its question does not return, a filter column it lacks, a
public dashboard over data that is not open: each refused naming the chart and the
problem, and the dashboard saved before stays as it was (issue 20, ADR 0042/0043)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from regiohub.dashboards import services
from regiohub.dashboards.definitions import DefinitionError
from regiohub.dashboards.models import Dashboard
from regiohub.datasets.tests.factories import COUNTS_CSV, make_dataset, upload

pytestmark = pytest.mark.django_db

GOOD = """
slug: tellingen
title: {nl: Tellingen, fr: Comptages, en: Counts}
description: {nl: Fietsers, fr: Cyclistes, en: Cyclists}
audience: public
charts:
  - slug: fietsers
    title: {nl: Fietsers per segment, fr: Cyclistes par segment, en: Cyclists per segment}
    caption: {nl: Som per segment, fr: Somme par segment, en: Sum per segment}
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


@pytest.fixture(autouse=True)
def _own_storage(settings: Any, tmp_path: Any) -> Any:
    from regiohub.datasets.queries import forget_open_datasets

    settings.DATASETS_URI = str(tmp_path / "tables")
    settings.DATA_DIR = tmp_path
    forget_open_datasets()
    with translation.override("en"):
        yield


@pytest.fixture
def counts(region: dict[str, Any], kortrijk_admin: Any) -> Any:
    dataset = make_dataset(region["KOR"], kortrijk_admin, access="open")
    assert upload(dataset, kortrijk_admin, COUNTS_CSV).state == "done"
    return dataset


def refused(text: str, **kwargs: Any) -> str:
    with pytest.raises(DefinitionError) as error:
        services.save_definition(text, **kwargs)
    return "\n".join(error.value.problems)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("dataset: verkeerstellingen", "dataset: bestaat-niet"),
            "chart 1 (“fietsers”), query: no open dataset “bestaat-niet” with rows",
        ),
        (
            ("sum_fietsers", "sum_voetgangers"),  # in columns and spec, not in agg
            "chart 1 (“fietsers”), columns: the question answers segment, sum_fietsers, "
            "not sum_voetgangers",
        ),
        (
            ('agg: "sum:fietsers"', 'agg: "sum:voetgangers"'),
            "chart 1 (“fietsers”), query:",
        ),
        (
            ("columns: [segment, sum_fietsers]",
             "filter_columns: {period: datum}\n    columns: [segment, sum_fietsers]"),
            "chart 1 (“fietsers”), filter_columns: the dataset has no column “datum” for "
            "the period filter",
        ),
    ],
)  # fmt: skip
def test_a_question_the_dataset_cannot_answer_is_refused(counts, change, expected):
    saved = services.save_definition(GOOD).dashboard
    message = refused(GOOD.replace(*change))
    assert expected in message
    now = Dashboard.objects.get(pk=saved.pk)
    assert (now.revision, now.definition) == (1, saved.definition)


def test_a_public_dashboard_shows_only_open_data(counts, kortrijk_admin):
    from regiohub.datasets import services as dataset_services

    saved = services.save_definition(GOOD).dashboard
    dataset_services.update_dataset(counts, kortrijk_admin, access="internal")
    changed = GOOD.replace("en: Sum per segment", "en: Total per segment")
    message = refused(changed)
    assert (
        "chart 1 (“fietsers”), query: no open dataset “verkeerstellingen” with rows: a "
        "public dashboard shows only open data"
    ) in message
    # Also when the one saving may read it.
    assert "only open data" in refused(changed, actor=kortrijk_admin)
    assert Dashboard.objects.get(pk=saved.pk).definition == saved.definition
    # Internal for Kortrijk, it may be saved.
    internal = changed.replace("audience: public", "audience: internal\norganisations: [KOR]")
    assert services.save_definition(internal).dashboard.revision == 2


def test_an_internal_dashboard_saved_by_someone_asks_what_they_may_read(counts, region):
    """Saved in the admin by a Menen analyst, a chart over Kortrijk's internal data is
    refused: they could not read it."""
    from regiohub.core.roles import Role
    from regiohub.core.tests.factories import MembershipFactory
    from regiohub.datasets import services as dataset_services

    owner = counts.owner
    dataset_services.update_dataset(
        counts, MembershipFactory(organisation=owner, admin=True).user, access="internal"
    )
    menen = MembershipFactory(organisation=region["MEN"], role=Role.ANALYST).user
    internal = GOOD.replace("audience: public", "audience: internal\norganisations: [MEN]")
    assert "no dataset “verkeerstellingen” with rows that you may read" in refused(
        internal, actor=menen
    )
    assert not Dashboard.objects.exists()
