"""The CKAN shapes of what the portal lists: a package (a publication), its resources (a
local dataset's download formats of the current version, or a harvested dataset's
distributions), its organization (the publisher), groups (the EU data theme), tags (the
keywords) and the licences, as CKAN 2.10/2.11's ``package_show`` and friends answer.

Times are UTC without a zone, as CKAN writes them (``2025-03-01T10:00:00.123456``).
Packages are built for a page at once: a handful of queries, not some per package.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from regiohub.core.models import Organisation
from regiohub.datasets import queries as datasets
from regiohub.opendata import search
from regiohub.opendata.ckan import ids
from regiohub.opendata.models import Publication, PublicationFacet, Source

EU = "http://publications.europa.eu/resource/authority/"
#: Municipalities of Flanders by NIS code (the address register's persistent URIs).
MUNICIPALITY_URI = "https://data.vlaanderen.be/id/gemeente/"
MEDIA_TYPES = {
    "csv": "text/csv",
    "json": "application/json",
    "ndjson": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
}
#: Licences whose terms are open by the Open Definition (CKAN's ``isopen``).
OPEN_DEFINITION = {"CC0-1.0", "CC-BY-4.0", "MLGH"}


def iso(moment: datetime | date | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        return moment.isoformat()
    return moment.isoformat()


def site() -> str:
    return str(settings.SITE_URL).rstrip("/")


_SLUG = "SLUGPLACEHOLDER"


def _address(name: str) -> str:
    """The address of the page ``name`` with :data:`_SLUG` for the slug ("": none)."""
    try:
        return site() + reverse(name, args=[_SLUG])
    except NoReverseMatch:  # that module's pages are not installed
        return ""


def landing_page(slug: str) -> str:
    return _address("opendata:dataset").replace(_SLUG, slug)


def theme_labels() -> dict[str, str]:
    return {str(code): str(label) for code, label in datasets.Theme.choices}


def licence_labels() -> dict[str, str]:
    return {str(code): str(label) for code, label in datasets.Licence.choices}


# --- Organizations, groups, tags, licences ------------------------------------------------


def organization(org: Organisation, *, full: bool = False, count: int = 0) -> dict[str, Any]:
    """An organisation as CKAN's ``organization`` (in a package) or ``organization_show``."""
    found: dict[str, Any] = {
        "id": ids.organization_id(org.code),
        "name": org.code.lower(),
        "title": org.display_name,
        "type": "organization",
        "description": "",
        "image_url": "",
        "created": None,
        "is_organization": True,
        "approval_status": "approved",
        "state": "active",
    }
    if full:
        found.update(
            {
                "display_name": org.display_name,
                "image_display_url": "",
                "package_count": count,
                "num_followers": 0,
                "extras": [
                    {"key": key, "value": value}
                    for key, value in (("email", org.email), ("website", org.website))
                    if value
                ],
                "groups": [],
                "tags": [],
                "users": [],
            }
        )
    return found


def group(
    theme: str, *, full: bool = False, count: int = 0, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """An EU data theme as a CKAN group."""
    title = (labels if labels is not None else theme_labels()).get(theme, theme)
    found: dict[str, Any] = {
        "id": ids.group_id(theme),
        "name": theme.lower(),
        "title": title,
        "display_name": title,
        "description": "",
        "image_display_url": "",
    }
    if full:
        found.update(
            {
                "type": "group",
                "image_url": "",
                "created": None,
                "is_organization": False,
                "approval_status": "approved",
                "state": "active",
                "package_count": count,
                "num_followers": 0,
                "extras": [{"key": "uri", "value": f"{EU}data-theme/{theme}"}],
                "groups": [],
                "tags": [],
                "users": [],
            }
        )
    return found


def tag(name: str, display: str | None = None) -> dict[str, Any]:
    return {
        "id": ids.tag_id(name),
        "name": name,
        "display_name": display or name,
        "state": "active",
        "vocabulary_id": None,
    }


def licences() -> list[dict[str, Any]]:
    """The portal's licences as CKAN's licence register lists them (every value a
    string, as CKAN's ``DefaultLicense.copy`` makes them)."""
    labels = licence_labels()
    found = []
    for code, url in datasets.LICENCE_URIS.items():
        found.append(
            {
                "domain_content": "False",
                "domain_data": "True",
                "domain_software": "False",
                "family": "",
                "id": str(code),
                "is_generic": "False",
                "maintainer": "",
                "od_conformance": "approved" if code in OPEN_DEFINITION else "not reviewed",
                "osd_conformance": "not reviewed",
                "status": "active",
                "title": labels.get(str(code), str(code)),
                "url": url,
            }
        )
    return found


# --- Packages and resources ---------------------------------------------------------------


class _Places:
    """Municipality names by NIS code, and the bounding box of each one's boundary (read
    once per process: boundaries do not change)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.boxes: dict[str, tuple[float, float, float, float] | None] = {}

    def box(self, codes: Iterable[str]) -> tuple[float, float, float, float] | None:
        wanted = [c for c in codes if c]
        with self.lock:
            missing = [c for c in wanted if c not in self.boxes]
        if missing:
            found = dict(
                Organisation.objects.filter(nis_code__in=missing).values_list(
                    "nis_code", "boundary"
                )
            )
            with self.lock:
                for code in missing:
                    self.boxes[code] = _bounds(found.get(code))
        with self.lock:
            boxes = [b for c in wanted if (b := self.boxes.get(c)) is not None]
        if not boxes:
            return None
        return (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )


def _bounds(geometry: Any) -> tuple[float, float, float, float] | None:
    xs: list[float] = []
    ys: list[float] = []

    def walk(value: Any) -> None:
        if (
            isinstance(value, list)
            and len(value) >= 2
            and all(isinstance(v, int | float) for v in value[:2])
        ):
            xs.append(float(value[0]))
            ys.append(float(value[1]))
        elif isinstance(value, list):
            for item in value:
                walk(item)

    if isinstance(geometry, dict):
        walk(geometry.get("coordinates"))
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None


_places = _Places()


class Packages:
    """Builds the package dicts of a page of publications (a few queries for the page)."""

    def __init__(self, publications: list[Publication]) -> None:
        self.publications = publications
        local = [p for p in publications if p.source == Source.LOCAL]
        self.formats: dict[int, list[str]] = {}
        for pk, value in PublicationFacet.objects.filter(
            publication__in=[p.pk for p in local], facet="format"
        ).values_list("publication_id", "value"):
            self.formats.setdefault(pk, []).append(value.lower())
        dataset_ids = [p.dataset_id for p in local if p.dataset_id]
        self.dataset_slugs = dict(
            datasets.datasets_for(AnonymousUser())
            .filter(pk__in=dataset_ids)
            .values_list("pk", "slug")
        )
        places = {code for p in publications for code in (p.places or [])}
        self.place_names = dict(
            Organisation.objects.filter(nis_code__in=places).values_list("nis_code", "name")
        )
        self.themes = theme_labels()
        self.licences = licence_labels()
        self.landing = _address("opendata:dataset")
        self.download = _address("datasets:download")

    def all(self) -> list[dict[str, Any]]:
        return [self.package(p) for p in self.publications]

    def dataset_slug(self, publication: Publication) -> str | None:
        return self.dataset_slugs.get(publication.dataset_id or 0)

    def package(self, p: Publication) -> dict[str, Any]:
        package_id = ids.package_id(p.slug)
        tags: dict[str, str] = {}
        for keyword in p.keywords or []:
            name = search.fold(str(keyword))[:200]
            if name:
                tags.setdefault(name, str(keyword))
        resources = self.local_resources(p, package_id) if p.source == Source.LOCAL else []
        if p.source == Source.HARVESTED:
            resources = self.harvested_resources(p, package_id)
        licence = p.licence or "notspecified"
        return {
            "id": package_id,
            "name": p.slug,
            "title": p.title,
            "notes": p.description,
            "url": (p.landing_page or p.uri)
            if p.source == Source.HARVESTED
            else self.landing.replace(_SLUG, p.slug),
            "version": str(p.version) if p.version else None,
            "author": None,
            "author_email": None,
            "maintainer": p.contact_name or None,
            "maintainer_email": p.contact_email or None,
            "license_id": licence,
            "license_title": self.licences.get(p.licence, p.licence) or _("License not specified"),
            "license_url": p.licence_uri or None,
            "isopen": p.licence in OPEN_DEFINITION,
            "metadata_created": iso(p.created_at),
            "metadata_modified": iso(p.updated_at),
            "creator_user_id": None,
            "organization": organization(p.publisher),
            "owner_org": ids.organization_id(p.publisher.code),
            "private": False,
            "state": "active",
            "type": "dataset",
            "tags": [tag(name, display) for name, display in tags.items()],
            "num_tags": len(tags),
            "groups": [group(p.theme, labels=self.themes)] if p.theme else [],
            "resources": resources,
            "num_resources": len(resources),
            "extras": self.extras(p),
            "relationships_as_object": [],
            "relationships_as_subject": [],
        }

    def local_resources(self, p: Publication, package_id: str) -> list[dict[str, Any]]:
        slug = self.dataset_slug(p) or p.slug
        found = self.formats.get(p.pk, [])
        formats = [f for f in ids.LOCAL_FORMATS if f in found]
        download = self.download.replace(_SLUG, slug)
        return [
            self.resource(
                p,
                package_id,
                position,
                suffix=fmt,
                name=f"{p.title} ({fmt.upper()})",
                fmt=fmt.upper(),
                url=f"{download}?format={fmt}" if download else "",
                mimetype=MEDIA_TYPES.get(fmt),
                datastore=fmt == "csv",
            )
            for position, fmt in enumerate(formats)
        ]

    def harvested_resources(self, p: Publication, package_id: str) -> list[dict[str, Any]]:
        found = []
        taken: set[str] = set()
        for position, item in enumerate(p.distributions or []):
            if not isinstance(item, dict):
                continue
            fmt = str(item.get("format") or "").strip()
            suffix = "".join(c for c in fmt.lower() if c.isalnum())[:20] or "file"
            candidate, n = suffix, 1
            while candidate in taken:
                n += 1
                candidate = f"{suffix}-{n}"
            taken.add(candidate)
            url = str(
                item.get("download_url")
                or item.get("url")
                or item.get("access_url")
                or item.get("accessURL")
                or ""
            )
            found.append(
                self.resource(
                    p,
                    package_id,
                    position,
                    suffix=candidate,
                    name=str(item.get("title") or item.get("name") or fmt or p.title),
                    fmt=fmt.upper(),
                    url=url,
                    mimetype=str(item.get("media_type") or item.get("mediaType") or "") or None,
                    datastore=False,
                    description=str(item.get("description") or ""),
                )
            )
        return found

    def resource(
        self,
        p: Publication,
        package_id: str,
        position: int,
        *,
        suffix: str,
        name: str,
        fmt: str,
        url: str,
        mimetype: str | None,
        datastore: bool,
        description: str = "",
    ) -> dict[str, Any]:
        return {
            "id": ids.resource_id(p.slug, suffix),
            "package_id": package_id,
            "name": name,
            "description": description,
            "format": fmt,
            "url": url,
            "mimetype": mimetype,
            "mimetype_inner": None,
            "created": iso(p.issued or p.published_at or p.created_at),
            "last_modified": iso(p.modified),
            "metadata_modified": iso(p.updated_at),
            "datastore_active": datastore,
            "position": position,
            "state": "active",
            "size": None,
            "hash": "",
            "url_type": None,
            "resource_type": None,
            "cache_url": None,
            "cache_last_updated": None,
        }

    def extras(self, p: Publication) -> list[dict[str, str]]:
        places = [str(code) for code in (p.places or [])]
        box = _places.box(places) if places else None
        spatial = ""
        if box is not None:
            west, south, east, north = (round(v, 6) for v in box)
            spatial = json.dumps(
                {
                    "type": "Polygon",
                    "coordinates": [
                        [[west, south], [east, south], [east, north], [west, north], [west, south]]
                    ],
                }
            )
        values = {
            "identifier": p.identifier,
            "issued": iso(p.issued),
            "modified": iso(p.modified),
            "frequency": f"{EU}frequency/{p.frequency}" if p.frequency else "",
            "theme": f"{EU}data-theme/{p.theme}" if p.theme else "",
            "spatial_uri": MUNICIPALITY_URI + places[0] if len(places) == 1 else "",
            "spatial_text": ", ".join(self.place_names.get(c, c) for c in places),
            "spatial": spatial,
            "temporal_start": iso(p.temporal_start),
            "temporal_end": iso(p.temporal_end),
            "contact_name": p.contact_name,
            "contact_email": p.contact_email,
            "publisher_name": p.publisher.name,
            "publisher_email": p.publisher.email,
            "publisher_url": p.publisher.website,
            "attribution": p.attribution,
            "uri": p.uri or self.landing.replace(_SLUG, p.slug),
        }
        return [{"key": k, "value": str(v)} for k, v in sorted(values.items()) if v]


def package(publication: Publication) -> dict[str, Any]:
    return Packages([publication]).all()[0]
