"""The real Telraam files reach a dataset per device by both paths (file import and the
feed through a fake Telraam API) with identical content; running the feed again adds
nothing (it asks the last days again, which change nothing)."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from regiohub.core.testing import run_tasks
from regiohub.datasets import services, storage
from regiohub.datasets.feeds.telraam import TelraamFeed, import_telraam_files
from regiohub.datasets.models import Feed
from regiohub.datasets.tasks import run_due_feeds
from regiohub.datasets.tests.factories import make_dataset
from regiohub.datasets.tests.fake_telraam import device_files, fake_telraam, requires_telraam_data

pytestmark = [pytest.mark.django_db, requires_telraam_data]

DEVICES = ("9000008311", "9000008322")
UNTIL = datetime(2026, 1, 1, tzinfo=UTC)


def published(dataset) -> pa.Table:
    version = dataset.current_version
    table = storage.open_table(dataset.storage_key, version.delta_version).to_pyarrow_table()
    return table.sort_by([("segment_id", "ascending"), ("hour", "ascending")])


def imported(dataset, device: str, steward) -> None:
    rows = import_telraam_files(device_files(device))
    schema = services.schema_from_arrow(
        TelraamFeed.schema,
        time_column=TelraamFeed.time_column,
        primary_key=TelraamFeed.primary_key,
    )
    from django.db import transaction

    with transaction.atomic():
        services.publish(
            dataset,
            rows,
            mode="upsert",
            schema=schema,
            primary_key=list(TelraamFeed.primary_key),
            actor=steward,
            summary="import",
        )


@pytest.mark.parametrize("device", DEVICES)
def test_file_import_and_feed_give_identical_datasets(region, steward, device):
    by_file = make_dataset(region["KOR"], steward, slug=f"telraam-file-{device}")
    imported(by_file, device, steward)
    by_feed = make_dataset(region["KOR"], steward, slug=f"telraam-feed-{device}")
    with fake_telraam() as telraam:
        feed = Feed.objects.create(
            dataset=by_feed,
            kind="telraam",
            settings={
                "api_key": telraam.api_key,
                "segment_ids": [int(device)],
                "start": "2025-09-01T00:00:00Z",
                "base_url": telraam.url,
                "timeout": 2,
            },
        )
        written = services.run_feed(feed, until=UNTIL)
        versions = by_feed.versions.count()
        assert written == by_file.current_version.row_count > 1000
        assert published(by_feed).equals(published(by_file))

        requests_before = len(telraam.received)
        again = services.run_feed(Feed.objects.get(pk=feed.pk), until=UNTIL)
        assert again == 0
        assert by_feed.versions.count() == versions, "nothing new: no new version"
        assert published(by_feed).num_rows == by_file.current_version.row_count
        assert len(telraam.received) == requests_before + 1, "the last 7 days, asked again"


def test_a_feed_with_a_refused_key_stops_and_says_why(region, steward):
    dataset = make_dataset(region["KOR"], steward, slug="telraam")
    with fake_telraam() as telraam:
        feed = Feed.objects.create(
            dataset=dataset,
            kind="telraam",
            settings={
                "api_key": "wrong-key",
                "segment_ids": [int(DEVICES[0])],
                "start": "2025-09-01T00:00:00Z",
                "base_url": telraam.url,
                "timeout": 2,
            },
        )
        assert run_due_feeds.call() == 1
        run_tasks()
    feed.refresh_from_db()
    assert feed.last_error and "wrong-key" not in feed.last_error
    assert dataset.versions.count() == 0
    assert feed.cursor == {}
