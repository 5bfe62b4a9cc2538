"""What an API token reads: the datasets its owner may read, narrowed to the organisations
chosen for the token. A token limited to Kortrijk never reaches an internal dataset of
another municipality, even when its owner may read it; datasets shared with the region
stay readable, as they are for anyone who may query data."""

from __future__ import annotations

import pytest
from django.test import Client

from regiohub.core import api_tokens
from regiohub.core.roles import Role
from regiohub.core.testing import staff_client
from regiohub.core.tests.factories import MembershipFactory
from regiohub.datasets.tests.conftest import member
from regiohub.datasets.tests.factories import COUNTS_CSV, make_dataset, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(region):
    """Internal datasets of Kortrijk and of Menen, and one Menen shares with the region;
    an analyst of both municipalities."""
    datasets = {}
    for code, slug, access in [("KOR", "kor-intern", "internal"), ("MEN", "men-intern",
                               "internal"), ("MEN", "men-regio", "region")]:  # fmt: skip
        steward = member(region[code], Role.DATA_STEWARD)
        dataset = make_dataset(region[code], steward, slug=slug, title=slug, access=access)
        assert upload(dataset, steward, COUNTS_CSV, mode="replace").state == "done"
        datasets[slug] = dataset
    analyst = member(region["KOR"], Role.ANALYST)
    MembershipFactory(organisation=region["MEN"], role=Role.ANALYST, user=analyst)
    return datasets, analyst


def token_client(user, **kwargs) -> Client:
    secret = api_tokens.create_token(user, name="BI", **kwargs).secret
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def slugs(client: Client) -> set[str]:
    answer = client.get("/api/v1/datasets/?limit=500")
    assert answer.status_code == 200
    return {row["slug"] for row in answer.json()["results"]}


def test_a_token_for_kortrijk_does_not_read_menens_internal_dataset(region, world):
    _datasets, analyst = world
    kortrijk = token_client(analyst, organisations=[region["KOR"]])
    assert slugs(kortrijk) == {"kor-intern", "men-regio"}
    assert kortrijk.get("/api/v1/datasets/men-intern/").status_code == 404
    assert kortrijk.get("/api/v1/datasets/men-intern/rows/").status_code == 404
    assert kortrijk.get("/api/v1/datasets/men-intern/versions/").status_code == 404
    assert kortrijk.get("/api/v1/datasets/men-intern/compare/").status_code == 404
    # What it may read, it reads: its own municipality's and the region-shared rows.
    for slug in ("kor-intern", "men-regio"):
        answer = kortrijk.get(f"/api/v1/datasets/{slug}/rows/?format=csv")
        assert answer.status_code == 200, slug
        assert b"segment" in b"".join(answer.streaming_content)
    # The same person logged in, or with a token for all their organisations, reads all.
    everything = {"kor-intern", "men-intern", "men-regio"}
    assert slugs(staff_client(analyst)) == everything
    assert slugs(token_client(analyst)) == everything


def test_a_token_of_someone_without_data_rights_reads_open_data_only(region, world):
    datasets, _analyst = world
    employee = MembershipFactory(organisation=region["KOR"], role=Role.EMPLOYEE).user
    assert slugs(token_client(employee)) == set()
    datasets["men-regio"].access = "open"
    datasets["men-regio"].save()
    assert slugs(token_client(employee)) == {"men-regio"}


def test_a_read_token_reads_but_never_loads(region, world):
    datasets, _analyst = world
    steward = datasets["kor-intern"].created_by
    reader = token_client(steward, scope="read")
    assert reader.get("/api/v1/datasets/kor-intern/rows/").status_code == 200
    # The steward's loads are for stewards acting, not for a read token (404 as elsewhere).
    assert reader.get("/api/v1/datasets/kor-intern/loads/1/").status_code == 404
    answer = reader.post(
        "/api/v1/datasets/kor-intern/restore/",
        {"version": 1, "reason": "x"},
        content_type="application/json",
    )
    assert answer.status_code == 403
