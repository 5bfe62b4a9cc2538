"""A dataset that gathers write API calls: each call is converted and checked in the
request (a refused call is answered as without batching and kept nowhere), then kept and
answered 202 with its batch; at the due time the worker publishes all the calls of the
batch, in order, as one load and one version whose counts agree everywhere. Replays with
an Idempotency-Key keep nothing twice, an append that sends a key in two calls refuses
the whole batch naming the rows, the status address is for the senders and the stewards
only, and a publishing run that is killed or runs twice publishes once."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from regiohub.core.models import HistoryEntry
from regiohub.core.roles import Role
from regiohub.core.testing import run_tasks, staff_client
from regiohub.datasets import services
from regiohub.datasets.models import BatchedWrite, DatasetVersion, Load, WriteBatch
from regiohub.datasets.tasks import publish_write_batch
from regiohub.datasets.tests.conftest import member
from regiohub.datasets.tests.factories import COUNTS_CSV, make_dataset, upload
from regiohub.datasets.tests.test_write_api import KEY, client_for, post, rows_of

pytestmark = pytest.mark.django_db


class Killed(BaseException):
    """What SIGKILL does to a worker: nothing after it runs (not even ``except Exception``)."""


@pytest.fixture
def counts(region, steward):
    """Traffic counts of Kortrijk (key: segment, hour; three rows, version 1), shared with
    the region, gathering write API calls for five minutes."""
    dataset = make_dataset(region["KOR"], steward, access="region")
    load = upload(dataset, steward, COUNTS_CSV, mode="replace", primary_key=KEY)
    assert load.state == "done", (load.message, load.errors)
    dataset.write_batch_seconds = 300
    dataset.save()
    return dataset


def row(segment, hour="2026-01-03T08:00:00Z", cars=1, bikes=1, **more):
    return {"segment": segment, "uur": hour, "auto_s": cars, "fietsers": bikes, **more}


def make_due():
    """The interval passes: the batches are due, their tasks run."""
    WriteBatch.objects.filter(state="open").update(due_at=timezone.now() - timedelta(seconds=1))
    DBTaskResult.objects.filter(task_path__endswith="publish_write_batch").update(
        run_after=timezone.now()
    )
    run_tasks()


def staged_files():
    """The rows of calls kept for their batch (and of batches being merged)."""
    root = services.uploads_dir()
    if not root.exists():
        return []
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and p.suffix in (".parquet", ".arrow", ".ndjson")
    )


def test_three_calls_in_an_interval_become_one_version_with_the_same_counts_everywhere(
    counts, steward, django_capture_on_commit_callbacks
):
    client = client_for(steward)
    csv = "Segment;Uur;Auto's;Fietsers\n104;03/01/2026 09:00;7;2\n"
    sent = [
        # 101 at 14:00 changes, 103 is new.
        [
            row(101, "31/12/2025 14:00", cars=1300.5, bikes=12, snelheid_km_per_h=48.5),
            row(103, "31/12/2025 14:00", bikes=1),
        ],
        csv,
        # 103 again (the later call wins), 102 sent as it is (unchanged).
        [
            row(103, "2025-12-31T13:00:00Z", bikes=9),
            row(102, "31/12/2025 14:00", cars=15.25, bikes=0),
        ],
    ]
    answers = [
        post(client, counts.slug, body, "text/csv" if body is csv else "application/json")
        for body in sent
    ]
    bodies = [answer.json() for answer in answers]
    assert [a.status_code for a in answers] == [202, 202, 202], bodies
    batch = WriteBatch.objects.get()
    assert {b["batch"] for b in bodies} == {batch.pk}
    assert [b["call"] for b in bodies] == [1, 2, 3]
    assert bodies[0]["state"] == "open" and bodies[0]["mode"] == "upsert"
    url = f"/api/v1/datasets/{counts.slug}/write-batches/{batch.pk}/"
    assert bodies[0]["status_url"] == url and answers[0]["Location"] == url
    assert counts.versions.count() == 1  # nothing is published before the batch is due
    waiting = client.get(url).json()
    assert waiting["state"] == "open" and waiting["call_count"] == 3 and waiting["rows"] == 5
    assert waiting["version"] is None
    assert [c["call"] for c in waiting["calls"]] == [1, 2, 3]
    assert waiting["calls"][0]["token"].startswith("rh_")
    assert len(staged_files()) == 3  # each call's rows, converted

    with django_capture_on_commit_callbacks(execute=True):
        make_due()

    assert counts.versions.count() == 2  # one version for the three calls
    version = DatasetVersion.objects.get(dataset=counts, number=2)
    found = {"added": 2, "updated": 1, "unchanged": 2, "removed": 0}
    assert {
        "added": version.rows_added, "updated": version.rows_updated,
        "unchanged": version.rows_unchanged, "removed": version.rows_removed,
    } == found  # fmt: skip
    assert version.row_count == 5
    published = client.get(url).json()
    assert published["state"] == "published"
    assert published["version"]["number"] == 2
    assert published["version"]["rows_added"] == 2 and published["version"]["rows_updated"] == 1
    shown = client.get(f"/api/v1/datasets/{counts.slug}/versions/2/").json()
    assert (shown["rows_added"], shown["rows_updated"], shown["rows_unchanged"]) == (2, 1, 2)
    entry = HistoryEntry.objects.for_object(counts).get(action="dataset.version_published",
                                                        after__version=2)  # fmt: skip
    assert {k: entry.after[k] for k in found} == found
    # One load of source api, recorded with the calls it gathered.
    load = Load.objects.get(version=version)
    assert (load.source, load.state, load.mode) == ("api", "done", "upsert")
    assert published["load"] == load.pk
    started = HistoryEntry.objects.for_object(load).get(action="load.started")
    assert [c["call"] for c in started.after["calls"]] == [1, 2, 3]
    assert [c["rows"] for c in started.after["calls"]] == [2, 1, 2]
    assert started.after["batch"] == batch.pk and started.after["superseded"] == 1
    assert HistoryEntry.objects.for_object(load).filter(action="load.done").exists()
    rows = {(r["segment"], r["uur"]): r for r in rows_of(counts)}
    assert rows[(101, "2025-12-31T14:00:00+01:00")]["auto_s"] == 1300.5
    assert rows[(103, "2025-12-31T14:00:00+01:00")]["fietsers"] == 9  # the later call
    assert rows[(104, "2026-01-03T09:00:00+01:00")]["auto_s"] == 7
    assert staged_files() == []  # the calls' rows are removed once published
    # The next call opens a new batch.
    assert post(client, counts.slug, [row(105)]).json()["batch"] != batch.pk


def test_a_refused_call_keeps_nothing_and_is_answered_as_without_batching(counts, steward):
    client = client_for(steward)
    bad = [
        row(300),
        row(301, "gisteren", cars="veel"),
        row(302, bikes=2.5),
    ]
    gathered = post(client, counts.slug, bad)
    counts.write_batch_seconds = 0
    counts.save()
    at_once = post(client, counts.slug, bad)
    assert gathered.status_code == at_once.status_code == 400
    body = gathered.json()
    found = {(e["row"], e["column"], e["value"]) for e in body["errors"]}
    assert found == {(2, "uur", "gisteren"), (2, "auto_s", "veel"), (3, "fietsers", "2.5")}
    assert body["load"] is None  # no load was made
    assert {k: v for k, v in body.items() if k != "load"} == {
        k: v for k, v in at_once.json().items() if k != "load"
    }
    counts.write_batch_seconds = 300
    counts.save()
    # Appending a key the version holds, and a key twice in one call: refused at once too.
    taken = [row(200), row(101, "31/12/2025 14:00")]
    taken = post(client, counts.slug, taken, query="?mode=append")
    assert taken.status_code == 400 and "already holds" in taken.json()["message"]
    (error,) = taken.json()["errors"]
    assert (error["row"], error["column"]) == (2, "segment, uur")
    twice = post(client, counts.slug, [row(400), row(401), row(400)], query="?mode=append")
    assert twice.status_code == 400
    assert twice.json()["errors"][0]["row"] == 3
    assert "earlier row" in twice.json()["errors"][0]["reason"]
    unknown = post(client, counts.slug, [{"segment": 1, "uur": "2026-01-01", "trucks": 3}])
    assert unknown.status_code == 400 and "“trucks”" in unknown.json()["message"]
    assert not WriteBatch.objects.exists() and not BatchedWrite.objects.exists()
    assert staged_files() == []
    assert not DBTaskResult.objects.filter(task_path__endswith="publish_write_batch").exists()
    assert counts.versions.count() == 1


def test_a_replayed_call_gets_the_same_202_and_is_kept_once(counts, steward):
    client = client_for(steward)
    rows = [row(500), row(501)]
    first = post(client, counts.slug, rows, HTTP_IDEMPOTENCY_KEY="push-1")
    again = post(client, counts.slug, rows, HTTP_IDEMPOTENCY_KEY="push-1")
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert BatchedWrite.objects.count() == 1
    other = post(client, counts.slug, [row(502)], HTTP_IDEMPOTENCY_KEY="push-1")
    assert other.status_code == 422
    make_due()
    # Sent again after the batch was published: the same answer, nothing kept again.
    late = post(client, counts.slug, rows, HTTP_IDEMPOTENCY_KEY="push-1")
    assert late.json() == first.json() and late["Idempotent-Replayed"] == "true"
    assert BatchedWrite.objects.count() == 1
    assert counts.versions.count() == 2
    assert counts.current_version.rows_added == 2


def test_an_append_that_sends_a_key_in_two_calls_refuses_the_batch_naming_the_rows(
    counts, steward, django_capture_on_commit_callbacks
):
    client = client_for(steward)
    first = post(client, counts.slug, [row(600), row(601)], query="?mode=append")
    # Another name for the column, the same hour written otherwise: the same key.
    second = post(client, counts.slug, [
        {"Segment": 602, "Uur": "03/01/2026 09:00", "auto_s": 1, "fietsers": 1},
        {"Segment": 600, "Uur": "03/01/2026 09:00", "auto_s": 5, "fietsers": 5},
    ], query="?mode=append")  # fmt: skip
    assert first.status_code == second.status_code == 202
    assert first.json()["batch"] == second.json()["batch"]
    before = storage_version(counts)

    with django_capture_on_commit_callbacks(execute=True):
        make_due()

    batch = WriteBatch.objects.get()
    assert batch.state == "refused"
    assert counts.versions.count() == 1 and storage_version(counts) == before
    body = client.get(f"/api/v1/datasets/{counts.slug}/write-batches/{batch.pk}/").json()
    assert body["state"] == "refused" and body["version"] is None
    assert "an earlier call of this batch" in body["message"] and body["error_count"] == 1
    (error,) = body["errors"]
    assert (error["call"], error["row"], error["column"]) == (2, 2, "Segment, Uur")
    assert error["value"] == "600, 03/01/2026 09:00"
    assert "row 1 of call 1" in error["reason"]
    load = Load.objects.get(pk=body["load"])
    assert (load.source, load.state, load.error_count) == ("api", "failed", 1)
    assert HistoryEntry.objects.for_object(load).filter(action="load.failed").exists()
    assert staged_files() == []


def storage_version(dataset):
    from regiohub.datasets import storage

    return storage.open_table(dataset.storage_key).version()


def test_an_append_whose_key_the_version_holds_by_the_due_time_refuses_the_batch(counts, steward):
    client = client_for(steward)
    assert post(client, counts.slug, [row(700)], query="?mode=append").status_code == 202
    assert post(client, counts.slug, [row(701), row(702)], query="?mode=append").status_code == 202
    # Meanwhile the steward uploads a file with segment 702 at that hour.
    more = "Segment;Uur;Auto's;Fietsers;Snelheid (km/h)\n702;03/01/2026 09:00;1;1;\n"
    assert upload(counts, steward, more, mode="append", primary_key=KEY).state == "done"
    make_due()
    batch = WriteBatch.objects.get()
    assert batch.state == "refused" and "version 2 already holds" in batch.message
    ((error),) = batch.errors
    assert (error["call"], error["row"]) == (2, 2)
    assert counts.versions.count() == 2  # the upload's, nothing of the batch


def test_the_status_address_is_for_the_sender_and_the_stewards_only(region, counts, steward):
    answer = post(client_for(steward), counts.slug, [row(800)])
    url = answer.json()["status_url"]
    assert client_for(steward).get(url).status_code == 200
    # The sender's read token: their own batch.
    assert client_for(steward, scope="read").get(url).status_code == 200
    # Another steward of Kortrijk, logged in.
    other = member(region["KOR"], Role.DATA_STEWARD)
    assert staff_client(other).get(url).json()["call_count"] == 1
    # An analyst of Kortrijk reads the dataset, not its batches.
    analyst = member(region["KOR"], Role.ANALYST)
    assert client_for(analyst, scope="read").get(url).status_code == 404
    # Another municipality's steward and token: the dataset is shared, its batches are not.
    menen = member(region["MEN"], Role.DATA_STEWARD)
    assert client_for(menen).get(url).status_code == 404
    # The steward's token for Kortrijk only still sees it; no token at all: 401.
    assert client_for(steward, organisations=[region["KOR"]]).get(url).status_code == 200
    anonymous = Client().get(url)
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"].startswith("Bearer")
    # A batch of another dataset under this dataset's address: 404.
    menen_data = make_dataset(region["MEN"], menen, slug="menen-tellingen", title="Menen")
    upload(menen_data, menen, COUNTS_CSV, mode="replace", primary_key=KEY)
    menen_data.write_batch_seconds = 60
    menen_data.save()
    theirs = post(client_for(menen), menen_data.slug, [row(801)]).json()["batch"]
    assert client_for(steward).get(
        f"/api/v1/datasets/{counts.slug}/write-batches/{theirs}/"
    ).status_code == 404  # fmt: skip


def test_the_batch_task_run_twice_or_killed_mid_publish_publishes_once(counts, steward):
    client = client_for(steward)
    post(client, counts.slug, [row(900), row(901)])
    post(client, counts.slug, [row(900, cars=3)])
    batch = WriteBatch.objects.get()
    # The worker is killed after the rows were written, before the version was recorded.
    with (
        mock.patch.object(services.DatasetVersion.objects, "create", side_effect=Killed),
        pytest.raises(Killed),
    ):
        publish_write_batch.call(batch.pk)
    batch.refresh_from_db()
    assert batch.state == "closed" and counts.versions.count() == 1
    assert len(staged_files()) == 2  # the calls' rows are still there
    assert post(client, counts.slug, [row(902)]).json()["batch"] != batch.pk  # closed

    assert publish_write_batch.call(batch.pk) == "published"  # the task, requeued
    assert publish_write_batch.call(batch.pk) == "published"  # and once more: nothing
    assert counts.versions.count() == 2
    version = counts.current_version
    assert (version.rows_added, version.rows_updated, version.row_count) == (2, 0, 5)
    assert Load.objects.filter(source="api", state="done").count() == 1
    assert {(r["segment"], r["auto_s"]) for r in rows_of(counts)} >= {(900, 3.0), (901, 1.0)}


def test_a_batch_that_fails_at_every_try_is_refused_at_the_last_and_the_next_goes_on(
    counts, steward, settings
):
    settings.TASK_MAX_ATTEMPTS = 2
    client = client_for(steward)
    stuck = post(client, counts.slug, [row(970)]).json()["batch"]
    from regiohub.datasets import writing

    with mock.patch.object(writing, "_merge", side_effect=RuntimeError("always")):
        with pytest.raises(RuntimeError):
            publish_write_batch.call(stuck)  # the first try: the task tries again later
        assert WriteBatch.objects.get(pk=stuck).state == "closed"
        assert publish_write_batch.call(stuck) == "refused"  # the last try
    batch = WriteBatch.objects.get(pk=stuck)
    assert "in 2 tries (RuntimeError)" in batch.message and batch.load.state == "failed"
    later = post(client, counts.slug, [row(971)]).json()["batch"]
    assert publish_write_batch.call(later) == "published"
    assert counts.current_version.number == 2


def test_calls_converted_in_batches_are_gathered_the_same(counts, steward, settings):
    settings.DATASETS_STREAM_MB = 0  # every call's rows converted batch by batch, staged
    client = client_for(steward)
    assert post(client, counts.slug, [row(950), row(951)]).status_code == 202
    refused = post(client, counts.slug, [row(952), row(953, "gisteren")])
    assert refused.status_code == 400 and refused.json()["errors"][0]["row"] == 2
    assert post(client, counts.slug, [row(951, cars=4)]).status_code == 202
    make_due()
    version = counts.current_version
    assert (version.number, version.rows_added, version.rows_updated) == (2, 2, 0)
    assert {r["segment"]: r["auto_s"] for r in rows_of(counts)}[951] == 4.0


def test_a_call_that_could_not_be_checked_now_may_be_sent_again_with_its_key(counts, steward):
    client = client_for(steward)
    rows = [row(960)]
    with mock.patch.object(services, "_convert", side_effect=OSError("disk busy")):
        busy = post(client, counts.slug, rows, HTTP_IDEMPOTENCY_KEY="k-960")
    assert busy.status_code == 503 and not BatchedWrite.objects.exists()
    again = post(client, counts.slug, rows, HTTP_IDEMPOTENCY_KEY="k-960")
    assert again.status_code == 202 and "Idempotent-Replayed" not in again
    assert BatchedWrite.objects.count() == 1


def test_a_dataset_without_key_columns_gathers_appends(region, steward):
    dataset = make_dataset(region["KOR"], steward, slug="meldingen", title="Meldingen")
    upload(dataset, steward, COUNTS_CSV, mode="replace")
    dataset.write_batch_seconds = 60
    dataset.save()
    client = client_for(steward)
    assert post(client, dataset.slug, [row(101, "31/12/2025 14:00")]).status_code == 202
    assert post(client, dataset.slug, [row(101, "31/12/2025 14:00")]).status_code == 202
    upsert = post(client, dataset.slug, [row(1)], query="?mode=upsert")
    assert upsert.status_code == 400 and "no key columns" in upsert.json()["message"]
    make_due()
    version = dataset.current_version
    assert (version.number, version.rows_added, version.row_count) == (2, 2, 5)


def test_a_call_with_another_mode_closes_the_open_batch_and_they_publish_in_order(counts, steward):
    client = client_for(steward)
    first = post(client, counts.slug, [row(1000, cars=1)]).json()
    second = post(client, counts.slug, [row(1001)], query="?mode=append").json()
    assert first["mode"] == "upsert" and second["mode"] == "append"
    assert first["batch"] != second["batch"]
    closed = WriteBatch.objects.get(pk=first["batch"])
    assert closed.due_at <= timezone.now()  # published at once, before the new one
    run_tasks()  # only the closed batch is due
    assert counts.versions.count() == 2
    assert WriteBatch.objects.get(pk=second["batch"]).state == "open"
    # The later batch's task also publishes any earlier batch first: here, none is left.
    make_due()
    assert [v.number for v in counts.versions.order_by("number")] == [1, 2, 3]
    assert Load.objects.get(version__number=2).write_batch.pk == first["batch"]
    assert Load.objects.get(version__number=3).write_batch.pk == second["batch"]


def test_batches_are_published_in_the_order_they_were_opened(counts, steward):
    client = client_for(steward)
    first = post(client, counts.slug, [row(1100, cars=1)]).json()["batch"]
    WriteBatch.objects.filter(pk=first).update(due_at=timezone.now())  # due: no more calls
    second = post(client, counts.slug, [row(1100, cars=2)]).json()["batch"]
    assert publish_write_batch.call(second) == "published"  # the later task came first
    assert WriteBatch.objects.get(pk=first).state == "published"
    assert Load.objects.get(write_batch=first).version.number == 2
    assert Load.objects.get(write_batch=second).version.number == 3
    assert {r["segment"]: r["auto_s"] for r in rows_of(counts)}[1100] == 2.0


def test_switching_batching_off_publishes_the_waiting_calls_before_the_next(counts, steward):
    client = client_for(steward)
    assert post(client, counts.slug, [row(1200, cars=1)]).status_code == 202
    counts.write_batch_seconds = 0
    counts.save()
    answer = post(client, counts.slug, [row(1200, cars=2)])
    assert answer.status_code == 201 and answer.json()["version"] == 3
    assert WriteBatch.objects.get().state == "published"
    assert {r["segment"]: r["auto_s"] for r in rows_of(counts)}[1200] == 2.0


def test_without_batching_each_call_is_a_version(counts, steward):
    counts.write_batch_seconds = 0
    counts.save()
    answer = post(client_for(steward), counts.slug, [row(1300)])
    assert answer.status_code == 201 and answer.json()["version"] == 2
    assert not WriteBatch.objects.exists()


def test_a_steward_sets_the_interval_on_the_edit_page_and_the_api_shows_it(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    client = staff_client(steward)
    url = f"/staff/data/{dataset.slug}/edit/"
    page = client.get(url).content.decode()
    assert 'name="write_batch_seconds"' in page and '<option value="300">' in page
    form = {
        "title": dataset.title,
        "owner": region["KOR"].pk,
        "theme": "TRAN",
        "licence": "CC-BY-4.0",
        "access": "internal",
    }
    assert client.post(url, {**form, "write_batch_seconds": "42"}).status_code == 200
    assert client.post(url, {**form, "write_batch_seconds": "900"}).status_code == 302
    dataset.refresh_from_db()
    assert dataset.write_batch_seconds == 900
    entry = HistoryEntry.objects.for_object(dataset).get(action="dataset.changed")
    assert (entry.before, entry.after) == ({"write_batch_seconds": 0}, {"write_batch_seconds": 900})
    # A post without it keeps it.
    assert client.post(url, {**form, "title": "Tellingen"}).status_code == 302
    dataset.refresh_from_db()
    assert dataset.write_batch_seconds == 900
    detail = client_for(steward, scope="read").get(f"/api/v1/datasets/{dataset.slug}/").json()
    assert detail["write_batch_seconds"] == 900


def test_the_clean_up_keeps_the_rows_of_a_batch_that_waits(counts, steward, settings):
    post(client_for(steward), counts.slug, [row(1400)])
    later = timezone.now() + timedelta(hours=settings.DATASETS_UPLOAD_KEEP_HOURS + 1)
    import os

    for path in services.uploads_dir().rglob("*"):
        os.utime(path, (0, 0))  # older than the clean-up keeps anything
    services.expire_uploads(now=later)
    assert len(staged_files()) == 1
    make_due()
    assert counts.versions.count() == 2


def test_hostile_input_on_the_status_address(counts, steward):
    client = client_for(steward)
    batch = post(client, counts.slug, [row(1500)]).json()["batch"]
    base = f"/api/v1/datasets/{counts.slug}/write-batches"
    for tail in [
        "abc/", "%00/", "1%00/", "-1/", "0/", "1.5/", "999999999999/", "9" * 40 + "/",
        f"{batch}%00/", "%EF%BF%BD/", f"{batch}/../{batch}/",
    ]:  # fmt: skip
        answer = client.get(f"{base}/{tail}")
        # 400: the platform refuses a NUL anywhere in an address before any view.
        assert answer.status_code in (404, 400 if "%00" in tail else 404), tail
    assert client.get(f"{base}/{batch}/?x=%00").status_code == 400  # refused before any view
    assert client.post(f"{base}/{batch}/", "{}", content_type="application/json").status_code in (
        403,
        405,
    )
    assert client.get(f"/api/v1/datasets/nope%00/write-batches/{batch}/").status_code == 400
    # Hostile bodies gathered: refused before anything is kept, as without batching.
    for body, content_type in [
        (b"\x00\x00", "application/json"),
        ('[{"segment": 1e400, "uur": "2026-01-01", "auto_s": 1, "fietsers": 1}]',
         "application/json"),
        ('[{"segment": 99999999999999999999999, "uur": "2026-01-01", "auto_s": 1, '
         '"fietsers": 1}]', "application/json"),
        ('[{"segment": 1, "uur": "2026-01-01\\u0000", "auto_s": 1, "fietsers": 1}]',
         "application/json"),
    ]:  # fmt: skip
        answer = post(client, counts.slug, body, content_type)
        assert answer.status_code == 400, (body, answer.content[:300])
    assert BatchedWrite.objects.count() == 1
