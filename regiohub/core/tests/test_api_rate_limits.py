"""The API limits anonymous callers per address and users per account, each once."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.test import Client
from rest_framework.settings import api_settings

from regiohub.core.testing import staff_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_limits(monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "anon": "3/minute", "user": "5/minute"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    caches["throttle"].clear()
    yield
    caches["throttle"].clear()


def test_anonymous_callers_get_the_anonymous_limit_only(region, low_limits):
    client = Client()
    answers = [client.get("/api/v1/datasets/").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert len(caches["throttle"].get("throttle_anon_127.0.0.1")) == 3
    assert caches["throttle"].get("throttle_user_127.0.0.1") is None


def test_logged_in_users_get_the_account_limit(region, kortrijk_agent, low_limits):
    client = staff_client(kortrijk_agent)
    answers = [client.get("/api/v1/organisations/").status_code for _ in range(6)]
    assert answers == [200] * 5 + [429]


def test_counting_a_caller_does_not_touch_the_database(
    region, kortrijk_agent, low_limits, django_assert_num_queries
):
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory, force_authenticate

    from regiohub.core.api.throttling import AccountRateThrottle, AnonymousRateThrottle

    anonymous = Request(APIRequestFactory().get("/api/v1/datasets/"))
    anonymous.user  # noqa: B018 - settles who calls before counting starts
    logged_in = APIRequestFactory().get("/api/v1/datasets/")
    force_authenticate(logged_in, kortrijk_agent)
    logged_in = Request(logged_in)
    logged_in.user  # noqa: B018
    with django_assert_num_queries(0):
        assert [AnonymousRateThrottle().allow_request(anonymous, None) for _ in range(4)] == [
            True, True, True, False,
        ]  # fmt: skip
        assert all(AccountRateThrottle().allow_request(logged_in, None) for _ in range(5))
        assert not AccountRateThrottle().allow_request(logged_in, None)


@pytest.mark.parametrize(
    ("value", "backend"),
    [
        ("memory", "django.core.cache.backends.locmem.LocMemCache"),
        ("database", "django.core.cache.backends.db.DatabaseCache"),
        ("redis://127.0.0.1:6379/1", "django.core.cache.backends.redis.RedisCache"),
    ],
)
def test_the_counters_live_where_the_setting_says(monkeypatch, value, backend):
    import importlib

    import regiohub.settings as module

    monkeypatch.setenv("REGIOHUB_API_RATE_STORE", value)
    try:
        assert importlib.reload(module).CACHES["throttle"]["BACKEND"] == backend
    finally:
        monkeypatch.delenv("REGIOHUB_API_RATE_STORE")
        importlib.reload(module)


def test_an_unknown_store_stops_regiohub_at_start_up(monkeypatch):
    import importlib

    import regiohub.settings as module
    from regiohub.conf import ConfigurationError

    monkeypatch.setenv("REGIOHUB_API_RATE_STORE", "memcached://127.0.0.1:11211")
    try:
        with pytest.raises(ConfigurationError, match="REGIOHUB_API_RATE_STORE"):
            importlib.reload(module)
    finally:
        monkeypatch.delenv("REGIOHUB_API_RATE_STORE")
        importlib.reload(module)
