from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _dataset_storage(settings: Any, tmp_path: Any) -> None:
    """Every test writes its tables in its own folder."""
    settings.DATASETS_URI = str(tmp_path / "tables")
    settings.DATA_DIR = tmp_path


@pytest.fixture(autouse=True)
def _english(settings: Any) -> Any:
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
