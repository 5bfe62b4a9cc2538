"""The catalogue as RDF: what each ``dcat:Dataset``, its distributions, its query API, its
publisher and the ``dcat:Catalog`` hold (DCAT-AP 3 and DCAT-AP Vlaanderen).

Built with rdflib from listed publications only (``opendata.queries``); the caller pages.
Every text is Dutch (``@nl``); every term is described where it is used
(``vocabularies``), so a harvester validating the feed with the official shapes needs
nothing else.

Addresses: a publication of this platform is ``{site}/id/dataset/<slug>`` (it answers
with a 303 to its page or its RDF), its distributions and query API are fragments of it; a
harvested one keeps the URI its own catalogue gave it. An organisation is
``{site}/id/organisation/<code>``; a Flemish municipality covered is the base registers'
``https://data.vlaanderen.be/id/gemeente/<NIS>``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils import timezone
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from regiohub.core.models import Organisation
from regiohub.core.models.organisation import OrganisationKind
from regiohub.datasets import queries as datasets
from regiohub.opendata.dcat import vocabularies as voc
from regiohub.opendata.dcat.vocabularies import (
    DCAT,
    DCTERMS,
    FOAF,
    MDCAT,
    RDF,
    RDFS,
    SKOS,
    VCARD,
    XSD,
)
from regiohub.opendata.models import Publication, Source
from regiohub.opendata.services import DOWNLOAD_FORMATS

#: The licence of the catalogue's own metadata (DCAT-AP Vlaanderen asks for one): free.
METADATA_LICENCE = "https://creativecommons.org/publicdomain/zero/1.0/"

# Characters XML 1.0 cannot hold (RDF/XML is XML): dropped from every text.
_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_EMAIL = re.compile(r"^[^@\s<>\"]{1,64}@[^@\s<>\"]{1,255}$")


def site() -> str:
    return str(settings.SITE_URL).rstrip("/")


def absolute(path: str) -> str:
    return f"{site()}{path}"


def catalogue_uri() -> URIRef:
    return URIRef(absolute(reverse("opendata:catalog-feed")))


def local_dataset_uri(slug: str) -> URIRef:
    return URIRef(absolute(reverse("opendata:dataset-id", kwargs={"slug": slug})))


def dataset_uri(publication: Publication) -> URIRef:
    if publication.source == Source.HARVESTED:
        original = iri(publication.uri)
        if original is not None:
            return original
    return local_dataset_uri(publication.slug)


def organisation_uri(organisation: Organisation) -> URIRef:
    return URIRef(absolute(reverse("opendata:organisation-id", kwargs={"code": organisation.code})))


def landing_page(publication: Publication) -> URIRef | None:
    if publication.source == Source.HARVESTED:
        return iri(publication.landing_page)
    return URIRef(absolute(reverse("opendata:dataset", kwargs={"slug": publication.slug})))


def text(value: Any, limit: int = 20_000) -> str:
    """Text as every serialisation can hold it, spaces kept, at most ``limit`` characters."""
    return _NOT_IN_XML.sub("", str(value or "")).strip()[:limit]


def items(value: Any) -> list[Any]:
    """The entries of a JSON list field (anything else: none)."""
    return list(value) if isinstance(value, list) else []


def dutch(value: Any) -> Literal:
    return Literal(text(value), lang="nl")


def iri(value: Any) -> URIRef | None:
    """An http(s) address as an IRI every serialisation writes validly, or ``None``."""
    address = text(value, 2000)
    if not re.match(r"^https?://[^/\s]", address, re.IGNORECASE):
        return None
    return URIRef(quote(address, safe=":/?#[]@!$&'()*+,;=%~"))


def instant(value: datetime | None) -> Literal | None:
    """``xsd:dateTime`` in UTC, to the second (DCAT-AP Vlaanderen asks for date-times)."""
    if value is None:
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    moment = value.astimezone(UTC).replace(microsecond=0)
    return Literal(moment.strftime("%Y-%m-%dT%H:%M:%SZ"), datatype=XSD.dateTime)


def day(value: date | None) -> Literal | None:
    return None if value is None else Literal(value.isoformat(), datatype=XSD.date)


def data_platform_slugs(publications: Iterable[Publication]) -> dict[int, str]:
    """The data platform's address of each local publication's dataset that is open now
    (a publication's own slug may differ: ``verkeer-2`` when a harvested one had
    ``verkeer``)."""
    ids = [p.dataset_id for p in publications if p.source == Source.LOCAL and p.dataset_id]
    if not ids:
        return {}
    found = datasets.datasets_for(AnonymousUser()).filter(pk__in=ids).values_list("pk", "slug")
    return {int(pk): str(slug) for pk, slug in found}


def blank(*parts: Any) -> BNode:
    """A blank node named after what it belongs to, so the same catalogue is written as
    the same bytes (and keeps its ``ETag``)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()
    return BNode(f"b{digest[:24]}")


def region() -> Organisation | None:
    return Organisation.objects.filter(kind=OrganisationKind.REGION).order_by("pk").first()


class CatalogueGraph:
    """One graph being built: a page of the catalogue, or one dataset."""

    def __init__(self) -> None:
        self.graph = voc.bind_prefixes(Graph())
        self._agents: dict[int, URIRef] = {}
        self._slugs: dict[int, str] = {}
        self._place_names: dict[str, str] = {}
        self._terms: dict[str, URIRef] = {}

    # --- Shared nodes ------------------------------------------------------------------

    def add(self, subject: Node, predicate: URIRef, value: Node | None) -> None:
        if value is not None:
            self.graph.add((subject, predicate, value))

    def term(self, term: voc.Term) -> URIRef:
        """A controlled term, described once per graph."""
        if term.uri not in self._terms:
            self._terms[term.uri] = voc.describe_concept(self.graph, term)
        return self._terms[term.uri]

    def document(self, address: URIRef | None) -> URIRef | None:
        """A web page (DCAT-AP's landing pages and home pages are ``foaf:Document``)."""
        if address is not None:
            self.graph.add((address, RDF.type, FOAF.Document))
        return address

    def licence(self, address: Any, label: str = "") -> URIRef | None:
        node = iri(address)
        if node is not None:
            self.graph.add((node, RDF.type, DCTERMS.LicenseDocument))
            if label:
                self.graph.add((node, RDFS.label, Literal(text(label, 200))))
            for kind in voc.licence_types(str(node)):
                self.graph.add((node, DCTERMS.type, self.term(kind)))
        return node

    def agent(self, organisation: Organisation) -> URIRef:
        """An organisation as publisher: ``foaf:Agent`` for DCAT-AP, ``dct:Agent`` for
        DCAT-AP Vlaanderen, its Dutch name and its kind (ADMS publisher type)."""
        if organisation.pk in self._agents:
            return self._agents[organisation.pk]
        node = organisation_uri(organisation)
        for cls in (FOAF.Agent, FOAF.Organization, DCTERMS.Agent):
            self.graph.add((node, RDF.type, cls))
        self.graph.add((node, FOAF.name, dutch(organisation.name)))
        if organisation.name_fr:
            self.graph.add((node, FOAF.name, Literal(text(organisation.name_fr), lang="fr")))
        self.graph.add((node, DCTERMS.identifier, Literal(organisation.code)))
        self.graph.add((node, DCTERMS.type, self.term(voc.LOCAL_AUTHORITY)))
        self.add(node, FOAF.homepage, self.document(iri(organisation.website)))
        self._agents[organisation.pk] = node
        return node

    def contact(self, owner: Node, name: str, email: str) -> BNode:
        """The contact point of ``owner``: a service, with its e-mail address when it has
        one."""
        node = blank(owner, "contact")
        self.graph.add((node, RDF.type, VCARD.Kind))
        self.graph.add((node, RDF.type, VCARD.Organization))
        self.graph.add((node, VCARD.fn, dutch(name)))
        address = text(email, 254)
        if _EMAIL.match(address):
            self.graph.add((node, VCARD.hasEmail, URIRef(f"mailto:{quote(address, safe='@')}")))
        return node

    def open_access(self, node: URIRef, *, service: bool = False) -> None:
        """Public, and marked as (a service of) Flemish open data."""
        self.graph.add((node, DCTERMS.accessRights, self.term(voc.PUBLIC_ACCESS)))
        status = voc.OPEN_SERVICE_STATUS if service else voc.OPEN_DATA_STATUS
        self.graph.add((node, MDCAT.statuut, self.term(status)))

    def themes(self, node: URIRef, code: str) -> None:
        for term in voc.THEMES.get(code, ()):
            self.graph.add((node, DCAT.theme, self.term(term)))

    # --- A dataset ---------------------------------------------------------------------

    def prepare(self, publications: list[Publication]) -> None:
        """Look up at once what the datasets of a page need: their addresses in the data
        platform and the names of the municipalities they cover."""
        self._slugs.update(data_platform_slugs(publications))
        codes = {text(code, 5) for p in publications for code in items(p.places)}
        self._place_names.update(
            Organisation.objects.filter(nis_code__in=codes).values_list("nis_code", "name")
        )

    def dataset(self, publication: Publication) -> URIRef | None:
        """Add one publication; ``None`` when it is local and its dataset is no longer
        open (closed between the listing and this look-up)."""
        local = publication.source == Source.LOCAL
        data_slug = self._slugs.get(publication.dataset_id or 0, "")
        if local and not data_slug:
            return None
        g = self.graph
        node = dataset_uri(publication)
        if (node, RDF.type, DCAT.Dataset) in g:
            return node  # harvested twice under one URI: described once
        identifier = text(publication.identifier, 500) or (
            f"{publication.publisher.code}/{publication.slug}"
        )
        title = text(publication.title, 300)
        g.add((node, RDF.type, DCAT.Dataset))
        g.add((node, DCTERMS.identifier, Literal(identifier)))
        g.add((node, DCTERMS.title, dutch(title)))
        g.add((node, DCTERMS.description, dutch(text(publication.description) or title)))
        publisher = self.agent(publication.publisher)
        g.add((node, DCTERMS.publisher, publisher))
        contact = self.contact(
            node,
            publication.contact_name or publication.publisher.name,
            publication.contact_email or publication.publisher.email,
        )
        g.add((node, DCAT.contactPoint, contact))
        for keyword in items(publication.keywords):
            if text(keyword, 80):
                g.add((node, DCAT.keyword, dutch(text(keyword, 80))))
        self.themes(node, publication.theme)
        frequency = voc.FREQUENCIES.get(publication.frequency)
        if frequency is not None:
            g.add((node, DCTERMS.accrualPeriodicity, self.term(frequency)))
        g.add((node, DCTERMS.language, self.term(voc.DUTCH)))
        self.places(node, items(publication.places))
        self.period(node, publication.temporal_start, publication.temporal_end)
        self.add(node, DCTERMS.issued, instant(publication.issued))
        self.add(node, DCTERMS.modified, instant(publication.modified))
        page = self.document(landing_page(publication))
        self.add(node, DCAT.landingPage, page)
        self.open_access(node)
        if local:
            if publication.version:
                g.add((node, DCAT.version, Literal(str(publication.version))))
            self.local_distributions(node, publication, identifier, data_slug, page)
        else:
            self.harvested_distributions(node, publication)
        return node

    def places(self, node: URIRef, places: Iterable[Any]) -> None:
        """The municipalities the data is about: the base registers' URI of a Flemish
        municipality, with its name."""
        codes = [text(p, 5) for p in places if text(p, 5)]
        for code in codes:
            address = voc.municipality_uri(code)
            location: Node = URIRef(address) if address else blank("place", code)
            self.graph.add((node, DCTERMS.spatial, location))
            self.graph.add((location, RDF.type, DCTERMS.Location))
            self.graph.add((location, DCTERMS.identifier, Literal(code)))
            name = self._place_names.get(code)
            if name:
                self.graph.add((location, RDFS.label, dutch(name)))
                self.graph.add((location, SKOS.prefLabel, dutch(name)))

    def period(self, node: URIRef, start: date | None, end: date | None) -> None:
        if start is None and end is None:
            return
        period = blank(node, "period")
        self.graph.add((node, DCTERMS.temporal, period))
        self.graph.add((period, RDF.type, DCTERMS.PeriodOfTime))
        self.add(period, DCAT.startDate, day(start))
        self.add(period, DCAT.endDate, day(end))

    def distribution(
        self,
        node: Node,
        *,
        identifier: str,
        title: str,
        description: str = "",
        access: URIRef,
        download: URIRef | None,
        file_type: voc.FileType | None,
        media_type: str,
        licence: URIRef | None,
        rights: str,
    ) -> Node:
        g = self.graph
        g.add((node, RDF.type, DCAT.Distribution))
        g.add((node, DCTERMS.identifier, Literal(text(identifier, 2000))))
        g.add((node, DCTERMS.title, dutch(title)))
        if text(description):
            g.add((node, DCTERMS.description, dutch(description)))
        g.add((node, DCAT.accessURL, access))
        self.add(node, DCAT.downloadURL, download)
        term = file_type.term if file_type is not None else None
        if term is not None:
            g.add((node, DCTERMS.format, self.term(term)))
        media = voc.media_type_term(media_type)
        if media is not None:
            g.add((node, DCAT.mediaType, self.term(media)))
        self.add(node, DCTERMS.license, licence)
        if text(rights):
            statement = blank(node, "rights")
            g.add((node, DCTERMS.rights, statement))
            g.add((statement, RDF.type, DCTERMS.RightsStatement))
            g.add((statement, RDFS.label, dutch(rights)))
        return node

    def local_distributions(
        self,
        dataset: URIRef,
        publication: Publication,
        identifier: str,
        data_slug: str,
        page: URIRef | None,
    ) -> None:
        """A distribution per download format of the data platform, and one for its query
        API, served by a ``dcat:DataService``."""
        g = self.graph
        title = text(publication.title, 300)
        licence = self.licence(publication.licence_uri, publication.licence)
        rights = publication.attribution
        if rights:
            rights = f"Naamsvermelding: {text(rights, 300)}"
        download = absolute(reverse("datasets:download", kwargs={"slug": data_slug}))
        access = page or URIRef(absolute(reverse("datasets:detail", kwargs={"slug": data_slug})))
        formats = list(DOWNLOAD_FORMATS)
        roles = {c.get("role", "") for c in items(publication.columns) if isinstance(c, dict)}
        if {"latitude", "longitude"} <= roles:
            formats.append("GEOJSON")
        for code in formats:
            found = voc.FILE_TYPES.get(code) or (voc.NDJSON if code == "NDJSON" else None)
            if found is None:
                continue
            label = found.label if found.code else code
            node = URIRef(f"{dataset}#{code.lower()}")
            self.distribution(
                node,
                identifier=f"{identifier}/{code.lower()}",
                title=f"{title} ({label})",
                description=f"De huidige versie van de dataset, volledig, als {label}.",
                access=access,
                download=URIRef(f"{download}?format={code.lower()}"),
                file_type=found if found.code else None,
                media_type=found.media_type,
                licence=licence,
                rights=rights,
            )
            g.add((node, voc.DCATAP.availability, self.term(voc.STABLE)))
            g.add((dataset, DCAT.distribution, node))

        endpoint = URIRef(absolute(reverse("dataset-rows", kwargs={"slug": data_slug})))
        service = URIRef(f"{dataset}#service")
        api = URIRef(f"{dataset}#api")
        self.distribution(
            api,
            identifier=f"{identifier}/api",
            title=f"{title} (query-API)",
            description="Rijen filteren, groeperen en pagineren via de query-API.",
            access=endpoint,
            download=None,
            file_type=voc.FILE_TYPES["JSON"],
            media_type="application/json",
            licence=licence,
            rights=rights,
        )
        g.add((api, DCAT.accessService, service))
        g.add((api, voc.DCATAP.availability, self.term(voc.STABLE)))
        g.add((dataset, DCAT.distribution, api))

        g.add((service, RDF.type, DCAT.DataService))
        g.add((service, DCTERMS.identifier, Literal(f"{identifier}/service")))
        g.add((service, DCTERMS.title, dutch(f"Query-API: {title}")))
        g.add(
            (
                service,
                DCTERMS.description,
                dutch(
                    "Rijen van de dataset filteren, groeperen en pagineren, "
                    "als JSON, CSV of NDJSON."
                ),
            )
        )
        described = URIRef(absolute(reverse("api-schema")))
        g.add((service, DCAT.endpointURL, endpoint))
        g.add((service, DCAT.endpointDescription, described))
        # DCAT-AP 3's range shapes ask these two to be typed (rdfs:Resource).
        g.add((endpoint, RDF.type, RDFS.Resource))
        g.add((described, RDF.type, RDFS.Resource))
        for keyword in items(publication.keywords):
            if text(keyword, 80):
                g.add((service, DCAT.keyword, dutch(text(keyword, 80))))
        g.add((service, DCAT.servesDataset, dataset))
        g.add((service, DCTERMS.publisher, self.agent(publication.publisher)))
        g.add(
            (
                service,
                DCAT.contactPoint,
                self.contact(
                    service,
                    publication.contact_name or publication.publisher.name,
                    publication.contact_email or publication.publisher.email,
                ),
            )
        )
        self.add(service, DCTERMS.license, licence)
        self.themes(service, publication.theme)
        self.open_access(service, service=True)

    def harvested_distributions(self, dataset: URIRef, publication: Publication) -> None:
        """The distributions as the original catalogue describes them (the harvest keeps
        ``title``, ``description``, ``url`` with ``access_url`` and ``download_url``,
        ``format``, ``media_type`` and ``licence``)."""
        title = text(publication.title, 300)
        for number, found in enumerate(items(publication.distributions), start=1):
            if not isinstance(found, dict):
                continue
            # DCAT-AP asks for an access address; a source that gave only a download
            # address has it as its access address too (DCAT 3's advice).
            access = iri(found.get("access_url")) or iri(found.get("url"))
            if access is None:
                continue
            file_type = voc.file_type(str(found.get("format") or ""))
            label = text(found.get("format"), 40)
            node = self.distribution(
                blank(dataset, "distribution", number),
                identifier=text(found.get("identifier"), 2000) or str(access),
                title=text(found.get("title"), 300)
                or (f"{title} ({label})" if label else f"{title} ({number})"),
                description=text(found.get("description"), 2000),
                access=access,
                download=iri(found.get("download_url")),
                file_type=file_type,
                media_type=str(found.get("media_type") or "")
                or (file_type.media_type if file_type else ""),
                licence=self.licence(
                    found.get("licence") or publication.licence_uri, publication.licence
                ),
                rights=str(found.get("rights") or ""),
            )
            self.graph.add((dataset, DCAT.distribution, node))

    # --- The catalogue -----------------------------------------------------------------

    def catalogue(
        self,
        datasets_: Iterable[URIRef],
        *,
        modified: datetime | None = None,
    ) -> URIRef:
        """The ``dcat:Catalog``: the region's open data, its datasets on this page and the
        query APIs serving them."""
        g = self.graph
        node = catalogue_uri()
        name = text(settings.REGION_NAME, 200)
        g.add((node, RDF.type, DCAT.Catalog))
        g.add((node, DCTERMS.identifier, Literal(str(node))))
        g.add((node, DCTERMS.title, dutch(f"Open data {name}")))
        g.add((node, DCTERMS.title, Literal(f"Open data {name}", lang="en")))
        g.add(
            (
                node,
                DCTERMS.description,
                dutch(
                    f"De open data van de gemeenten en intergemeentelijke organisaties van "
                    f"{name}: datasets om te downloaden en te bevragen."
                ),
            )
        )
        g.add(
            (
                node,
                DCTERMS.description,
                Literal(
                    f"The open data of the municipalities and intermunicipal bodies of "
                    f"{name}: datasets to download and query.",
                    lang="en",
                ),
            )
        )
        owner = region()
        if owner is not None:
            publisher = self.agent(owner)
            contact = self.contact(node, owner.name, owner.email)
        else:
            publisher = URIRef(f"{node}#publisher")
            for cls in (FOAF.Agent, FOAF.Organization, DCTERMS.Agent):
                g.add((publisher, RDF.type, cls))
            g.add((publisher, FOAF.name, dutch(name)))
            g.add((publisher, DCTERMS.type, self.term(voc.LOCAL_AUTHORITY)))
            contact = self.contact(node, name, "")
        g.add((node, DCTERMS.publisher, publisher))
        g.add((node, DCAT.contactPoint, contact))
        g.add((node, DCTERMS.language, self.term(voc.DUTCH)))
        home = self.document(URIRef(absolute(reverse("opendata:catalogue"))))
        self.add(node, FOAF.homepage, home)
        self.add(node, DCTERMS.license, self.licence(METADATA_LICENCE, "CC0-1.0"))
        for scheme, title in ((voc.EU_THEMES, "Data theme"), (voc.BELGIF_THEMES, "Data theme")):
            g.add((node, DCAT.themeTaxonomy, URIRef(scheme)))
            g.add((URIRef(scheme), RDF.type, SKOS.ConceptScheme))
            g.add((URIRef(scheme), DCTERMS.title, Literal(title, lang="en")))
        self.add(node, DCTERMS.modified, instant(modified))
        # A catalogue is a dataset too (DCAT 3): validators that read the DCAT ontology
        # check it as one, so it says who may read it like its datasets do.
        self.open_access(node)
        for dataset in datasets_:
            g.add((node, DCAT.dataset, dataset))
        for service in list(g.subjects(RDF.type, DCAT.DataService)):
            g.add((node, DCAT.service, service))
        return node


def dataset_graph(publication: Publication) -> Graph | None:
    """One listed publication as RDF (``None`` when its dataset just closed)."""
    built = CatalogueGraph()
    built.prepare([publication])
    return built.graph if built.dataset(publication) is not None else None
