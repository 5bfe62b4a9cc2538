"""Stable CKAN ids: a UUID (version 5) for every package, organization, group and tag,
made from the site's host name and what names the thing on the portal, so the same
dataset keeps its id for every client and every harvest, and two regiohub sites never
share one. A resource's id is its package's name and its format (``<slug>-csv``).
"""

from __future__ import annotations

import threading
import uuid
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings

#: Formats of a local dataset's downloads, in the order its resources are listed
#: (``opendata.services.DOWNLOAD_FORMATS`` and GeoJSON for data with places).
LOCAL_FORMATS = ("csv", "json", "ndjson", "parquet", "xlsx", "geojson")


@lru_cache(maxsize=8)
def _namespace(site_url: str) -> uuid.UUID:
    host = urlsplit(site_url).hostname or "localhost"
    return uuid.uuid5(uuid.NAMESPACE_URL, f"https://{host}/api/3/action/")


def namespace() -> uuid.UUID:
    """This site's namespace: from the host name of ``REGIOHUB_SITE_URL`` (not its
    scheme or port: a move to https keeps the ids)."""
    return _namespace(str(settings.SITE_URL))


def _id(kind: str, name: str) -> str:
    return _cached_id(namespace(), kind, name)


@lru_cache(maxsize=50_000)
def _cached_id(space: uuid.UUID, kind: str, name: str) -> str:
    return str(uuid.uuid5(space, f"{kind}:{name}"))


def package_id(slug: str) -> str:
    return _package_id(namespace(), slug)


@lru_cache(maxsize=200_000)
def _package_id(space: uuid.UUID, slug: str) -> str:
    found = str(uuid.uuid5(space, f"dataset:{slug}"))
    _known.remember(space, found, slug)
    return found


def organization_id(code: str) -> str:
    return _id("organization", code)


def group_id(theme: str) -> str:
    return _id("group", theme)


def tag_id(name: str) -> str:
    return _id("tag", name)


def resource_id(slug: str, suffix: str) -> str:
    return f"{slug}-{suffix}"


def looks_like_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


class _Known:
    """Package ids seen in this process, to find the name of an id without asking the
    database for every name (a UUID cannot be reversed)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.slugs: dict[tuple[uuid.UUID, str], str] = {}

    def remember(self, space: uuid.UUID, found: str, slug: str) -> None:
        with self.lock:
            if len(self.slugs) > 400_000:
                self.slugs.clear()
            self.slugs[(space, found)] = slug

    def get(self, space: uuid.UUID, found: str) -> str | None:
        with self.lock:
            return self.slugs.get((space, found))


_known = _Known()


def slug_of_package_id(value: str, candidates: list[str]) -> str | None:
    """The name whose id is ``value``: from memory, else among ``candidates`` (the
    listed names, read by the caller)."""
    space = namespace()
    found = _known.get(space, value.lower())
    if found is not None:
        return found
    for slug in candidates:
        if package_id(slug) == value.lower():
            return slug
    return None


def known_slug(value: str) -> str | None:
    """The name of a package id seen before in this process (``None``: not seen)."""
    return _known.get(namespace(), value.lower())
