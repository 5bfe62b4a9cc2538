"""The catalogue finds datasets by their words (stemmed, on SQLite and PostgreSQL alike),
narrows by facets, sorts and pages, and lists only what is published and open."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from regiohub.core.testing import run_tasks
from regiohub.datasets import services as datasets
from regiohub.opendata import queries, services
from regiohub.opendata.models import Publication
from regiohub.opendata.tests.factories import open_dataset, published, steward, town

pytestmark = pytest.mark.django_db


def slugs(page: queries.Page) -> list[str]:
    return [p.slug for p in page.results]


def test_an_open_dataset_becomes_a_draft_and_is_listed_once_published():
    kortrijk = town("KOR")
    open_dataset(kortrijk)
    draft = Publication.objects.get(slug="verkeerstellingen")
    assert draft.state == "draft" and draft.open and draft.version == 1
    assert draft.temporal_start.isoformat() == "2025-03-01"
    assert queries.search_catalogue().total == 0
    published_ = published(town("WAR"), "fietstellingen", title="Fietstellingen")
    assert slugs(queries.search_catalogue()) == [published_.slug]


def test_stemmed_words_find_a_dataset():
    published(town("KOR"), "fietstellingen", title="Fietstellingen Kortrijk")
    published(
        town("WAR"),
        "afval",
        title="Ophaling huisvuil",
        description="Kilo's restafval per ophaalronde.",
        keywords=["afval"],
    )
    assert slugs(queries.search_catalogue("fietsers")) == ["fietstellingen"]  # a keyword
    assert slugs(queries.search_catalogue("Fietstelling")) == ["fietstellingen"]
    assert slugs(queries.search_catalogue("RESTAFVAL")) == ["afval"]
    assert slugs(queries.search_catalogue("ophaal")) == ["afval"]  # the start of a word
    assert queries.search_catalogue("segment_id").total == 2  # a column of both
    assert queries.search_catalogue("fietsers afval").total == 0  # every word must match


@pytest.mark.parametrize(
    "question",
    ['"', "' OR 1=1 --", "NEAR(a b)", "a AND", "*", "fiets:*|!", "\x00", "é" * 5000, "日本"],
)
def test_hostile_questions_are_only_words(question):
    published(town("KOR"))
    page = queries.search_catalogue(question)
    assert page.total in (0, 1)


def test_facets_count_and_narrow():
    published(town("KOR"), "a", title="Verkeer A")
    published(town("KOR"), "b", title="Verkeer B", licence="CC0-1.0")
    published(town("WAR"), "c", title="Verkeer C")
    page = queries.search_catalogue()
    publishers = {v.value: v.count for f in page.facets if f.name == "publisher" for v in f.values}
    assert publishers == {"KOR": 2, "WAR": 1}
    narrowed = queries.search_catalogue(chosen={"publisher": ["KOR"], "licence": ["CC0-1.0"]})
    assert slugs(narrowed) == ["b"]
    either = queries.search_catalogue(chosen={"publisher": ["KOR", "WAR"]}, sort="title")
    assert slugs(either) == ["a", "b", "c"]


def test_paging_is_stable():
    for n in range(7):
        published(town("KOR"), f"set-{n}", title=f"Verkeer {n}")
    seen = []
    for offset in range(0, 7, 3):
        seen += slugs(queries.search_catalogue("verkeer", offset=offset, limit=3))
    assert sorted(seen) == [f"set-{n}" for n in range(7)]
    assert len(set(seen)) == 7


def test_a_dataset_made_internal_leaves_the_portal_at_once():
    kortrijk = town("KOR")
    published(kortrijk)
    assert queries.entry("verkeerstellingen") is not None
    from regiohub.datasets import queries as dataset_queries

    owner = steward(kortrijk)
    from django.contrib.auth.models import AnonymousUser

    found = dataset_queries.datasets_for(AnonymousUser()).get(slug="verkeerstellingen")
    datasets.update_dataset(found, owner, access="internal")
    # Before the portal's copy is refreshed: the read door already says no.
    assert queries.entry("verkeerstellingen") is None
    assert queries.search_catalogue("verkeer").total == 0
    run_tasks()
    assert Publication.objects.get(slug="verkeerstellingen").open is False


def test_publishing_needs_the_checklist_and_the_right_organisation():
    kortrijk, waregem = town("KOR"), town("WAR")
    open_dataset(kortrijk)
    with pytest.raises(ValidationError) as refused:
        services.publish(steward(kortrijk), "verkeerstellingen")
    assert {"keywords", "frequency"} <= set(refused.value.message_dict)
    with pytest.raises(PermissionDenied):
        services.describe(steward(waregem), "verkeerstellingen", keywords=["x"])
    with pytest.raises(PermissionDenied):
        services.publish(steward(waregem), "verkeerstellingen")


def test_an_internal_dataset_never_gets_a_publication():
    open_dataset(town("KOR"), access="internal")
    assert not Publication.objects.exists()
