"""What a feed is: a source of rows pulled on a schedule, resumable through a cursor.

A new feed is one small class::

    @register
    class BikeCounterFeed(Feed):
        kind = "bike-counter"
        label = gettext_lazy("Bike counter")
        schema = pa.schema([("counter_id", pa.string()), ("hour", UTC_TIMESTAMP), ...])
        primary_key = ("counter_id", "hour")
        time_column = "hour"
        settings_form = BikeCounterSettings  # a django.forms.Form

        def fetch(self, cursor, until):
            ...
            yield FeedBatch(table, (cursor or FeedCursor()).advanced(counter, last_hour))

The caller (the load task) writes each batch, then stores ``batch.cursor``; the next run
passes the stored cursor back. A feed emits the rows after the cursor, never rows of a
period that is still in progress at ``until``. It may also emit again recent rows it gave
before, to catch a source's corrections (Telraam fetches its last days again): the caller
upserts by ``primary_key``, so such a row is updated or left unchanged, never added twice,
and re-running adds nothing.

A feed that reaches out over HTTP uses :mod:`.addresses`: its address must name a host on
the kind's allow-list, checked when the settings are saved and again on every request.

Exceptions tell the caller what to do: :class:`FeedAuthError`, :class:`FeedSettingsError`
and :class:`FeedRequestError` (also :class:`FeedAddressError`) wait for a person to fix the
settings, :class:`FeedTemporaryError` is retried (after ``retry_after`` seconds when the
source said so), the others are reported as they are. Their messages are ours: a status and
a short reason, never a key, never a response body.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import pyarrow as pa
from django import forms
from django.utils.functional import Promise

from regiohub.core.plugins import secret_fields
from regiohub.datasets.feeds.timewindows import require_aware

#: The type of every time column a feed produces.
UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")


class FeedError(Exception):
    """A feed run that failed."""


class FeedSettingsError(FeedError):
    """Settings that do not validate: ``errors`` maps a field name to its (translated)
    messages."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        self.errors = {name: list(messages) for name, messages in errors.items()}
        super().__init__(
            "invalid settings: "
            + "; ".join(f"{name}: {' '.join(self.errors[name])}" for name in sorted(self.errors))
        )


class FeedAuthError(FeedError):
    """The source refused our credentials: retrying will not help."""


class FeedRequestError(FeedError):
    """The source refused the request itself (a segment we may not read, a bad window)."""


class FeedAddressError(FeedRequestError):
    """The address to fetch from is not allowed: its host is not on the feed kind's list
    (``REGIOHUB_DATASETS_FEED_HOSTS``), it resolves to an internal address, or the source
    redirected us elsewhere. Nothing was sent there."""


class FeedTemporaryError(FeedError):
    """The source is unavailable for now (5xx, timeout, rate limit): try again later,
    not before ``retry_after`` seconds when that is known."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FeedRateLimited(FeedTemporaryError):
    """The source asked us to slow down (HTTP 429)."""


class FeedDataError(FeedError):
    """The source answered something we cannot read (not JSON, missing fields)."""


@dataclass(frozen=True)
class FeedCursor:
    """Where a feed stands: per stream (a segment, a counter, ``""`` for a single stream)
    the last complete time that has been fetched and written, in UTC."""

    positions: Mapping[str, datetime] = field(default_factory=dict)

    def get(self, stream: str) -> datetime | None:
        return self.positions.get(stream)

    def advanced(self, stream: str, to: datetime) -> FeedCursor:
        """A new cursor with ``stream`` moved to ``to``."""
        return FeedCursor({**self.positions, stream: require_aware(to, "cursor")})

    def to_json(self) -> dict[str, str]:
        """For a JSON field: ``{"9000008311": "2025-12-07T07:00:00+00:00"}``."""
        return {stream: when.isoformat() for stream, when in sorted(self.positions.items())}

    @classmethod
    def from_json(cls, data: Mapping[str, str] | None) -> FeedCursor:
        return cls(
            {
                str(stream): require_aware(datetime.fromisoformat(when), "cursor")
                for stream, when in (data or {}).items()
            }
        )


@dataclass(frozen=True)
class FeedBatch:
    """Rows to write (``table`` has the feed's ``schema``; it may be empty) and the cursor
    to store once they are written."""

    table: pa.Table
    cursor: FeedCursor


class Feed(abc.ABC):
    """One kind of source. Subclasses set the class attributes and register themselves
    with :func:`regiohub.datasets.feeds.registry.register`."""

    #: Registry key, stored with the dataset's feed configuration.
    kind: ClassVar[str] = ""
    #: Shown to data stewards (``gettext_lazy``).
    label: ClassVar[str | Promise] = ""
    #: The columns of every batch.
    schema: ClassVar[pa.Schema]
    #: Columns that identify a row: a storage layer upserts on them.
    primary_key: ClassVar[tuple[str, ...]] = ()
    #: The column holding each row's time (a :data:`UTC_TIMESTAMP`).
    time_column: ClassVar[str] = ""
    #: Validates the settings dict; also renders it for a data steward.
    settings_form: ClassVar[type[forms.Form]]
    #: The hosts of the real service: the default list of hosts the feed may connect to
    #: (an installation replaces it per kind with ``REGIOHUB_DATASETS_FEED_HOSTS``).
    hosts: ClassVar[tuple[str, ...]] = ()

    def __init__(self, settings: Mapping[str, Any]) -> None:
        from regiohub.core.secrets import unseal_fields

        opened = unseal_fields(settings, self.secret_settings())
        self.settings: dict[str, Any] = self.clean_settings(opened)

    @classmethod
    def secret_settings(cls) -> tuple[str, ...]:
        """The settings entered as passwords: stored sealed (``core.secrets``)."""
        return secret_fields(cls.settings_form)

    @classmethod
    def clean_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The validated settings, or :class:`FeedSettingsError` with per-field messages."""
        form = cls.settings_form(data=dict(settings))
        if not form.is_valid():
            raise FeedSettingsError(
                {name: [str(message) for message in errors] for name, errors in form.errors.items()}
            )
        return form.cleaned_data

    @abc.abstractmethod
    def fetch(self, cursor: FeedCursor | None, until: datetime) -> Iterator[FeedBatch]:
        """Yield the rows after ``cursor`` that are complete at ``until`` (and, if the feed
        catches corrections, recent rows before it again), in batches small enough to write
        one at a time. ``cursor`` is ``None`` on the first run."""

    def empty_table(self) -> pa.Table:
        return self.schema.empty_table()

    def __repr__(self) -> str:  # settings may hold a key: never show them
        return f"<{type(self).__name__} kind={self.kind!r}>"
