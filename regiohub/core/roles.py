"""Roles people hold in an organisation, and what each role may do.

Views and services ask for a :class:`Capability`, never for a role or a group name; the
mapping below is the one place that says which role grants what.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    AGENT = "agent", _("Contact-centre agent")
    HANDLER = "handler", _("Handler")
    DATA_STEWARD = "data_steward", _("Data steward")
    ANALYST = "analyst", _("Analyst")
    MANAGER = "manager", _("Manager")
    EMPLOYEE = "employee", _("Employee")


class Capability(models.TextChoices):
    VIEW_ORGANISATION = "view_organisation", _("See the organisation, its departments and people")
    MANAGE_ORGANISATION = "manage_organisation", _("Add departments and people, assign roles")
    TAKE_REPORTS = "take_reports", _("Take reports from citizens")
    HANDLE_REPORTS = "handle_reports", _("Handle reports")
    MANAGE_DATA = "manage_data", _("Load and publish datasets")
    VIEW_DATA = "view_data", _("Query internal datasets")
    VIEW_DASHBOARDS = "view_dashboards", _("See management dashboards")


_ALL = frozenset(Capability)

ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.ADMIN: _ALL,
    Role.AGENT: frozenset(
        {Capability.VIEW_ORGANISATION, Capability.TAKE_REPORTS, Capability.HANDLE_REPORTS}
    ),
    Role.HANDLER: frozenset({Capability.VIEW_ORGANISATION, Capability.HANDLE_REPORTS}),
    Role.DATA_STEWARD: frozenset(
        {Capability.VIEW_ORGANISATION, Capability.MANAGE_DATA, Capability.VIEW_DATA}
    ),
    Role.ANALYST: frozenset(
        {Capability.VIEW_ORGANISATION, Capability.VIEW_DATA, Capability.VIEW_DASHBOARDS}
    ),
    Role.MANAGER: frozenset(
        {Capability.VIEW_ORGANISATION, Capability.VIEW_DATA, Capability.VIEW_DASHBOARDS}
    ),
    Role.EMPLOYEE: frozenset({Capability.VIEW_ORGANISATION}),
}


def capabilities_of(role: str) -> frozenset[Capability]:
    return ROLE_CAPABILITIES.get(role, frozenset())
