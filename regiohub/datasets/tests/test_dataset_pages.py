"""The data steward's pages and the dataset page, with a browser's requests: create,
upload, review, load, browse, chart, filter and download; and no way in for others."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from regiohub.core.testing import run_tasks, staff_client
from regiohub.datasets.models import Dataset, Load
from regiohub.datasets.tests.factories import COUNTS_CSV, make_dataset, upload

pytestmark = pytest.mark.django_db


def test_a_steward_creates_uploads_reviews_and_loads(region, steward):
    client = staff_client(steward)
    answer = client.post(
        "/staff/data/new/",
        {
            "title": "Tellingen Kortrijk",
            "slug": "tellingen",
            "description": "",
            "owner": region["KOR"].pk,
            "theme": "TRAN",
            "licence": "CC-BY-4.0",
            "attribution": "",
            "access": "internal",
        },
    )
    assert answer.status_code == 302, answer.content[:500]
    assert answer["Location"] == "/staff/data/tellingen/upload/"
    answer = client.post(
        "/staff/data/tellingen/upload/", {"file": SimpleUploadedFile("t.csv", COUNTS_CSV.encode())}
    )
    load = Load.objects.get()
    assert answer["Location"] == f"/staff/data/tellingen/loads/{load.pk}/"
    page = client.get(answer["Location"])
    assert b'http-equiv="refresh"' in page.content  # still reading
    run_tasks()
    page = client.get(answer["Location"]).content.decode()
    assert "Auto&#x27;s" in page and 'value="auto_s"' in page and "31/12/2025 14:00" in page
    form = {"mode": "replace", "key_2": "autos", "unit_2": "voertuigen", "pk_0": "1", "pk_1": "1"}
    assert client.post(f"/staff/data/tellingen/loads/{load.pk}/confirm/", form).status_code == 302
    run_tasks()
    load.refresh_from_db()
    assert load.state == "done", load.message
    assert load.version.primary_key == ["segment", "uur"]
    detail = client.get("/data/tellingen/").content.decode()
    assert "voertuigen" in detail and "1.234,5" not in detail and "1 234,5" in detail
    assert "<svg" in detail  # a time series of the first number column


def test_the_review_form_names_what_is_wrong(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    load = upload(dataset, steward, COUNTS_CSV, confirm=False)
    answer = staff_client(steward).post(
        f"/staff/data/{dataset.slug}/loads/{load.pk}/confirm/",
        {"mode": "upsert", "key_0": "1abc", "key_1": "uur", "key_2": "uur"},
    )
    assert answer.status_code == 400
    text = answer.content.decode()
    assert "1abc" in text and "unique" in text and "primary key" in text
    load.refresh_from_db()
    assert load.state == "review"


def test_filter_sort_and_page_the_rows(region, steward, kortrijk_analyst):
    dataset = make_dataset(region["KOR"], steward)
    upload(dataset, steward, COUNTS_CSV)
    client = staff_client(kortrijk_analyst)
    page = client.get(f"/data/{dataset.slug}/?column=segment&op=eq&value=102").content.decode()
    shown = page.split('id="rows-heading"')[1].split('id="columns-heading"')[0]
    assert "15,25" in shown and "987" not in shown
    ordered = client.get(f"/data/{dataset.slug}/?order=-auto_s").content.decode()
    shown = ordered.split('id="rows-heading"')[1].split('id="columns-heading"')[0]
    assert shown.index("1 234,5") < shown.index("987") < shown.index("15,25")
    bad = client.get(f"/data/{dataset.slug}/?column=segment&op=eq&value=veel").content.decode()
    assert "is not a whole number" in bad


@pytest.mark.parametrize("fmt", ["csv", "json", "ndjson", "parquet", "xlsx"])
def test_every_version_downloads_in_every_format(region, steward, fmt):
    dataset = make_dataset(region["KOR"], steward, access="open")
    upload(dataset, steward, COUNTS_CSV)
    upload(dataset, steward, COUNTS_CSV)
    answer = Client().get(f"/data/{dataset.slug}/download/?version=1&format={fmt}")
    assert answer.status_code == 200
    body = b"".join(answer.streaming_content)
    assert f"v1.{fmt}" in answer["Content-Disposition"]
    if fmt == "csv":
        assert len(body.decode().splitlines()) == 4
    elif fmt == "json":
        assert len(json.loads(body)) == 3
    elif fmt == "ndjson":
        assert len(body.splitlines()) == 3
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        assert pq.read_table(io.BytesIO(body)).num_rows == 3
    else:
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(body)).active
        assert sheet.max_row == 4 and sheet.cell(1, 3).value == "Auto's"


def test_internal_data_pages_and_downloads_are_out_of_reach(region, steward, menen_analyst):
    dataset = make_dataset(region["KOR"], steward)
    upload(dataset, steward, COUNTS_CSV)
    for client in (Client(), staff_client(menen_analyst)):
        assert dataset.title not in client.get("/data/").content.decode()
        assert client.get(f"/data/{dataset.slug}/").status_code == 404
        assert client.get(f"/data/{dataset.slug}/download/?format=csv").status_code == 404
    menen = staff_client(menen_analyst)
    assert menen.get(f"/staff/data/{dataset.slug}/upload/").status_code == 404
    load = Load.objects.first()
    assert menen.get(f"/staff/data/{dataset.slug}/loads/{load.pk}/").status_code == 404
    assert menen.get("/staff/data/new/").status_code == 403
    anonymous = Client().get(f"/staff/data/{dataset.slug}/upload/")
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    assert Dataset.objects.count() == 1


def test_rows_with_a_place_are_drawn_on_a_map_of_the_region(region, steward):
    dataset = make_dataset(region["KOR"], steward, access="open")
    upload(
        dataset,
        steward,
        "Naam;Breedtegraad;Lengtegraad\nGrote Markt;50,8275;3,2649\nStation Menen;50,7949;3,1236\n",
    )
    version = dataset.current_version
    assert {c["role"] for c in version.schema} >= {"latitude", "longitude"}
    page = Client().get(f"/data/{dataset.slug}/").content.decode()
    section = page.split('id="map-heading"')[1].split("</section>")[0]
    assert section.count('class="point"') == 2
    assert section.count('class="area"') >= 13  # the municipalities


def test_upload_size_limits(region, steward, settings):
    dataset = make_dataset(region["KOR"], steward)
    client = staff_client(steward)
    settings.DATASETS_UPLOAD_MB = 1
    big = SimpleUploadedFile("groot.csv", b"a;b\n" + b"1;2\n" * 300_000)
    answer = client.post(f"/staff/data/{dataset.slug}/upload/", {"file": big})
    assert answer.status_code == 200 and "larger than 1 MB" in answer.content.decode()
    assert Load.objects.count() == 0
    # A dataset upload may be larger than other requests (REGIOHUB_MAX_REQUEST_MB), but
    # not larger than its own limit.
    from django.http import HttpResponse
    from django.test import RequestFactory

    from regiohub.core.middleware import RequestSizeLimitMiddleware

    settings.MAX_REQUEST_MB = 1
    settings.DATASETS_UPLOAD_MB = 5
    middleware = RequestSizeLimitMiddleware(lambda request: HttpResponse("read"))

    def status(path: str, mb: int) -> int:
        request = RequestFactory().post(path, CONTENT_LENGTH=str(mb * 1024 * 1024))
        return middleware(request).status_code

    assert status(f"/staff/data/{dataset.slug}/upload/", 3) == 200
    assert status("/staff/data/new/", 3) == 413
    assert status(f"/staff/data/{dataset.slug}/upload/", 7) == 413


def test_hostile_review_input_is_refused_by_name(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    load = upload(dataset, steward, COUNTS_CSV, confirm=False)
    client = staff_client(steward)
    answer = client.post(
        f"/staff/data/{dataset.slug}/loads/{load.pk}/confirm/",
        {
            "mode": "append",
            "key_0": 'a"; DROP TABLE x; --',
            "type_1": "geometry",
            "role_2": "owner",
            "key_3": "file_row_number",
        },
    )
    assert answer.status_code == 400
    text = answer.content.decode()
    assert "not a valid column name" in text and "unknown type" in text
    assert "unknown role" in text and "reserved" in text
    assert (
        client.post(
            f"/staff/data/{dataset.slug}/loads/{load.pk}/confirm/", {"mode": "explode"}
        ).status_code
        == 400
    )
    load.refresh_from_db()
    assert load.state == "review"


def test_downloads_refuse_bad_parameters_and_floods(region, steward, settings):
    from django.core.cache import cache

    dataset = make_dataset(region["KOR"], steward, access="open")
    upload(dataset, steward, COUNTS_CSV)
    client = Client()
    base = f"/data/{dataset.slug}/download/"
    for query in ("format=exe", "version=abc", "version=99", "version=" + "9" * 400,
                  "version=-1"):  # fmt: skip
        assert client.get(f"{base}?{query}").status_code == 404, query
    assert client.get(f"{base}?format=%00").status_code == 400  # NUL: refused (issue 15)
    assert client.get(f"/data/{'x' * 300}/download/").status_code == 404
    cache.clear()
    settings.DATASETS_DOWNLOAD_RATE = "2/hour"
    assert client.get(f"{base}?format=csv").status_code == 200
    assert client.get(f"{base}?format=json").status_code == 200
    refused = client.get(f"{base}?format=csv")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    cache.clear()


def test_a_steward_edits_a_dataset_and_the_change_is_in_history(region, steward):
    from regiohub.core.models import HistoryEntry

    dataset = make_dataset(region["KOR"], steward)
    client = staff_client(steward)
    url = f"/staff/data/{dataset.slug}/edit/"
    form = {
        "title": "Verkeerstellingen Kortrijk",
        "description": "Uurtellingen.",
        "owner": region["KOR"].pk,
        "theme": "TRAN",
        "licence": "CC0-1.0",
        "attribution": "",
        "access": "open",
    }
    assert client.post(url, form).status_code == 302
    dataset.refresh_from_db()
    assert (dataset.title, dataset.access, dataset.slug) == (
        "Verkeerstellingen Kortrijk",
        "open",
        "verkeerstellingen",
    )
    entry = HistoryEntry.objects.for_object(dataset).get(action="dataset.changed")
    assert entry.before["access"] == "internal" and entry.after["access"] == "open"
    # Another municipality cannot be made the owner by someone who does not manage it.
    refused = client.post(url, {**form, "owner": region["MEN"].pk})
    assert refused.status_code == 200
    dataset.refresh_from_db()
    assert dataset.owner == region["KOR"]
