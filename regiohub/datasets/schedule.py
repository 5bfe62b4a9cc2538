"""The datasets module's periodic jobs (registered from ``DatasetsConfig.ready()``)."""

from __future__ import annotations

from regiohub.core import schedule

#: How often the worker looks for feeds whose own interval has passed.
FEED_CHECK_MINUTES = 5
#: How often the worker expires uploads left waiting (REGIOHUB_DATASETS_UPLOAD_KEEP_HOURS).
UPLOAD_CLEANUP_MINUTES = 60


def register_jobs() -> None:
    from regiohub.datasets.tasks import expire_uploads, run_due_feeds

    schedule.every_minutes("datasets.feeds", run_due_feeds, minutes=FEED_CHECK_MINUTES)
    schedule.every_minutes("datasets.uploads", expire_uploads, minutes=UPLOAD_CLEANUP_MINUTES)
