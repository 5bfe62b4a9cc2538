"""Domain events: published in the change's transaction, delivered after commit, once per
subscriber, on the subscriber's queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from regiohub.core import events
from regiohub.core.testing import run_tasks

pytestmark = pytest.mark.django_db(transaction=False)

received: list[tuple[str, int]] = []


@events.declare
@dataclass(frozen=True)
class SomethingHappened(events.Event):
    name: ClassVar[str] = "testing.something_happened"
    thing_id: int
    note: str = ""


def _remember(event: SomethingHappened) -> None:
    received.append(("first", event.thing_id))


def _remember_too(event: SomethingHappened) -> None:
    received.append(("second", event.thing_id))


def _fails_once(event: SomethingHappened) -> None:
    received.append(("flaky", event.thing_id))
    if sum(1 for who, _ in received if who == "flaky") == 1:
        raise RuntimeError("first try fails")


@pytest.fixture(autouse=True)
def _subscribers(settings):
    settings.TASK_RETRY_BASE_SECONDS = 0
    received.clear()
    events.subscribe(SomethingHappened, "testing.first", _remember, queue="data")
    events.subscribe(SomethingHappened, "testing.second", _remember_too, queue="mail")
    yield
    for name in ("testing.first", "testing.second", "testing.flaky", "testing.picky"):
        events._subscribers.pop(name, None)


def _deliveries() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path__endswith="events.deliver"))


def test_every_subscriber_gets_the_event_once_after_commit_on_its_own_queue():
    with transaction.atomic():
        events.publish(SomethingHappened(thing_id=7, note="x"))
        assert received == []  # nothing runs before the change commits
    assert sorted(t.queue_name for t in _deliveries()) == ["data", "mail"]
    run_tasks()
    assert sorted(received) == [("first", 7), ("second", 7)]


def test_a_rolled_back_change_publishes_nothing():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        events.publish(SomethingHappened(thing_id=8))
        1 / 0  # noqa: B018
    assert _deliveries() == []


@pytest.mark.django_db(transaction=True)
def test_publishing_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside the transaction"):
        events.publish(SomethingHappened(thing_id=9))


def test_a_delivery_that_runs_again_does_not_reach_the_subscriber_twice():
    with transaction.atomic():
        event_id = events.publish(SomethingHappened(thing_id=10))
    run_tasks()
    # A worker killed after the subscriber committed runs the same task again.
    payload = SomethingHappened(thing_id=10).payload()
    name = SomethingHappened.name
    assert events.deliver.call("testing.first", name, payload, event_id) == "already delivered"
    assert sorted(received) == [("first", 10), ("second", 10)]


def test_a_failing_subscriber_is_retried_on_its_queue_and_the_others_are_not_repeated():
    events.subscribe(SomethingHappened, "testing.flaky", _fails_once, queue="connectors")
    with transaction.atomic():
        events.publish(SomethingHappened(thing_id=11))
    run_tasks()
    assert sorted(received) == [("first", 11), ("flaky", 11), ("flaky", 11), ("second", 11)]
    retries = [t for t in _deliveries() if t.args_kwargs["args"][0] == "testing.flaky"]
    assert {t.queue_name for t in retries} == {"connectors"}
    assert len(retries) == 2


def test_a_subscriber_may_decline_events_at_publish_time():
    events.subscribe(
        SomethingHappened,
        "testing.picky",
        _remember,
        when=lambda event: event.thing_id > 100,
    )
    with transaction.atomic():
        events.publish(SomethingHappened(thing_id=12))
    assert not [t for t in _deliveries() if t.args_kwargs["args"][0] == "testing.picky"]


def test_names_are_unique():
    @dataclass(frozen=True)
    class Impostor(events.Event):
        name: ClassVar[str] = "testing.something_happened"

    with pytest.raises(TypeError, match="taken"):
        events.declare(Impostor)
    with pytest.raises(TypeError, match="taken"):
        events.subscribe(SomethingHappened, "testing.first", _remember_too)


def test_an_undeclared_event_cannot_be_published_or_subscribed_to():
    @dataclass(frozen=True)
    class Stray(events.Event):
        name: ClassVar[str] = "testing.stray"

    with pytest.raises(TypeError, match="not a declared event"):
        events.subscribe(Stray, "testing.stray", _remember)
    with transaction.atomic(), pytest.raises(TypeError, match="not a declared event"):
        events.publish(Stray())


def test_every_product_subscriber_listens_on_a_configured_queue(settings):
    configured = set(settings.TASKS["default"]["QUEUES"])
    product = [s for s in events.subscribers() if not s.name.startswith("testing.")]
    assert product, "the connectors subscribe at start-up"
    assert {s.queue for s in product} <= configured
