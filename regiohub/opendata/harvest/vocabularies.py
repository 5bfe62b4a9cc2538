"""The controlled vocabularies of DCAT-AP, read back into the portal's codes: EU data
themes, EU (and Dublin Core) frequencies, licences, file types and media types.

A URI is compared without its scheme, ``www.`` and trailing slash, so ``http://`` and
``https://`` spellings of the same authority meet.
"""

from __future__ import annotations

import re

from regiohub.datasets import queries as datasets
from regiohub.opendata.models import Frequency

EU = "publications.europa.eu/resource/authority/"
THEME_PREFIX = EU + "data-theme/"
FREQUENCY_PREFIX = EU + "frequency/"
FILE_TYPE_PREFIX = EU + "file-type/"
LICENCE_PREFIX = EU + "licence/"
DUBLIN_CORE_FREQUENCY = "purl.org/cld/freq/"
IANA_MEDIA_TYPES = "iana.org/assignments/media-types/"


def key(uri: str) -> str:
    """``uri`` as it is compared: lower case, no scheme, ``www.`` or trailing slash."""
    text = uri.strip().lower()
    text = re.sub(r"^[a-z]+://", "", text)
    text = text.removeprefix("www.")
    return text.rstrip("/")


# --- Themes -------------------------------------------------------------------------------


def theme_code(uri: str) -> str:
    """The EU data theme's code (``TRAN``) of its URI, or ``""``."""
    found = key(uri)
    if not found.startswith(THEME_PREFIX):
        return ""
    code = found.removeprefix(THEME_PREFIX).upper()
    return code if code in datasets.Theme.values else ""


# --- Frequencies ------------------------------------------------------------------------

#: EU codes the portal's shorter list names differently.
_EU_FREQUENCIES = {"UPDATE_CONT": Frequency.CONT}
_DUBLIN_CORE = {
    "continuous": Frequency.CONT,
    "daily": Frequency.DAILY,
    "weekly": Frequency.WEEKLY,
    "monthly": Frequency.MONTHLY,
    "quarterly": Frequency.QUARTERLY,
    "annual": Frequency.ANNUAL,
    "irregular": Frequency.IRREG,
}


def frequency_code(uri: str) -> str:
    """The portal's frequency of an EU (or Dublin Core) frequency URI; ``UNKNOWN`` for one
    it does not know (``BIWEEKLY``: the portal's list is coarser than the EU's)."""
    found = key(uri)
    if found.startswith(FREQUENCY_PREFIX):
        code = found.removeprefix(FREQUENCY_PREFIX).upper()
        if code in Frequency.values:
            return code
        return str(_EU_FREQUENCIES.get(code, Frequency.UNKNOWN))
    if found.startswith(DUBLIN_CORE_FREQUENCY):
        return str(_DUBLIN_CORE.get(found.removeprefix(DUBLIN_CORE_FREQUENCY), Frequency.UNKNOWN))
    return str(Frequency.UNKNOWN)


# --- Licences ---------------------------------------------------------------------------

Licence = datasets.Licence

#: Other spellings of the licences the data platform knows (its own URIs are in
#: ``datasets.LICENCE_URIS``): the EU licence authority list, the Flemish model licence's
#: ``/id/`` URI that DCAT-AP Vlaanderen feeds use.
_LICENCE_ALIASES = {
    "data.vlaanderen.be/id/licentie/modellicentie-gratis-hergebruik/v1.0": Licence.MODEL_FREE,
    LICENCE_PREFIX + "cc0": Licence.CC0,
    LICENCE_PREFIX + "cc_by_4_0": Licence.CC_BY,
    LICENCE_PREFIX + "cc_bync_4_0": Licence.CC_BY_NC,
    "opendatacommons.org/licenses/pddl": Licence.CC0,
}


def licence_code(uri: str) -> str:
    """The data platform's licence code (``CC-BY-4.0``) of a licence URI, or ``""``."""
    found = key(uri)
    found = re.sub(r"/(legalcode(\.[a-z-]+)?|deed\.[a-z-]+)$", "", found)
    for code, canonical in datasets.LICENCE_URIS.items():
        if key(canonical) == found:
            return str(code)
    code = _LICENCE_ALIASES.get(found)
    return str(code) if code else ""


# --- Formats ----------------------------------------------------------------------------

#: A distribution's format from its media type, when it names none itself.
MEDIA_TYPE_FORMATS = {
    "text/csv": "CSV",
    "application/json": "JSON",
    "application/geo+json": "GEOJSON",
    "application/vnd.geo+json": "GEOJSON",
    "application/ld+json": "JSON-LD",
    "application/xml": "XML",
    "text/xml": "XML",
    "application/rdf+xml": "RDF",
    "text/turtle": "TTL",
    "application/pdf": "PDF",
    "application/zip": "ZIP",
    "application/vnd.ms-excel": "XLS",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
    "application/vnd.google-earth.kml+xml": "KML",
    "application/vnd.apache.parquet": "PARQUET",
    "application/x-shapefile": "SHP",
    "text/html": "HTML",
}
_FORMAT_TEXT = re.compile(r"[^A-Z0-9+.-]")
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")


def format_code(value: str) -> str:
    """A format as the catalogue's facet shows it (``CSV``, ``GEOJSON``): the code of an EU
    file-type URI, the subtype of an IANA media-type URI, or the text, upper case."""
    found = key(value)
    if found.startswith(FILE_TYPE_PREFIX):
        text = found.removeprefix(FILE_TYPE_PREFIX)
    elif IANA_MEDIA_TYPES in found:
        media = media_type(value)
        text = MEDIA_TYPE_FORMATS.get(media, media.rsplit("/", 1)[-1])
    elif "/" in value and "://" not in value:  # a media type given as a format
        text = MEDIA_TYPE_FORMATS.get(value.strip().lower(), value.rsplit("/", 1)[-1])
    elif "://" in value:
        text = found.rsplit("/", 1)[-1]
    else:
        text = value
    return _FORMAT_TEXT.sub("", text.upper())[:20]


def media_type(value: str) -> str:
    """``text/csv`` from an IANA media-type URI or the plain text; ``""`` when it is not one."""
    found = value.strip().lower()
    if IANA_MEDIA_TYPES in found:
        found = found.split(IANA_MEDIA_TYPES, 1)[1]
    found = found.split(";", 1)[0].strip()
    return found if _MEDIA_TYPE.match(found) else ""
