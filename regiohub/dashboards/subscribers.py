"""Dashboards follow the data platform: a new version of a dataset has its public
dashboards drawn again ahead (the first visitor after a load does not wait)."""

from __future__ import annotations

from regiohub.core import events
from regiohub.dashboards.events import DashboardSaved
from regiohub.datasets.events import DatasetChanged, VersionPublished


def _dataset(event: VersionPublished | DatasetChanged) -> None:
    from regiohub.core.tasks import enqueue_on
    from regiohub.dashboards.models import Audience, Dashboard
    from regiohub.dashboards.tasks import warm

    public = Dashboard.objects.filter(audience=Audience.PUBLIC).values_list("pk", "datasets")
    for dashboard_id, slugs in public:
        if event.slug in slugs:
            enqueue_on("data", warm, dashboard_id)


def _saved(event: DashboardSaved) -> None:
    from regiohub.core.tasks import enqueue_on
    from regiohub.dashboards.tasks import warm

    if event.audience == "public":
        enqueue_on("data", warm, event.dashboard_id)


def subscribe() -> None:
    events.subscribe(VersionPublished, "dashboards.version_published", _dataset, queue="data")
    events.subscribe(DatasetChanged, "dashboards.dataset_changed", _dataset, queue="data")
    events.subscribe(DashboardSaved, "dashboards.dashboard_saved", _saved, queue="data")
