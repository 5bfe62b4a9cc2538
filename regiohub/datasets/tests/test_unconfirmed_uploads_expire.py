"""Uploads whose columns were never checked do not stay on disk forever: after
REGIOHUB_DATASETS_UPLOAD_KEEP_HOURS the hourly job on the data queue cancels the load as
expired (with history) and removes its folder, and removes folders no load needs."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from regiohub.core import schedule
from regiohub.core.models import HistoryEntry
from regiohub.core.testing import run_tasks
from regiohub.datasets import services
from regiohub.datasets.models import Load
from regiohub.datasets.tasks import expire_uploads
from regiohub.datasets.tests.factories import make_dataset, upload

pytestmark = pytest.mark.django_db


def age(load: Load, hours: float) -> None:
    then = timezone.now() - timedelta(hours=hours)
    Load.objects.filter(pk=load.pk).update(created_at=then)
    folder = (services.uploads_dir() / load.file).parent
    os.utime(folder, (then.timestamp(), then.timestamp()))


def test_an_unconfirmed_upload_expires_after_the_keep_time(
    region, steward, settings, django_capture_on_commit_callbacks
):
    settings.DATASETS_UPLOAD_KEEP_HOURS = 24
    dataset = make_dataset(region["KOR"], steward)
    old = upload(dataset, steward, "a;b\n1;2\n", confirm=False)
    fresh = upload(dataset, steward, "a;b\n3;4\n", confirm=False)
    queued = upload(dataset, steward, "a;b\n5;6\n", confirm=False)
    services.confirm(queued, steward, columns=queued.schema, primary_key=[], mode="append")
    age(old, 25)
    age(fresh, 23)
    age(queued, 25)  # confirmed: its task will load it, it is not the clean-up's

    with django_capture_on_commit_callbacks(execute=True):
        assert expire_uploads.call() == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    queued.refresh_from_db()
    assert (old.state, fresh.state, queued.state) == ("cancelled", "review", "queued")
    assert old.message.startswith("Expired") and "24 hours" in old.message
    entry = HistoryEntry.objects.for_object(old).get(action="load.expired")
    assert entry.after["state"] == "cancelled"
    assert not (services.uploads_dir() / old.file).exists()
    assert (services.uploads_dir() / fresh.file).exists()
    assert (services.uploads_dir() / queued.file).exists()

    run_tasks()
    queued.refresh_from_db()
    assert queued.state == "done", queued.message


def test_folders_no_load_needs_are_removed_once_old(region, steward, settings):
    settings.DATASETS_UPLOAD_KEEP_HOURS = 48
    root = services.uploads_dir()
    orphan = root / ("0" * 32)
    orphan.mkdir(parents=True)
    (orphan / "half.csv").write_text("a;b\n")
    young = root / ("1" * 32)
    young.mkdir()
    then = (timezone.now() - timedelta(hours=49)).timestamp()
    os.utime(orphan, (then, then))

    assert services.expire_uploads() == 0
    assert not orphan.exists()
    assert young.exists()  # perhaps an upload whose load is being written right now


def test_the_clean_up_is_scheduled_on_the_data_queue():
    job = next(job for job in schedule.jobs() if job.name == "datasets.uploads")
    assert job.task.queue_name == "data"
    assert job.task.name == "expire_uploads"
