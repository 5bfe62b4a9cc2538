"""The portal keeps its copy of the open datasets from the data platform's events."""

from __future__ import annotations

from regiohub.core import events
from regiohub.datasets.events import DatasetChanged, VersionPublished


def _refresh(event: DatasetChanged | VersionPublished) -> None:
    from regiohub.opendata import services

    services.refresh(event.dataset_id, event.slug)


def subscribe() -> None:
    # Every change, not only open ones: a dataset made internal must leave the portal.
    events.subscribe(DatasetChanged, "opendata.dataset_changed", _refresh, queue="data")
    events.subscribe(VersionPublished, "opendata.version_published", _refresh, queue="data")
