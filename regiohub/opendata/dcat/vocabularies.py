"""The vocabularies the feed speaks, and the controlled terms it takes from them.

A harvester or validator does not look terms up on the web: DCAT-AP's and DCAT-AP
Vlaanderen's shapes check a term's class and concept scheme *in the feed itself*. So every
term the feed uses (a theme, a frequency, a file type, a licence, a place) is described
where it is used: its class, its labels and its scheme (:func:`describe_concept`).

The EU's terms are those of the Publications Office's authority tables
(``http://publications.europa.eu/resource/authority/...``); Flanders adds its own for a
dataset's status (``mdcat:statuut``) and the Belgian data themes (``vocab.belgif.be``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, RDFS, SKOS, XSD

#: DCAT 3 (rdflib's closed DCAT namespace predates ``dcat:version``).
DCAT = Namespace("http://www.w3.org/ns/dcat#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
#: DCAT-AP Vlaanderen's own terms (``statuut``, ...).
MDCAT = Namespace("https://data.vlaanderen.be/ns/metadata-dcat#")
EU = "http://publications.europa.eu/resource/authority/"
IANA = "https://www.iana.org/assignments/media-types/"

PREFIXES = {
    "dcat": DCAT,
    "dct": DCTERMS,
    "foaf": FOAF,
    "vcard": VCARD,
    "skos": SKOS,
    "hydra": HYDRA,
    "adms": ADMS,
    "dcatap": DCATAP,
    "mdcat": MDCAT,
    "xsd": XSD,
    "rdfs": RDFS,
}


def bind_prefixes(graph: Graph) -> Graph:
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace, override=True)
    return graph


@dataclass(frozen=True)
class Term:
    """One controlled term: its URI, labels (language → text) and the scheme it is in."""

    uri: str
    labels: dict[str, str]
    scheme: str
    scheme_title: str
    #: The RDF classes the profiles ask the term to have where it is used.
    classes: tuple[URIRef, ...] = ()
    #: A term of a SKOS concept scheme (the EU's and Flanders' tables); IANA's media
    #: types are not published as one.
    concept: bool = True


def describe_concept(graph: Graph, term: Term) -> URIRef:
    """Add ``term`` with its classes, labels and scheme (each scheme typed and titled, as
    the shapes check), and return its URI."""
    node = URIRef(term.uri)
    for cls in term.classes:
        graph.add((node, RDF.type, cls))
    if not term.concept:
        for language, label in term.labels.items():
            graph.add((node, RDFS.label, Literal(label, lang=language)))
        return node
    graph.add((node, RDF.type, SKOS.Concept))
    for language, label in term.labels.items():
        graph.add((node, SKOS.prefLabel, Literal(label, lang=language)))
    scheme = URIRef(term.scheme)
    graph.add((node, SKOS.inScheme, scheme))
    graph.add((scheme, RDF.type, SKOS.ConceptScheme))
    graph.add((scheme, DCTERMS.title, Literal(term.scheme_title, lang="en")))
    return node


# --- Themes: the EU's data themes, and Belgium's copy of them Flanders asks for ----------

_THEME_LABELS = {
    "AGRI": ("Agriculture, fisheries, forestry and food", "Landbouw, visserij, bosbouw en voeding"),
    "ECON": ("Economy and finance", "Economie en financiën"),
    "EDUC": ("Education, culture and sport", "Onderwijs, cultuur en sport"),
    "ENER": ("Energy", "Energie"),
    "ENVI": ("Environment", "Milieu"),
    "GOVE": ("Government and public sector", "Overheid en publieke sector"),
    "HEAL": ("Health", "Gezondheid"),
    "INTR": ("International issues", "Internationale vraagstukken"),
    "JUST": ("Justice, legal system and public safety", "Justitie, rechtsstelsel en veiligheid"),
    "REGI": ("Regions and cities", "Regio's en steden"),
    "SOCI": ("Population and society", "Bevolking en samenleving"),
    "TECH": ("Science and technology", "Wetenschap en technologie"),
    "TRAN": ("Transport", "Vervoer"),
}
EU_THEMES = f"{EU}data-theme"
BELGIF_THEMES = "https://vocab.belgif.be/auth/datatheme"

#: code → (the EU's term, Belgium's term)
THEMES: dict[str, tuple[Term, Term]] = {
    code: (
        Term(f"{EU_THEMES}/{code}", {"en": en, "nl": nl}, EU_THEMES, "Data theme"),
        Term(f"{BELGIF_THEMES}/{code}", {"en": en, "nl": nl}, BELGIF_THEMES, "Data theme"),
    )
    for code, (en, nl) in _THEME_LABELS.items()
}

# --- How often a dataset changes ------------------------------------------------------

EU_FREQUENCIES = f"{EU}frequency"
_FREQUENCY_LABELS = {
    "CONT": ("continuous", "voortdurend"),
    "HOURLY": ("hourly", "elk uur"),
    "DAILY": ("daily", "dagelijks"),
    "WEEKLY": ("weekly", "wekelijks"),
    "MONTHLY": ("monthly", "maandelijks"),
    "QUARTERLY": ("quarterly", "driemaandelijks"),
    "ANNUAL": ("annual", "jaarlijks"),
    "IRREG": ("irregular", "onregelmatig"),
    "NEVER": ("never", "nooit"),
    "UNKNOWN": ("unknown", "onbekend"),
}
FREQUENCIES: dict[str, Term] = {
    code: Term(
        f"{EU_FREQUENCIES}/{code}",
        {"en": en, "nl": nl},
        EU_FREQUENCIES,
        "Frequency",
        (DCTERMS.Frequency,),
    )
    for code, (en, nl) in _FREQUENCY_LABELS.items()
}

# --- File types and media types -------------------------------------------------------

EU_FILE_TYPES = f"{EU}file-type"


@dataclass(frozen=True)
class FileType:
    """A download format: the EU file type (``dct:format``) and the IANA media type
    (``dcat:mediaType``), either empty where the registers have none."""

    code: str
    label: str
    media_type: str = ""

    @property
    def term(self) -> Term | None:
        if not self.code:
            return None
        return Term(
            f"{EU_FILE_TYPES}/{self.code}",
            {"en": self.label},
            EU_FILE_TYPES,
            "File type",
            (DCTERMS.MediaTypeOrExtent,),
        )


#: The EU file types the feed names, by code (the platform's own downloads first).
FILE_TYPES: dict[str, FileType] = {
    ft.code: ft
    for ft in (
        FileType("CSV", "CSV", "text/csv"),
        FileType("JSON", "JSON", "application/json"),
        FileType("PARQUET", "Parquet", "application/vnd.apache.parquet"),
        FileType(
            "XLSX",
            "Excel XLSX",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        FileType("GEOJSON", "GeoJSON", "application/geo+json"),
        FileType("TSV", "TSV", "text/tab-separated-values"),
        FileType("XLS", "Excel XLS", "application/vnd.ms-excel"),
        FileType("ODS", "ODS", "application/vnd.oasis.opendocument.spreadsheet"),
        FileType("XML", "XML", "application/xml"),
        FileType("PDF", "PDF", "application/pdf"),
        FileType("ZIP", "ZIP", "application/zip"),
        FileType("HTML", "HTML", "text/html"),
        FileType("TXT", "Text", "text/plain"),
        FileType("RDF_XML", "RDF/XML", "application/rdf+xml"),
        FileType("RDF_TURTLE", "Turtle", "text/turtle"),
        FileType("JSON_LD", "JSON-LD", "application/ld+json"),
        FileType("SHP", "Shapefile"),
        FileType("KML", "KML", "application/vnd.google-earth.kml+xml"),
        FileType("GML", "GML", "application/gml+xml"),
        FileType("GPKG", "GeoPackage", "application/geopackage+sqlite3"),
        FileType("WMS_SRVC", "WMS"),
        FileType("WFS_SRVC", "WFS"),
        FileType("GTFS", "GTFS"),
        FileType("ATOM", "Atom feed", "application/atom+xml"),
        FileType("RSS", "RSS feed", "application/rss+xml"),
    )
}
#: What other catalogues write for the same file types.
_FILE_TYPE_ALIASES = {
    "TTL": "RDF_TURTLE",
    "TURTLE": "RDF_TURTLE",
    "RDF": "RDF_XML",
    "JSONLD": "JSON_LD",
    "SHAPEFILE": "SHP",
    "WMS": "WMS_SRVC",
    "WFS": "WFS_SRVC",
    "GEOPACKAGE": "GPKG",
    "EXCEL": "XLSX",
}
#: NDJSON has neither an EU file type nor a registered media type: named by its title.
NDJSON = FileType("", "NDJSON")


def file_type(value: str) -> FileType | None:
    """The EU file type a catalogue's format means (``CSV``, ``csv``, ``.csv``, ``Turtle``
    or the EU URI itself), or ``None`` when it is not one the feed knows."""
    text = value.strip()
    if text.startswith(f"{EU_FILE_TYPES}/"):
        text = text.rsplit("/", 1)[1]
    code = re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_")
    code = _FILE_TYPE_ALIASES.get(code, code)
    return FILE_TYPES.get(code)


_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")


def iana_media_type(value: str) -> str:
    """The IANA address of a media type (``text/csv`` or its IANA URI), or ``""``."""
    text = value.strip().lower()
    if text.startswith(("http://www.iana.org/assignments/media-types/", IANA)):
        text = text.split("/assignments/media-types/", 1)[1]
    text = text.split(";", 1)[0].strip()
    return f"{IANA}{text}" if _MEDIA_TYPE.match(text) else ""


def media_type_term(media_type: str) -> Term | None:
    uri = iana_media_type(media_type)
    if not uri:
        return None
    return Term(
        uri,
        {"en": uri.removeprefix(IANA)},
        IANA.rstrip("/"),
        "IANA media types",
        (DCTERMS.MediaType,),
        concept=False,
    )


# --- Access, status, language, publisher types -----------------------------------------

PUBLIC_ACCESS = Term(
    f"{EU}access-right/PUBLIC",
    {"en": "public", "nl": "publiek"},
    f"{EU}access-right",
    "Access right",
    (DCTERMS.RightsStatement,),
)
#: Downloads and the query API of this platform stay where they are for the medium term.
STABLE = Term(
    f"{EU}planned-availability/STABLE",
    {"en": "stable", "nl": "stabiel"},
    f"{EU}planned-availability",
    "Planned availability",
)

_LICENCE_TYPES = "http://purl.org/adms/licencetype/1.0"
_LICENCE_TYPE_LABELS = {
    "PublicDomain": ("Public domain", "Publiek domein"),
    "Attribution": ("Attribution", "Naamsvermelding"),
    "NonCommercialUseOnly": ("Non-commercial use only", "Enkel niet-commercieel gebruik"),
    "ViralEffect-ShareAlike": ("Share-alike", "Gelijk delen"),
}
LICENCE_TYPE_TERMS = {
    code: Term(
        f"http://purl.org/adms/licencetype/{code}",
        {"en": en, "nl": nl},
        _LICENCE_TYPES,
        "Licence type",
    )
    for code, (en, nl) in _LICENCE_TYPE_LABELS.items()
}
#: What the licences the data platform offers (and the usual ones of harvested
#: catalogues) allow, as ADMS licence types, by licence URI (without scheme and final
#: slash: ``creativecommons.org/licenses/by/4.0``).
LICENCE_TYPES = {
    "creativecommons.org/publicdomain/zero/1.0": ("PublicDomain",),
    "creativecommons.org/licenses/by/4.0": ("Attribution",),
    "creativecommons.org/licenses/by-sa/4.0": ("Attribution", "ViralEffect-ShareAlike"),
    "creativecommons.org/licenses/by-nc/4.0": ("Attribution", "NonCommercialUseOnly"),
    "data.vlaanderen.be/doc/licentie/modellicentie-gratis-hergebruik/v1.0": ("Attribution",),
}


def licence_types(uri: str) -> list[Term]:
    key = re.sub(r"^https?://", "", uri.strip()).rstrip("/")
    return [LICENCE_TYPE_TERMS[code] for code in LICENCE_TYPES.get(key, ())]


#: Flanders marks open data (and open data services) with these keywords of its
#: geographic data infrastructure (DCAT-AP Vlaanderen's ``statuut``).
_GDI = "https://metadata.vlaanderen.be/id/GDI-Vlaanderen-Trefwoorden"
OPEN_DATA_STATUS = Term(
    f"{_GDI}/VLOPENDATA", {"nl": "Vlaamse Open data"}, _GDI, "GDI-Vlaanderen Trefwoorden"
)
OPEN_SERVICE_STATUS = Term(
    f"{_GDI}/VLOPENDATASERVICE",
    {"nl": "Vlaamse Open data Service"},
    _GDI,
    "GDI-Vlaanderen Trefwoorden",
)
DUTCH = Term(
    f"{EU}language/NLD",
    {"en": "Dutch", "nl": "Nederlands"},
    f"{EU}language",
    "Language",
    (DCTERMS.LinguisticSystem,),
)
#: Municipalities, intermunicipal bodies and the region they form are local authorities.
LOCAL_AUTHORITY = Term(
    "http://purl.org/adms/publishertype/LocalAuthority",
    {"en": "Local Authority", "nl": "Lokaal bestuur"},
    "http://purl.org/adms/publishertype/1.0",
    "Publisher type",
)

#: The municipalities of Flanders (NIS codes of the Flemish provinces) have a URI in the
#: Flemish base registers (the address register's ``gemeente``), named by NIS code.
FLEMISH_MUNICIPALITY = "https://data.vlaanderen.be/id/gemeente/{nis}"
_FLEMISH_NIS = re.compile(r"^(1|2[34]|3|4|7)\d+$")


def municipality_uri(nis_code: str) -> str:
    """The base registers' URI of a Flemish municipality, or ``""`` elsewhere."""
    if len(nis_code) == 5 and nis_code.isdigit() and _FLEMISH_NIS.match(nis_code):
        return FLEMISH_MUNICIPALITY.format(nis=nis_code)
    return ""
