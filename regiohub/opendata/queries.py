"""The open data portal's read door: the catalogue as visitors, harvesters and CKAN
clients see it, searched and faceted, and what a steward sees of their own datasets.

Only *listed* publications pass: published by a steward, and (for a local one) open in the
data platform at this moment: asked of its read door in the same query, never taken from
the portal's own copy (decision 0027). Harvested publications are listed once published.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from regiohub.core import access
from regiohub.datasets import queries as datasets
from regiohub.opendata import search
from regiohub.opendata.facets import FacetIndex
from regiohub.opendata.models import Frequency, Publication, PublicationFacet, Source, State
from regiohub.opendata.permissions import PUBLISH_OPEN_DATA

#: The door other modules may use (tests/test_module_walls.py checks it).
__all__ = [
    "FACETS",
    "SORTS",
    "Facet",
    "FacetValue",
    "Frequency",
    "Page",
    "entry",
    "listed",
    "managed_by",
    "search_catalogue",
]

#: The facets a visitor filters on, in the order the page shows them.
FACETS = ("publisher", "theme", "licence", "format", "place", "frequency", "keyword")
#: Sort orders: relevance (with a question), recently updated, most downloaded, title.
SORTS = ("relevance", "modified", "downloads", "title")
MAX_PAGE_SIZE = 1000
MAX_OFFSET = 100_000


def listed() -> QuerySet[Publication]:
    """Every publication anybody may see, with its publisher."""
    open_now = datasets.datasets_for(AnonymousUser()).values("pk")
    return (
        Publication.objects.filter(state=State.PUBLISHED)
        .filter(
            Q(source=Source.HARVESTED) | Q(source=Source.LOCAL, open=True, dataset_id__in=open_now)
        )
        .select_related("publisher")
    )


def entry(slug: str) -> Publication | None:
    """One listed publication, or ``None`` (also for one that exists but is not listed)."""
    return listed().filter(slug=slug).first()


def managed_by(user: Any) -> QuerySet[Publication]:
    """The local publications of the organisations where ``user`` publishes open data,
    listed or not."""
    orgs = access.organisation_ids(user, PUBLISH_OPEN_DATA)
    return Publication.objects.filter(source=Source.LOCAL, publisher_id__in=orgs).select_related(
        "publisher"
    )


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int
    selected: bool


@dataclass(frozen=True)
class Facet:
    name: str
    values: list[FacetValue]


@dataclass
class Page:
    """One page of a search: the publications, how many matched, the facets of all
    matches, and what was asked."""

    results: list[Publication]
    total: int
    facets: list[Facet] = field(default_factory=list)
    question: str = ""
    sort: str = "relevance"
    offset: int = 0
    limit: int = 20
    chosen: dict[str, list[str]] = field(default_factory=dict)


def search_catalogue(
    question: str = "",
    *,
    chosen: Mapping[str, list[str]] | None = None,
    sort: str = "",
    offset: int = 0,
    limit: int = 20,
    modified_since: datetime | None = None,
    facet_limit: int = 50,
    with_facets: bool = True,
) -> Page:
    """Search the listed publications: every word of ``question`` must match (stemmed),
    ``chosen`` facet values narrow (values of one facet: any of them; several facets:
    all), sorted by ``sort``; ``offset``/``limit`` page through the results."""
    chosen = {k: [v for v in vs if v][:20] for k, vs in (chosen or {}).items() if k in FACETS}
    chosen = {k: vs for k, vs in chosen.items() if vs}
    limit = max(0, min(int(limit), MAX_PAGE_SIZE))
    offset = max(0, min(int(offset), MAX_OFFSET))
    found = listed()
    wanted = search.terms(question)
    if wanted:
        sql, params = search.matching_sql(wanted)
        found = found.filter(pk__in=RawSQL(sql, params))  # noqa: S611 - stems only, bound
    for name, values in chosen.items():
        found = found.filter(
            pk__in=PublicationFacet.objects.filter(facet=name, value__in=values).values(
                "publication_id"
            )
        )
    if modified_since is not None:
        # The data's date or the description's: a harvester asking what changed since
        # must also see new keywords, a contact point, a publication (CKAN's
        # metadata_modified).
        found = found.filter(Q(modified__gte=modified_since) | Q(updated_at__gte=modified_since))
    sort = sort if sort in SORTS else ("relevance" if wanted else "modified")
    if sort == "relevance" and not wanted:
        sort = "modified"
    # One query for every match's sort keys: the count, the order, the page and the
    # facets all come from it (each further query would filter the catalogue again).
    matches = list(found.values_list("pk", "modified", "downloads", "title"))
    total = len(matches)
    if sort == "relevance":
        ranks = search.ranks(wanted)
        matches.sort(key=lambda m: (-ranks.get(m[0], 0.0), m[0]))
    elif sort == "title":
        matches.sort(key=lambda m: (search.fold(m[3]), m[0]))
    else:
        oldest = datetime.min.replace(tzinfo=UTC)
        matches.sort(key=lambda m: (m[1] or oldest, m[0]), reverse=True)  # newest first
        if sort == "downloads":  # stable: equal counts keep the newest first
            matches.sort(key=lambda m: m[2], reverse=True)
    ids = [m[0] for m in matches[offset : offset + limit]]
    by_id = (
        Publication.objects.select_related("publisher").defer("publisher__boundary").in_bulk(ids)
    )
    results = [by_id[pk] for pk in ids if pk in by_id]
    facets = _facets([m[0] for m in matches], chosen, facet_limit) if with_facets else []
    return Page(
        results=results,
        total=total,
        facets=facets,
        question=question,
        sort=sort,
        offset=offset,
        limit=limit,
        chosen={k: list(v) for k, v in chosen.items()},
    )


#: The facet rows, counted in this process's memory (``opendata.facets``).
_index = FacetIndex(FACETS)


def _facets(ids: list[int], chosen: Mapping[str, list[str]], limit: int) -> list[Facet]:
    counted = _index.counts(ids, list(FACETS), limit=limit, mincount=1)
    return [
        Facet(
            name,
            [FacetValue(value, n, value in chosen.get(name, [])) for value, n in counted[name]],
        )
        for name in FACETS
    ]
