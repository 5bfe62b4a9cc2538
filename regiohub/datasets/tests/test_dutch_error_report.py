"""A data steward reads the error report in Dutch: row, column, value and reason."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from regiohub.core.testing import run_tasks, staff_client
from regiohub.datasets import services
from regiohub.datasets.tests.factories import COUNTS_CSV, make_dataset, upload

pytestmark = pytest.mark.django_db


def test_the_error_report_is_in_dutch(region, steward, settings):
    settings.LANGUAGE_CODE = "nl"
    dataset = make_dataset(region["KOR"], steward)
    upload(dataset, steward, COUNTS_CSV)
    with translation.override("nl"):
        load = upload(
            dataset, steward, COUNTS_CSV + "103;01/01/2026 10:00;veel;3;50\n", confirm=False
        )
        schema = dataset.current_version.schema
        services.confirm(load, steward, columns=schema, primary_key=[], mode="append")
        run_tasks()
    load.refresh_from_db()
    assert load.state == "failed"
    error = load.errors[0]
    assert (error["row"], error["column"], error["value"]) == (5, "Auto's", "veel")
    assert "getal" in error["reason"]  # “veel” is geen getal
    page = staff_client(steward).get(f"/staff/data/{dataset.slug}/loads/{load.pk}/")
    text = page.content.decode()
    assert "Er werd niets geladen" in text or "niets" in text
    assert "veel" in text and "Auto&#x27;s" in text


def test_the_background_load_writes_in_the_language_of_the_uploader(region, steward):
    """The worker has no request: the load remembers who started it in which language."""
    dataset = make_dataset(region["KOR"], steward)
    with translation.override("fr"):
        load = services.start_upload(
            dataset, steward, SimpleUploadedFile("t.csv", b"a;b\n1;2\n4;x;5\n")
        )
    assert load.language == "fr"
    with translation.override("en"):  # whatever the worker's own language
        run_tasks()
    load.refresh_from_db()
    assert load.state == "failed"
    assert "ligne 3" in load.message.lower(), load.message
