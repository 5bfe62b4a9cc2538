"""The data page names a column's type and role in words ("Geheel getal", "Tijdstip van de
rij"), never by the code stored in the schema ("integer", "time")."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from regiohub.datasets.tests.factories import COUNTS_CSV, make_dataset, upload

pytestmark = pytest.mark.django_db


def test_column_types_and_roles_are_words(region, steward):
    dataset = make_dataset(region["KOR"], steward, access="open")
    upload(dataset, steward, COUNTS_CSV)
    client = Client()
    client.cookies["regiohub_language"] = "nl"
    html = client.get(f"/data/{dataset.slug}/").content.decode()
    cells = re.findall(r"<td>([^<]*)</td>", html)
    assert "Geheel getal" in cells
    assert "Datum en tijd" in cells
    assert "Tijdstip van de rij" in cells
    assert not {"integer", "decimal", "timestamp", "text", "time", "id"} & set(cells)
