"""Roles people hold in an organisation, and what each role may do.

Views and services ask for a :class:`Capability`, never for a role or a group name. Roles
are the platform's; each module declares its own capabilities and grants them to roles in
its ``permissions.py``, so a new module edits nothing here.
"""

from __future__ import annotations

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    AGENT = "agent", _("Contact-centre agent")
    HANDLER = "handler", _("Handler")
    DATA_STEWARD = "data_steward", _("Data steward")
    ANALYST = "analyst", _("Analyst")
    MANAGER = "manager", _("Manager")
    EMPLOYEE = "employee", _("Employee")


class Capability(str):
    """Something a person may do in an organisation. Core declares the platform's own;
    each module declares its capabilities in its ``permissions.py`` and says which roles
    grant them with :func:`grant` (an administrator holds every capability)."""

    label: str | Promise
    #: Only lets a person look (``reads=True``): a read-only API token keeps it; every
    #: other capability changes something and is withheld from such a token.
    reads: bool

    def __new__(cls, value: str, label: str | Promise, *, reads: bool = False) -> Capability:
        if value in _capabilities and _capabilities[value].label != label:
            raise ValueError(f"capability {value!r} is declared twice")
        capability = super().__new__(cls, value)
        capability.label = label
        capability.reads = reads
        _capabilities[value] = capability
        return capability


_capabilities: dict[str, Capability] = {}
_grants: dict[str, set[str]] = {}


def grant(role: str, *capabilities: Capability) -> None:
    """Role ``role`` holds ``capabilities`` (in its organisation and those below)."""
    _grants.setdefault(role, set()).update(capabilities)


def all_capabilities() -> list[Capability]:
    return [_capabilities[name] for name in sorted(_capabilities)]


def only_reads(capability: str) -> bool:
    """Whether ``capability`` only lets a person look (declared with ``reads=True``)."""
    found = _capabilities.get(str(capability))
    return bool(found is not None and found.reads)


def capabilities_of(role: str) -> frozenset[str]:
    if role == Role.ADMIN:
        return frozenset(_capabilities)
    return frozenset(_grants.get(role, ()))


#: The platform's own capabilities; modules add theirs.
VIEW_ORGANISATION = Capability(
    "view_organisation", _("See the organisation, its departments and people"), reads=True
)
MANAGE_ORGANISATION = Capability(
    "manage_organisation", _("Add departments and people, assign roles")
)

for _role in Role:
    grant(_role, VIEW_ORGANISATION)
