"""A load whose worker died never counts its rows twice: a steward can cancel it while it
loads, a newer load from the same version makes the old one stop when its task comes back,
and a requeued load that nobody replaced finishes its own work exactly once."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from regiohub.core.models import HistoryEntry
from regiohub.core.tasks import requeue_stuck
from regiohub.core.testing import run_tasks, staff_client
from regiohub.datasets import services, storage
from regiohub.datasets.models import Load
from regiohub.datasets.tests.factories import make_dataset, upload

pytestmark = pytest.mark.django_db

BASE = "id;n\n1;10\n2;20\n"
MORE = "id;n\n3;30\n4;40\n5;50\n"


class Killed(BaseException):
    """What SIGKILL does to a worker: nothing after it runs (not even ``except Exception``)."""


def confirmed(dataset, steward, content, *, mode="append", primary_key=None):
    load = upload(dataset, steward, content, confirm=False)
    assert load.state == "review", load.message
    return services.confirm(
        load, steward, columns=load.schema, primary_key=primary_key or [], mode=mode
    )


def killed_while_loading(load):
    """The worker claims the load's task and starts loading, then dies."""
    DBTaskResult.objects.filter(status="READY", task_path__endswith="run_load").update(
        status="RUNNING", started_at=timezone.now() - timedelta(hours=1)
    )
    with (
        mock.patch("regiohub.datasets.ingest.convert", side_effect=Killed),
        pytest.raises(Killed),
    ):
        services.execute(Load.objects.select_related("dataset").get(pk=load.pk))
    load.refresh_from_db()
    assert load.state == "loading"
    return load


def row_count(dataset):
    return dataset.current_version.row_count


def test_a_requeued_load_stops_when_the_steward_already_loaded_the_file_again(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    upload(dataset, steward, BASE)
    stuck = killed_while_loading(confirmed(dataset, steward, MORE))
    assert stuck.base_version == 1

    retry = upload(dataset, steward, MORE)  # the steward's retry, with the same file
    assert retry.state == "done", retry.message
    assert retry.base_version == 1
    assert row_count(dataset) == 5

    assert requeue_stuck(older_than=timedelta(seconds=1)) == 1  # the dead worker's task comes back
    run_tasks()
    stuck.refresh_from_db()
    assert stuck.state == "cancelled"
    assert f"load {retry.pk}" in stuck.message and "twice" in stuck.message
    assert stuck.version is None
    assert (dataset.versions.count(), row_count(dataset)) == (2, 5)
    assert HistoryEntry.objects.for_object(stuck).filter(action="load.cancelled").exists()


def test_an_older_upsert_never_overwrites_the_rows_of_a_newer_load(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    upload(dataset, steward, BASE, mode="upsert", primary_key=["id"])
    old = killed_while_loading(
        confirmed(dataset, steward, "id;n\n1;11\n", mode="upsert", primary_key=["id"])
    )
    newer = confirmed(dataset, steward, "id;n\n1;12\n", mode="upsert", primary_key=["id"])
    run_tasks()
    newer.refresh_from_db()
    assert newer.state == "done"
    requeue_stuck(older_than=timedelta(seconds=1))
    run_tasks()
    old.refresh_from_db()
    assert old.state == "cancelled"
    version = dataset.current_version
    table = storage.open_table(dataset.storage_key, version.delta_version).to_pyarrow_table()
    assert sorted(table.to_pylist(), key=lambda r: r["id"]) == [
        {"id": 1, "n": 12},
        {"id": 2, "n": 20},
    ]


def test_a_requeued_load_nobody_replaced_finishes_its_own_work_once(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    upload(dataset, steward, BASE)
    load = confirmed(dataset, steward, MORE)
    # Killed after the table was written but before the database published it: the table
    # version it left is never shown and is rolled back by the next write.
    real_create = services.DatasetVersion.objects.create

    def die_after_writing(**fields):
        raise Killed

    DBTaskResult.objects.filter(status="READY", task_path__endswith="run_load").update(
        status="RUNNING", started_at=timezone.now() - timedelta(hours=1)
    )
    with (
        mock.patch.object(services.DatasetVersion.objects, "create", die_after_writing),
        pytest.raises(Killed),
    ):
        services.execute(Load.objects.select_related("dataset").get(pk=load.pk))
    assert services.DatasetVersion.objects.create == real_create
    assert storage.open_table(dataset.storage_key).version() == 1  # written, not published

    requeue_stuck(older_than=timedelta(seconds=1))
    run_tasks()
    load.refresh_from_db()
    assert load.state == "done", load.message
    assert (dataset.versions.count(), row_count(dataset)) == (2, 5)
    run_tasks()  # nothing left; running the task again would do nothing either
    from regiohub.datasets.tasks import run_load

    assert run_load.call(load.pk) == "done"
    assert (dataset.versions.count(), row_count(dataset)) == (2, 5)


def test_loads_confirmed_one_after_the_other_are_all_published(region, steward):
    """Two files queued from the same version are not retries of each other: each starts
    from the version the one before it published."""
    dataset = make_dataset(region["KOR"], steward)
    upload(dataset, steward, BASE)
    first = confirmed(dataset, steward, MORE)
    second = confirmed(dataset, steward, "id;n\n6;60\n")
    run_tasks()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == ("done", "done")
    assert (first.base_version, second.base_version) == (1, 2)
    assert row_count(dataset) == 6


def test_a_load_that_is_loading_can_be_cancelled_and_then_publishes_nothing(
    region, steward, django_capture_on_commit_callbacks
):
    dataset = make_dataset(region["KOR"], steward)
    upload(dataset, steward, BASE)
    stuck = killed_while_loading(confirmed(dataset, steward, MORE))

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client(steward).post(
            f"/staff/data/{dataset.slug}/loads/{stuck.pk}/cancel/"
        )
    assert response.status_code == 302
    stuck.refresh_from_db()
    assert stuck.state == "cancelled"
    assert not (services.uploads_dir() / stuck.file).exists(), "the upload is removed"

    requeue_stuck(older_than=timedelta(seconds=1))
    run_tasks()
    stuck.refresh_from_db()
    assert stuck.state == "cancelled"
    assert (dataset.versions.count(), row_count(dataset)) == (1, 2)


def test_a_cancel_while_the_file_is_converted_wins_over_publishing(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    upload(dataset, steward, BASE)
    load = confirmed(dataset, steward, MORE)
    from regiohub.datasets import ingest

    real_convert = ingest.convert

    def convert_while_the_steward_cancels(raw, specs, **kwargs):
        result = real_convert(raw, specs, **kwargs)
        services.cancel(Load.objects.get(pk=load.pk), steward)  # the POST, meanwhile
        return result

    with mock.patch("regiohub.datasets.ingest.convert", convert_while_the_steward_cancels):
        run_tasks()
    load.refresh_from_db()
    assert load.state == "cancelled"
    assert load.message.startswith("Cancelled by")
    assert (dataset.versions.count(), row_count(dataset)) == (1, 2)
    assert storage.open_table(dataset.storage_key).version() == 0  # nothing was written


def test_a_final_load_cannot_be_cancelled(region, steward):
    from django.core.exceptions import ValidationError

    dataset = make_dataset(region["KOR"], steward)
    done = upload(dataset, steward, BASE)
    with pytest.raises(ValidationError, match="no longer be cancelled"):
        services.cancel(done, steward)


def test_the_load_page_offers_cancel_while_it_loads(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    load = services.start_upload(dataset, steward, SimpleUploadedFile("t.csv", BASE.encode()))
    page = staff_client(steward).get(f"/staff/data/{dataset.slug}/loads/{load.pk}/")
    assert page.status_code == 200
    assert f"/staff/data/{dataset.slug}/loads/{load.pk}/cancel/" in page.content.decode()


def test_a_requeued_load_stops_when_the_steward_queued_the_file_again(region, steward):
    """The steward's retry waits in the queue behind the dead worker's task: the old load
    comes back first, sees it was replaced, and stops; the retry loads the rows once."""
    dataset = make_dataset(region["KOR"], steward)
    upload(dataset, steward, BASE)
    stuck = killed_while_loading(confirmed(dataset, steward, MORE))
    retry = confirmed(dataset, steward, MORE)
    assert retry.state == "queued"

    requeue_stuck(older_than=timedelta(seconds=1))
    run_tasks()
    stuck.refresh_from_db()
    retry.refresh_from_db()
    assert (stuck.state, retry.state) == ("cancelled", "done")
    assert f"load {retry.pk}" in stuck.message
    assert (dataset.versions.count(), row_count(dataset)) == (2, 5)


def test_a_load_that_fails_for_a_moment_goes_back_to_the_queue_and_keeps_its_base(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    upload(dataset, steward, BASE)
    load = confirmed(dataset, steward, MORE)
    with mock.patch.object(services, "_read", side_effect=TimeoutError("nfs")):
        run_tasks()
    load.refresh_from_db()
    assert (load.state, load.base_version) == ("queued", 1)
    assert load.started_at is not None
    from regiohub.datasets.tasks import run_load

    assert run_load.call(load.pk) == "done"  # the retry
    load.refresh_from_db()
    assert load.base_version == 1
    assert row_count(dataset) == 5
