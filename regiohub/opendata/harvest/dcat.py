"""Reading a DCAT-AP page: its RDF graph, the address of the next page (Hydra), and each
``dcat:Dataset`` in it as a :class:`Record`, the fields a harvested publication holds.

Everything taken from the feed is cleaned before it becomes a record: text without NUL
or other control characters and no longer than its field, links that are http(s) only
(``javascript:`` and ``data:`` never reach a page), e-mail addresses that are addresses.
A record is the same for the same feed however rdflib orders its triples (values are
chosen and sorted deterministically), so running twice changes nothing the second time.
"""

from __future__ import annotations

import json
import re
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from urllib.parse import urljoin

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS
from rdflib.parser import PythonInputSource
from rdflib.term import Node

from regiohub.opendata.harvest import vocabularies
from regiohub.opendata.harvest.errors import HarvestDataError
from regiohub.opendata.harvest.fetch import SYNTAX_NAMES, Page, normalised
from regiohub.opendata.models import Publication

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SCHEMA = Namespace("http://schema.org/")
SCHEMA_HTTPS = Namespace("https://schema.org/")

#: Most keywords and distributions kept of one dataset.
MAX_KEYWORDS = 30
MAX_DISTRIBUTIONS = 50
KEYWORD_LENGTH = 80
DESCRIPTION_LENGTH = 20_000


def _limit(name: str) -> int:
    return int(Publication._meta.get_field(name).max_length or 0)


# --- The graph of one page ---------------------------------------------------------------


def parse(page: Page) -> Graph:
    """The RDF graph of a page; a page that is not RDF in its syntax fails the run with a
    message that names the page and the syntax (never what the page said)."""
    graph = Graph()
    name = SYNTAX_NAMES.get(page.syntax, page.syntax)
    try:
        if page.syntax == "json-ld":
            source = PythonInputSource(_json_ld(page), page.url)
            with warnings.catch_warnings():  # rdflib's own use of ConjunctiveGraph
                warnings.simplefilter("ignore", DeprecationWarning)
                graph.parse(source=source, format="json-ld", publicID=page.url)
        else:
            graph.parse(data=page.body, format=page.syntax, publicID=page.url)
    except HarvestDataError:
        raise
    except Exception as exc:  # rdflib's parsers raise many kinds (SyntaxError, SAX, ...)
        raise HarvestDataError(
            f"page {page.number}: the answer could not be read as {name} ({type(exc).__name__})"
        ) from None
    return graph


def _json_ld(page: Page) -> Any:
    """The JSON of a JSON-LD page, refused when it names a context elsewhere: rdflib would
    fetch it itself, past the harvester's address checks."""
    try:
        document = json.loads(page.body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise HarvestDataError(
            f"page {page.number}: the answer could not be read as JSON-LD (not JSON)"
        ) from None
    if _remote_context(document):
        raise HarvestDataError(
            f"page {page.number}: the JSON-LD names a remote @context, which the harvester "
            "does not fetch; ask for Turtle or RDF/XML, or an inline context"
        )
    return document


def _remote_context(value: Any, depth: int = 0) -> bool:
    if depth > 64:
        return True
    if isinstance(value, dict):
        context = value.get("@context")
        if context is not None and _names_remote(context):
            return True
        return any(_remote_context(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return any(_remote_context(v, depth + 1) for v in value)
    return False


def _names_remote(context: Any) -> bool:
    if isinstance(context, str):
        return True
    if isinstance(context, list):
        return any(_names_remote(c) for c in context)
    return isinstance(context, dict) and "@import" in context


def next_page(graph: Graph, url: str) -> str | None:
    """The next page's address: ``hydra:next`` (or the older ``hydra:nextPage``) of a
    ``hydra:PagedCollection`` or ``hydra:PartialCollectionView`` (as ckanext-dcat and
    udata publish it), resolved against the page's address. ``None`` on the last page."""
    views: set[Node] = set(graph.subjects(RDF.type, HYDRA.PagedCollection))
    views |= set(graph.subjects(RDF.type, HYDRA.PartialCollectionView))
    views |= set(graph.objects(None, HYDRA.view))
    found: dict[str, bool] = {}
    for view in views:
        for predicate in (HYDRA.next, HYDRA.nextPage):
            for target in graph.objects(view, predicate):
                if isinstance(target, URIRef | Literal) and str(target).strip():
                    resolved = normalised(_resolve(url, str(target)))
                    # A view that is this page's own says most surely where to go next.
                    found[resolved] = found.get(resolved, False) or (
                        normalised(str(view)) == normalised(url)
                    )
    if not found:
        return None
    return sorted(found, key=lambda u: (not found[u], u))[0]


def _resolve(base: str, target: str) -> str:
    return urljoin(base, target.strip())


# --- Datasets -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """What a feed says of one dataset, cleaned, in the publication's fields."""

    identifier: str
    uri: str = ""
    title: str = ""
    description: str = ""
    keywords: list[str] = field(default_factory=list)
    theme: str = ""
    licence: str = ""
    licence_uri: str = ""
    contact_name: str = ""
    contact_email: str = ""
    frequency: str = "UNKNOWN"
    landing_page: str = ""
    temporal_start: date | None = None
    temporal_end: date | None = None
    issued: datetime | None = None
    modified: datetime | None = None
    places: list[str] = field(default_factory=list)
    distributions: list[dict[str, str]] = field(default_factory=list)

    def fields(self) -> dict[str, Any]:
        """The publication's fields, as saved (``identifier`` aside)."""
        return {
            "uri": self.uri,
            "title": self.title,
            "description": self.description,
            "keywords": list(self.keywords),
            "theme": self.theme,
            "licence": self.licence,
            "licence_uri": self.licence_uri,
            "contact_name": self.contact_name,
            "contact_email": self.contact_email,
            "frequency": self.frequency,
            "landing_page": self.landing_page,
            "temporal_start": self.temporal_start,
            "temporal_end": self.temporal_end,
            "issued": self.issued,
            "modified": self.modified,
            "places": list(self.places),
            "distributions": [dict(d) for d in self.distributions],
        }


@dataclass
class Found:
    """The records of one page, and what could not be taken (for the run's notes)."""

    records: list[Record] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def datasets(graph: Graph, *, places: set[str] | None = None) -> Found:
    """Every ``dcat:Dataset`` of the graph as a record. ``places`` are the NIS codes the
    portal knows (``dct:spatial`` naming one of them becomes a place)."""
    found = Found()
    subjects = sorted(set(graph.subjects(RDF.type, DCAT.Dataset)), key=_order)
    for subject in subjects:
        record = _record(graph, subject, places or set())
        if isinstance(record, str):
            found.skipped.append(record)
        else:
            found.records.append(record)
    return found


def _order(node: Node) -> tuple[int, str]:
    return (isinstance(node, BNode), str(node))


def _record(graph: Graph, subject: Node, places: set[str]) -> Record | str:
    uri = clean_url(str(subject), _limit("uri")) if isinstance(subject, URIRef) else ""
    identifiers = sorted(
        text
        for text in (clean_line(str(o), 10_000) for o in graph.objects(subject, DCTERMS.identifier))
        if text
    )
    identifier = (
        identifiers[0] if identifiers else (str(subject) if isinstance(subject, URIRef) else "")
    )
    identifier = clean_line(identifier, 10_000)
    if not identifier:
        return "a dataset without dct:identifier or URI"
    if len(identifier) > _limit("identifier"):
        return f"a dataset whose identifier is longer than {_limit('identifier')} characters"
    title = clean_line(_best(graph.objects(subject, DCTERMS.title)), _limit("title"))
    distributions = _distributions(graph, subject)
    licence_uri = _licence(graph, subject, distributions)
    return Record(
        identifier=identifier,
        uri=uri,
        title=title or identifier[: _limit("title")],
        description=clean_text(
            _best(graph.objects(subject, DCTERMS.description)), DESCRIPTION_LENGTH
        ),
        keywords=_keywords(graph.objects(subject, DCAT.keyword)),
        theme=_theme(graph, subject),
        licence=vocabularies.licence_code(licence_uri) if licence_uri else "",
        licence_uri=licence_uri,
        **_contact(graph, subject),
        frequency=_frequency(graph, subject),
        landing_page=_first_url(graph.objects(subject, DCAT.landingPage), _limit("landing_page")),
        temporal_start=_temporal(graph, subject, _STARTS, first=True),
        temporal_end=_temporal(graph, subject, _ENDS, first=False),
        issued=_first_datetime(graph.objects(subject, DCTERMS.issued)),
        modified=_first_datetime(graph.objects(subject, DCTERMS.modified)),
        places=_places(graph, subject, places),
        distributions=distributions,
    )


# --- Values -------------------------------------------------------------------------------

#: Preferred languages, best first: Dutch, no language, English, French.
_LANGUAGES = ("nl", None, "en", "fr")


def _rank(literal: Literal) -> tuple[int, str]:
    language = (literal.language or "").lower().split("-")[0] or None
    rank = _LANGUAGES.index(language) if language in _LANGUAGES else len(_LANGUAGES)
    return rank, str(literal)


def _best(values: Iterator[Node]) -> str:
    """The text in the best language (nl, then none, then en, then fr, then any)."""
    literals = [v for v in values if isinstance(v, Literal) and str(v).strip()]
    return str(min(literals, key=_rank)) if literals else ""


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def clean_line(text: str, limit: int) -> str:
    """One line: no control characters, spaces collapsed, at most ``limit`` characters."""
    return " ".join(_CONTROL.sub(" ", str(text)).split())[:limit].strip()


def clean_text(text: str, limit: int) -> str:
    """A text with its paragraphs: no control characters, at most ``limit`` characters."""
    text = _CONTROL.sub("", str(text).replace("\r\n", "\n").replace("\r", "\n"))
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()[:limit].strip()


_URL = URLValidator(schemes=["http", "https"])


def clean_url(text: str, limit: int) -> str:
    """An http(s) link no longer than ``limit``, or ``""`` (never ``javascript:``, ``data:``,
    a relative address or one with spaces)."""
    url = str(text).strip()
    if not url or len(url) > limit or _CONTROL.search(url) or " " in url:
        return ""
    try:
        _URL(url)
    except ValidationError:
        return ""
    return url


def _first_url(values: Iterator[Node], limit: int) -> str:
    urls = sorted(
        u for u in (clean_url(str(v), limit) for v in values if not isinstance(v, BNode)) if u
    )
    return urls[0] if urls else ""


def _keywords(values: Iterator[Node]) -> list[str]:
    """Keywords in Dutch or without a language; English or French ones only when there
    are none of those. Each once (case aside), sorted, at most :data:`MAX_KEYWORDS`."""
    literals = [v for v in values if isinstance(v, Literal)]
    preferred = [v for v in literals if _rank(v)[0] <= 1] or literals
    found: dict[str, str] = {}
    for literal in preferred:
        text = clean_line(str(literal), KEYWORD_LENGTH)
        if text:
            found.setdefault(text.casefold(), text)
    return [found[k] for k in sorted(found)][:MAX_KEYWORDS]


def _theme(graph: Graph, subject: Node) -> str:
    codes = sorted(
        code
        for code in (vocabularies.theme_code(str(t)) for t in graph.objects(subject, DCAT.theme))
        if code
    )
    return codes[0] if codes else ""


def _frequency(graph: Graph, subject: Node) -> str:
    codes = sorted(
        vocabularies.frequency_code(str(f))
        for f in graph.objects(subject, DCTERMS.accrualPeriodicity)
        if isinstance(f, URIRef | Literal)
    )
    known = [c for c in codes if c != "UNKNOWN"]
    return known[0] if known else "UNKNOWN"


def _contact(graph: Graph, subject: Node) -> dict[str, str]:
    """The first contact point (in a stable order) with a name or an e-mail address."""
    email_check = EmailValidator()
    for point in sorted(graph.objects(subject, DCAT.contactPoint), key=_order):
        name = clean_line(
            _best(
                v
                for p in (VCARD.fn, VCARD["organization-name"], FOAF.name)
                for v in graph.objects(point, p)
            ),
            _limit("contact_name"),
        )
        email = ""
        for value in sorted(graph.objects(point, VCARD.hasEmail), key=_order):
            if isinstance(value, BNode):
                value = next(iter(graph.objects(value, VCARD.value)), Literal(""))
            text = str(value).strip()
            text = text[7:] if text.lower().startswith("mailto:") else text
            text = text.split("?", 1)[0]
            try:
                email_check(text)
            except ValidationError:
                continue
            if len(text) <= _limit("contact_email"):
                email = text
                break
        if name or email:
            return {"contact_name": name, "contact_email": email}
    return {"contact_name": "", "contact_email": ""}


_STARTS = (DCAT.startDate, SCHEMA.startDate, SCHEMA_HTTPS.startDate)
_ENDS = (DCAT.endDate, SCHEMA.endDate, SCHEMA_HTTPS.endDate)


def _temporal(
    graph: Graph, subject: Node, predicates: tuple[URIRef, ...], *, first: bool
) -> date | None:
    """The earliest start (``first``) or the latest end of the dataset's periods."""
    days = sorted(
        day
        for period in graph.objects(subject, DCTERMS.temporal)
        for predicate in predicates
        for value in graph.objects(period, predicate)
        if (day := _date(value)) is not None
    )
    if not days:
        return None
    return days[0] if first else days[-1]


def _date(value: Node) -> date | None:
    if not isinstance(value, Literal):
        return None
    python = value.toPython()
    if isinstance(python, datetime):
        return timezone.localtime(python).date() if timezone.is_aware(python) else python.date()
    if isinstance(python, date):
        return python
    text = str(value).strip()
    try:
        return parse_date(text[:10]) if len(text) >= 10 else None
    except ValueError:
        return None


def _datetime(value: Node) -> datetime | None:
    if not isinstance(value, Literal):
        return None
    python = value.toPython()
    if not isinstance(python, date):
        text = str(value).strip()
        try:
            python = parse_datetime(text) or parse_date(text)
        except ValueError:
            return None
    if python is None:
        return None
    if not isinstance(python, datetime):
        python = datetime.combine(python, time())
    if timezone.is_naive(python):
        python = timezone.make_aware(python)
    return python


def _first_datetime(values: Iterator[Node]) -> datetime | None:
    found = sorted(t for t in (_datetime(v) for v in values) if t is not None)
    return found[0] if found else None


_NIS = re.compile(r"/(?:refnis\d{4}|gemeente|nis)/(\d{5})$")


def _places(graph: Graph, subject: Node, known: set[str]) -> list[str]:
    codes = set()
    for spatial in graph.objects(subject, DCTERMS.spatial):
        match = _NIS.search(str(spatial).rstrip("/")) if isinstance(spatial, URIRef) else None
        if match and match.group(1) in known:
            codes.add(match.group(1))
    return sorted(codes)


# --- Distributions -----------------------------------------------------------------------


def _distributions(graph: Graph, subject: Node) -> list[dict[str, str]]:
    found = []
    for node in graph.objects(subject, DCAT.distribution):
        access = _first_url(graph.objects(node, DCAT.accessURL), 1000)
        download = _first_url(graph.objects(node, DCAT.downloadURL), 1000)
        if not (access or download):
            continue
        media = _media_type(graph, node)
        found.append(
            {
                "title": clean_line(_best(graph.objects(node, DCTERMS.title)), 300),
                "description": clean_text(_best(graph.objects(node, DCTERMS.description)), 2000),
                "url": download or access,
                "access_url": access,
                "download_url": download,
                "format": _format(graph, node, media),
                "media_type": media,
                "licence": _first_url(graph.objects(node, DCTERMS.license), _limit("licence_uri")),
            }
        )
    found.sort(key=lambda d: (d["url"], d["format"], d["title"], d["access_url"]))
    return found[:MAX_DISTRIBUTIONS]


def _media_type(graph: Graph, node: Node) -> str:
    types = sorted(
        m
        for m in (vocabularies.media_type(str(v)) for v in graph.objects(node, DCAT.mediaType))
        if m
    )
    return types[0] if types else ""


def _format(graph: Graph, node: Node, media: str) -> str:
    values: list[str] = []
    for value in graph.objects(node, DCTERMS["format"]):
        if isinstance(value, BNode):  # [ a dct:MediaTypeOrExtent ; rdfs:label "CSV" ]
            labels = [
                str(v)
                for p in (RDFS.label, RDF.value, SKOS.prefLabel)
                for v in graph.objects(value, p)
            ]
            values.extend(labels)
        else:
            values.append(str(value))
    codes = sorted(c for c in (vocabularies.format_code(v) for v in values) if c)
    if codes:
        return codes[0]
    return vocabularies.MEDIA_TYPE_FORMATS.get(media, "")


def _licence(graph: Graph, subject: Node, distributions: list[dict[str, str]]) -> str:
    """The dataset's licence: its own ``dct:license``, else the one most of its
    distributions name (DCAT-AP puts the licence on the distributions)."""
    own = _first_url(graph.objects(subject, DCTERMS.license), _limit("licence_uri"))
    if own:
        return own
    counts = Counter(d["licence"] for d in distributions if d["licence"])
    if not counts:
        return ""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[0][0]
