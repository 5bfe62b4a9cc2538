"""A dry run: "what would this load do" — the rows added, updated, unchanged and removed,
and the first changed rows with their values before and after — from the load page (a
button next to Load) and the API (``dry_run``), before anything is published. Nothing is
written: no version, no history, no file; the load waits for review again, and loading it
then gives the counts the dry run showed."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from regiohub.core.models import HistoryEntry
from regiohub.core.testing import needs_shared, run_tasks, staff_client
from regiohub.datasets import services
from regiohub.datasets.models import Load
from regiohub.datasets.tests.conftest import member
from regiohub.datasets.tests.factories import make_dataset, upload
from regiohub.datasets.tests.telraam_months import KEY, as_csv, corrected, month_rows

pytestmark = [pytest.mark.django_db, needs_shared("data", "telraam")]

COUNTS = ("added", "updated", "unchanged", "removed")


def files_under(folder: Path) -> list[tuple[str, int, int]]:
    """Every file under ``folder``: its path, size and time of change."""
    return sorted(
        (str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    )


def day_ten_plus_one(row: dict) -> dict | None:
    if row["hour"].day == 10:
        row["car"] = (row["car"] or 0.0) + 1.0
        return row
    return None


@pytest.fixture
def telraam(region, steward):
    """September and October up to the 25th loaded with the key; the corrected full
    October uploaded, its columns waiting for review."""
    dataset = make_dataset(region["KOR"], steward, slug="telraam-9000008311")
    september, october = month_rows("2025-09"), month_rows("2025-10")
    early = [r for r in october if r["hour"].day < 26]
    first = upload(dataset, steward, as_csv(september + early), mode="replace", primary_key=KEY)
    assert first.state == "done", first.message
    fixed = corrected(october, day_ten_plus_one)
    load = upload(dataset, steward, as_csv(fixed), confirm=False)
    assert load.state == "review"
    expected = {
        "added": sum(1 for r in october if r["hour"].day >= 26),
        "updated": sum(1 for r in october if r["hour"].day == 10),
    }
    expected["unchanged"] = len(september) + len(early) - expected["updated"]
    expected["removed"] = 0
    return dataset, load, expected, october


def confirm_form(load: Load, mode: str, **extra: str) -> dict[str, str]:
    form = {"mode": mode, **extra}
    for i, column in enumerate(load.schema):
        if column["key"] in KEY:
            form[f"pk_{i}"] = "1"
    return form


def test_a_dry_run_from_the_load_page_counts_shows_changes_and_writes_nothing(telraam, steward):
    dataset, load, expected, october = telraam
    client = staff_client(steward)
    page_url = f"/staff/data/{dataset.slug}/loads/{load.pk}/"
    review = client.get(page_url).content.decode()
    assert 'name="dry_run"' in review and "What would this load do?" in review
    data_dir = Path(settings.DATA_DIR)
    before = files_under(data_dir)
    history = HistoryEntry.objects.count()

    answer = client.post(
        f"{page_url}confirm/", confirm_form(load, "upsert", dry_run="1"), follow=True
    )
    assert "Working out what this load would do" in answer.content.decode()
    load.refresh_from_db()
    assert load.state == "checking"
    assert b'http-equiv="refresh"' in client.get(page_url).content
    run_tasks()
    load.refresh_from_db()
    assert load.state == "review"
    assert load.dry_run["counts"] == expected
    assert (load.dry_run["version"], load.dry_run["refused"]) == (1, False)

    # Nothing was written: no version, no history, no file added, changed or removed.
    assert dataset.versions.count() == 1
    assert HistoryEntry.objects.count() == history
    assert files_under(data_dir) == before

    page = html.unescape(client.get(page_url).content.decode())
    assert "What this load would do" in page
    for name in COUNTS:
        assert f'data-count="{name}">{expected[name]}<' in page
    updated = page.split("First rows that would be updated")[1].split("</table>")[0]
    assert updated.count("<tr>") == 1 + 20  # the header and the first twenty
    tenth = [r for r in october if r["hour"].day == 10]
    first_row = 2 + october.index(tenth[0])  # the header is row 1
    car = tenth[0]["car"] or 0.0
    shown = f"car: {car:g} → {car + 1:g}".replace(".", ",")
    assert re.search(
        rf"<td>{first_row}</td><td>segment_id 9000008311, hour 10/10/2025 02:00</td>"
        rf"<td>{re.escape(shown)}</td>",
        updated,
    ), updated[:600]
    added = page.split("First rows that would be added")[1].split("</table>")[0]
    assert "hour 26/10/2025 02:00" in added  # 00:00 UTC, still summer time
    checked = re.findall(r'<input type="radio" name="mode" value="(\w+)"[^>]*checked', page)
    assert checked == ["upsert"]

    # Loading it gives what the dry run said.
    said = load.dry_run
    assert client.post(f"{page_url}confirm/", confirm_form(load, "upsert")).status_code == 302
    run_tasks()
    load.refresh_from_db()
    assert load.state == "done", load.message
    version = load.version
    assert {name: getattr(version, f"rows_{name}") for name in COUNTS} == expected
    assert version.row_count == said["row_count"]


def test_a_dry_run_says_why_a_load_would_be_refused_and_the_load_goes_on(telraam, steward):
    dataset, load, expected, _october = telraam
    client = staff_client(steward)
    page_url = f"/staff/data/{dataset.slug}/loads/{load.pk}/"
    client.post(f"{page_url}confirm/", confirm_form(load, "append", dry_run="1"))
    run_tasks()
    load.refresh_from_db()
    assert load.state == "review"  # not refused: it was only a dry run
    report = load.dry_run
    known = expected["updated"] + expected["unchanged"] - len(month_rows("2025-09"))
    assert (report["refused"], report["error_count"]) == (True, known)
    assert report["errors"][0]["row"] == 2
    page = html.unescape(client.get(page_url).content.decode())
    assert "This load would be refused:" in page
    assert f"{known} rows have a key that version 1 already holds" in page
    assert "<td>2</td><td>segment_id, hour</td><td><code>9000008311, 01/10/2025 02:00" in page
    checked = re.findall(r'<input type="radio" name="mode" value="(\w+)"[^>]*checked', page)
    assert checked == ["append"]  # as asked, to be changed
    assert dataset.versions.count() == 1

    client.post(f"{page_url}confirm/", confirm_form(load, "upsert"))
    run_tasks()
    load.refresh_from_db()
    assert load.state == "done", load.message
    assert load.version.rows_added == expected["added"]


def test_a_dry_run_through_the_api(telraam, steward, region):
    dataset, _load, expected, october = telraam
    client = staff_client(steward)
    base = f"/api/v1/datasets/{dataset.slug}/loads/"
    fixed = corrected(october, day_ten_plus_one)
    answer = client.post(base, {"file": SimpleUploadedFile("oktober.csv", as_csv(fixed).encode())})
    assert answer.status_code == 202, answer.content[:300]
    started = answer.json()
    assert (started["state"], started["filename"]) == ("inspecting", "oktober.csv")
    url = f"{base}{started['id']}/"
    run_tasks()
    proposed = client.get(url).json()
    assert proposed["state"] == "review" and proposed["primary_key"] == KEY
    assert [c["key"] for c in proposed["columns"]][:2] == KEY

    refused = client.post(
        f"{url}confirm/", {"mode": "append", "dry_run": True}, content_type="application/json"
    )
    assert refused.status_code == 202 and refused.json()["state"] == "checking"
    run_tasks()
    body = client.get(url).json()
    assert body["state"] == "review" and body["dry_run"]["refused"] is True
    assert body["dry_run"]["errors"][0]["row"] == 2

    checked = client.post(f"{url}confirm/", {"dry_run": True}, content_type="application/json")
    assert checked.status_code == 202
    run_tasks()
    body = client.get(url).json()
    report = body["dry_run"]
    assert (body["state"], report["mode"], report["counts"]) == ("review", "upsert", expected)
    first = report["updated_rows"][0]
    assert first["key"]["segment_id"] == 9000008311
    assert first["key"]["hour"].startswith("2025-10-10T02:00:00+02:00")
    car = next(c for c in first["columns"] if c["column"] == "car")
    assert car["after"] == pytest.approx(car["before"] + 1.0)
    assert len(report["updated_rows"]) == len(report["added_rows"]) == 20
    assert body["version"] is None and dataset.versions.count() == 1

    bad = client.post(f"{url}confirm/", {"mode": "sometimes"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["parameter"] == "mode"

    loaded = client.post(f"{url}confirm/", {}, content_type="application/json")
    assert loaded.status_code == 202 and loaded.json()["state"] == "queued"
    run_tasks()
    body = client.get(url).json()
    assert body["state"] == "done"
    version = body["version"]
    assert {name: version[f"rows_{name}"] for name in COUNTS} == expected
    resource = client.get(f"/api/v1/datasets/{dataset.slug}/versions/{version['number']}/")
    assert resource.json() == version

    # Only the owner's data stewards see loads; others get 404, as for a missing dataset.
    menen = staff_client(member(region["MEN"], "data_steward"))
    assert menen.get(url).status_code == 404
    assert menen.post(base, {"file": SimpleUploadedFile("x.csv", b"a\n1\n")}).status_code == 404
    assert menen.get(f"/api/v1/datasets/{dataset.slug}/versions/1/").status_code == 404


def test_a_dry_run_cancelled_meanwhile_leaves_the_load_cancelled(telraam, steward):
    dataset, load, _expected, _october = telraam
    services.confirm(
        load, steward, columns=load.schema, primary_key=KEY, mode="upsert", dry_run=True
    )
    services.cancel(load, steward)
    run_tasks()
    load.refresh_from_db()
    assert (load.state, load.dry_run) == ("cancelled", {})
    assert dataset.versions.count() == 1
