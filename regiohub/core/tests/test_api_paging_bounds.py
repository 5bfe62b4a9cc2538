"""A list's ``limit`` and ``offset`` beyond what a database integer holds give a page, not
a server error (found by the API fuzz test: ``?limit=<huge>`` was a 500 on SQLite)."""

from __future__ import annotations

import pytest
from django.test import Client

from regiohub.core.tests.factories import MembershipFactory

HUGE = "9" * 40


def signed_in(region) -> Client:
    client = Client()
    client.force_login(MembershipFactory(organisation=region["KOR"]).user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [f"limit={HUGE}", f"offset={HUGE}", f"limit={HUGE}&offset={HUGE}", "limit=-5", "offset=-1"],
)
def test_huge_or_negative_paging_gives_a_page(region, query):
    answer = signed_in(region).get(f"/api/v1/organisations/?{query}")
    assert answer.status_code == 200, answer.content[:300]
    body = answer.json()
    assert body["count"] >= 1
    assert len(body["results"]) <= 1000


@pytest.mark.django_db
def test_a_limit_is_capped(region):
    body = signed_in(region).get(f"/api/v1/organisations/?limit={HUGE}").json()
    assert len(body["results"]) == body["count"]  # all of them: fewer than the cap
