"""The DCAT-AP feed's addresses: the catalogue in pages (``/catalog.ttl|.rdf|.jsonld``,
and ``/catalog`` by the ``Accept`` header), one dataset (``/open/<slug>.ttl|...``), and
the identifiers of datasets and organisations, which send a browser to the page and an
RDF client to the RDF (303 See Other, as Linked Data does)."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from rdflib import Graph

from regiohub.core import errors
from regiohub.core.models import Organisation
from regiohub.opendata import queries
from regiohub.opendata.dcat import feed, formats
from regiohub.opendata.dcat.graph import dataset_graph

#: Harvesters come by the day; a withdrawn dataset leaves shared caches within a minute.
CACHE_CONTROL = "public, max-age=60"


def _bad_parameter(request: HttpRequest, problem: feed.BadParameter) -> HttpResponse:
    if errors.wants_html(request):
        return errors.error_page(request, 400, message=problem.message)
    return HttpResponse(problem.message, status=400, content_type="text/plain; charset=utf-8")


def _not_acceptable() -> HttpResponse:
    return HttpResponse(
        _(
            "This address answers in Turtle (text/turtle), RDF/XML (application/rdf+xml) "
            "or JSON-LD (application/ld+json)."
        ),
        status=406,
        content_type="text/plain; charset=utf-8",
    )


def _see_other(location: str) -> HttpResponse:
    response = HttpResponse(status=303)
    response["Location"] = location
    patch_vary_headers(response, ["Accept"])
    return response


def _rdf(
    request: HttpRequest,
    graph: Graph,
    fmt: formats.Format,
    changed: datetime | None,
    *,
    datasets: int = 1,
    negotiated: bool = False,
) -> HttpResponse:
    """The graph serialised, with an ``ETag`` of its bytes: a harvester asking again with
    ``If-None-Match`` gets a 304 when nothing it would read changed."""
    body = formats.serialise(graph, fmt, datasets=datasets)
    response = HttpResponse(body, content_type=fmt.content_type)
    response["ETag"] = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    if changed is not None:
        # Told, not used to answer If-Modified-Since: a dataset leaving the list changes
        # a page without changing what remains on it.
        response["Last-Modified"] = http_date(changed.timestamp())
    response["Cache-Control"] = CACHE_CONTROL
    response["Access-Control-Allow-Origin"] = "*"
    if negotiated:
        patch_vary_headers(response, ["Accept"])
    conditional = get_conditional_response(request, etag=response["ETag"], response=response)
    return conditional if conditional is not None else response


def _catalogue(
    request: HttpRequest, fmt: formats.Format, path: str, *, negotiated: bool = False
) -> HttpResponse:
    try:
        asked = feed.read_request(request.GET)
    except feed.BadParameter as problem:
        return _bad_parameter(request, problem)
    page = feed.catalogue_page(asked, path)
    response = _rdf(
        request, page.graph, fmt, page.changed, datasets=page.size, negotiated=negotiated
    )
    response["Link"] = ", ".join(
        f'<{url}>; rel="{relation}"' for relation, url in page.paging.links().items()
    )
    return response


@require_safe
def catalogue_feed(request: HttpRequest) -> HttpResponse:
    """``/catalog``: the serialisation the ``Accept`` header asks for; a browser is sent
    to the catalogue's page."""
    chosen = formats.negotiate(request.headers.get("Accept", ""))
    if chosen == formats.HTML:
        return _see_other(reverse("opendata:catalogue"))
    if not isinstance(chosen, formats.Format):
        return _not_acceptable()
    return _catalogue(request, chosen, reverse("opendata:catalog-feed"), negotiated=True)


@require_safe
def catalogue_rdf(request: HttpRequest, fmt: str) -> HttpResponse:
    """``/catalog.ttl``, ``.rdf`` (``.xml``), ``.jsonld``: one page of the catalogue."""
    return _catalogue(
        request, formats.BY_SUFFIX[fmt], reverse("opendata:catalog-rdf", kwargs={"fmt": fmt})
    )


@require_safe
def dataset_rdf(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    """``/open/<slug>.ttl`` (``.rdf``, ``.xml``, ``.jsonld``): one listed dataset."""
    publication = queries.entry(slug)
    graph = dataset_graph(publication) if publication is not None else None
    if publication is None or graph is None:
        raise Http404(_("There is no open dataset at this address."))
    return _rdf(request, graph, formats.BY_SUFFIX[fmt], publication.updated_at)


@require_safe
def dataset_id(request: HttpRequest, slug: str) -> HttpResponse:
    """A dataset's identifier: 303 to its RDF for an RDF client, to its page otherwise."""
    if queries.entry(slug) is None:
        raise Http404(_("There is no open dataset at this address."))
    chosen = formats.negotiate(request.headers.get("Accept", ""))
    if isinstance(chosen, formats.Format):
        return _see_other(
            reverse("opendata:dataset-rdf", kwargs={"slug": slug, "fmt": chosen.suffix})
        )
    return _see_other(reverse("opendata:dataset", kwargs={"slug": slug}))


@require_safe
def organisation_id(request: HttpRequest, code: str) -> HttpResponse:
    """An organisation's identifier (the publisher of datasets): 303 to the catalogue of
    what it publishes."""
    if (
        not re.fullmatch(r"[A-Z0-9]{2,6}", code)
        or not Organisation.objects.filter(code=code).exists()
    ):
        raise Http404(_("There is no organisation at this address."))
    return _see_other(f"{reverse('opendata:catalogue')}?{urlencode({'publisher': code})}")
