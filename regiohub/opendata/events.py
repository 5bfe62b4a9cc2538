"""What the open data portal tells the rest of the platform, and the names of its history.

Events (see ``core.events``) are published by the services in their transaction and
delivered after commit; ``docs/events.md`` says who listens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from regiohub.core import events, history

#: The door other modules may use (tests/test_module_walls.py checks it).
__all__ = ["Action", "PublicationChanged"]


class Action(history.Actions):
    """The ``action`` of every history entry the portal writes."""

    #: A steward described a dataset for the portal (keywords, contact point, frequency,
    #: places).
    DESCRIBED = "publication.described"
    PUBLISHED = "publication.published"
    WITHDRAWN = "publication.withdrawn"
    #: A harvest created a publication from another catalogue, changed it, or listed it
    #: again: the fields that changed, before and after.
    HARVESTED = "publication.harvested"
    #: Somebody told the portal what they built on a dataset; a steward showed it or not.
    REUSE_SUBMITTED = "reuse.submitted"
    REUSE_APPROVED = "reuse.approved"
    REUSE_REJECTED = "reuse.rejected"
    #: The submitter's name and e-mail were erased (a person's erasure request).
    REUSE_ANONYMISED = "reuse.anonymised"


@events.declare
@dataclass(frozen=True)
class PublicationChanged(events.Event):
    """A dataset appeared on the portal, changed there or left it (``state``: published,
    withdrawn): harvesters and caches of the catalogue read it again."""

    name: ClassVar[str] = "opendata.publication_changed"
    publication_id: int
    slug: str
    state: str
