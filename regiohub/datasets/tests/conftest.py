from __future__ import annotations

from typing import Any

import pytest

from regiohub.core.roles import Role
from regiohub.core.tests.factories import MembershipFactory


@pytest.fixture(autouse=True)
def _dataset_storage(settings: Any, tmp_path: Any) -> None:
    """Every test writes its tables and uploads in its own folder."""
    settings.DATASETS_URI = str(tmp_path / "tables")
    settings.DATA_DIR = tmp_path


@pytest.fixture(autouse=True)
def _no_open_datasets_in_memory() -> None:
    """Each test starts without the open datasets an earlier test's API calls kept in
    memory (queries.open_dataset): its database was rolled back without a signal."""
    from regiohub.datasets.queries import forget_open_datasets

    forget_open_datasets()


@pytest.fixture(autouse=True)
def _english(settings: Any) -> Any:
    """Tests read the English messages; test_dutch_error_report.py checks the Dutch ones."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def member(organisation: Any, role: str) -> Any:
    return MembershipFactory(organisation=organisation, role=role).user


@pytest.fixture
def steward(region: dict[str, Any]) -> Any:
    """A data steward of Kortrijk."""
    return member(region["KOR"], Role.DATA_STEWARD)


@pytest.fixture
def menen_analyst(region: dict[str, Any]) -> Any:
    return member(region["MEN"], Role.ANALYST)


@pytest.fixture
def kortrijk_analyst(region: dict[str, Any]) -> Any:
    return member(region["KOR"], Role.ANALYST)
