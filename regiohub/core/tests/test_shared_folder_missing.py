"""A test that needs the shared data folder skips without it, but fails in CI (CI=true)."""

from typing import Any

import pytest

from regiohub.core import testing
from regiohub.core.testing import check_shared_marks, needs_shared, shared_path

ABSENT = ("no-such-folder-for-this-test", "file.csv")


class _Item:
    """As much of a pytest item as check_shared_marks reads."""

    def __init__(self, *marks: pytest.MarkDecorator) -> None:
        self.marks = [mark.mark for mark in marks]

    def iter_markers(self, name: str) -> Any:
        return (mark for mark in self.marks if mark.name == name)


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_missing_shared_file_fails_in_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception) as failed:
        shared_path(*ABSENT)
    assert "no-such-folder-for-this-test/file.csv is absent" in str(failed.value)
    assert "CI is set" in str(failed.value)


@pytest.mark.parametrize("value", [None, "", "false", "0"])
def test_missing_shared_file_skips_outside_ci(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.skip.Exception, match="needs the shared folder"):
        shared_path(*ABSENT)


def test_present_shared_file_is_returned(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setattr(testing, "SHARED", tmp_path)
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("CI", "true")
    assert shared_path("data") == tmp_path / "data"


def test_the_needs_shared_mark_goes_through_the_same_helper(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    item = _Item(pytest.mark.slow, needs_shared(*ABSENT))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        check_shared_marks(item)  # type: ignore[arg-type]
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        check_shared_marks(item)  # type: ignore[arg-type]
