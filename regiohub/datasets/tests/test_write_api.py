"""The write API: a system with a write token appends or upserts rows (JSON, NDJSON or
CSV) through the same checks and key promise as an upload, each call a new version whose
counts are the answer; refused rows are named; a retried call with its Idempotency-Key
loads nothing twice; a dry run writes nothing; a read token, another municipality's token
and a dataset without a version are refused."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from regiohub.core import api_tokens
from regiohub.core.models import HistoryEntry
from regiohub.core.roles import Role
from regiohub.core.testing import staff_client
from regiohub.datasets.models import ApiWrite, DatasetVersion, Load
from regiohub.datasets.tests.conftest import member
from regiohub.datasets.tests.factories import COUNTS_CSV, make_dataset, upload

pytestmark = pytest.mark.django_db

KEY = ["segment", "uur"]


def client_for(user, scope="write", **kwargs) -> Client:
    secret = api_tokens.create_token(user, name="Sensor push", scope=scope, **kwargs).secret
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT_LANGUAGE="en")


def post(client, slug, body, content_type="application/json", query="", **headers):
    data = json.dumps(body) if not isinstance(body, str | bytes) else body
    return client.post(
        f"/api/v1/datasets/{slug}/rows/{query}", data, content_type=content_type, **headers
    )


def rows_of(dataset) -> list[dict]:
    answer = Client().get(f"/api/v1/datasets/{dataset.slug}/rows/?order=segment,uur&limit=100")
    if answer.status_code != 200:
        steward = dataset.created_by
        answer = staff_client(steward).get(
            f"/api/v1/datasets/{dataset.slug}/rows/?order=segment,uur&limit=100"
        )
    body = answer.json()
    return [dict(zip(body["columns"], row, strict=True)) for row in body["rows"]]


@pytest.fixture
def counts(region, steward):
    """Traffic counts of Kortrijk with the key (segment, hour): three rows, version 1."""
    dataset = make_dataset(region["KOR"], steward, access="region")
    load = upload(dataset, steward, COUNTS_CSV, mode="replace", primary_key=KEY)
    assert load.state == "done", (load.message, load.errors)
    return dataset


@pytest.fixture
def unkeyed(region, steward):
    dataset = make_dataset(region["KOR"], steward, slug="meldingen", title="Meldingen")
    load = upload(dataset, steward, COUNTS_CSV, mode="replace")
    assert load.state == "done"
    return dataset


def test_the_columns_are_the_current_versions(counts):
    schema = counts.current_version.schema
    keys = ["segment", "uur", "auto_s", "fietsers", "snelheid_km_per_h"]
    assert [c["key"] for c in schema] == keys
    assert counts.current_version.primary_key == KEY


def test_an_upsert_by_column_key_adds_and_updates_with_the_versions_counts(counts, steward):
    client = client_for(steward)
    answer = post(client, counts.slug, [
        {"segment": 101, "uur": "2025-12-31T13:00:00Z", "auto_s": 1300.5, "fietsers": 12,
         "snelheid_km_per_h": 48.5},
        {"segment": 103, "uur": "31/12/2025 14:00", "auto_s": 7, "fietsers": 1,
         "snelheid_km_per_h": None},
    ])  # fmt: skip
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    version = DatasetVersion.objects.get(dataset=counts, number=2)
    assert body["version"] == 2 and body["mode"] == "upsert" and body["rows"] == 2
    # Upsert: the rows not sent stay, unchanged.
    assert body["counts"] == {"added": 1, "updated": 1, "unchanged": 2, "removed": 0}
    assert body["counts"] == {
        "added": version.rows_added, "updated": version.rows_updated,
        "unchanged": version.rows_unchanged, "removed": version.rows_removed,
    }  # fmt: skip
    assert body["row_count"] == version.row_count == 4
    assert answer["Location"] == f"/api/v1/datasets/{counts.slug}/versions/2/"
    # The same numbers as the version API shows.
    shown = client.get(f"/api/v1/datasets/{counts.slug}/versions/2/").json()
    assert (shown["rows_added"], shown["rows_updated"]) == (1, 1)
    found = {(r["segment"], r["uur"]): r for r in rows_of(counts)}
    assert found[(101, "2025-12-31T14:00:00+01:00")]["auto_s"] == 1300.5  # was 1.234,5
    assert found[(103, "2025-12-31T14:00:00+01:00")]["fietsers"] == 1
    # The load is an API load, recorded with the token that sent it.
    load = Load.objects.get(version=version)
    assert load.source == "api" and load.state == "done" and load.created_by == steward
    started = HistoryEntry.objects.get(action="load.started", object_id=str(load.pk))
    assert started.after["token"].startswith("rh_") and started.actor == steward
    # Columns are the version's own: names, units and roles stay as the steward chose.
    assert [c["name"] for c in version.schema] == [
        c["name"] for c in DatasetVersion.objects.get(dataset=counts, number=1).schema
    ]


def test_ndjson_and_csv_by_column_name(counts, steward):
    client = client_for(steward)
    ndjson = (
        '{"Segment": 104, "Uur": "2026-01-01T10:00:00+01:00", "Auto\'s": 3, "Fietsers": 0}\n'
        "\n"
        '{"Segment": 105, "Uur": "2026-01-01T10:00:00+01:00", "Auto\'s": 4, "Fietsers": 2}\n'
    )
    answer = post(client, counts.slug, ndjson, "application/x-ndjson")
    assert answer.status_code == 201, answer.json()
    assert answer.json()["counts"]["added"] == 2
    csv_body = "Segment;Uur;Auto's;Fietsers;Snelheid (km/h)\n106;01/01/2026 11:00;2,5;1;30,5\n"
    answer = post(client, counts.slug, csv_body, "text/csv; charset=utf-8")
    assert answer.status_code == 201, answer.json()
    assert answer.json()["version"] == 3
    found = {r["segment"]: r for r in rows_of(counts)}
    assert found[106]["auto_s"] == 2.5 and found[106]["snelheid_km_per_h"] == 30.5
    assert found[104]["snelheid_km_per_h"] is None  # a nullable column not sent is empty
    comma = "segment,uur,auto_s,fietsers\n107,2026-01-01 12:00,1.5,3\n"
    answer = post(client, counts.slug, comma, "text/csv", "?mode=append")
    assert answer.status_code == 201, answer.json()
    assert {r["segment"]: r for r in rows_of(counts)}[107]["auto_s"] == 1.5


def test_appending_a_key_that_is_there_is_refused_naming_the_row(counts, steward):
    client = client_for(steward)
    answer = post(client, counts.slug, {"rows": [
        {"segment": 200, "uur": "2026-01-02T10:00:00Z", "auto_s": 1, "fietsers": 1},
        {"segment": 101, "uur": "31/12/2025 14:00", "auto_s": 1, "fietsers": 1},
    ]}, query="?mode=append")  # fmt: skip
    assert answer.status_code == 400
    body = answer.json()
    assert body["refused"] and "already holds" in body["message"]
    (error,) = body["errors"]
    assert error["row"] == 2 and error["column"] == "segment, uur"
    assert "already has a row with this key" in error["reason"]
    assert counts.versions.count() == 1  # nothing loaded
    assert Load.objects.filter(source="api", state="failed").get().file == ""


def test_values_that_do_not_fit_are_reported_by_row_column_and_value(counts, steward):
    client = client_for(steward)
    answer = post(client, counts.slug, [
        {"segment": 300, "uur": "2026-01-02T10:00:00Z", "auto_s": 1, "fietsers": 2},
        {"segment": 301, "uur": "gisteren", "auto_s": "veel", "fietsers": 2},
        {"segment": 302, "uur": "2026-01-02T10:00:00Z", "auto_s": 1, "fietsers": 2.5},
    ])  # fmt: skip
    assert answer.status_code == 400
    body = answer.json()
    found = {(e["row"], e["column"], e["value"]) for e in body["errors"]}
    assert found == {(2, "uur", "gisteren"), (2, "auto_s", "veel"), (3, "fietsers", "2.5")}
    assert body["error_count"] == 3
    assert counts.versions.count() == 1
    # Rows that are no objects, and values no column holds, are refused before loading.
    answer = post(client, counts.slug, [{"segment": 1}, 7, ["a"]])
    assert answer.status_code == 400
    assert [e["row"] for e in answer.json()["errors"]] == [2, 3]
    answer = post(client, counts.slug, [
        {"segment": 1, "uur": {"a": 1}, "auto_s": "x\u0000", "fietsers": 1},
    ])  # fmt: skip
    assert answer.status_code == 400
    assert {e["column"] for e in answer.json()["errors"]} == {"uur", "auto_s"}
    assert not Load.objects.filter(state__in=["queued", "loading"]).exists()


def test_unknown_and_missing_columns_are_refused_by_name(counts, steward):
    client = client_for(steward)
    answer = post(client, counts.slug, [{"segment": 1, "uur": "2026-01-01", "trucks": 3}])
    assert answer.status_code == 400
    message = answer.json()["message"]
    assert "“trucks”" in message and "segment, uur, auto_s" in message
    answer = post(client, counts.slug, [{"segment": 1, "auto_s": 3}])
    assert answer.status_code == 400 and "missing: uur" in answer.json()["message"]
    answer = post(client, counts.slug, [{"segment": 1, "Segment": 1, "uur": "2026-01-01"}])
    assert answer.status_code == 400 and "the same column" in answer.json()["message"]
    assert not Load.objects.filter(source="api").exists()


def test_append_is_the_default_without_a_key_and_upsert_needs_one(unkeyed, steward):
    client = client_for(steward)
    row = {"segment": 101, "uur": "31/12/2025 14:00", "auto_s": 1, "fietsers": 1}
    answer = post(client, unkeyed.slug, [row])
    assert answer.status_code == 201 and answer.json()["mode"] == "append"
    assert answer.json()["counts"]["added"] == 1 and answer.json()["row_count"] == 4
    answer = post(client, unkeyed.slug, [row], query="?mode=upsert")
    assert answer.status_code == 400 and "no key columns" in answer.json()["message"]


def test_a_retried_call_with_its_idempotency_key_loads_once(counts, steward):
    client = client_for(steward)
    rows = [{"segment": 400, "uur": "2026-01-03T08:00:00Z", "auto_s": 5, "fietsers": 5}]
    first = post(client, counts.slug, rows, query="?mode=append", HTTP_IDEMPOTENCY_KEY="k-1")
    again = post(client, counts.slug, rows, query="?mode=append", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert counts.versions.count() == 2
    changed = [{**rows[0], "auto_s": 6}]
    other = post(client, counts.slug, changed, query="?mode=append", HTTP_IDEMPOTENCY_KEY="k-1")
    assert other.status_code == 422
    # A refusal is remembered too; a new key is a new call (refused: the key is there now).
    refused = post(client, counts.slug, rows, query="?mode=append", HTTP_IDEMPOTENCY_KEY="k-2")
    assert refused.status_code == 400
    assert post(client, counts.slug, rows, query="?mode=append",
                HTTP_IDEMPOTENCY_KEY="k-2").json() == refused.json()  # fmt: skip
    assert counts.versions.count() == 2
    assert ApiWrite.objects.filter(key="k-1").get().load.version.number == 2
    # Keys are per token: another token of the same person may use the same key.
    assert post(client_for(steward), counts.slug, rows, query="?mode=upsert",
                HTTP_IDEMPOTENCY_KEY="k-1").status_code == 201  # fmt: skip


def test_a_dry_run_says_what_it_would_do_and_writes_nothing(counts, steward):
    client = client_for(steward)
    answer = post(client, counts.slug, [
        {"segment": 101, "uur": "31/12/2025 14:00", "auto_s": 1, "fietsers": 12,
         "snelheid_km_per_h": 48.5},
        {"segment": 500, "uur": "31/12/2025 14:00", "auto_s": 1, "fietsers": 1},
    ], query="?dry_run=1")  # fmt: skip
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["dry_run"] and body["counts"]["added"] == 1 and body["counts"]["updated"] == 1
    assert body["updated_rows"][0]["row"] == 1
    assert counts.versions.count() == 1 and not Load.objects.filter(source="api").exists()
    refused = post(client, counts.slug, [
        {"segment": "x", "uur": "2026-01-01", "auto_s": 1, "fietsers": 1},
    ], query="?dry_run=1")  # fmt: skip
    assert refused.status_code == 400 and refused.json()["errors"][0]["column"] == "segment"


def test_too_large_a_body_is_a_413(counts, steward, settings):
    settings.DATASETS_WRITE_MB = 1
    client = client_for(steward)
    rows = [{"segment": n, "uur": "2026-01-01", "auto_s": 1, "fietsers": 1} for n in range(20000)]
    answer = post(client, counts.slug, rows)
    assert answer.status_code == 413
    assert "larger than 1 MB" in answer.json()["errors"][0]["message"]
    assert counts.versions.count() == 1


def test_a_dataset_without_rows_cannot_be_written(region, steward):
    empty = make_dataset(region["KOR"], steward, slug="leeg", title="Leeg")
    answer = post(client_for(steward), empty.slug, [{"a": 1}])
    assert answer.status_code == 409 and "Upload a first file" in answer.json()["message"]


def test_who_may_write(region, counts, steward):
    rows = [{"segment": 600, "uur": "2026-01-04T08:00:00Z", "auto_s": 5, "fietsers": 5}]
    # A read token of the steward: refused before anything is read.
    answer = post(client_for(steward, scope="read"), counts.slug, rows)
    assert answer.status_code == 403 and "may only read" in answer.json()["detail"]
    # A write token of an analyst (who may read, not load): refused.
    analyst = member(region["KOR"], Role.ANALYST)
    answer = post(client_for(analyst), counts.slug, rows)
    assert answer.status_code == 403
    # A steward of Menen with a write token: Kortrijk's region-shared dataset is readable,
    # not writable.
    menen = member(region["MEN"], Role.DATA_STEWARD)
    answer = post(client_for(menen), counts.slug, rows)
    assert answer.status_code == 403
    # The steward's write token limited to Menen (where they hold no role) cannot exist;
    # limited to Kortrijk it writes.
    answer = post(client_for(steward, organisations=[region["KOR"]]), counts.slug, rows)
    assert answer.status_code == 201
    # No token, no login: 401 with a challenge.
    answer = post(Client(), counts.slug, rows)
    assert answer.status_code == 401 and answer["WWW-Authenticate"].startswith("Bearer")
    # A logged-in steward may write as well (with the CSRF token their session has).
    answer = post(staff_client(steward), counts.slug, rows, query="?mode=upsert")
    assert answer.status_code == 201


def test_hostile_bodies_are_answered_not_crashed(counts, steward):
    client = client_for(steward)
    deep = "[" * 100_000 + "]" * 100_000
    cases = [
        (b"\x00\x00\x00", "application/json", 400),
        (b'[{"segment": "\xff\xfe"}]', "application/json", 400),
        (b"segment,uur\n1,\x002026\n", "text/csv", 400),
        (deep, "application/json", 400),
        ('{"segment": 1}', "application/json", 400),
        ('[{"segment": NaN}]', "application/json", 400),
        ("[1, 2, 3]", "application/json", 400),
        ("1\n2\n", "application/x-ndjson", 400),
        ("{not json}\n", "application/x-ndjson", 400),
        ("segment,segment\n1,2\n", "text/csv", 400),
        ("segment,uur\n1\n", "text/csv", 400),
        ('"unclosed\n', "text/csv", 400),
        ("<rows/>", "application/xml", 415),
        ("segment=1", "application/x-www-form-urlencoded", 415),
        ("[]", "application/json", 400),
    ]
    for body, content_type, status in cases:
        answer = post(client, counts.slug, body, content_type)
        assert answer.status_code == status, (body[:40], answer.content[:300])
        assert answer.json()
    answer = client.generic("POST", f"/api/v1/datasets/{counts.slug}/rows/")  # no body at all
    assert answer.status_code == 400 and "empty" in answer.json()["errors"][0]["message"]
    answer = post(client, counts.slug, "[]", HTTP_CONTENT_ENCODING="gzip")
    assert answer.status_code == 415
    answer = post(client, counts.slug, "[]", query="?mode=replace")
    assert answer.status_code == 400 and answer.json()["errors"][0]["parameter"] == "mode"
    answer = post(client, counts.slug, "[]", HTTP_IDEMPOTENCY_KEY="é" * 3)
    assert answer.status_code == 400
    assert counts.versions.count() == 1


def test_a_write_token_of_kortrijk_cannot_reach_another_municipalitys_dataset(region, steward):
    menen_steward = member(region["MEN"], Role.DATA_STEWARD)
    menen = make_dataset(region["MEN"], menen_steward, slug="menen-intern", title="Intern")
    upload(menen, menen_steward, COUNTS_CSV, mode="replace")
    answer = post(client_for(steward), menen.slug, [{"segment": 1}])
    assert answer.status_code == 404
    assert menen.versions.count() == 1
