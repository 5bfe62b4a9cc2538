"""``package_search`` over the listed publications: CKAN's ``q``/``fq`` (see ``solr``)
turned into filters of ``opendata.queries.listed()``, CKAN's sorts, paging and facets.

Every answer starts from ``queries.listed()``: a filter can only narrow what the portal
lists, never widen it. CKAN's facet fields are the portal's facets under CKAN's names:
``organization`` (publisher), ``tags`` (keyword), ``res_format`` (format), ``license_id``
(licence) and ``groups`` (the EU data theme).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from regiohub.core.models import Organisation
from regiohub.datasets import queries as datasets
from regiohub.opendata import queries, search
from regiohub.opendata.ckan import ids, solr
from regiohub.opendata.ckan.errors import SearchError, SearchQueryError
from regiohub.opendata.facets import FacetIndex
from regiohub.opendata.models import Publication, PublicationFacet

#: CKAN's facet field → the portal's facet.
FACET_OF = {
    "organization": "publisher",
    "tags": "keyword",
    "res_format": "format",
    "license_id": "licence",
    "groups": "theme",
}
#: CKAN's own licence ids (its default licence register) for the portal's licences.
CKAN_LICENCES = {"cc-zero": "CC0-1.0", "cc-by": "CC-BY-4.0", "cc-nc": "CC-BY-NC-4.0"}
#: Fields every listed dataset has with one value: the clause is true or false for all.
CONSTANT_FIELDS = {
    "capacity": "public",
    "state": "active",
    "dataset_type": "dataset",
    "type": "dataset",
    "private": "false",
    "entity_type": "package",
}
#: Fields whose words are searched in the full text.
TEXT_FIELDS = {"text", "title", "notes", "res_name", "res_description", "res_format_text"}
#: CKAN's date fields: the catalogue record's last change and its creation.
DATE_FIELDS = {"metadata_modified": "updated_at", "metadata_created": "created_at"}
#: Sort fields ordered by a column (``score`` and ``id`` are sorted here).
SORT_COLUMNS = {
    "metadata_modified": "updated_at",
    "metadata_created": "created_at",
    "title_string": "title",
    "title": "title",
    "name": "slug",
    "views_recent": "downloads",
    "views_total": "downloads",
}
NOTHING = Q(pk__in=[])
#: Each process's copy of the facet rows CKAN's facet fields count (``facets``).
_index = FacetIndex(FACET_OF.values())
#: What a package never shows: the publisher's boundary (a large GeoJSON), the columns
#: and the search text; left in the database.
UNSHOWN = ("publisher__boundary", "columns", "search_text")


def listed() -> QuerySet[Publication]:
    """``queries.listed()``, without what a package never shows."""
    return queries.listed().defer(*UNSHOWN)


def entry(slug: str) -> Publication | None:
    """``queries.entry(slug)``, without what a package never shows."""
    return listed().filter(slug=slug).first()


def ckan_facet_name(facet: str, value: str) -> str:
    """A portal facet value as CKAN names it (organisations and themes in lower case)."""
    return value.lower() if facet in ("publisher", "theme") else value


class _Compiler:
    """Turns a parsed ``q``/``fq`` into a ``Q`` of publications."""

    def __init__(self) -> None:
        #: The stems of the words asked for (outside a NOT): what ``score`` ranks by.
        self.scoring: list[str] = []
        self._organisations: dict[str, str] | None = None
        self._listed_slugs: list[str] | None = None

    # Values as the portal stores them ------------------------------------------------------

    def organisation_code(self, value: str) -> str:
        if self._organisations is None:
            codes = list(Organisation.objects.values_list("code", flat=True))
            self._organisations = {c.lower(): c for c in codes}
            self._organisations.update({ids.organization_id(c): c for c in codes})
        return self._organisations.get(value.lower(), value.upper())

    def licence_code(self, value: str) -> str:
        known = {code.lower(): code for code in datasets.Licence.values}
        return CKAN_LICENCES.get(value.lower()) or known.get(value.lower(), value)

    def stored(self, facet: str, value: str) -> str:
        if facet == "publisher":
            return self.organisation_code(value)
        if facet == "keyword":
            return search.fold(value)[:200]
        if facet == "licence":
            return self.licence_code(value)
        return value.upper()  # format, theme

    def slug_of_id(self, value: str) -> str | None:
        if not ids.looks_like_uuid(value):
            return value
        found = ids.known_slug(value)
        if found is None:
            if self._listed_slugs is None:
                self._listed_slugs = list(queries.listed().values_list("slug", flat=True))
            found = ids.slug_of_package_id(value, self._listed_slugs)
        return found

    # The tree ------------------------------------------------------------------------------

    def compile(self, node: solr.Node | None, *, negated: bool = False) -> Q | None:
        """The filter of ``node`` (``None``: no filter, everything matches)."""
        if node is None:
            return None
        if isinstance(node, solr.Not):
            inner = self.compile(node.node, negated=not negated)
            return NOTHING if inner is None else ~inner
        if isinstance(node, solr.AllOf):
            parts = [p for n in node.nodes if (p := self.compile(n, negated=negated)) is not None]
            return _combine(parts, and_=True) if parts else None
        if isinstance(node, solr.AnyOf):
            parts = [self.compile(n, negated=negated) for n in node.nodes]
            if any(p is None for p in parts):
                return None
            return _combine([p for p in parts if p is not None], and_=False)
        return self.term(node, negated=negated)

    def term(self, term: solr.Term, *, negated: bool) -> Q | None:
        name = term.field
        if name is None or name in TEXT_FIELDS:
            if term.kind == "range":
                raise SearchQueryError(_("A range needs a date field."))
            return self.words(term.value, negated=negated)
        if name in CONSTANT_FIELDS:
            value = term.value.lower()
            return None if value in ("*", CONSTANT_FIELDS[name]) else NOTHING
        if name == "site_id":
            return None
        if name in DATE_FIELDS:
            return self.dates(DATE_FIELDS[name], term)
        if term.kind == "range":
            raise SearchError(_("“%(field)s” is not a date field.") % {"field": name[:60]})
        value = term.value
        prefix = term.kind == "word" and value.endswith("*") and value != "*"
        if prefix:
            value = value.rstrip("*")
        if name in ("name", "id"):
            if value == "*":
                return None
            slug = value if name == "name" or prefix else self.slug_of_id(value)
            if slug is None:
                return NOTHING
            return Q(slug__startswith=slug) if prefix else Q(slug=slug)
        facet = FACET_OF.get(name) or ("publisher" if name == "owner_org" else None)
        if facet is None:
            raise SearchError(
                _("There is no field “%(field)s” to search on; use %(fields)s.")
                % {"field": name[:60], "fields": ", ".join([*FACET_OF, "name", "id", "text"])}
            )
        matching = PublicationFacet.objects.filter(facet=facet)
        if value != "*":
            stored = self.stored(facet, value)
            matching = (
                matching.filter(value__startswith=stored)
                if prefix
                else matching.filter(value=stored)
            )
        return Q(pk__in=matching.values("publication_id"))

    def words(self, text: str, *, negated: bool) -> Q | None:
        stems = search.terms(text)
        if not stems:
            return None
        if not negated:
            self.scoring += [s for s in stems if s not in self.scoring]
        sql, params = search.matching_sql(stems)
        return Q(pk__in=RawSQL(sql, params))  # noqa: S611 - stems only, bound

    def dates(self, column: str, term: solr.Term) -> Q | None:
        if term.kind != "range":
            if term.value == "*":
                return None
            at = solr.moment(term.value)
            return Q(**{column: at})
        low = solr.moment(term.low or "*")
        high = solr.moment(term.high or "*")
        found = Q()
        if low is not None:
            found &= Q(**{f"{column}__{'gte' if term.low_inclusive else 'gt'}": low})
        if high is not None:
            found &= Q(**{f"{column}__{'lte' if term.high_inclusive else 'lt'}": high})
        return found or None


def _combine(parts: list[Q], *, and_: bool) -> Q:
    combined = parts[0]
    for part in parts[1:]:
        combined = (combined & part) if and_ else (combined | part)
    return combined


@dataclass
class Found:
    count: int
    results: list[Publication]
    #: CKAN facet field → [(CKAN name, count)], most frequent first.
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    sort: str = solr.DEFAULT_SORT


def run(
    question: str,
    filters: Iterable[str],
    *,
    sort: str,
    start: int,
    rows: int,
    facet_fields: list[str],
    facet_limit: int,
    facet_mincount: int,
) -> Found:
    """One page of the listed publications matching ``question`` and every filter."""
    compiler = _Compiler()
    found = listed()
    conditions = [compiler.compile(solr.parse(question))]
    scoring = list(compiler.scoring)  # only the question's words rank
    conditions += [compiler.compile(solr.parse(text)) for text in filters]
    for condition in conditions:
        if condition is not None:
            found = found.filter(condition)
    sort = sort if sort and sort != "rank" else solr.DEFAULT_SORT
    keys = solr.sort_keys(sort)
    if not scoring:  # without words every score is the same
        keys = [(f, d) for f, d in keys if f != "score"]
    for name in facet_fields:
        if name not in FACET_OF:
            raise SearchError(
                _("Cannot facet on “%(field)s”; use %(fields)s.")
                % {"field": name[:60], "fields": ", ".join(FACET_OF)}
            )
    python_sort = any(f in ("score", "id") for f, _d in keys)
    order = [f"{'-' if d else ''}{SORT_COLUMNS[f]}" for f, d in keys if f in SORT_COLUMNS]
    if python_sort:
        matches = _sorted_here(found, keys, scoring)
    elif facet_fields:  # every match: the facets count them
        matches = list(found.order_by(*order, "pk").values_list("pk", flat=True))
    else:
        matches = None
    count = len(matches) if matches is not None else found.count()
    start = min(start, count)
    if rows <= 0 or start >= count:
        results: list[Publication] = []
    elif matches is None:
        results = list(found.order_by(*order, "pk")[start : start + rows])
    else:
        page = matches[start : start + rows]
        by_id = found.in_bulk(page)
        results = [by_id[pk] for pk in page if pk in by_id]
    facets = (
        _index.counts(
            matches or [],
            [FACET_OF[name] for name in facet_fields],
            limit=facet_limit,
            mincount=facet_mincount,
        )
        if facet_fields
        else {}
    )
    return Found(
        count=count,
        results=results,
        facets={
            name: [(ckan_facet_name(FACET_OF[name], v), n) for v, n in facets[FACET_OF[name]]]
            for name in facet_fields
        },
        sort=sort,
    )


def _sorted_here(
    found: QuerySet[Publication], keys: list[tuple[str, bool]], scoring: list[str]
) -> list[int]:
    """Every match, sorted by relevance or by id (a UUID the database does not hold) in
    Python. The database orders by the keys after the last of those (and the row id); the
    stable sorts here do the rest, reading only the values they sort by (a date read into
    Python costs more than the whole sort: the default ``score desc, metadata_modified
    desc`` reads ids and scores only)."""
    last = max(i for i, (name, _d) in enumerate(keys) if name in ("score", "id"))
    here, there = keys[: last + 1], keys[last + 1 :]
    ranks = search.ranks(scoring) if any(name == "score" for name, _d in here) else {}
    columns = {"id": "slug", **SORT_COLUMNS}
    wanted = list(dict.fromkeys(columns[name] for name, _d in here if name in columns))
    order = [f"{'-' if d else ''}{SORT_COLUMNS[name]}" for name, d in there]
    values = list(found.order_by(*order, "pk").values_list("pk", *wanted))
    position = {name: i + 1 for i, name in enumerate(wanted)}

    def reader(name: str) -> Callable[[tuple[Any, ...]], Any]:
        if name == "score":
            return lambda row: ranks.get(row[0], 0.0)
        at = position[columns[name]]
        if name == "id":
            return lambda row: ids.package_id(row[at])
        return lambda row: row[at]

    for name, descending in reversed(here):
        values.sort(key=reader(name), reverse=descending)
    return [row[0] for row in values]
