"""The API limits anonymous callers per address and users per account, each once."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.settings import api_settings

from regiohub.core.testing import staff_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_limits(monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "anon": "3/minute", "user": "5/minute"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    cache.clear()
    yield
    cache.clear()


def test_anonymous_callers_get_the_anonymous_limit_only(region, low_limits):
    client = Client()
    answers = [client.get("/api/v1/datasets/").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    keys = _throttle_keys()
    assert any("throttle_anon" in key for key in keys)
    assert [key for key in keys if "throttle_user" in key] == []


def test_logged_in_users_get_the_account_limit(region, kortrijk_agent, low_limits):
    client = staff_client(kortrijk_agent)
    answers = [client.get("/api/v1/organisations/").status_code for _ in range(6)]
    assert answers == [200] * 5 + [429]


def _throttle_keys() -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM regiohub_cache")
        return [row[0] for row in cursor.fetchall()]
