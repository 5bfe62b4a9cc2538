"""The DCAT-AP feed: the catalogue as harvesters read it (Turtle, RDF/XML, JSON-LD),
valid against the official DCAT-AP 3.0.1 and DCAT-AP Vlaanderen shapes, paged with Hydra,
filtered on ``modified_since``, and never showing what is not open data."""

from __future__ import annotations

import functools
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client, RequestFactory
from rdflib import Graph, Literal, Namespace, URIRef

from regiohub.core.models import Organisation
from regiohub.core.models.organisation import OrganisationKind
from regiohub.core.testing import needs_shared, run_tasks, shared_path
from regiohub.datasets import queries as data_platform
from regiohub.datasets import services as datasets
from regiohub.opendata import services
from regiohub.opendata.dcat.links import alternate_links
from regiohub.opendata.models import Publication
from regiohub.opendata.tests.factories import open_dataset, published, steward, town

pytestmark = pytest.mark.django_db

# Plain namespaces (rdflib's closed ones confuse pytest's introspection); a term that is
# also a method of ``str`` (``title``, ``format``) is written ``DCT["title"]``.
RDF = Namespace("http://www.w3.org/1999/02/22-rdf-syntax-ns#")
RDFS = Namespace("http://www.w3.org/2000/01/rdf-schema#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
SH = Namespace("http://www.w3.org/ns/shacl#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCT = Namespace("http://purl.org/dc/terms/")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
EU = "http://publications.europa.eu/resource/authority/"
SITE = "http://127.0.0.1:8000"
CC_BY_NC = "https://creativecommons.org/licenses/by-nc/4.0/"
CC0 = "https://creativecommons.org/publicdomain/zero/1.0/"
HARVESTED_URI = "https://data.kortrijk.example/dataset/bomen"

FORMATS = {"ttl": "turtle", "rdf": "xml", "jsonld": "json-ld"}
MEDIA_TYPES = {
    "ttl": "text/turtle",
    "rdf": "application/rdf+xml",
    "jsonld": "application/ld+json",
}
HIDDEN = ("ontwerp", "ingetrokken", "intern-gemaakt", "enkel-regio")


def open_in_data_platform(slug: str) -> Any:
    return data_platform.datasets_for(AnonymousUser()).get(slug=slug)


@pytest.fixture(autouse=True)
def _site(settings: Any) -> None:
    settings.SITE_URL = SITE
    settings.REGION_NAME = "Zuid-West-Vlaanderen"


@pytest.fixture
def catalogue() -> dict[str, Any]:
    """Four listed datasets of three municipalities and a harvested one, and four that
    must never show: a draft, a withdrawn one, and two the data platform closed after
    they were published (internal, region only) before the portal heard of it."""
    Organisation.objects.create(
        kind=OrganisationKind.REGION,
        code="ZWVL",
        name="Zuid-West-Vlaanderen",
        email="open-data@zwvl.example",
        website="https://www.zwvl.example",
    )
    kortrijk, menen, waregem = town("KOR"), town("MEN"), town("WAR")
    full = published(
        kortrijk,
        "verkeerstellingen",
        title="Verkeerstellingen Kortrijk",
        keywords=["verkeer", "fietsers", "tellingen"],
    )
    services.describe(steward(kortrijk), full.slug, places=[kortrijk.nis_code, menen.nis_code])
    Publication.objects.filter(pk=full.pk).update(
        columns=[
            *full.columns,
            {"key": "lat", "label": "lat", "type": "decimal", "role": "latitude"},
            {"key": "lon", "label": "lon", "type": "decimal", "role": "longitude"},
        ]
    )
    telraam = published(menen, "telraam-menen", title="Telraam Menen", licence="CC-BY-NC-4.0")
    datasets.update_dataset(
        open_in_data_platform("telraam-menen"), steward(menen), attribution="Telraam"
    )
    run_tasks()
    published(
        waregem,
        "afvalophaling",
        title="Afvalophaling Waregem",
        description="Kilo's restafval per ophaalronde.",
        licence="MLGH",
        keywords=["afval"],
    )
    harvested = Publication.objects.create(
        source="harvested",
        slug="bomen-kortrijk",
        identifier="bomen-2025",
        uri=HARVESTED_URI,
        landing_page="https://data.kortrijk.example/bomen",
        publisher=kortrijk,
        state="published",
        title="Bomen in Kortrijk",
        description="Elke straatboom met soort\x0b en plantjaar <b>niet vet</b>.",
        theme="ENVI",
        licence="CC0-1.0",
        licence_uri=CC0,
        keywords=["bomen", "groen"],
        frequency="ANNUAL",
        places=[kortrijk.nis_code],
        distributions=[
            {  # as the harvest keeps a distribution
                "title": "Bomen (CSV)",
                "description": "Alle bomen, één per regel.",
                "url": "https://data.kortrijk.example/bomen.csv",
                "access_url": "https://data.kortrijk.example/bomen",
                "download_url": "https://data.kortrijk.example/bomen.csv",
                "format": "CSV",
                "media_type": "text/csv",
                "licence": CC0,
            },
            {
                "title": "Bomen (GeoJSON)",
                "url": "https://data.kortrijk.example/bomen.geojson",
                "format": "GeoJSON",
                "media_type": "application/geo+json",
            },
            {"title": "Kaart", "url": "https://data.kortrijk.example/wms", "format": "WMS"},
            {"title": "Geen adres", "url": "javascript:alert(1)", "format": "CSV"},
        ],
        issued=datetime(2024, 1, 10, 9, 0, tzinfo=UTC),
        modified=datetime(2025, 2, 1, 12, 0, tzinfo=UTC),
    )

    open_dataset(kortrijk, "ontwerp", title="Ontwerp")  # a draft: never published
    published(menen, "ingetrokken", title="Ingetrokken")
    services.withdraw(steward(menen), "ingetrokken", "Fout in de tellingen")
    closed = {"intern-gemaakt": "internal", "enkel-regio": "region"}
    for slug in closed:
        published(waregem, slug, title=slug)
    for slug, access in closed.items():
        # The data platform closes it; the portal's copy still says open and published
        # (its event is not delivered yet): the feed must ask the data platform.
        datasets.update_dataset(open_in_data_platform(slug), steward(waregem), access=access)
    assert Publication.objects.filter(slug__in=closed, open=True, state="published").count() == 2
    return {"full": full, "telraam": telraam, "harvested": harvested}


def fetch(client: Client, url: str, **headers: Any) -> Graph:
    response = client.get(url, **headers)
    assert response.status_code == 200, response.content[:500]
    fmt = urlsplit(url).path.rsplit(".", 1)[-1]
    graph = Graph()
    graph.parse(data=response.content, format=FORMATS.get(fmt, "turtle"))
    return graph


def dataset_uri(slug: str) -> URIRef:
    return URIRef(f"{SITE}/id/dataset/{slug}")


# --- Validation with the official shapes ---------------------------------------------

SHAPES = (
    # DCAT-AP 3.0.1: the constraints (dcat-ap-SHACL.ttl) and the class ranges (ranges.ttl)
    # share one list of property shapes; the controlled vocabularies; deprecated terms
    # and the recommended properties (warnings only).
    "dcat-ap-3.0.1/dcat-ap-SHACL.ttl",
    "dcat-ap-3.0.1/ranges.ttl",
    "dcat-ap-3.0.1/mdr-vocabularies.shape.ttl",
    "dcat-ap-3.0.1/deprecateduris.ttl",
    "dcat-ap-3.0.1/shapes_recommended.ttl",
    # DCAT-AP Vlaanderen, what the Flemish open data portal harvests.
    "dcat-ap-vl/dcatapvl-shacl.jsonld",
)


@functools.cache
def official_shapes() -> Graph:
    shapes = Graph()
    for name in SHAPES:
        shapes.parse(shared_path("standards", *name.split("/")))
    # The published 3.0.1 files name five property shapes they do not define (a shape
    # without a path): pyshacl refuses those; they constrain nothing, so they go.
    for node, shape in list(shapes.subject_objects(SH.property)):
        if shapes.value(shape, SH.path) is None:
            shapes.remove((node, SH.property, shape))
    return shapes


def dcat_classes() -> Graph:
    """What validators that read the DCAT ontology also know: a catalogue is a dataset,
    datasets and data services are catalogued resources (so their shapes apply too)."""
    ontology = Graph()
    ontology.add((DCAT.Dataset, RDFS.subClassOf, DCAT.Resource))
    ontology.add((DCAT.DataService, RDFS.subClassOf, DCAT.Resource))
    ontology.add((DCAT.Catalog, RDFS.subClassOf, DCAT.Dataset))
    return ontology


def problems(data: Graph, shapes: Graph) -> Counter[str]:
    from pyshacl import validate

    _conforms, report, _text = validate(
        data, shacl_graph=shapes, ont_graph=dcat_classes(), inference="none"
    )
    found: Counter[str] = Counter()
    for result in report.objects(None, SH.result):
        severity = str(report.value(result, SH.resultSeverity)).rsplit("#", 1)[-1]
        line = (
            f"{severity}: {report.value(result, SH.focusNode)} "
            f"{report.value(result, SH.resultPath)} {report.value(result, SH.resultMessage)}"
        )
        found[severity] += 1
        print(line)  # warnings stay visible with -s
        if severity == "Violation":
            found[line] += 1
    return found


@needs_shared("standards")
def test_the_feed_passes_dcat_ap_3_and_dcat_ap_vlaanderen(catalogue):
    shapes = official_shapes()
    client = Client()
    for fmt in FORMATS:
        graph = fetch(client, f"/catalog.{fmt}")
        assert set(graph.subjects(RDF.type, DCAT.Dataset)) == {
            dataset_uri("verkeerstellingen"),
            dataset_uri("telraam-menen"),
            dataset_uri("afvalophaling"),
            URIRef(HARVESTED_URI),
        }
        found = problems(graph, shapes)
        print(f"/catalog.{fmt}: {found['Violation']} violations, {found['Warning']} warnings")
        assert found["Violation"] == 0, [k for k in found if k.startswith("Violation:")]

        found = problems(fetch(client, f"/open/verkeerstellingen.{fmt}"), shapes)
        assert found["Violation"] == 0, [k for k in found if k.startswith("Violation:")]

    # The shapes do bite: without its identifier and contact point a dataset fails.
    graph.remove((dataset_uri("afvalophaling"), DCT.identifier, None))
    graph.remove((dataset_uri("afvalophaling"), DCAT.contactPoint, None))
    assert problems(graph, shapes)["Violation"] >= 2


# --- What a dataset holds ------------------------------------------------------------


def test_a_dataset_holds_what_dcat_ap_vlaanderen_asks(catalogue):
    graph = fetch(Client(), "/catalog.ttl")
    node = dataset_uri("verkeerstellingen")
    value = graph.value

    assert value(node, DCT.identifier) == Literal("KOR/verkeerstellingen")
    assert value(node, DCT["title"]) == Literal("Verkeerstellingen Kortrijk", lang="nl")
    assert value(node, DCT.description).language == "nl"
    assert set(graph.objects(node, DCAT.keyword)) == {
        Literal(k, lang="nl") for k in ("verkeer", "fietsers", "tellingen")
    }
    publisher = value(node, DCT.publisher)
    assert publisher == URIRef(f"{SITE}/id/organisation/KOR")
    assert value(publisher, FOAF.name) == Literal("Kortrijk", lang="nl")
    assert {FOAF.Agent, DCT.Agent} <= set(graph.objects(publisher, RDF.type))
    assert value(publisher, DCT.type) == URIRef("http://purl.org/adms/publishertype/LocalAuthority")
    contact = value(node, DCAT.contactPoint)
    assert (contact, RDF.type, VCARD.Organization) in graph
    assert value(contact, VCARD.fn) == Literal("Dienst Mobiliteit", lang="nl")
    assert value(contact, VCARD.hasEmail) == URIRef("mailto:mobiliteit@example.org")
    assert URIRef(f"{EU}data-theme/TRAN") in set(graph.objects(node, DCAT.theme))
    assert value(node, DCT.accrualPeriodicity) == URIRef(f"{EU}frequency/DAILY")
    assert set(graph.objects(node, DCT.spatial)) == {
        URIRef("https://data.vlaanderen.be/id/gemeente/34022"),
        URIRef("https://data.vlaanderen.be/id/gemeente/34027"),
    }
    assert value(URIRef("https://data.vlaanderen.be/id/gemeente/34027"), RDFS.label) == Literal(
        "Menen", lang="nl"
    )
    period = value(node, DCT.temporal)
    assert value(period, DCAT.startDate) == Literal("2025-03-01", datatype=XSD.date)
    assert value(period, DCAT.endDate) == Literal("2025-03-03", datatype=XSD.date)  # Belgian
    assert value(node, DCT.issued).datatype == XSD.dateTime
    assert value(node, DCT.modified).datatype == XSD.dateTime
    assert value(node, DCAT.landingPage) == URIRef(f"{SITE}/open/verkeerstellingen/")
    assert value(node, DCT.accessRights) == URIRef(f"{EU}access-right/PUBLIC")

    formats = {}
    for distribution in graph.objects(node, DCAT.distribution):
        formats[str(value(distribution, DCT.identifier)).rsplit("/", 1)[1]] = distribution
        assert value(distribution, DCT["title"]).language == "nl"
        assert value(distribution, DCAT.accessURL) is not None
    assert set(formats) == {"csv", "json", "ndjson", "parquet", "xlsx", "geojson", "api"}
    csv = formats["csv"]
    assert value(csv, DCAT.downloadURL) == URIRef(
        f"{SITE}/data/verkeerstellingen/download/?format=csv"
    )
    assert value(csv, DCT["format"]) == URIRef(f"{EU}file-type/CSV")
    assert value(csv, DCAT.mediaType) == URIRef(
        "https://www.iana.org/assignments/media-types/text/csv"
    )
    assert value(formats["geojson"], DCT["format"]) == URIRef(f"{EU}file-type/GEOJSON")
    assert value(formats["parquet"], DCAT.mediaType) == URIRef(
        "https://www.iana.org/assignments/media-types/application/vnd.apache.parquet"
    )
    service = value(formats["api"], DCAT.accessService)
    assert (service, RDF.type, DCAT.DataService) in graph
    assert value(service, DCAT.endpointURL) == URIRef(
        f"{SITE}/api/v1/datasets/verkeerstellingen/rows/"
    )
    assert value(service, DCAT.servesDataset) == node
    assert (URIRef(f"{SITE}/catalog"), DCAT.service, service) in graph


def test_the_catalogue_says_whose_it_is(catalogue):
    graph = fetch(Client(), "/catalog.ttl")
    node = URIRef(f"{SITE}/catalog")
    assert (node, RDF.type, DCAT.Catalog) in graph
    assert graph.value(node, DCT["title"]) in {
        Literal("Open data Zuid-West-Vlaanderen", lang="nl"),
        Literal("Open data Zuid-West-Vlaanderen", lang="en"),
    }
    publisher = graph.value(node, DCT.publisher)
    assert publisher == URIRef(f"{SITE}/id/organisation/ZWVL")
    assert graph.value(publisher, FOAF.homepage) == URIRef("https://www.zwvl.example")
    assert graph.value(node, DCT.language) == URIRef(f"{EU}language/NLD")
    assert graph.value(node, FOAF.homepage) == URIRef(f"{SITE}/open/")
    assert len(set(graph.objects(node, DCAT.dataset))) == 4


def test_a_harvested_dataset_keeps_its_own_uri_and_distributions(catalogue):
    graph = fetch(Client(), "/catalog.rdf")
    node = URIRef(HARVESTED_URI)
    assert graph.value(node, DCT.identifier) == Literal("bomen-2025")
    assert graph.value(node, DCAT.landingPage) == URIRef("https://data.kortrijk.example/bomen")
    assert "\x0b" not in str(graph.value(node, DCT.description))
    found = {
        str(graph.value(d, DCAT.downloadURL) or graph.value(d, DCAT.accessURL)): d
        for d in graph.objects(node, DCAT.distribution)
    }
    assert set(found) == {
        "https://data.kortrijk.example/bomen.csv",
        "https://data.kortrijk.example/bomen.geojson",
        "https://data.kortrijk.example/wms",
    }
    csv = found["https://data.kortrijk.example/bomen.csv"]
    assert graph.value(csv, DCAT.accessURL) == URIRef("https://data.kortrijk.example/bomen")
    assert graph.value(csv, DCT.description) == Literal("Alle bomen, één per regel.", lang="nl")
    assert graph.value(csv, DCT["format"]) == URIRef(f"{EU}file-type/CSV")
    assert graph.value(csv, DCT.license) == URIRef(CC0)
    geojson = found["https://data.kortrijk.example/bomen.geojson"]
    assert graph.value(geojson, DCT["format"]) == URIRef(f"{EU}file-type/GEOJSON")
    assert graph.value(geojson, DCT.license) == URIRef(CC0)  # the dataset's licence
    wms = found["https://data.kortrijk.example/wms"]
    assert graph.value(wms, DCT["format"]) == URIRef(f"{EU}file-type/WMS_SRVC")
    assert not list(graph.subjects(DCAT.servesDataset, node))  # its services are its own


def test_the_non_commercial_licence_is_on_every_distribution(catalogue):
    for fmt in FORMATS:
        graph = fetch(Client(), f"/open/telraam-menen.{fmt}")
        node = dataset_uri("telraam-menen")
        distributions = list(graph.objects(node, DCAT.distribution))
        assert len(distributions) == 6
        for distribution in distributions:
            assert graph.value(distribution, DCT.license) == URIRef(CC_BY_NC)
            rights = graph.value(distribution, DCT.rights)
            assert "Telraam" in str(graph.value(rights, RDFS.label))
        assert URIRef("http://purl.org/adms/licencetype/NonCommercialUseOnly") in set(
            graph.objects(URIRef(CC_BY_NC), DCT.type)
        )


# --- Paging and changes --------------------------------------------------------------


def page_of(graph: Graph) -> URIRef:
    (page,) = set(graph.subjects(RDF.type, HYDRA.PartialCollectionView))
    assert (page, RDF.type, HYDRA.PagedCollection) in graph
    return page


def test_hydra_paging_walks_every_dataset_exactly_once(catalogue):
    client = Client()
    seen: list[str] = []
    url: str | None = "/catalog.ttl?limit=1"
    pages = 0
    while url:
        graph = fetch(client, url)
        page = page_of(graph)
        seen += [str(d) for d in graph.objects(URIRef(f"{SITE}/catalog"), DCAT.dataset)]
        assert graph.value(page, HYDRA.totalItems).toPython() == 4
        assert graph.value(page, HYDRA.itemsPerPage).toPython() == 1
        assert graph.value(page, HYDRA.first) == URIRef(f"{SITE}/catalog.ttl?limit=1&page=1")
        assert graph.value(page, HYDRA.last) == URIRef(f"{SITE}/catalog.ttl?limit=1&page=4")
        assert graph.value(page, HYDRA.nextPage) == graph.value(page, HYDRA.next)
        if pages:
            assert graph.value(page, HYDRA.previous) is not None
        following = graph.value(page, HYDRA.next)
        url = str(following).removeprefix(SITE) if following is not None else None
        pages += 1
    assert pages == 4
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 4

    response = client.get("/catalog.jsonld?page=2&limit=2")
    assert 'rel="prev"' in response["Link"] and 'rel="first"' in response["Link"]
    # Beyond the last page: an empty page that still leads back.
    graph = fetch(client, "/catalog.ttl?page=9&limit=2")
    assert not list(graph.objects(URIRef(f"{SITE}/catalog"), DCAT.dataset))
    assert graph.value(page_of(graph), HYDRA.previous) == URIRef(
        f"{SITE}/catalog.ttl?limit=2&page=2"
    )


def test_modified_since_gives_what_changed_since(catalogue):
    # The data's date (``modified``) and the description's (``updated_at``) both count.
    Publication.objects.update(updated_at=datetime(2024, 1, 1, tzinfo=UTC))
    Publication.objects.filter(slug="verkeerstellingen").update(
        modified=datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
    )
    Publication.objects.filter(slug__in=["telraam-menen", "afvalophaling"]).update(
        modified=datetime(2024, 1, 1, tzinfo=UTC)
    )
    client = Client()

    def listed(query: str) -> set[str]:
        graph = fetch(client, f"/catalog.ttl?{query}")
        return {str(d) for d in graph.objects(URIRef(f"{SITE}/catalog"), DCAT.dataset)}

    assert listed("modified_since=2025-01-01") == {
        str(dataset_uri("verkeerstellingen")),
        HARVESTED_URI,
    }
    assert listed("modified_since=2025-06-01T10:00:00Z") == {str(dataset_uri("verkeerstellingen"))}
    assert listed("modified_since=2025-06-01T12:00:01%2B02:00") == set()
    assert listed("modified_since=2025-06-01T12:00:01+02:00") == set()  # "+" as a space
    assert listed("modified_since=2025-06-01T11:59") == {str(dataset_uri("verkeerstellingen"))}
    Publication.objects.filter(slug="afvalophaling").update(
        updated_at=datetime(2025, 7, 1, tzinfo=UTC)  # a steward changed its keywords
    )
    assert str(dataset_uri("afvalophaling")) in listed("modified_since=2025-06-02")
    Publication.objects.filter(slug="afvalophaling").update(
        updated_at=datetime(2024, 1, 1, tzinfo=UTC)
    )
    graph = fetch(client, "/catalog.ttl?modified_since=2025-01-01&limit=1")
    assert graph.value(page_of(graph), HYDRA.next) == URIRef(
        f"{SITE}/catalog.ttl?modified_since=2025-01-01&limit=1&page=2"
    )


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("page=-1", "page"),
        ("page=0", "page"),
        ("page=1.5", "page"),
        ("page=999999999999999999999", "page"),
        ("page=5000", "page"),
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("modified_since=gisteren", "modified_since"),
        ("modified_since=2025-13-01", "modified_since"),
        ("modified_since=2025-02-30T10:00", "modified_since"),
        ("modified_since=0001-01-01T00:00:00%2B05:00", "modified_since"),
        ("modified_since=0001-01-01", "modified_since"),
        ("modified_since=" + "9" * 500, "modified_since"),
        ("page=1%00", "page"),
        ("limit=%00", "limit"),
        ("modified_since=2025-01-01%00", "modified_since"),
    ],
)
def test_a_bad_parameter_is_refused_by_name(query, parameter):
    for url in (f"/catalog.ttl?{query}", f"/catalog?{query}"):
        response = Client().get(url)
        assert response.status_code == 400, url
        assert parameter in response.content.decode()
        assert response["Content-Type"].startswith("text/plain")


def test_what_is_not_open_data_never_shows(catalogue):
    client = Client()
    for fmt in FORMATS:
        body = client.get(f"/catalog.{fmt}?limit=1000").content.decode()
        for slug in HIDDEN:
            assert f"/{slug}" not in body, (fmt, slug)
            assert client.get(f"/open/{slug}.{fmt}").status_code == 404
        assert "Ingetrokken" not in body and "Ontwerp" not in body
    for slug in HIDDEN:
        assert client.get(f"/id/dataset/{slug}").status_code == 404
    assert client.get("/catalog.ttl").content.count(b"a dcat:Dataset") == 4


# --- Addresses, negotiation, caching -------------------------------------------------


def test_the_catalogue_speaks_what_is_asked(catalogue):
    for accept, media_type in [
        ("text/turtle", "text/turtle"),
        ("application/rdf+xml", "application/rdf+xml"),
        ("application/ld+json", "application/ld+json"),
        ("application/ld+json;q=0.5, text/turtle;q=0.9", "text/turtle"),
        ("text/html;q=0.5, application/rdf+xml", "application/rdf+xml"),
        ("*/*", "text/turtle"),
        ("", "text/turtle"),
    ]:
        response = Client().get("/catalog", HTTP_ACCEPT=accept)
        assert response.status_code == 200, accept
        assert response["Content-Type"].startswith(media_type), accept
        assert "Accept" in response["Vary"]
        graph = Graph()
        suffix = {v: k for k, v in MEDIA_TYPES.items()}[media_type]
        graph.parse(data=response.content, format=FORMATS[suffix])
        assert graph.value(page_of(graph), HYDRA.first) == URIRef(f"{SITE}/catalog?page=1")


def test_a_browser_is_sent_to_the_page_and_nonsense_is_refused(catalogue):
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = Client().get("/catalog", HTTP_ACCEPT=browser)
    assert response.status_code == 303 and response["Location"] == "/open/"
    assert Client().get("/catalog", HTTP_ACCEPT="application/pdf").status_code == 406
    assert Client().post("/catalog.ttl").status_code == 405
    assert Client().get("/catalog.xml")["Content-Type"].startswith("application/rdf+xml")


def test_identifiers_lead_to_the_page_or_the_rdf(catalogue):
    client = Client()
    response = client.get("/id/dataset/verkeerstellingen", HTTP_ACCEPT="text/turtle")
    assert response.status_code == 303
    assert response["Location"] == "/open/verkeerstellingen.ttl"
    response = client.get("/id/dataset/verkeerstellingen", HTTP_ACCEPT="text/html")
    assert response["Location"] == "/open/verkeerstellingen/"
    response = client.get("/id/organisation/KOR")
    assert response.status_code == 303 and response["Location"] == "/open/?publisher=KOR"
    assert client.get("/id/organisation/NOPE").status_code == 404
    assert client.get("/id/organisation/kor").status_code == 404


def test_an_unchanged_page_is_not_sent_again(catalogue):
    client = Client()
    first = client.get("/catalog.jsonld")
    assert first["ETag"] and first["Last-Modified"]
    again = client.get("/catalog.jsonld", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    Publication.objects.filter(slug="afvalophaling").update(title="Afval Waregem")
    changed = client.get("/catalog.jsonld", HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]


def test_pages_advertise_the_feed(catalogue, settings):
    settings.ALLOWED_HOSTS = ["data.zwvl.example", "testserver"]
    request = RequestFactory().get("/open/", HTTP_HOST="data.zwvl.example")
    request.user = AnonymousUser()
    links = alternate_links(request)
    assert [link["type"] for link in links] == list(MEDIA_TYPES.values())
    assert links[0] == {
        "rel": "alternate",
        "type": "text/turtle",
        "href": "http://data.zwvl.example/catalog.ttl",
        "title": "DCAT-AP (Turtle)",
    }
    one = alternate_links(request, "verkeerstellingen")
    assert one[2]["href"] == "http://data.zwvl.example/open/verkeerstellingen.jsonld"
    for link in links + one:
        assert Client().get(urlsplit(link["href"]).path).status_code == 200


def test_a_large_page_is_written_flat_and_reads_the_same(catalogue):
    from rdflib.compare import isomorphic

    from regiohub.opendata.dcat import formats

    graph = fetch(Client(), "/catalog.ttl")
    for fmt in (formats.TURTLE, formats.RDF_XML, formats.JSON_LD):
        pretty = formats.serialise(graph, fmt, datasets=formats.PRETTY_UP_TO)
        flat = formats.serialise(graph, fmt, datasets=formats.PRETTY_UP_TO + 1)
        if fmt is not formats.JSON_LD:
            assert flat != pretty
        name = FORMATS[fmt.suffix]
        assert isomorphic(Graph().parse(data=flat, format=name), graph)
        assert isomorphic(Graph().parse(data=pretty, format=name), graph)
