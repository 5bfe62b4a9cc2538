"""The one way to ask what a user may see: scope any queryset to their organisations.

A membership grants its role's capabilities in its organisation and in every organisation
below it (a membership in the region covers its municipalities). Superusers see everything.
Every list, detail, API and download view goes through :func:`scope` or :func:`require`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet

from regiohub.core.roles import VIEW_ORGANISATION, Capability, capabilities_of

M = TypeVar("M", bound=Model)

_CACHE_ATTR = "_regiohub_access_cache"


def _descendants(roots: set[int]) -> set[int]:
    from regiohub.core.models import Organisation

    children: dict[int | None, list[int]] = {}
    for pk, parent_id in Organisation.objects.values_list("pk", "parent_id"):
        children.setdefault(parent_id, []).append(pk)
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        pk = stack.pop()
        if pk in seen:
            continue
        seen.add(pk)
        stack.extend(children.get(pk, ()))
    return seen


def organisation_ids(user: Any, capability: Capability = VIEW_ORGANISATION) -> frozenset[int]:
    """Ids of the organisations in which ``user`` holds ``capability``."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cache: dict[Capability, frozenset[int]] = user.__dict__.setdefault(_CACHE_ATTR, {})
    if capability in cache:
        return cache[capability]
    if user.is_superuser:
        from regiohub.core.models import Organisation

        ids = frozenset(Organisation.objects.values_list("pk", flat=True))
    else:
        roots = {
            org_id
            for org_id, role in user.memberships.values_list("organisation_id", "role")
            if capability in capabilities_of(role)
        }
        ids = frozenset(_descendants(roots)) if roots else frozenset()
    cache[capability] = ids
    return ids


def forget(user: Any) -> None:
    """Drop the cached answer, after the user's memberships changed."""
    user.__dict__.pop(_CACHE_ATTR, None)


def scope(
    queryset: QuerySet[M],
    user: Any,
    *,
    via: str = "organisation",
    capability: Capability = VIEW_ORGANISATION,
) -> QuerySet[M]:
    """Limit ``queryset`` to rows whose ``via`` organisation the user may see.

    ``via`` is the lookup path to the organisation (``"pk"`` for organisations themselves,
    ``"report__organisation"`` for a related model).
    """
    ids = organisation_ids(user, capability)
    return queryset.filter(**{f"{via}__in": ids})


def can(user: Any, capability: Capability, organisation: Any) -> bool:
    org_id = getattr(organisation, "pk", organisation)
    return org_id in organisation_ids(user, capability)


def require(user: Any, capability: Capability, organisation: Any) -> None:
    """Raise ``PermissionDenied`` unless ``user`` holds ``capability`` there."""
    if not can(user, capability, organisation):
        raise PermissionDenied
