"""A data steward restores an older version: a new version equal to it, recorded with who
and why, with the counts of what it changed; from the version table (without JavaScript)
and from the API. Nobody else can."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import QueryDict
from django.test import Client

from regiohub.core import events
from regiohub.core.models import HistoryEntry
from regiohub.core.roles import Role
from regiohub.core.testing import staff_client
from regiohub.datasets import query, services, storage
from regiohub.datasets.events import VersionPublished
from regiohub.datasets.tests.conftest import member
from regiohub.datasets.tests.factories import COUNTS_CSV, make_dataset, upload

pytestmark = pytest.mark.django_db

KEY = ["segment", "uur"]
#: Version 2: one row changed (101 at 15:00), one removed (102), one added (103).
CORRECTED_CSV = COUNTS_CSV.replace("987;8", "990;8").replace(
    "102;31/12/2025 14:00;15,25;0;\n", "103;31/12/2025 16:00;1;1;30\n"
)


@pytest.fixture
def counts(region, steward):
    """Kortrijk's traffic counts with a key: version 1, then a corrected version 2."""
    dataset = make_dataset(region["KOR"], steward)
    for content in (COUNTS_CSV, CORRECTED_CSV):
        load = upload(dataset, steward, content, mode="replace", primary_key=KEY)
        assert load.state == "done", load.message
    return dataset


def rows(dataset, version):
    parsed = query.parse(QueryDict("order=segment,uur&limit=100"), version.schema)
    files = storage.files(dataset.storage_key, version.delta_version)
    return query.run(files, version.schema, parsed).table.to_pylist()


def test_a_restore_is_a_new_version_equal_to_the_old_one_with_who_and_why(
    counts, steward, monkeypatch
):
    published = []
    original = events.publish
    monkeypatch.setattr(events, "publish", lambda event: published.append(event) or original(event))
    first = counts.versions.get(number=1)

    version = services.restore(counts, steward, number=1, reason="  The March file was wrong  ")

    assert (version.number, version.restored_from, version.created_by) == (3, 1, steward)
    assert rows(counts, version) == rows(counts, first)
    assert (version.schema, version.primary_key, version.row_count) == (
        first.schema,
        KEY,
        3,
    )
    # Relative to version 2, as a load counts: 102 is back, 103 gone, 101 15:00 updated.
    assert (
        version.rows_added,
        version.rows_updated,
        version.rows_unchanged,
        version.rows_removed,
    ) == (1, 1, 1, 1)
    assert version.summary == "Version 1 restored: The March file was wrong"
    assert version.stats == first.stats  # the same rows
    entry = HistoryEntry.objects.for_object(counts).get(action="dataset.version_restored")
    assert entry.actor == steward and entry.reason == "The March file was wrong"
    assert entry.before == {"version": 2, "rows": 3}
    assert entry.after == {
        "version": 3,
        "restored_from": 1,
        "rows": 3,
        "added": 1,
        "updated": 1,
        "unchanged": 1,
        "removed": 1,
    }
    [event] = [e for e in published if isinstance(e, VersionPublished)]
    assert (event.version, event.rows, event.rows_added, event.rows_updated) == (3, 3, 1, 1)
    # Every version stays: the restore can be undone by restoring version 2.
    again = services.restore(counts, steward, number=2, reason="After all, version 2")
    assert rows(counts, again) == rows(counts, counts.versions.get(number=2))


def test_a_restore_brings_back_the_old_columns(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    upload(dataset, steward, COUNTS_CSV, mode="replace")
    load = upload(dataset, steward, "Naam;Aantal\nKortrijk;5\n", mode="replace")
    assert load.state == "done", load.message

    version = services.restore(dataset, steward, number=1, reason="wrong file")

    assert [c["key"] for c in version.schema][:3] == ["segment", "uur", "auto_s"]
    assert len(rows(dataset, version)) == 3
    # No column in common: every row of the one counts as removed, of the other as added.
    assert (version.rows_added, version.rows_removed, version.rows_updated) == (3, 1, 0)


def test_a_table_version_left_by_a_failed_attempt_is_not_restored_over(counts, steward):
    current = counts.current_version
    # A load wrote the table, then its database transaction failed: never published.
    storage.write(counts.storage_key, storage.open_table(counts.storage_key).to_pyarrow_table(),
                  mode="append", published=current.delta_version)  # fmt: skip
    version = services.restore(counts, steward, number=1, reason="wrong file")
    assert version.row_count == 3
    assert rows(counts, version) == rows(counts, counts.versions.get(number=1))


def test_a_version_sharing_its_table_version_with_the_current_one_restores(counts, steward):
    # An upsert that changes nothing makes a version of the same table version.
    load = upload(counts, steward, CORRECTED_CSV, mode="upsert", primary_key=KEY)
    assert load.state == "done", load.message
    second, third = counts.versions.get(number=2), counts.versions.get(number=3)
    assert second.delta_version == third.delta_version

    version = services.restore(counts, steward, number=2, reason="the same rows")

    assert version.delta_version == third.delta_version  # nothing written
    assert (version.rows_unchanged, version.rows_added, version.rows_removed) == (3, 0, 0)
    assert rows(counts, version) == rows(counts, second)


def test_a_version_published_while_the_restore_counted_stops_it(counts, steward, monkeypatch):
    from regiohub.datasets import compare
    from regiohub.datasets.models import DatasetVersion

    counted = compare.summarize

    def meanwhile_a_load_publishes(old, new, **kwargs):
        summary = counted(old, new, **kwargs)
        current = counts.current_version
        DatasetVersion.objects.create(
            dataset=counts,
            number=current.number + 1,
            delta_version=current.delta_version,
            schema=current.schema,
            row_count=current.row_count,
        )
        return summary

    monkeypatch.setattr(compare, "summarize", meanwhile_a_load_publishes)
    with pytest.raises(ValidationError) as refused:
        services.restore(counts, steward, number=1, reason="wrong file")
    assert refused.value.error_list[0].code == "conflict"
    assert "A new version was published meanwhile" in refused.value.messages[0]
    assert counts.versions.filter(restored_from__isnull=False).count() == 0


@pytest.mark.parametrize(
    ("number", "reason", "message"),
    [
        (1, "", "Say why"),
        (1, "   ", "Say why"),
        (1, "a\x00b", "at most 500 characters"),
        (1, "x" * 501, "at most 500 characters"),
        (2, "back", "is the current version already"),
        (9, "back", "has no version 9"),
        (0, "back", "has no version 0"),
        (-1, "back", "has no version -1"),
        (2**40, "back", "has no version"),
    ],
)
def test_a_reason_is_required_and_the_version_must_be_an_older_one(
    counts, steward, number, reason, message
):
    with pytest.raises(ValidationError) as refused:
        services.restore(counts, steward, number=number, reason=reason)
    assert message in " ".join(refused.value.messages)
    assert counts.versions.count() == 2


def test_another_organisation_cannot_restore(region, counts, menen_analyst, kortrijk_analyst):
    menen_steward = member(region["MEN"], Role.DATA_STEWARD)
    with pytest.raises(PermissionDenied):
        services.restore(counts, menen_steward, number=1, reason="mine now")
    with pytest.raises(PermissionDenied):
        services.restore(counts, kortrijk_analyst, number=1, reason="I only read")
    counts.access = "open"  # even when everyone may read it
    counts.save()
    for user in (menen_steward, menen_analyst, kortrijk_analyst):
        client = staff_client(user)
        assert client.get(f"/staff/data/{counts.slug}/versions/1/restore/").status_code == 404
        answer = client.post(f"/staff/data/{counts.slug}/versions/1/restore/", {"reason": "x"})
        assert answer.status_code == 404
        answer = client.post(
            f"/api/v1/datasets/{counts.slug}/restore/",
            {"version": 1, "reason": "x"},
            content_type="application/json",
        )
        assert answer.status_code == 404
        assert "Restore" not in client.get(f"/data/{counts.slug}/").content.decode()
    answer = Client().post(
        f"/api/v1/datasets/{counts.slug}/restore/",
        {"version": 1, "reason": "x"},
        content_type="application/json",
    )
    assert answer.status_code == 401  # not logged in, no API token
    assert counts.versions.count() == 2


def test_the_steward_restores_from_the_version_table_without_javascript(counts, steward):
    client = staff_client(steward)
    page = client.get(f"/data/{counts.slug}/").content.decode()
    table = page.split('id="versions-heading"')[1]
    assert f'href="/staff/data/{counts.slug}/versions/1/restore/"' in table
    assert "/versions/2/restore/" not in table  # the current version
    assert 'tabindex="0" role="region"' in table.split("</table>")[0]  # reachable by keyboard

    url = f"/staff/data/{counts.slug}/versions/1/restore/"
    confirm = client.get(url).content.decode()
    assert "What changes compared with version 2" in confirm
    assert '<label for="id_reason">Why do you restore this version?</label>' in confirm
    assert "<script" not in confirm.split("<main")[1]

    refused = client.post(url, {"reason": "  "})
    assert refused.status_code == 400 and "This field is required" in refused.content.decode()
    assert counts.versions.count() == 2

    done = client.post(url, {"reason": "The March file was wrong"}, follow=True)
    text = done.content.decode()
    assert done.redirect_chain == [(f"/data/{counts.slug}/", 302)]
    assert "Version 3 restores version 1: 1 rows added, 1 updated, 1 unchanged, 1 removed." in text
    row = text.split('id="versions-heading"')[1].split("</tr>")[1]
    assert "Version 1 restored: The March file was wrong" in row
    assert "<td>1</td><td>1</td><td>1</td><td>1</td>" in row  # added, updated, unchanged, removed

    current = client.get(f"/staff/data/{counts.slug}/versions/3/restore/")
    assert "is the current version already" in current.content.decode()
    assert (
        client.post(f"/staff/data/{counts.slug}/versions/3/restore/", {"reason": "x"}).status_code
        == 400
    )
    for missing in ("9", "0", "99999999999999999999"):
        assert (
            client.get(f"/staff/data/{counts.slug}/versions/{missing}/restore/").status_code == 404
        )


def test_the_api_restores_with_a_reason(counts, steward):
    client = staff_client(steward)
    url = f"/api/v1/datasets/{counts.slug}/restore/"

    def post(body, **extra):
        return client.post(url, body, content_type="application/json", **extra)

    answer = post({"version": 1, "reason": "The March file was wrong"})
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert {k: body[k] for k in ("number", "restored_from", "rows_added", "rows_updated")} == {
        "number": 3,
        "restored_from": 1,
        "rows_added": 1,
        "rows_updated": 1,
    }
    assert (body["rows_unchanged"], body["rows_removed"], body["loaded_by"]) == (1, 1, str(steward))
    versions = client.get(f"/api/v1/datasets/{counts.slug}/").json()["versions"]
    assert [v["restored_from"] for v in versions] == [1, None, None]

    malformed = [
        ({"version": 1}, "reason"),
        ({"version": 1, "reason": ""}, "reason"),
        ({"version": 1, "reason": "a\x00b"}, "reason"),
        ({"version": 1, "reason": "x" * 501}, "reason"),
        ({"reason": "x"}, "version"),
        ({"version": "abc", "reason": "x"}, "version"),
        ({"version": 2**40, "reason": "x"}, "version"),
        ({"version": 0, "reason": "x"}, "version"),
        ({"version": 9, "reason": "x"}, "version"),
        ({"version": 3, "reason": "x"}, "version"),  # the current version
        ({"version": "1\x00", "reason": "x"}, "version"),
        (["version", 1], "non_field_errors"),
    ]
    for data, parameter in malformed:
        answer = post(data)
        assert answer.status_code == 400, (data, answer.content)
        assert [e["parameter"] for e in answer.json()["errors"]] == [parameter], data
    assert client.post(url, "{not json", content_type="application/json").status_code == 400
    assert client.get(url).status_code == 405
    assert counts.versions.count() == 3
