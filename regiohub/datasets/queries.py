"""The data platform's read door: what other modules (the open data portal, dashboards)
and its own views may read.

Scoped to what a person may see (``Dataset.objects.visible_to``: open datasets for
everyone), answered as plain typed rows; a version's rows are read through the query layer
(DuckDB over the version's files), never from storage directly. Writes go through
``datasets.services``; news through ``datasets.events``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import Max, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from regiohub.datasets import query, storage
from regiohub.datasets.models import Access, Dataset, DatasetVersion, Licence, Theme

#: Re-exported for callers that catch them.

#: The door other modules may use (tests/test_module_walls.py checks it).
__all__ = [
    "LICENCE_URIS",
    "Column",
    "DatasetInfo",
    "Licence",
    "LicenceInfo",
    "QueryError",
    "QueryTimeout",
    "QuickChart",
    "Theme",
    "VersionInfo",
    "catalogue",
    "columns_of",
    "current_versions",
    "dataset_info",
    "datasets_for",
    "describe",
    "licence_of",
    "question_columns",
    "quick_chart",
    "rows",
    "version_of",
    "versions",
]

QueryError = query.QueryError
QueryTimeout = query.QueryTimeout


def datasets_for(user: Any) -> QuerySet[Dataset]:
    """Every dataset ``user`` may read (anonymous: the open ones)."""
    return Dataset.objects.visible_to(user)


def version_of(dataset: Dataset, number: str | int | None) -> DatasetVersion:
    """The version asked for (default: the current one); 404 when there is none."""
    return _version_in(dataset.versions.all(), number)


def _version_in(versions: QuerySet[DatasetVersion], number: str | int | None) -> DatasetVersion:
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


# --- The query API's hot path: what a question needs, without the database ---------------


@dataclass(frozen=True)
class ReadableVersion:
    """A dataset version as answering a question needs it: where its files are and its
    columns. Never changes: a version's number, table version and schema are fixed."""

    slug: str
    storage_key: str
    number: int
    delta_version: int
    schema: list[dict[str, Any]]


@dataclass(frozen=True)
class OpenDataset:
    """A dataset anybody may read (``Dataset.objects.visible_to`` an anonymous caller),
    as this process last read it, with its current version (``None``: no rows yet)."""

    id: int
    slug: str
    storage_key: str
    current: ReadableVersion | None


class _OpenDatasets:
    """Per process, shared by its threads: the open datasets by slug, each read at most
    ``DATASETS_OPEN_CACHE_SECONDS`` ago, and the versions asked for by number (a version
    never changes). A save or delete of a dataset or version in this process forgets them
    all at once (:func:`forget_open_datasets`); other processes see the change when their
    copy expires."""

    MAX_DATASETS = 512
    MAX_VERSIONS = 1024

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.datasets: OrderedDict[str, tuple[float, OpenDataset]] = OrderedDict()
        self.versions: OrderedDict[tuple[int, int], ReadableVersion] = OrderedDict()
        #: Counts the clears: what was read before one is not kept after it.
        self.generation = 0

    def dataset(self, slug: str) -> OpenDataset | None:
        with self.lock:
            entry = self.datasets.get(slug)
            if entry is not None and entry[0] > time.monotonic():
                self.datasets.move_to_end(slug)
                return entry[1]
        return None

    def keep_dataset(self, found: OpenDataset, generation: int) -> None:
        seconds = float(settings.DATASETS_OPEN_CACHE_SECONDS)
        if seconds <= 0:
            return
        with self.lock:
            if generation != self.generation:  # changed while it was read: maybe stale
                return
            self.datasets[found.slug] = (time.monotonic() + seconds, found)
            self.datasets.move_to_end(found.slug)
            while len(self.datasets) > self.MAX_DATASETS:
                self.datasets.popitem(last=False)

    def version(self, key: tuple[int, int]) -> ReadableVersion | None:
        with self.lock:
            return self.versions.get(key)

    def keep_version(self, key: tuple[int, int], found: ReadableVersion) -> None:
        with self.lock:
            self.versions[key] = found
            while len(self.versions) > self.MAX_VERSIONS:
                self.versions.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.generation += 1
            self.datasets.clear()
            self.versions.clear()


_open_datasets = _OpenDatasets()


def forget_open_datasets(**_kwargs: Any) -> None:
    """Read every open dataset from the database again: now, and once the transaction
    that changed one commits (until then, another thread would read the old state again).
    Connected to the saves and deletes of datasets and versions (``apps.py``)."""
    _open_datasets.clear()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_open_datasets.clear)


def _readable(dataset: Any, version: Any) -> ReadableVersion:
    return ReadableVersion(
        slug=dataset.slug,
        storage_key=dataset.storage_key,
        number=version.number,
        delta_version=version.delta_version,
        schema=version.schema,
    )


def open_dataset(slug: str) -> OpenDataset:
    """The open dataset ``slug`` for an anonymous caller, as this process read it at most
    ``DATASETS_OPEN_CACHE_SECONDS`` ago: no database work while that copy is fresh.
    ``Http404`` when there is none anybody may read (never remembered: such a dataset is
    read from the database each time)."""
    found = _open_datasets.dataset(slug)
    if found is not None:
        return found
    generation = _open_datasets.generation
    dataset = datasets_for(AnonymousUser()).filter(slug=slug).first()
    if dataset is None:
        raise Http404(_("No such dataset."))
    current = dataset.versions.order_by("-number").first()
    found = OpenDataset(
        id=dataset.pk,
        slug=dataset.slug,
        storage_key=dataset.storage_key,
        current=_readable(dataset, current) if current else None,
    )
    _open_datasets.keep_dataset(found, generation)
    return found


def readable_version(dataset: Dataset | OpenDataset, number: str | int | None) -> ReadableVersion:
    """The version of ``dataset`` asked for (default: the current one), as a question
    needs it; 404 when there is none. An :class:`OpenDataset` is answered from this
    process's memory, a ``Dataset`` from the database (:func:`version_of`)."""
    if isinstance(dataset, Dataset):
        return _readable(dataset, version_of(dataset, number))
    if not number:
        if dataset.current is None:
            raise Http404(_("This dataset has no rows yet."))
        return dataset.current
    try:
        key = (dataset.id, int(number))
    except (TypeError, ValueError):
        key = None
    found = _open_datasets.version(key) if key else None
    if found is None:
        version = _version_in(DatasetVersion.objects.filter(dataset_id=dataset.id), number)
        found = _readable(dataset, version)
        _open_datasets.keep_version((dataset.id, version.number), found)
    return found


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    type: str
    unit: str
    description: str
    #: "time" (the column that says when), "id" (part of the key) or "".
    role: str = ""


#: Each licence's canonical address (DCAT ``dct:license``, the ``Link: rel="license"`` of a
#: download); none for data not licensed for reuse.
LICENCE_URIS = {
    Licence.CC0: "https://creativecommons.org/publicdomain/zero/1.0/",
    Licence.CC_BY: "https://creativecommons.org/licenses/by/4.0/",
    Licence.CC_BY_NC: "https://creativecommons.org/licenses/by-nc/4.0/",
    Licence.MODEL_FREE: "https://data.vlaanderen.be/doc/licentie/modellicentie-gratis-hergebruik/v1.0",
}


@dataclass(frozen=True)
class LicenceInfo:
    code: str
    label: str
    attribution: str
    open: bool
    uri: str = ""


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
            role=c.get("role", ""),
        )
        for c in version.schema
    ]


def licence_of(dataset: Dataset) -> LicenceInfo:
    return LicenceInfo(
        code=dataset.licence,
        label=str(Licence(dataset.licence).label) if dataset.licence in Licence.values else "",
        attribution=dataset.attribution,
        open=dataset.access == Access.OPEN and dataset.licence != Licence.INTERNAL,
        uri=LICENCE_URIS.get(dataset.licence, ""),
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


@dataclass(frozen=True)
class QuickChart:
    """The dataset's quick chart (the steward's default, else one chosen from the
    columns): an SVG figure, its title and the numbers behind it."""

    svg: str
    title: str
    x_label: str
    y_label: str
    points: list[tuple[str, float | None]]


def quick_chart(user: Any, slug: str) -> QuickChart | None:
    """The current version's quick chart, as the data platform's page draws it; ``None``
    when the dataset is out of reach, has no rows, or no chart fits its columns."""
    from regiohub.datasets import quick_chart as charts

    dataset = datasets_for(user).filter(slug=slug).first()
    current = dataset.versions.order_by("-number").first() if dataset else None
    if dataset is None or current is None:
        return None
    schema, stats = current.schema, current.stats
    saved = dict(dataset.chart or {})
    chosen = (
        saved
        if saved and not charts.chart_errors(saved, schema)
        else charts.automatic(schema, current.primary_key, stats, "")
    )
    if chosen is None:
        return None
    files = storage.files(dataset.storage_key, current.delta_version)
    try:
        chart = charts.build(schema, stats, files, chosen)
    except (query.QueryError, query.QueryTimeout):
        return None
    if chart is None:
        return None
    return QuickChart(chart.svg, chart.title, chart.x_label, chart.y_label, chart.points)


def versions(user: Any, slug: str) -> list[VersionInfo]:
    """Every version of a dataset ``user`` may read, newest first (empty when out of
    reach)."""
    dataset = datasets_for(user).filter(slug=slug).first()
    if dataset is None:
        return []
    return [_version_info(v) for v in dataset.versions.order_by("-number")]


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


def question_columns(
    user: Any, slug: str, params: Mapping[str, Any], *, unscoped: bool = False
) -> list[str] | None:
    """The columns the answer to ``params`` has on the current version of ``slug``, without
    running it (a dashboard checks its charts when it is saved); ``None`` when ``user`` may
    not read the dataset or it has no rows yet. ``unscoped``: whoever may read it (the
    platform loading a definition file; it answers column names, never rows). Raises
    :data:`QueryError` for a question the query API would refuse, naming the parameter."""
    found = Dataset.objects.all() if unscoped else datasets_for(user)
    dataset = found.filter(slug=slug).first()
    current = dataset.versions.order_by("-number").first() if dataset else None
    if current is None:
        return None
    return query.output_columns(query.parse(params, current.schema), current.schema)


def current_versions(slugs: list[str] | set[str]) -> dict[str, tuple[int, str]]:
    """Per dataset slug: its current version number and its access (internal, region,
    open), in one query; a slug without a dataset or rows is missing. For keys of what is
    made from a dataset (a cached figure): a new version or another access gives another
    key. Says nothing about who may read it: ask :func:`rows` for that."""
    if not slugs:
        return {}
    found = (
        Dataset.objects.filter(slug__in=list(slugs))
        .annotate(latest=Max("versions__number"))
        .values_list("slug", "latest", "access")
    )
    return {slug: (latest, access) for slug, latest, access in found if latest is not None}
