"""The departments API filters by organisation and by active state, within the caller's
scope (the filters were declared but ignored before: every department came back)."""

from __future__ import annotations

import pytest

from regiohub.core.models import Department
from regiohub.core.testing import staff_client

pytestmark = pytest.mark.django_db


def _codes(response) -> set[str]:
    return {row["organisation"] for row in response.json()["results"]}


def test_filter_by_organisation_and_state(region, region_admin):
    client = staff_client(region_admin)
    kortrijk = client.get("/api/v1/departments/", {"organisation__code": "KOR", "limit": 500})
    assert kortrijk.status_code == 200
    rows = kortrijk.json()["results"]
    assert rows and len(rows) == Department.objects.filter(organisation__code="KOR").count()
    Department.objects.filter(organisation__code="KOR").update(is_active=False)
    inactive = client.get("/api/v1/departments/", {"is_active": "false", "limit": 500})
    assert len(inactive.json()["results"]) == len(rows)


def test_a_filter_cannot_reach_past_the_scope(region, kortrijk_admin):
    client = staff_client(kortrijk_admin)
    menen = client.get("/api/v1/departments/", {"organisation__code": "MEN"})
    assert menen.status_code == 200 and menen.json()["results"] == []
