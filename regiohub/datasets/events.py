"""What the data platform tells the rest of the platform, and the names of its history.

Events (see ``core.events``) are published by the services in their transaction and
delivered after commit; ``docs/events.md`` says who listens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from regiohub.core import events, history

#: The door other modules may use (tests/test_module_walls.py checks it).
__all__ = [
    "Action",
    "DatasetChanged",
    "LoadRefused",
    "VersionPublished",
]


class Action(history.Actions):
    """The ``action`` of every history entry the data platform writes."""

    DATASET_CREATED = "dataset.created"
    DATASET_CHANGED = "dataset.changed"
    FEED_CONFIGURED = "dataset.feed_configured"
    VERSION_PUBLISHED = "dataset.version_published"
    #: A steward made an older version's rows the current ones again (with a reason).
    VERSION_RESTORED = "dataset.version_restored"
    LOAD_STARTED = "load.started"
    LOAD_CONFIRMED = "load.confirmed"
    #: A load that ended: ``load.<state>`` for each final state.
    LOAD_DONE = "load.done"
    LOAD_FAILED = "load.failed"
    LOAD_CANCELLED = "load.cancelled"
    #: Cancelled by the clean-up: the columns were not checked in time, the upload is gone.
    LOAD_EXPIRED = "load.expired"


@events.declare
@dataclass(frozen=True)
class DatasetChanged(events.Event):
    """A dataset was created or its description, licence or access changed: a catalogue
    (the open data portal) reads it again. ``access`` is internal, shared or open."""

    name: ClassVar[str] = "datasets.dataset_changed"
    dataset_id: int
    slug: str
    owner_id: int
    access: str
    changed: list[str]


@events.declare
@dataclass(frozen=True)
class VersionPublished(events.Event):
    """A new version of a dataset can be read: from an upload, a feed run or a restore."""

    name: ClassVar[str] = "datasets.version_published"
    dataset_id: int
    slug: str
    owner_id: int
    access: str
    version: int
    rows: int
    rows_added: int
    rows_updated: int
    #: Rows of the previous version left as they were, and rows it had that are gone.
    rows_unchanged: int = 0
    rows_removed: int = 0


@events.declare
@dataclass(frozen=True)
class LoadRefused(events.Event):
    """A load ended without publishing: its file or rows were refused (``errors`` rows)."""

    name: ClassVar[str] = "datasets.load_refused"
    load_id: int
    dataset_id: int
    owner_id: int
    errors: int
