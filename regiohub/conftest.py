"""Fixtures shared by the test suites of every module."""

from __future__ import annotations

from typing import Any

import pytest

from regiohub.core.demo.region import load_region
from regiohub.core.models import Organisation
from regiohub.core.testing import check_shared_marks
from regiohub.core.tests.factories import MembershipFactory, UserFactory


def pytest_runtest_setup(item: pytest.Item) -> None:
    check_shared_marks(item)


@pytest.fixture(autouse=True)
def _fresh_api_rates() -> None:
    """The API's request counters live in process memory (REGIOHUB_API_RATE_STORE), not
    in the database each test rolls back: every test starts with none."""
    from django.core.cache import caches

    caches["throttle"].clear()


@pytest.fixture(autouse=True)
def _fresh_snapshots() -> None:
    """Per-process copies of rows (``core.snapshot``) are rebuilt from each test's own
    database: a test that changed rows with ``update()`` must not leak them to the next."""
    from regiohub.core.snapshot import reset_all

    reset_all()


@pytest.fixture(autouse=True)
def _fresh_dashboards() -> None:
    """What the dashboards keep per process (definitions read, figures drawn, the last
    day of a dataset version) is about the previous test's database, whose ids SQLite
    hands out again."""
    from regiohub.dashboards import cache, figures, queries

    queries.reset()
    cache.reset()
    figures.forget_versions()


@pytest.fixture
def region(db: Any) -> dict[str, Organisation]:
    """The demo region: organisations by code (KOR, MEN, ZWVL, W13, LEI, ...)."""
    load_region()
    return {o.code: o for o in Organisation.objects.all()}


@pytest.fixture
def kortrijk_agent(region: dict[str, Organisation]) -> Any:
    return MembershipFactory(organisation=region["KOR"], agent=True).user


@pytest.fixture
def kortrijk_admin(region: dict[str, Organisation]) -> Any:
    return MembershipFactory(organisation=region["KOR"], admin=True).user


@pytest.fixture
def region_admin(region: dict[str, Organisation]) -> Any:
    return MembershipFactory(organisation=region["ZWVL"], admin=True).user


@pytest.fixture
def superuser(db: Any) -> Any:
    return UserFactory(superuser=True)
