"""Background work of the datasets module: reading and loading uploads, running feeds.
Each task takes primary keys and does nothing when its work is already done."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone, translation

from regiohub.core.tasks import enqueue, task
from regiohub.datasets import services
from regiohub.datasets.models import Feed, Load


def _language(load: Load) -> str:
    return load.language or settings.LANGUAGE_CODE


@task(queue_name="data")
def inspect_load(load_id: int) -> str:
    load = Load.objects.select_related("dataset").get(pk=load_id)
    with translation.override(_language(load)):
        services.inspect(load)
    return load.state


@task(queue_name="data")
def run_load(load_id: int) -> str:
    load = Load.objects.select_related("dataset").get(pk=load_id)
    with translation.override(_language(load)):
        services.execute(load)
    load.refresh_from_db()
    return load.state


@task(queue_name="data")
def check_load(load_id: int) -> str:
    """A dry run: what the load would do, written nowhere (``services.dry_run``)."""
    load = Load.objects.select_related("dataset").get(pk=load_id)
    with translation.override(_language(load)):
        services.dry_run(load)
    return load.state


@task(queue_name="data")
def run_feed(feed_id: int) -> str:
    """Temporary failures (timeouts, 5xx, 429) raise, so the task is retried with back-off;
    bad settings or a refused key wait for a person (``Feed.last_error``)."""
    from regiohub.datasets.feeds.base import FeedAuthError, FeedRequestError, FeedSettingsError

    feed = Feed.objects.select_related("dataset").get(pk=feed_id)
    try:
        return f"{services.run_feed(feed)} rows"
    except (FeedAuthError, FeedRequestError, FeedSettingsError) as exc:
        return f"stopped: {exc}"


@task(queue_name="data")
def run_due_feeds() -> int:
    """Start every active feed whose interval has passed (the scheduler calls this)."""
    now = timezone.now()
    started = 0
    for feed in Feed.objects.filter(is_active=True):
        if feed.is_due(now):
            Feed.objects.filter(pk=feed.pk).update(last_run_at=now)
            enqueue(run_feed, feed.pk)
            started += 1
    return started


@task(queue_name="data")
def expire_uploads() -> int:
    """Expire loads left waiting for review and remove their uploads (the scheduler calls
    this every hour; ``REGIOHUB_DATASETS_UPLOAD_KEEP_HOURS``)."""
    return services.expire_uploads()


@task(queue_name="data")
def compute_stats(version_id: int) -> int:
    """The column statistics of a new version (the dataset page shows them)."""
    from regiohub.datasets import stats
    from regiohub.datasets.models import DatasetVersion

    version = DatasetVersion.objects.select_related("dataset").get(pk=version_id)
    return len(stats.column_stats(version))


@task(queue_name="data")
def publish_write_batch(batch_id: int) -> str:
    """Publish the write API calls gathered in a batch as one version, at its due time
    (``services.publish_write_batch``; batches of the dataset opened before it first).
    Running it again does nothing: a batch is published once."""
    return services.publish_write_batch(batch_id)
