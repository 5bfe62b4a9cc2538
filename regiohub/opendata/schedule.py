"""The open data portal's periodic jobs (registered from ``OpendataConfig.connect()``)."""

from __future__ import annotations

from regiohub.core import schedule

#: How often the worker looks for harvest sources whose own interval has passed.
HARVEST_CHECK_MINUTES = 15


#: How often the catalogue's "most downloaded" order takes the latest download counts.
DOWNLOADS_MINUTES = 60


def register_jobs() -> None:
    from regiohub.opendata.harvest.tasks import run_due_harvests
    from regiohub.opendata.tasks import refresh_downloads

    schedule.every_minutes("opendata.harvest", run_due_harvests, minutes=HARVEST_CHECK_MINUTES)
    schedule.every_minutes("opendata.downloads", refresh_downloads, minutes=DOWNLOADS_MINUTES)
