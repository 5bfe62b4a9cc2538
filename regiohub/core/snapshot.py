"""Per-process copies of rows that are read at every request and rarely change.

A :class:`Snapshot` builds its value once per process and keeps it until one of its models
changes. A change saved in this process drops it at once (after commit); other processes
learn of it through a generation token in the shared cache (``CACHES["default"]``: the
database by default, redis when configured), which they read at most every
``check_seconds``. A token that disappears from the cache (culled, cache cleared) counts as
a change: the worst a lost token does is one rebuild too many.

Only for data where a few seconds of staleness in *other* processes is harmless (the
subjects of the contact point, the organisations, calendars): never for permissions.
Changes made with ``QuerySet.update()`` send no signal: call :meth:`Snapshot.changed`.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from django.core.cache import cache
from django.db import transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")

_MISSING = object()
_all: list[Snapshot[Any]] = []


def reset_all() -> None:
    """Forget every snapshot of this process (tests: each test starts from the database)."""
    for snapshot in _all:
        snapshot.reset()


class Snapshot(Generic[T]):
    """``build()``'s value, rebuilt when a row of ``models`` changed anywhere."""

    def __init__(
        self,
        name: str,
        build: Callable[[], T],
        models: Iterable[type[Model]],
        *,
        check_seconds: Callable[[], float] | float = 2.0,
    ) -> None:
        self.name = name
        self._build = build
        self._key = f"snapshot:{name}"
        self._check_seconds = check_seconds
        self._lock = threading.Lock()
        self._value: Any = _MISSING
        self._token: object = _MISSING
        self._checked_at = 0.0
        _all.append(self)
        for model in models:
            uid = f"snapshot-{name}-{model._meta.label}"
            post_save.connect(self._on_change, sender=model, dispatch_uid=uid, weak=False)
            post_delete.connect(
                self._on_change, sender=model, dispatch_uid=f"{uid}-del", weak=False
            )

    def get(self) -> T:
        """The current value; at most one cache read per ``check_seconds``."""
        now = time.monotonic()
        value = self._value
        if value is not _MISSING and now - self._checked_at < self._seconds():
            return value
        token = cache.get(self._key)
        if token is None:  # never changed, or culled: start a generation all processes share
            cache.add(self._key, uuid.uuid4().hex, None)
            token = cache.get(self._key)
        self._checked_at = now
        if value is _MISSING or token != self._token:
            with self._lock:
                if self._value is _MISSING or token != self._token:
                    self._value = self._build()
                    self._token = token
                value = self._value
        return value

    def changed(self) -> None:
        """Call after a change that sent no signal (``QuerySet.update()``, raw SQL). Takes
        effect when the current transaction commits."""
        transaction.on_commit(self._publish)

    def reset(self) -> None:
        """Forget the value in this process only (tests)."""
        with self._lock:
            self._value = _MISSING
            self._token = _MISSING

    def _on_change(self, *_args: Any, **_kwargs: Any) -> None:
        # Forget it now too: this process must not file against what it just changed,
        # even before the commit (and a test's transaction never commits).
        self.reset()
        self.changed()

    def _publish(self) -> None:
        # A fresh token, not a counter: no read-modify-write, and a token that was culled
        # can never come back with the value a process already holds.
        cache.set(self._key, uuid.uuid4().hex, None)
        self.reset()

    def _seconds(self) -> float:
        return self._check_seconds() if callable(self._check_seconds) else self._check_seconds
