"""Domain events: how one module learns what happened in another without importing it.

An event is a small frozen dataclass with a dotted name and JSON-able fields (ids, codes,
dates as ISO strings: never personal data). A module declares its events in its own
``events.py``; other modules subscribe to them in their ``AppConfig.ready()``::

    # meldpunt/events.py
    @events.declare
    @dataclass(frozen=True)
    class ReportFiled(events.Event):
        name: ClassVar[str] = "meldpunt.report_filed"
        report_id: int
        organisation_id: int

    # in a service, inside its transaction
    events.publish(ReportFiled(report_id=report.pk, organisation_id=report.organisation_id))

    # dashboards/apps.py, ready()
    events.subscribe(ReportFiled, "dashboards.count-report", count_report, queue="data")

Delivery: :func:`publish` writes one task per subscriber in the publisher's transaction (the
task outbox of ``core.tasks``), so the event reaches every subscriber after commit, at least
once, and never when the change rolls back. A subscriber runs inside a transaction together
with an idempotency key of (event id, subscriber): a retried or re-run delivery is skipped
once the first one committed. Subscribers do database work and enqueue tasks for anything
outside the database (mail, HTTP), so a retry never repeats an outside effect.

``docs/events.md`` lists every event; a test keeps it complete.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import structlog
from django.db import transaction

from regiohub.core.tasks import enqueue_on, once, task

log = structlog.get_logger(__name__)

E = TypeVar("E", bound="Event")


@dataclass(frozen=True)
class Event:
    """Base of every domain event. Subclasses set ``name`` and declare their fields."""

    name: ClassVar[str] = ""

    def payload(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_payload(cls: type[E], payload: dict[str, Any]) -> E:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in payload.items() if k in names})


@dataclass(frozen=True)
class Subscriber:
    name: str
    event: type[Event]
    handler: Callable[[Event], Any]
    queue: str
    when: Callable[[Event], bool] | None


_events: dict[str, type[Event]] = {}
_subscribers: dict[str, Subscriber] = {}


def declare(cls: type[E]) -> type[E]:
    """Class decorator: make ``cls`` a known event. Names are unique and dotted
    (``module.what_happened``); fields must be dataclass fields."""
    if not dataclasses.is_dataclass(cls) or not issubclass(cls, Event):
        raise TypeError(f"{cls.__name__} must be a dataclass subclass of Event")
    if not cls.name or "." not in cls.name:
        raise TypeError(f"{cls.__name__} needs a dotted name, e.g. 'meldpunt.report_filed'")
    existing = _events.get(cls.name)
    if existing is not None and _path(existing) != _path(cls):
        raise TypeError(f"event name {cls.name!r} is taken by {_path(existing)}")
    _events[cls.name] = cls
    return cls


def subscribe(
    event: type[Event],
    name: str,
    handler: Callable[[Any], Any],
    *,
    queue: str = "default",
    when: Callable[[Any], bool] | None = None,
) -> None:
    """Deliver every ``event`` to ``handler`` (a function taking the event), after commit.

    ``name`` identifies the subscriber in task rows, logs and idempotency keys: keep it
    stable. ``when`` (optional) is asked at publish time, inside the publisher's
    transaction, whether this event concerns the subscriber at all; it saves a task per
    event for subscribers that care about few of them.
    """
    if event.name not in _events:
        raise TypeError(f"{event.__name__} is not a declared event")
    existing = _subscribers.get(name)
    if existing is not None and (existing.event, _path(existing.handler)) != (
        event,
        _path(handler),
    ):
        raise TypeError(f"subscriber name {name!r} is taken")
    _subscribers[name] = Subscriber(name, event, handler, queue, when)


def publish(event: Event) -> str:
    """Publish ``event`` as part of the current transaction; returns its id.

    Call it from a service, inside its ``transaction.atomic()``: the deliveries are written
    with the change and exist only if it commits.
    """
    if type(event).name not in _events:
        raise TypeError(f"{type(event).__name__} is not a declared event")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("publish events inside the transaction of the change")
    event_id = uuid.uuid4().hex
    payload = event.payload()
    for subscriber in subscribers_of(type(event)):
        if subscriber.when is not None and not subscriber.when(event):
            continue
        enqueue_on(subscriber.queue, deliver, subscriber.name, event.name, payload, event_id)
    return event_id


def subscribers_of(event: type[Event]) -> list[Subscriber]:
    return [s for s in _subscribers.values() if s.event is event]


def declared() -> list[type[Event]]:
    """Every declared event, by name."""
    return [_events[name] for name in sorted(_events)]


def subscribers() -> list[Subscriber]:
    return [_subscribers[name] for name in sorted(_subscribers)]


@task()
def deliver(subscriber: str, event_name: str, payload: dict[str, Any], event_id: str) -> str:
    """Hand one event to one subscriber, once (see the module docstring)."""
    target = _subscribers.get(subscriber)
    if target is None or target.event.name != event_name:
        # A subscriber removed since the event was published: nobody to tell.
        log.warning("event for an unknown subscriber", subscriber=subscriber, event=event_name)
        return "no subscriber"
    event = target.event.from_payload(payload)
    with once(f"event:{event_id}:{subscriber}") as first:
        if not first:
            return "already delivered"
        target.handler(event)
    return "delivered"


def _path(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


# --- The core's own events ----------------------------------------------------------


@declare
@dataclass(frozen=True)
class PersonErased(Event):
    """A data-subject erasure request was carried out in every module
    (``regiohub privacy erase``). ``subject`` is a SHA-256 of the e-mail address, so a
    subscriber can match what it keeps elsewhere without the address travelling."""

    name: ClassVar[str] = "core.person_erased"
    subject: str
    records: dict[str, int]
