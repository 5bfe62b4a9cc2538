"""Per-process snapshots: built once, dropped by a change here at once and by a change in
another process within the check interval, never kept past a lost token."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from regiohub.core.models import Organisation
from regiohub.core.snapshot import Snapshot
from regiohub.core.tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db


class Counting:
    def __init__(self) -> None:
        self.builds = 0

    def __call__(self) -> list[str]:
        self.builds += 1
        return sorted(Organisation.objects.values_list("code", flat=True))


def _snapshot(name: str, build: Counting, seconds: float = 3600) -> Snapshot[list[str]]:
    return Snapshot(name, build, [Organisation], check_seconds=seconds)


def test_built_once_then_read_from_memory(django_assert_num_queries):
    OrganisationFactory(code="AAA")
    build = Counting()
    snapshot = _snapshot("test.once", build)
    assert snapshot.get() == ["AAA"]
    with django_assert_num_queries(0):
        for _ in range(100):
            assert snapshot.get() == ["AAA"]
    assert build.builds == 1


def test_a_change_in_this_process_holds_at_once_and_is_announced_on_commit(
    django_capture_on_commit_callbacks,
):
    build = Counting()
    snapshot = _snapshot("test.here", build)
    token = (snapshot.get(), cache.get("snapshot:test.here"))[1]
    with django_capture_on_commit_callbacks(execute=True):
        OrganisationFactory(code="BBB")
        assert snapshot.get() == ["BBB"]  # before the commit, in this process
    assert cache.get("snapshot:test.here") != token  # the other processes' signal


def test_a_change_in_another_process_holds_after_the_check_interval():
    build = Counting()
    snapshot = _snapshot("test.there", build, seconds=0)
    assert snapshot.get() == []
    # Another process changed a row (no signal here) and published a new token.
    Organisation.objects.bulk_create([Organisation(kind="municipality", code="CCC", name="C")])
    assert snapshot.get() == []  # same token: still the copy
    cache.set("snapshot:test.there", "another-process", None)
    assert snapshot.get() == ["CCC"]
    assert build.builds == 2


def test_a_lost_token_means_a_rebuild_not_a_stale_copy():
    build = Counting()
    snapshot = _snapshot("test.lost", build, seconds=0)
    snapshot.get()
    Organisation.objects.bulk_create([Organisation(kind="municipality", code="DDD", name="D")])
    cache.delete("snapshot:test.lost")  # culled, or the cache was cleared
    assert snapshot.get() == ["DDD"]
    # ... and the new token is shared: the next read is the copy again.
    Organisation.objects.bulk_create([Organisation(kind="municipality", code="EEE", name="E")])
    assert snapshot.get() == ["DDD"]


def test_changed_announces_an_update_that_sent_no_signal(django_capture_on_commit_callbacks):
    OrganisationFactory(code="FFF", name="Oud")
    snapshot = Snapshot(
        "test.update",
        lambda: list(Organisation.objects.values_list("name", flat=True)),
        [Organisation],
        check_seconds=0,
    )
    assert snapshot.get() == ["Oud"]
    with django_capture_on_commit_callbacks(execute=True):
        Organisation.objects.filter(code="FFF").update(name="Nieuw")
        snapshot.changed()
    assert snapshot.get() == ["Nieuw"]
