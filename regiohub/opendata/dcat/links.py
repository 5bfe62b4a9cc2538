"""Where a page says its DCAT-AP description is: the ``<link rel="alternate">`` entries the
catalogue's and a dataset's pages put in their ``<head>``, so harvesters and browsers'
tools find the feed from the page."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from regiohub.opendata.dcat import formats

_LABELS = {
    formats.TURTLE: "Turtle",
    formats.RDF_XML: "RDF/XML",
    formats.JSON_LD: "JSON-LD",
}


def alternate_links(request: HttpRequest, slug: str | None = None) -> list[dict[str, str]]:
    """``rel``, ``type``, ``href`` (absolute, on the host the page was asked on) and
    ``title`` of each serialisation: of the catalogue's first page, or of the dataset
    ``slug`` (the caller shows it only for a listed dataset)."""
    found = []
    for fmt, label in _LABELS.items():
        if slug is None:
            path = reverse("opendata:catalog-rdf", kwargs={"fmt": fmt.suffix})
        else:
            path = reverse("opendata:dataset-rdf", kwargs={"slug": slug, "fmt": fmt.suffix})
        found.append(
            {
                "rel": "alternate",
                "type": fmt.media_type,
                "href": request.build_absolute_uri(path),
                "title": f"DCAT-AP ({label})",
            }
        )
    return found
