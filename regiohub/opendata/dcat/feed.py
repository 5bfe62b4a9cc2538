"""The catalogue feed's pages: what a harvester may ask (``page``, ``limit``,
``modified_since``), the page of listed publications that answers, and the Hydra links
that lead through all of them (ckanext-dcat's paging: ``hydra:PagedCollection`` with its
old ``nextPage``/... names, and ``hydra:PartialCollectionView`` with ``next``/...).

Pages are sorted on the date of the last change, newest first, then by id: stable while
nothing changes, and a harvester that asks ``modified_since`` its last visit gets only
what changed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from urllib.parse import urlencode

from django.db.models import Max
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from rdflib import Graph, Literal, URIRef

from regiohub.opendata import queries
from regiohub.opendata.dcat.graph import CatalogueGraph, absolute
from regiohub.opendata.dcat.vocabularies import HYDRA, RDF, XSD

DEFAULT_LIMIT = 100
MAX_LIMIT = queries.MAX_PAGE_SIZE
_NUMBER = re.compile(r"^[0-9]{1,12}$")


class BadParameter(ValueError):
    """A parameter a harvester sent that the feed cannot answer; the message names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message


@dataclass(frozen=True)
class FeedRequest:
    page: int = 1
    limit: int = DEFAULT_LIMIT
    modified_since: datetime | None = None
    #: ``modified_since`` as the links repeat it (the harvester's value, normalised).
    since_text: str = ""

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit

    @property
    def last_reachable_page(self) -> int:
        """The search pages up to ``queries.MAX_OFFSET``: no page begins further."""
        return queries.MAX_OFFSET // self.limit + 1


def _whole_number(params: Mapping[str, str], name: str, default: int, highest: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip()
    if not _NUMBER.match(value) or not 1 <= int(value) <= highest:
        raise BadParameter(
            name,
            _("%(parameter)s must be a whole number from 1 to %(highest)s.")
            % {"parameter": name, "highest": highest},
        )
    return int(value)


def _moment(raw: str) -> tuple[datetime, str]:
    """An ISO 8601 date (the start of that day in Belgium) or date-time (without a zone:
    Belgian time), as an aware moment and as the links write it."""
    value = raw.strip()
    if len(value) > 40:
        raise ValueError(value)
    # A "+01:00" sent unencoded arrives as " 01:00".
    value = re.sub(r"(T[0-9:.]+) ([0-9]{2}:?[0-9]{2})$", r"\1+\2", value)
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        day = parse_date(value)
        if day is None:
            raise ValueError(value)
        moment, text = datetime.combine(day, time.min), day.isoformat()
    else:
        found = parse_datetime(value)
        if found is None:
            raise ValueError(value)
        moment, text = found, ""
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    moment.astimezone(UTC)  # out of range once in UTC (year 1, year 9999): OverflowError
    return moment, text or moment.isoformat()


def read_request(params: Mapping[str, str]) -> FeedRequest:
    """The page a harvester asks for; :class:`BadParameter` names what cannot be
    answered."""
    limit = _whole_number(params, "limit", DEFAULT_LIMIT, MAX_LIMIT)
    page = _whole_number(params, "page", 1, queries.MAX_OFFSET // limit + 1)
    since_raw = params.get("modified_since") or ""
    since: datetime | None = None
    since_text = ""
    if since_raw.strip():
        try:
            since, since_text = _moment(since_raw)
        except (ValueError, OverflowError):
            raise BadParameter(
                "modified_since",
                _(
                    "%(parameter)s must be a date or a date and time in ISO 8601, "
                    "such as 2025-03-01 or 2025-03-01T08:00:00Z."
                )
                % {"parameter": "modified_since"},
            ) from None
    return FeedRequest(page=page, limit=limit, modified_since=since, since_text=since_text)


@dataclass(frozen=True)
class Paging:
    total: int
    per_page: int
    current: str
    first: str
    last: str
    previous: str = ""
    next: str = ""

    def links(self) -> dict[str, str]:
        """The ``Link`` header's relations (RFC 8288), for clients that read headers."""
        found = {"first": self.first, "last": self.last}
        if self.previous:
            found["prev"] = self.previous
        if self.next:
            found["next"] = self.next
        return found


def paging(asked: FeedRequest, total: int, path: str) -> Paging:
    def page_url(number: int) -> str:
        params = []
        if asked.since_text:
            params.append(("modified_since", asked.since_text))
        if asked.limit != DEFAULT_LIMIT:
            params.append(("limit", str(asked.limit)))
        params.append(("page", str(number)))
        return f"{absolute(path)}?{urlencode(params)}"

    last = max(1, min(math.ceil(total / asked.limit), asked.last_reachable_page))
    previous = ""
    if asked.page > 1:
        previous = page_url(min(asked.page - 1, last))
    return Paging(
        total=total,
        per_page=asked.limit,
        current=page_url(asked.page),
        first=page_url(1),
        last=page_url(last),
        previous=previous,
        next=page_url(asked.page + 1) if asked.page < last else "",
    )


def add_paging(graph: Graph, catalogue: URIRef, pages: Paging) -> None:
    """The page as a ``hydra:PartialCollectionView`` of the catalogue (Hydra today) that is
    also a ``hydra:PagedCollection`` with the older names (what ckanext-dcat's harvester
    and others still read)."""
    node = URIRef(pages.current)
    graph.add((catalogue, HYDRA.view, node))
    graph.add((node, RDF.type, HYDRA.PartialCollectionView))
    graph.add((node, RDF.type, HYDRA.PagedCollection))
    for value, new, old in (
        (pages.first, HYDRA.first, HYDRA.firstPage),
        (pages.last, HYDRA.last, HYDRA.lastPage),
        (pages.previous, HYDRA.previous, HYDRA.previousPage),
        (pages.next, HYDRA.next, HYDRA.nextPage),
    ):
        if value:
            graph.add((node, new, URIRef(value)))
            graph.add((node, old, URIRef(value)))
    graph.add((node, HYDRA.totalItems, Literal(pages.total, datatype=XSD.integer)))
    graph.add((node, HYDRA.itemsPerPage, Literal(pages.per_page, datatype=XSD.integer)))


@dataclass
class FeedPage:
    graph: Graph
    paging: Paging
    #: When the newest publication on the page last changed (``Last-Modified``).
    changed: datetime | None
    #: How many datasets the page holds.
    size: int


def catalogue_page(asked: FeedRequest, path: str) -> FeedPage:
    """One page of the catalogue as RDF: the ``dcat:Catalog`` with the page's datasets;
    ``path`` is the feed's address the page links repeat."""
    found = queries.search_catalogue(
        modified_since=asked.modified_since,
        sort="modified",
        offset=asked.offset,
        limit=asked.limit,
        with_facets=False,
    )
    built = CatalogueGraph()
    built.prepare(found.results)
    datasets = [node for p in found.results if (node := built.dataset(p)) is not None]
    newest = queries.listed().aggregate(newest=Max("modified"))["newest"]
    catalogue = built.catalogue(datasets, modified=newest)
    pages = paging(asked, found.total, path)
    add_paging(built.graph, catalogue, pages)
    changes = [p.updated_at for p in found.results if p.updated_at]
    return FeedPage(built.graph, pages, max(changes) if changes else None, len(datasets))
