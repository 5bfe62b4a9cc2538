"""docs/openapi.yaml, the committed description of the REST API, is what the code generates.

It is generated the way ``make openapi`` does (``regiohub spectacular --lang en``), in
English whatever the default language. When this fails only on PostgreSQL or only on
SQLite, a serializer field takes a limit from the database (a writable integer field's
bounds): make it read-only or give it explicit limits.
"""

import difflib
from pathlib import Path

import pytest
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS, reset_generator_stats

COMMITTED = Path(__file__).resolve().parents[3] / "docs" / "openapi.yaml"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[str]]:
    """The schema as ``make openapi`` writes it, and the generator's warnings and errors."""
    out = tmp_path_factory.mktemp("openapi") / "openapi.yaml"
    reset_generator_stats()
    call_command("spectacular", file=str(out), lang="en", validate=True)
    problems = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    return out.read_text(encoding="utf-8"), problems


def test_committed_openapi_schema_is_current(generated: tuple[str, list[str]]) -> None:
    schema, _ = generated
    committed = COMMITTED.read_text(encoding="utf-8") if COMMITTED.exists() else ""
    if schema != committed:
        diff = difflib.unified_diff(
            committed.splitlines(keepends=True),
            schema.splitlines(keepends=True),
            "docs/openapi.yaml",
            "generated",
        )
        pytest.fail("docs/openapi.yaml is out of date: run make openapi\n" + "".join(diff))


def test_openapi_schema_generates_without_warnings(generated: tuple[str, list[str]]) -> None:
    _, problems = generated
    assert not problems, "the API schema has warnings or errors:\n" + "\n".join(problems)
