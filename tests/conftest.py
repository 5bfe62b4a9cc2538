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


def pytest_runtest_setup(item):
    """Tests marked ``needs_shared`` fail under CI when the shared folder lacks the file."""
    from regiohub.core.testing import check_shared_marks

    check_shared_marks(item)
