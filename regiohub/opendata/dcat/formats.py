"""The serialisations of the feed (Turtle, RDF/XML, JSON-LD), by address suffix and by the
``Accept`` header, as ckanext-dcat offers them."""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import Graph

from regiohub.opendata.dcat.vocabularies import PREFIXES


@dataclass(frozen=True)
class Format:
    suffix: str
    rdflib_name: str
    media_type: str
    #: rdflib's writer for large graphs: its pretty Turtle and nested RDF/XML writers
    #: slow down more than linearly (a page of 1,000 datasets: 11 s and 7 s); these are
    #: linear (0.5 s and 1.6 s). N-Triples lines are Turtle too.
    rdflib_flat_name: str = ""

    @property
    def content_type(self) -> str:
        return f"{self.media_type}; charset=utf-8"


TURTLE = Format("ttl", "turtle", "text/turtle", "nt")
RDF_XML = Format("rdf", "pretty-xml", "application/rdf+xml", "xml")
JSON_LD = Format("jsonld", "json-ld", "application/ld+json")
#: Up to this many datasets a graph is written pretty (grouped Turtle, nested RDF/XML).
PRETTY_UP_TO = 100

#: By address suffix (``/catalog.ttl``); ``.xml`` is RDF/XML too.
BY_SUFFIX = {"ttl": TURTLE, "rdf": RDF_XML, "xml": RDF_XML, "jsonld": JSON_LD}
#: By media type, in the order preferred when a client accepts several equally.
BY_MEDIA_TYPE = {f.media_type: f for f in (TURTLE, JSON_LD, RDF_XML)}
#: What a client asking for any RDF gets.
DEFAULT = TURTLE
HTML = "text/html"

#: JSON-LD's context: the feed's prefixes, so keys read ``dct:title`` not full IRIs.
CONTEXT = {prefix: str(namespace) for prefix, namespace in PREFIXES.items()}


def _accepted(header: str) -> list[tuple[float, str]]:
    """(quality, media type) of each entry of an ``Accept`` header, in its order."""
    found = []
    for entry in header.split(",")[:50]:
        parts = [p.strip() for p in entry.split(";")]
        media_type = parts[0].lower()
        if not media_type:
            continue
        quality = 1.0
        for parameter in parts[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = max(0.0, min(float(value.strip()[:5]), 1.0))
                except ValueError:
                    quality = 0.0
        found.append((quality, media_type))
    return found


def negotiate(header: str) -> Format | str | None:
    """What to answer a request's ``Accept``: a :class:`Format`, :data:`HTML` when a
    browser prefers a page, or ``None`` when nothing acceptable is offered. No header, or
    ``*/*``: Turtle."""
    if not header.strip():
        return DEFAULT
    best: tuple[float, int] | None = None
    answer: Format | str | None = None
    for quality, media_type in _accepted(header):
        if quality <= 0:
            continue
        # Between equal qualities: an RDF type named, then a page, then a wildcard, then
        # the header's order.
        offer: Format | str
        if media_type in BY_MEDIA_TYPE:
            offer, specific = BY_MEDIA_TYPE[media_type], 2
        elif media_type == HTML:
            offer, specific = HTML, 1
        elif media_type in ("*/*", "text/*"):
            offer, specific = DEFAULT, 0
        elif media_type == "application/*":
            offer, specific = JSON_LD, 0
        else:
            continue
        rank = (quality, specific)
        if best is None or rank > best:
            best, answer = rank, offer
    return answer


def serialise(graph: Graph, fmt: Format, *, datasets: int = 1) -> bytes:
    """``graph`` in ``fmt``: pretty for up to :data:`PRETTY_UP_TO` datasets, flat (and
    as valid) beyond."""
    if fmt is JSON_LD:
        data = graph.serialize(format="json-ld", context=CONTEXT, encoding="utf-8")
    else:
        name = fmt.rdflib_name
        if datasets > PRETTY_UP_TO and fmt.rdflib_flat_name:
            name = fmt.rdflib_flat_name
        data = graph.serialize(format=name, encoding="utf-8")
    return bytes(data)
