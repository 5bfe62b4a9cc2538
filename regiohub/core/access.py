"""The one way to ask what a user may see: scope any queryset to their organisations.

A membership grants its role's capabilities in its organisation and in every organisation
below it (a membership in the region covers its municipalities). Superusers see everything.
Every list, detail, API and download view goes through :func:`scope` or :func:`require`.

A request authenticated with a personal API token reaches less: :func:`limit_to_token`
narrows every answer for that request to the token's organisations (and those below them),
and a read-only token keeps only the capabilities that merely look (``Capability.reads``).
The person's own rights are read anew on every request, so a token never gives more than
its owner holds now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet

from regiohub.core.roles import VIEW_ORGANISATION, Capability, capabilities_of, only_reads

M = TypeVar("M", bound=Model)
K = TypeVar("K")

_CACHE_ATTR = "_regiohub_access_cache"
_SCOPE_ATTR = "_regiohub_token_scope"


@dataclass(frozen=True)
class TokenScope:
    """What an API token lets its request reach, within what its owner holds."""

    #: Only capabilities that look (``Capability.reads``); nothing that changes anything.
    read_only: bool
    #: The organisations chosen for the token (each covers those below it); ``None``:
    #: every organisation the person holds a role in.
    organisations: frozenset[int] | None = None


def limit_to_token(user: Any, scope: TokenScope) -> None:
    """Answer for ``user`` (the object of one request) only within ``scope``."""
    forget(user)
    user.__dict__[_SCOPE_ATTR] = scope


def token_scope(user: Any) -> TokenScope | None:
    """The scope of the API token this request came with, or ``None`` (a login)."""
    return None if user is None else user.__dict__.get(_SCOPE_ATTR)


def _children() -> dict[int | None, list[int]]:
    from regiohub.core.models import Organisation

    children: dict[int | None, list[int]] = {}
    for pk, parent_id in Organisation.objects.values_list("pk", "parent_id"):
        children.setdefault(parent_id, []).append(pk)
    return children


def _walk(roots: set[int], children: dict[int | None, list[int]]) -> set[int]:
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        pk = stack.pop()
        if pk in seen:
            continue
        seen.add(pk)
        stack.extend(children.get(pk, ()))
    return seen


def _descendants(roots: set[int]) -> set[int]:
    return _walk(roots, _children())


def below_each(groups: dict[K, set[int]]) -> dict[K, set[int]]:
    """For each group of organisations, those organisations and every one below them (one
    read of the tree for all groups): who a thing meant for an organisation reaches."""
    if not groups:
        return {}
    children = _children()
    return {key: _walk(roots, children) for key, roots in groups.items()}


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
    limit = token_scope(user)
    if limit is not None:
        if limit.read_only and not only_reads(capability):
            ids = frozenset()
        elif limit.organisations is not None:
            ids = ids & frozenset(_descendants(set(limit.organisations)))
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
