"""Tests across modules (privacy requests, menus, walls between modules) share the
fixtures of the modules' own suites."""

from regiohub.conftest import (  # noqa: F401 - fixtures
    kortrijk_admin,
    kortrijk_agent,
    region,
    region_admin,
    superuser,
)
from regiohub.meldpunt.tests.conftest import categories  # noqa: F401 - fixture
