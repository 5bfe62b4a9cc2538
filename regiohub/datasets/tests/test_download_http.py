"""Downloads that clients and caches can rely on (issue 18): a file per version and format,
built once and kept (atomically, least recently used out), answered with a strong ETag,
Last-Modified, Cache-Control, 304s, byte ranges (206, 416, If-Range) and HEAD; the
licence and attribution travel with the file (a Link header, Parquet metadata, an Excel
sheet, GeoJSON members, a CSVW description of the CSV); GeoJSON for versions with places.
What may not be seen stays a 404, also when its file is in the cache."""

from __future__ import annotations

import csv
import io
import json
import os
import threading
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.utils.http import http_date

from regiohub.core.testing import staff_client
from regiohub.datasets import formats, services
from regiohub.datasets.models import Dataset, DatasetVersion
from regiohub.datasets.tests.factories import make_dataset
from regiohub.datasets.views import browse

pytestmark = pytest.mark.django_db

LICENCE_URIS = {
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-NC-4.0": "https://creativecommons.org/licenses/by-nc/4.0/",
    "MLGH": "https://data.vlaanderen.be/doc/licentie/modellicentie-gratis-hergebruik/v1.0",
}


@pytest.fixture(autouse=True)
def _downloads_not_throttled(settings: Any) -> Any:
    """Each test makes many requests from one address; the limit has its own test."""
    cache.clear()
    settings.DATASETS_DOWNLOAD_RATE = "100000/hour"
    yield
    cache.clear()


def counts() -> pa.Table:
    return pa.table(
        {
            "segment": pa.array([101, 101, 102], pa.int64()),
            "uur": pa.array(
                [datetime(2025, 12, 31, hour, tzinfo=UTC) for hour in (13, 14, 13)],
                pa.timestamp("us", "UTC"),
            ),
            "plaats": ["Grote Markt", '=HYPERLINK("http://x")', 'Zuid, "station"'],
            "autos": [1234.5, 987.0, None],
        }
    )


def places() -> pa.Table:
    return pa.table(
        {
            "naam": ["Grote Markt", "Station Menen", "Nergens", "Zee"],
            "breedtegraad": [50.8275, 50.7949, None, 95.0],
            "lengtegraad": [3.2649, 3.1236, 3.0, 3.0],
        }
    )


def publish(
    owner: Any,
    rows: pa.Table | None = None,
    *,
    slug: str = "tellingen",
    access: str = "open",
    licence: str = "CC-BY-4.0",
    attribution: str = "",
    title: str = "Tellingen",
    roles: dict[str, str] | None = None,
) -> Dataset:
    """A dataset with ``rows`` as its version 1, published as a load publishes it."""
    rows = counts() if rows is None else rows
    dataset = make_dataset(
        owner, slug=slug, title=title, access=access, licence=licence, attribution=attribution
    )
    schema = services.schema_from_arrow(rows.schema)
    for column in schema:
        column["role"] = (roles or {}).get(column["key"], "")
        column["name"] = column["key"].capitalize()
    with transaction.atomic():
        services.publish(dataset, rows, mode="replace", schema=schema, primary_key=[])
    return dataset


def body(answer: Any) -> bytes:
    return b"".join(answer.streaming_content) if answer.streaming else answer.content


def url(dataset: Dataset, fmt: str = "csv", version: int | None = 1) -> str:
    pinned = f"&version={version}" if version else ""
    return f"/data/{dataset.slug}/download/?format={fmt}{pinned}"


@pytest.fixture
def open_counts(region: dict[str, Any]) -> Dataset:
    return publish(region["KOR"])


# --- Validators and 304 --------------------------------------------------------------------


def test_a_strong_etag_and_last_modified_answer_304(open_counts):
    client = Client()
    first = client.get(url(open_counts))
    assert first.status_code == 200
    etag = first["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 20  # strong
    version = open_counts.current_version
    assert first["Last-Modified"] == http_date(int(version.created_at.timestamp()))
    full = body(first)
    assert full.startswith(b"segment,uur,plaats,autos\r\n")

    for header in (etag, f'"nope", {etag}', "*", f"W/{etag}"):
        again = client.get(url(open_counts), HTTP_IF_NONE_MATCH=header)
        assert again.status_code == 304, header
        assert again["ETag"] == etag and not again.content
        assert "public" in again["Cache-Control"]
    assert client.get(url(open_counts), HTTP_IF_NONE_MATCH='"other"').status_code == 200

    since = client.get(url(open_counts), HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert since.status_code == 304 and since["Last-Modified"] == first["Last-Modified"]
    earlier = http_date(int(version.created_at.timestamp()) - 60)
    older = client.get(url(open_counts), HTTP_IF_MODIFIED_SINCE=earlier)
    assert older.status_code == 200 and body(older) == full
    # If-None-Match wins over If-Modified-Since (RFC 9110, 13.2.2).
    modified = first["Last-Modified"]
    both = client.get(url(open_counts), HTTP_IF_NONE_MATCH='"x"', HTTP_IF_MODIFIED_SINCE=modified)
    assert both.status_code == 200


def test_each_version_and_format_has_its_own_etag(open_counts):
    with transaction.atomic():
        services.publish(
            open_counts,
            counts(),
            mode="replace",
            schema=open_counts.current_version.schema,
            primary_key=[],
        )
    client = Client()
    tags = {
        client.get(url(open_counts, fmt, version))["ETag"]
        for fmt in ("csv", "json", "parquet")
        for version in (1, 2)
    }
    assert len(tags) == 6
    # Without a version: the current one's file, kept for a short while by caches.
    current = client.get(url(open_counts, "csv", None))
    assert current["ETag"] == client.get(url(open_counts, "csv", 2))["ETag"]
    assert current["Cache-Control"] == "public, max-age=60"
    assert client.get(url(open_counts, "csv", 1))["Cache-Control"] == "public, max-age=3600"


def test_internal_downloads_are_private(region, kortrijk_analyst):
    dataset = publish(region["KOR"], access="internal")
    answer = staff_client(kortrijk_analyst).get(url(dataset))
    assert answer.status_code == 200
    assert "private" in answer["Cache-Control"] and "public" not in answer["Cache-Control"]


# --- Ranges and HEAD -----------------------------------------------------------------------


def test_a_byte_range_is_exactly_that_slice_of_the_file(open_counts):
    client = Client()
    full = body(client.get(url(open_counts)))
    size = len(full)
    for header, start, end in [
        ("bytes=0-9", 0, 9),
        ("bytes=10-", 10, size - 1),
        ("bytes=5-5", 5, 5),  # one byte
        (f"bytes=3-{size + 100}", 3, size - 1),  # past the end: up to the end
        ("bytes=-7", size - 7, size - 1),  # the last 7
        (f"bytes=-{size * 3}", 0, size - 1),  # more than there is: the whole file
        ("BYTES=2-4", 2, 4),
    ]:
        part = client.get(url(open_counts), HTTP_RANGE=header)
        assert part.status_code == 206, header
        assert body(part) == full[start : end + 1], header
        assert part["Content-Range"] == f"bytes {start}-{end}/{size}", header
        assert part["Content-Length"] == str(end - start + 1)
        assert part["Accept-Ranges"] == "bytes" and part["ETag"]
        assert "tellingen-v1.csv" in part["Content-Disposition"]


def test_ranges_outside_the_file_and_ranges_to_ignore(open_counts):
    client = Client()
    full = body(client.get(url(open_counts)))
    size = len(full)
    for header in (f"bytes={size}-", "bytes=999999999999999999999-", "bytes=-0"):
        answer = client.get(url(open_counts), HTTP_RANGE=header)
        assert answer.status_code == 416, header
        assert answer["Content-Range"] == f"bytes */{size}"
    # Several ranges, a last byte before the first, another unit, nonsense, a huge header:
    # the whole file (RFC 9110 allows ignoring Range).
    for header in ("bytes=0-1,4-5", "bytes=5-2", "items=0-1", "garbage", "bytes=", "bytes=-",
                   "bytes=0-" + "9" * 10_000, "bytes=١-٢"):  # fmt: skip
        answer = client.get(url(open_counts), HTTP_RANGE=header)
        assert answer.status_code == 200, header[:40]
        assert body(answer) == full


def test_if_range_sends_the_range_only_for_the_same_file(open_counts):
    client = Client()
    first = client.get(url(open_counts))
    full = body(first)
    same = client.get(url(open_counts), HTTP_RANGE="bytes=0-3", HTTP_IF_RANGE=first["ETag"])
    assert same.status_code == 206 and body(same) == full[:4]
    dated = client.get(
        url(open_counts), HTTP_RANGE="bytes=0-3", HTTP_IF_RANGE=first["Last-Modified"]
    )
    assert dated.status_code == 206
    for stale in ('"an-older-file"', f"W/{first['ETag']}", "Sat, 01 Jan 2000 00:00:00 GMT",
                  "nonsense"):  # fmt: skip
        answer = client.get(url(open_counts), HTTP_RANGE="bytes=0-3", HTTP_IF_RANGE=stale)
        assert answer.status_code == 200, stale
        assert body(answer) == full


def test_head_describes_the_file_without_sending_it(open_counts):
    client = Client()
    full = body(client.get(url(open_counts, "parquet")))
    head = client.head(url(open_counts, "parquet"))
    assert head.status_code == 200 and head.content == b""
    assert head["Content-Length"] == str(len(full))
    assert head["ETag"] and head["Accept-Ranges"] == "bytes"
    assert head["Content-Type"] == "application/vnd.apache.parquet"
    # Range is for GET: HEAD describes the whole file.
    assert client.head(url(open_counts), HTTP_RANGE="bytes=0-1").status_code == 200
    assert client.post(url(open_counts)).status_code == 405


# --- The cache -----------------------------------------------------------------------------


def cache_files(settings: Any) -> list[Path]:
    root = Path(settings.DATA_DIR) / "downloads"
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def test_a_file_is_built_once_and_served_from_the_cache(open_counts, settings):
    client = Client()
    with mock.patch.object(browse, "build", wraps=browse.build) as built:
        first = body(client.get(url(open_counts)))
        assert built.call_count == 1
        for _ in range(3):
            assert body(client.get(url(open_counts))) == first
        assert client.get(url(open_counts), HTTP_RANGE="bytes=1-2").status_code == 206
        assert client.head(url(open_counts)).status_code == 200
        assert built.call_count == 1
        client.get(url(open_counts, "parquet"))
        assert built.call_count == 2
    kept = cache_files(settings)
    assert sorted(p.suffix for p in kept) == [".csv", ".parquet"]
    csv_file = next(p for p in kept if p.suffix == ".csv")
    assert csv_file.read_bytes() == first
    assert csv_file.parent.name == open_counts.storage_key


def test_two_requests_at_once_build_the_file_once(open_counts):
    found = browse.describe_download(open_counts, open_counts.current_version, "csv")
    calls = []
    original = browse.build

    def slow_build(download: Any, target: Path) -> None:
        calls.append(target)
        time.sleep(0.3)
        original(download, target)

    bodies: list[bytes] = []
    with mock.patch.object(browse, "build", slow_build):

        def fetch() -> None:
            with browse.cached_file(found) as handle:
                bodies.append(handle.read())

        threads = [threading.Thread(target=fetch) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(calls) == 1
    assert len(bodies) == 3 and len(set(bodies)) == 1 and bodies[0].startswith(b"segment,")


def test_a_half_written_file_is_never_served(open_counts, settings):
    found = browse.describe_download(open_counts, open_counts.current_version, "csv")
    found.path.parent.mkdir(parents=True)
    # A process killed while it built the file left its temporary file behind.
    left = found.path.parent / f".{found.path.name}.0123456789abcdef.part"
    left.write_bytes(b"segment,uur,pla")

    def crash(download: Any, target: Path) -> None:
        target.write_bytes(b"segment,uur")  # half of it, then the build fails
        raise OSError("disk full")

    client = Client(raise_request_exception=True)
    with mock.patch.object(browse, "build", crash), pytest.raises(OSError):
        client.get(url(open_counts))
    assert not found.path.exists()
    assert [p.name for p in found.path.parent.glob("*.part")] == [left.name]  # its own: gone

    answer = body(Client().get(url(open_counts)))
    assert answer.startswith(b"segment,uur,plaats,autos\r\n") and answer.count(b"\r\n") == 4
    assert found.path.read_bytes() == answer
    # The one a dead process left is tidied once it is old.
    past = time.time() - browse.STALE_SECONDS - 10
    os.utime(left, (past, past))
    browse.evict()
    assert not left.exists() and found.path.exists()


def test_the_cache_evicts_the_least_recently_used_files(open_counts, settings):
    settings.DATASETS_DOWNLOAD_CACHE_MB = 1
    root = Path(settings.DATA_DIR) / "downloads" / "other-dataset"
    root.mkdir(parents=True)
    now = time.time()
    older, recent = root / "v1-aaaa.csv", root / "v2-bbbb.csv"
    for path, age in ((older, 200), (recent, 100)):
        path.write_bytes(b"x" * 600_000)
        os.utime(path, (now - age, now - age))
    fresh = root / ".v3-cccc.csv.0123.part"  # a build under way: counted, not removed
    fresh.write_bytes(b"x" * 10)

    client = Client()
    answer = client.get(url(open_counts))
    assert answer.status_code == 200
    assert not older.exists() and recent.exists() and fresh.exists()
    built = browse.describe_download(open_counts, open_counts.current_version, "csv").path
    assert built.exists()

    # Used again, a file counts as recent: the other one goes first.
    os.utime(built, (now - 500, now - 500))
    assert body(client.get(url(open_counts)))
    assert built.stat().st_mtime > now - 10
    recent.write_bytes(b"x" * 1_100_000)  # now over the limit on its own
    os.utime(recent, (now - 100, now - 100))
    client.get(url(open_counts, "json"))
    assert not recent.exists() and built.exists()


def test_a_file_larger_than_the_cache_is_sent_and_not_kept(open_counts, settings):
    settings.DATASETS_DOWNLOAD_CACHE_MB = 0
    client = Client()
    with mock.patch.object(browse, "build", wraps=browse.build) as built:
        first = body(client.get(url(open_counts)))
        second = body(client.get(url(open_counts), HTTP_RANGE="bytes=0-6"))
    assert first.startswith(b"segment,") and second == first[:7]
    assert built.call_count == 2
    assert cache_files(settings) == []


def test_the_same_rows_give_the_same_bytes(region, settings, monkeypatch):
    """A strong ETag promises the same bytes: a file built again (after eviction, on
    another server) is identical, Excel's dates included."""
    dataset = publish(region["KOR"], places(), slug="plaatsen",
                      roles={"breedtegraad": "latitude", "lengtegraad": "longitude"})  # fmt: skip
    client = Client()
    first = {fmt: body(client.get(url(dataset, fmt))) for fmt in browse.DOWNLOAD_FORMATS}
    for path in cache_files(settings):
        path.unlink()
    clock = time.time
    monkeypatch.setattr(time, "time", lambda: clock() + 86_400 * 3)
    again = {fmt: body(client.get(url(dataset, fmt))) for fmt in browse.DOWNLOAD_FORMATS}
    assert again == first
    # Every member of the Excel file (the sheets openpyxl copies from temporary files too)
    # is dated at the version, not at the time it was written.
    published = dataset.current_version.created_at.astimezone(UTC)
    with zipfile.ZipFile(io.BytesIO(first["xlsx"])) as book:
        dates = {member.date_time for member in book.infolist()}
    moment = published.timetuple()[:6]
    assert dates == {(*moment[:5], moment[5] - moment[5] % 2)}  # zip: two-second steps
    assert published.year >= 2025  # not the zip format's 1980


# --- Who may read what ---------------------------------------------------------------------


def test_a_kept_file_is_served_only_to_who_may_read_the_dataset(
    region, kortrijk_analyst, menen_analyst, settings
):
    dataset = publish(region["KOR"], access="internal")
    kortrijk = staff_client(kortrijk_analyst)
    for fmt in ("csv", "parquet"):
        assert kortrijk.get(url(dataset, fmt)).status_code == 200
    assert len(cache_files(settings)) == 2
    etag = kortrijk.get(url(dataset))["ETag"]
    for client in (Client(), staff_client(menen_analyst)):
        for fmt in ("csv", "parquet"):
            answer = client.get(url(dataset, fmt))
            assert answer.status_code == 404
            assert b"segment" not in body(answer)
        # Knowing the ETag or asking for a range opens nothing either.
        assert client.get(url(dataset), HTTP_IF_NONE_MATCH=etag).status_code == 404
        assert client.get(url(dataset), HTTP_RANGE="bytes=0-5").status_code == 404
        assert client.head(url(dataset)).status_code == 404
        assert client.get(f"/data/{dataset.slug}/download/metadata.json").status_code == 404


def test_a_dataset_no_longer_open_is_not_served_from_the_cache(open_counts):
    client = Client()
    assert client.get(url(open_counts)).status_code == 200
    Dataset.objects.filter(pk=open_counts.pk).update(access="internal")
    assert client.get(url(open_counts)).status_code == 404


# --- Licence and attribution ---------------------------------------------------------------


@pytest.mark.parametrize("licence", [*LICENCE_URIS, "internal"])
def test_the_licence_link_travels_with_every_download(region, licence):
    dataset = publish(region["KOR"], licence=licence)
    client = Client()
    for fmt in ("csv", "json", "ndjson", "parquet", "xlsx"):
        answer = client.get(url(dataset, fmt))
        assert answer.status_code == 200
        links = answer.get("Link", "")
        if licence == "internal":
            assert 'rel="license"' not in links
        else:
            assert f'<{LICENCE_URIS[licence]}>; rel="license"' in links, fmt
        assert ('rel="describedby"' in links) == (fmt == "csv")
    metadata = client.get(f"/data/{dataset.slug}/download/metadata.json?version=1")
    assert (f"<{LICENCE_URIS.get(licence)}>" in metadata.get("Link", "")) == (licence != "internal")


@pytest.fixture
def telraam(region: dict[str, Any]) -> Dataset:
    """As the demo's Telraam datasets: CC BY-NC, credit to Telraam, shared with the region;
    with places, so that there is GeoJSON of it."""
    return publish(
        region["KOR"],
        places(),
        slug="telraam-9000001",
        title="Telraam Kortrijk",
        access="region",
        licence="CC-BY-NC-4.0",
        attribution="Telraam",
        roles={"breedtegraad": "latitude", "lengtegraad": "longitude"},
    )


def test_parquet_holds_its_licence(telraam, kortrijk_analyst, settings):
    settings.SITE_URL = "https://regiohub.example.be"
    answer = staff_client(kortrijk_analyst).get(url(telraam, "parquet"))
    assert 'rel="license"' in answer["Link"] and "by-nc" in answer["Link"]
    data = io.BytesIO(body(answer))
    metadata = pq.read_metadata(data).metadata
    assert metadata[b"licence"] == b"CC-BY-NC-4.0"
    assert metadata[b"licence_uri"] == b"https://creativecommons.org/licenses/by-nc/4.0/"
    assert metadata[b"attribution"] == b"Telraam"
    assert metadata[b"source"] == b"https://regiohub.example.be/data/telraam-9000001/"
    assert metadata[b"version"] == b"1"
    assert pq.read_table(data).num_rows == 4


def test_excel_has_a_licence_sheet_without_formulas(telraam, kortrijk_analyst, settings):
    from openpyxl import load_workbook

    settings.SITE_URL = "https://regiohub.example.be"
    Dataset.objects.filter(pk=telraam.pk).update(title='=HYPERLINK("http://evil")')
    telraam.refresh_from_db()
    answer = staff_client(kortrijk_analyst).get(url(telraam, "xlsx"))
    assert answer.status_code == 200
    book = load_workbook(io.BytesIO(body(answer)))
    assert book.sheetnames == ["telraam-9000001", "Licence"]
    assert book.active.title == "telraam-9000001"
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert cells and all(c.data_type != "f" for c in cells)
    about = {row[0]: row[1] for row in book["Licence"].iter_rows(values_only=True)}
    assert about["Title"] == '\'=HYPERLINK("http://evil")'
    assert about["Address"] == "https://regiohub.example.be/data/telraam-9000001/"
    assert about["Version"] == "1"
    assert about["Licence"].startswith("CC BY-NC 4.0")
    assert about["Licence"].endswith("https://creativecommons.org/licenses/by-nc/4.0/")
    assert about["Attribution"] == "Telraam"


def test_excel_licence_sheet_is_in_the_visitors_language(open_counts):
    from django.utils import translation
    from openpyxl import load_workbook

    from regiohub.datasets.models import Licence

    english = Client().get(url(open_counts, "xlsx"), HTTP_ACCEPT_LANGUAGE="en")
    dutch = Client().get(url(open_counts, "xlsx"), HTTP_ACCEPT_LANGUAGE="nl")
    assert english["ETag"] != dutch["ETag"]  # two files: one per language
    assert "Accept-Language" in dutch["Vary"]
    with translation.override("nl"):
        sheet_name, licence = translation.gettext("Licence"), str(Licence.CC_BY.label)
    sheet = load_workbook(io.BytesIO(body(dutch))).worksheets[1]
    assert sheet.title == sheet_name
    assert any(licence in (row[1] or "") for row in sheet.iter_rows(values_only=True))


def test_the_csv_is_described_in_csvw(telraam, kortrijk_analyst):
    client = staff_client(kortrijk_analyst)
    answer = client.get(url(telraam, "csv"))
    described = next(part for part in answer["Link"].split(", ") if "describedby" in part)
    address = described.split(">")[0].lstrip("<")
    assert address == "http://testserver/data/telraam-9000001/download/metadata.json?version=1"
    assert 'type="application/csvm+json"' in described
    metadata = client.get(address.removeprefix("http://testserver"))
    assert metadata.status_code == 200
    assert metadata["Content-Type"] == "application/csvm+json"
    document = json.loads(metadata.content)
    assert document["@context"] == "http://www.w3.org/ns/csvw"
    assert document["url"] == (
        "http://testserver/data/telraam-9000001/download/?version=1&format=csv"
    )
    assert document["dc:license"] == {"@id": "https://creativecommons.org/licenses/by-nc/4.0/"}
    assert document["dc:title"] == "Telraam Kortrijk"
    assert document["dc:publisher"] == telraam.owner.display_name
    assert document["schema:creditText"] == "Telraam"
    columns = document["tableSchema"]["columns"]
    assert [c["name"] for c in columns] == ["naam", "breedtegraad", "lengtegraad"]
    assert [c["datatype"] for c in columns] == ["string", "double", "double"]
    assert columns[0]["titles"] == ["naam", "Naam"]
    # The CSV's header is the columns' names: a CSVW validator matches them.
    header = next(csv.reader(io.StringIO(body(answer).decode())))
    assert header == [c["titles"][0] for c in columns]


def test_csvw_types_of_every_column_type(open_counts):
    document = Client().get(f"/data/{open_counts.slug}/download/metadata.json").json()
    types = {c["name"]: c["datatype"] for c in document["tableSchema"]["columns"]}
    assert types == {
        "segment": "integer",
        "uur": "dateTimeStamp",
        "plaats": "string",
        "autos": "double",
    }
    assert "dc:license" in document and "dc:modified" in document


# --- GeoJSON -------------------------------------------------------------------------------


def test_geojson_for_a_version_with_places(telraam, kortrijk_analyst):
    client = staff_client(kortrijk_analyst)
    answer = client.get(url(telraam, "geojson"))
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/geo+json"
    assert "telraam-9000001-v1.geojson" in answer["Content-Disposition"]
    document = json.loads(body(answer))
    assert document["type"] == "FeatureCollection"
    assert document["licence"] == "CC-BY-NC-4.0" and document["attribution"] == "Telraam"
    assert document["licence_uri"] == "https://creativecommons.org/licenses/by-nc/4.0/"
    features = document["features"]
    assert len(features) == 4
    assert features[0] == {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [3.2649, 50.8275]},  # lon, lat
        "properties": {"naam": "Grote Markt"},
    }
    # No latitude, or one outside the earth: the row without a geometry.
    assert features[2]["geometry"] is None and features[3]["geometry"] is None
    page = client.get(f"/data/{telraam.slug}/").content.decode()
    assert "format=geojson" in page and "metadata.json?version=1" in page


def test_no_geojson_without_places(open_counts):
    answer = Client().get(url(open_counts, "geojson"))
    assert answer.status_code == 404
    assert "no latitude and longitude columns" in answer.content.decode()
    page = Client().get(f"/data/{open_counts.slug}/").content.decode()
    assert "format=geojson" not in page and "format=parquet" in page


# --- Hostile input -------------------------------------------------------------------------


def test_hostile_download_input(open_counts):
    client = Client()
    base = f"/data/{open_counts.slug}/download/"
    for query in ("version=../../etc", "version=1/../../etc/passwd", "format=../../etc/passwd",
                  "format=csv%2F..%2F..", "version=1e3", "version=%20", "format=CSV"):  # fmt: skip
        assert client.get(f"{base}?{query}").status_code == 404, query
    assert client.get(f"{base}?format=csv%00").status_code == 400
    assert client.get(f"{base}?format=%00parquet").status_code == 400
    answer = client.get(url(open_counts), HTTP_IF_NONE_MATCH='"x", ' * 2_000)
    assert answer.status_code == 200
    answer = client.get(url(open_counts), HTTP_IF_MODIFIED_SINCE="x" * 10_000)
    assert answer.status_code == 200
    answer = client.get(url(open_counts), HTTP_IF_RANGE="y" * 10_000, HTTP_RANGE="bytes=0-1")
    assert answer.status_code == 200
    metadata = client.get(f"{base}metadata.json?version=../../etc")
    assert metadata.status_code == 404


def test_the_download_limit_still_counts(open_counts, settings):
    settings.DATASETS_DOWNLOAD_RATE = "2/hour"
    client = Client()
    assert client.get(url(open_counts)).status_code == 200
    assert client.get(url(open_counts), HTTP_RANGE="bytes=0-1").status_code == 206
    refused = client.get(url(open_counts))
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0


# --- The CSV writer ------------------------------------------------------------------------


def test_the_csv_writer_writes_what_pythons_csv_writes():
    """The column-wise writer is byte for byte the per-row reference, for every type and
    the awkward values: text to quote and formulas, NaN, infinities, floats Python writes
    with an exponent, times around the clock changes, before 1900 and after 2037."""
    import random

    rng = random.Random(18)
    n = 3000
    floats: list[float | None] = [rng.uniform(-1e6, 1e6) for _ in range(n // 3)]
    floats += [round(rng.uniform(0, 100), 1) for _ in range(n // 3)]
    floats += [10.0 ** rng.randint(-20, 24) * rng.uniform(0.1, 10) for _ in range(n // 6)]
    specials = [0.0, -0.0, 1e16, 1e15, 1e-4, 1e-5, float("inf"), float("-inf"), float("nan"),
                5e-324, 12.0, None]  # fmt: skip
    floats += [specials[i % len(specials)] for i in range(n - len(floats))]
    pieces = ["a", "=", ",", '"', "\r", "\n", "+", "-", "@", "\t", " ", "é", "1"]
    texts = [
        None if i % 17 == 0 else "".join(rng.choice(pieces) for _ in range(rng.randint(0, 5)))
        for i in range(n)
    ]
    moments = [rng.randint(-3_000_000_000, 4_000_000_000) * 1_000_000 for _ in range(n)]
    moments = [m + rng.choice([0, 500_000, 123]) for m in moments]
    batch = pa.record_batch(
        {
            "f": pa.array(floats, pa.float64()),
            "s": pa.array(texts, pa.string()),
            "i": pa.array([rng.randint(-(10**12), 10**12) for _ in range(n)]),
            "b": pa.array([None if i % 7 == 0 else i % 2 == 0 for i in range(n)]),
            "t": pa.array(moments, pa.timestamp("us", "Europe/Brussels")),
            "u": pa.array(moments, pa.timestamp("us", "UTC")),
            "n": pa.array(moments, pa.timestamp("us")),
            "d": pa.array([rng.randint(-700_000, 2_900_000) for _ in range(n)], pa.int32()).cast(
                pa.date32()
            ),
        }
    )
    assert formats.csv_lines(batch) == formats._csv_lines_by_row(batch)
    single = pa.record_batch({"s": pa.array(["", None, "a"])})
    assert formats.csv_lines(single) == formats._csv_lines_by_row(single) == b'""\r\n""\r\na\r\n'


def test_a_version_without_files_downloads_empty(region, monkeypatch):
    dataset = publish(region["KOR"])
    monkeypatch.setattr(browse.storage, "files", lambda *args: [])
    client = Client()
    assert body(client.get(url(dataset))) == b"segment,uur,plaats,autos\r\n"
    assert json.loads(body(client.get(url(dataset, "json")))) == []
    assert pq.read_table(io.BytesIO(body(client.get(url(dataset, "parquet"))))).num_rows == 0


def test_a_version_record_is_what_the_etag_names(open_counts):
    version = DatasetVersion.objects.get(dataset=open_counts)
    found = browse.describe_download(open_counts, version, "csv")
    assert found.last_modified == int(version.created_at.timestamp())
    assert found.filename == "tellingen-v1.csv"
    later = browse.describe_download(open_counts, version, "parquet")
    assert later.etag != found.etag and later.path.parent == found.path.parent
    version.created_at += timedelta(days=1)  # the time is not in the tag, the bytes are
    assert browse.describe_download(open_counts, version, "csv").etag == found.etag


def test_a_build_that_stops_halfway_stops_reading_the_rows(open_counts, monkeypatch):
    monkeypatch.setattr(browse, "SCAN_ROWS", 1)  # three batches

    def failing(batch: Any, verbatim: Any = ()) -> bytes:
        raise OSError("disk full")

    monkeypatch.setattr(formats, "csv_lines", failing)
    with pytest.raises(OSError):
        Client(raise_request_exception=True).get(url(open_counts))
    assert not [t for t in threading.enumerate() if t.name == "download-rows"]
    found = browse.describe_download(open_counts, open_counts.current_version, "csv")
    assert not found.path.exists() and not list(found.path.parent.glob("*.part"))


def test_a_download_that_takes_too_long_is_a_503(open_counts, monkeypatch):
    from regiohub.datasets import query

    def slow(self: Any) -> Any:
        raise query.QueryTimeout

    monkeypatch.setattr(browse.VersionRows, "_next_batch", slow)
    answer = Client().get(url(open_counts, "parquet"))
    assert answer.status_code == 503 and b"took too long" in answer.content
    assert not [t for t in threading.enumerate() if t.name == "download-rows"]


def test_a_csv_download_writes_numbers_as_python_does(region):
    """DuckDB writes a version's floating-point columns as text while it reads them (its
    text of a double is Python's repr): the file is still what csv.writer writes."""
    import random

    rng = random.Random(28)
    values: list[float | None] = [rng.uniform(-1e6, 1e6) for _ in range(300)]
    values += [round(rng.uniform(0, 100), 1) for _ in range(300)]
    values += [10.0 ** rng.randint(-25, 25) * rng.uniform(0.1, 10) for _ in range(300)]
    values += [0.0, -0.0, 1e16, 1e15, 1e-4, 1e-5, 2.0**53, 5e-324, 1.7976931348623157e308,
               float("inf"), float("-inf"), float("nan"), 12.0, None]  # fmt: skip
    rows = pa.table(
        {
            "naam": [f"rij {i}" for i in range(len(values))],
            "waarde": pa.array(values, pa.float64()),
        }
    )
    dataset = publish(region["KOR"], rows, slug="getallen")
    found = browse.describe_download(dataset, dataset.current_version, "csv")
    expected = b"naam,waarde\r\n" + formats._csv_lines_by_row(rows.to_batches()[0])
    assert body(Client().get(url(dataset))) == expected
    with browse.VersionRows(
        browse.storage.files(dataset.storage_key, found.version.delta_version),
        ["naam", "waarde"],
        numbers_as_text=True,
    ) as read:
        assert read.text_columns == {"waarde"}
