"""Facet counts of a search, counted in this process's memory (the catalogue's pages and
the CKAN API).

Counting the facets in SQL groups every facet row of every match (about a dozen
rows per dataset: its formats and keywords above all): 50-90 ms for a question that matches
most of 10,000 datasets, on SQLite and PostgreSQL alike. Here each process keeps the facet
rows of those five facets as two arrays (publication, value) and counts the matches'
values with numpy in a few milliseconds.

Which publications match is always asked of the database (``catalogue``: the listed ones,
narrowed by the question): the arrays only say which values a publication has. They are
read again when the facet rows may have changed, which two index look-ups tell: the
highest facet row id and when its publication last changed. ``services.reindex`` replaces a
publication's rows after the publication is saved: new rows get higher ids, except on
SQLite when the replaced rows were the highest (SQLite gives the freed ids again), and then
that publication's ``updated_at`` has moved. Rows of a deleted publication may stay in the
arrays: a deleted publication never matches, so they are never counted.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from regiohub.opendata.models import Publication, PublicationFacet


@dataclass(frozen=True)
class _Arrays:
    token: tuple[Any, ...]
    owners: np.ndarray  # publication id of each row
    values: np.ndarray  # value id of each row
    facet_of: np.ndarray  # facet id of each value id
    labels: list[str]  # the text of each value id
    facets: dict[str, int]  # facet name -> facet id


class FacetIndex:
    """The facet rows of ``facets``, read once per change of the catalogue."""

    def __init__(self, facets: Iterable[str]) -> None:
        self.facets = tuple(facets)
        self.lock = threading.Lock()
        self.arrays: _Arrays | None = None

    def _token(self) -> tuple[Any, ...]:
        """The last facet row and when its publication last changed: two index look-ups."""
        last = PublicationFacet.objects.order_by("-id").values_list("id", "publication_id").first()
        if last is None:
            return ()
        changed = Publication.objects.filter(pk=last[1]).values_list("updated_at", flat=True)
        return (last[0], changed.first())

    def _read(self, token: tuple[Any, ...]) -> _Arrays:
        rows = PublicationFacet.objects.filter(facet__in=self.facets).values_list(
            "publication_id", "facet", "value"
        )
        facet_ids = {name: i for i, name in enumerate(self.facets)}
        value_ids: dict[tuple[str, str], int] = {}
        owners: list[int] = []
        values: list[int] = []
        for owner, facet, value in rows.iterator(chunk_size=20_000):
            owners.append(owner)
            values.append(value_ids.setdefault((facet, value), len(value_ids)))
        ordered = sorted(value_ids.items(), key=lambda item: item[1])
        return _Arrays(
            token=token,
            owners=np.asarray(owners, dtype=np.int64),
            values=np.asarray(values, dtype=np.int64),
            facet_of=np.asarray([facet_ids[f] for (f, _v), _i in ordered], dtype=np.int64),
            labels=[v for (_f, v), _i in ordered],
            facets=facet_ids,
        )

    def current(self) -> _Arrays:
        token = self._token()
        with self.lock:
            if self.arrays is not None and self.arrays.token == token:
                return self.arrays
        arrays = self._read(token)
        with self.lock:
            self.arrays = arrays
        return arrays

    def counts(
        self, publications: list[int], facets: list[str], *, limit: int, mincount: int
    ) -> dict[str, list[tuple[str, int]]]:
        """For each facet: ``(value, count)`` over ``publications``, most frequent first
        (then by value), at most ``limit`` (negative: all), at least ``mincount``."""
        arrays = self.current()
        found: dict[str, list[tuple[str, int]]] = {name: [] for name in facets}
        if not publications or arrays.owners.size == 0:
            return found
        chosen = np.asarray(publications, dtype=np.int64)
        top = int(max(arrays.owners.max(), chosen.max())) + 1
        member = np.zeros(top, dtype=bool)
        member[chosen] = True
        counted = np.bincount(arrays.values[member[arrays.owners]], minlength=len(arrays.labels))
        floor = max(1, mincount)
        for name in facets:
            facet = arrays.facets.get(name)
            if facet is None:
                continue
            (ids,) = np.nonzero((arrays.facet_of == facet) & (counted >= floor))
            pairs = sorted(((arrays.labels[i], int(counted[i])) for i in ids), key=_order)
            found[name] = pairs if limit < 0 else pairs[:limit]
        return found


def _order(pair: tuple[str, int]) -> tuple[int, str]:
    return (-pair[1], pair[0])
