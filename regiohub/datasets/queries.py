"""The data platform's read door: what other modules (the open data portal, dashboards)
and its own views may read.

Scoped to what a person may see (``Dataset.objects.visible_to``: open datasets for
everyone), answered as plain typed rows; a version's rows are read through the query layer
(DuckDB over the version's files), never from storage directly. Writes go through
``datasets.services``; news through ``datasets.events``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from regiohub.datasets import query, storage
from regiohub.datasets.models import Access, Dataset, DatasetVersion, Licence

#: Re-exported for callers that catch them.

#: The door other modules may use (tests/test_module_walls.py checks it).
__all__ = [
    "Column",
    "DatasetInfo",
    "LicenceInfo",
    "QueryError",
    "QueryTimeout",
    "VersionInfo",
    "catalogue",
    "columns_of",
    "dataset_info",
    "datasets_for",
    "describe",
    "licence_of",
    "rows",
    "version_of",
]

QueryError = query.QueryError
QueryTimeout = query.QueryTimeout


def datasets_for(user: Any) -> QuerySet[Dataset]:
    """Every dataset ``user`` may read (anonymous: the open ones)."""
    return Dataset.objects.visible_to(user)


def version_of(dataset: Dataset, number: str | int | None) -> DatasetVersion:
    """The version asked for (default: the current one); 404 when there is none."""
    versions = dataset.versions.all()
    if number:
        try:
            return versions.get(number=int(number))
        except (ValueError, DatasetVersion.DoesNotExist):
            raise Http404(
                _("This dataset has no version %(n)s.") % {"n": str(number)[:20]}
            ) from None
    current = versions.order_by("-number").first()
    if current is None:
        raise Http404(_("This dataset has no rows yet."))
    return current


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    type: str
    unit: str
    description: str


@dataclass(frozen=True)
class LicenceInfo:
    code: str
    label: str
    attribution: str
    open: bool


@dataclass(frozen=True)
class VersionInfo:
    number: int
    rows: int
    rows_added: int
    rows_updated: int
    published_at: datetime
    columns: list[Column]
    primary_key: list[str]
    #: What the version changed, as the version table says (``datasets.changes``).
    rows_unchanged: int = 0
    rows_removed: int = 0


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset as a catalogue shows it."""

    id: int
    slug: str
    title: str
    description: str
    theme: str
    owner_code: str
    owner_name: str
    access: str
    licence: LicenceInfo
    updated_at: datetime
    current: VersionInfo | None


def columns_of(version: DatasetVersion) -> list[Column]:
    """The schema of a version: each column's key, label, type, unit and description."""
    return [
        Column(
            key=c["key"],
            label=c.get("label") or c["key"],
            type=c["type"],
            unit=c.get("unit", ""),
            description=c.get("description", ""),
        )
        for c in version.schema
    ]


def licence_of(dataset: Dataset) -> LicenceInfo:
    return LicenceInfo(
        code=dataset.licence,
        label=str(Licence(dataset.licence).label) if dataset.licence in Licence.values else "",
        attribution=dataset.attribution,
        open=dataset.access == Access.OPEN and dataset.licence != Licence.INTERNAL,
    )


def _version_info(version: DatasetVersion) -> VersionInfo:
    return VersionInfo(
        number=version.number,
        rows=version.row_count,
        rows_added=version.rows_added,
        rows_updated=version.rows_updated,
        rows_unchanged=version.rows_unchanged,
        rows_removed=version.rows_removed,
        published_at=version.created_at,
        columns=columns_of(version),
        primary_key=list(version.primary_key),
    )


def describe(dataset: Dataset) -> DatasetInfo:
    current = dataset.current_version
    return DatasetInfo(
        id=dataset.pk,
        slug=dataset.slug,
        title=dataset.title,
        description=dataset.description,
        theme=dataset.theme,
        owner_code=dataset.owner.code,
        owner_name=dataset.owner.display_name,
        access=dataset.access,
        licence=licence_of(dataset),
        updated_at=dataset.updated_at,
        current=_version_info(current) if current else None,
    )


def catalogue(user: Any) -> list[DatasetInfo]:
    """Every dataset ``user`` may read, described, by title."""
    found = datasets_for(user).select_related("owner").order_by("title", "pk")
    return [describe(dataset) for dataset in found]


def dataset_info(user: Any, slug: str) -> DatasetInfo | None:
    """One dataset ``user`` may read, or ``None`` (also for one that exists out of reach)."""
    dataset = datasets_for(user).select_related("owner").filter(slug=slug).first()
    return describe(dataset) if dataset else None


def rows(
    user: Any,
    slug: str,
    params: Mapping[str, Any],
    *,
    version: int | None = None,
) -> tuple[VersionInfo, pa.Table, str]:
    """Ask a dataset a question, with the query API's parameters (filters, ``select``,
    ``group_by``, ``agg``, ``bucket``, ``order``, ``limit``, ``after``): the version read,
    one page of rows as an Arrow table, and the cursor of the next page ("" at the end).

    Raises ``Http404`` when ``user`` may not read the dataset or the version does not
    exist, :data:`QueryError` for a bad question and :data:`QueryTimeout` past the limit.
    """
    dataset = datasets_for(user).filter(slug=slug).first()
    if dataset is None:
        raise Http404(_("No such dataset."))
    found = version_of(dataset, version)
    question = query.parse(params, found.schema)
    files = storage.files(dataset.storage_key, found.delta_version)
    answer = query.run(files, found.schema, question, seconds=settings.DATASETS_QUERY_SECONDS)
    return _version_info(found), answer.table, answer.next_cursor
