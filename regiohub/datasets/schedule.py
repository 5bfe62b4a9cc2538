"""The datasets module's periodic jobs (registered from ``DatasetsConfig.ready()``)."""

from __future__ import annotations

from regiohub.core import schedule

#: How often the worker looks for feeds whose own interval has passed.
FEED_CHECK_MINUTES = 5


def register_jobs() -> None:
    from regiohub.datasets.tasks import run_due_feeds

    schedule.every_minutes("datasets.feeds", run_due_feeds, minutes=FEED_CHECK_MINUTES)
