"""Append a state change to the history. Call it inside the service's transaction."""

from __future__ import annotations

import enum
from typing import Any, cast

from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from regiohub.core.middleware import current_request_id
from regiohub.core.models import HistoryEntry
from regiohub.core.models.history import CITIZEN as CITIZEN
from regiohub.core.models.history import ERASURE_REQUEST as ERASURE_REQUEST
from regiohub.core.models.history import PRIVACY_COMMAND as PRIVACY_COMMAND
from regiohub.core.models.history import SYSTEM
from regiohub.core.models.history import translated_when_shown as translated_when_shown


class Actions(enum.StrEnum):
    """Base of each module's list of history actions (``meldpunt.events.Action`` ...).

    Every ``action`` written to the history is a member of one of them: :func:`record`
    refuses a string no module declared, so the list a module keeps is the whole list.
    """


class CoreAction(Actions):
    API_TOKEN_CREATED = "api_token.created"  # noqa: S105 - a name, not a secret
    API_TOKEN_REVOKED = "api_token.revoked"  # noqa: S105
    DEPARTMENT_CREATED = "department.created"
    MEMBERSHIP_CREATED = "membership.created"
    MEMBERSHIP_ENDED = "membership.ended"
    PERSON_ERASED = "person.erased"


def known_actions() -> frozenset[str]:
    """Every declared history action."""
    found: set[str] = set()
    stack = list(Actions.__subclasses__())
    while stack:
        cls = stack.pop()
        found.update(member.value for member in cls)
        stack.extend(cls.__subclasses__())
    return frozenset(found)


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    import json

    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def snapshot(obj: models.Model, fields: list[str]) -> dict[str, Any]:
    """The values of ``fields`` on ``obj`` (foreign keys by id), ready for ``record``."""
    data: dict[str, Any] = {}
    for name in fields:
        # Snapshots name the model's own fields, never reverse relations (no attname).
        field = cast("models.Field[Any, Any]", obj._meta.get_field(name))
        data[name] = getattr(obj, field.attname)
    return _jsonable(data)


def changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    """Only the keys whose values differ, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def record(
    subject: models.Model,
    action: str,
    *,
    actor: Any = None,
    actor_label: str | None = None,
    organisation: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    at: Any = None,
) -> HistoryEntry:
    """Append one history entry about ``subject``.

    ``actor`` is a user or ``None`` (then ``actor_label`` says who: :data:`CITIZEN`, a
    connector, or :data:`SYSTEM` by default). Pass the keys, never a translated word: the
    entry is read later in other languages (``HistoryEntry.actor_display`` translates them).
    """
    if action not in known_actions():
        raise ValueError(f"undeclared history action {action!r}: add it to the module's Action")
    user = actor if getattr(actor, "is_authenticated", False) else None
    label = actor_label or (str(user) if user else SYSTEM)
    return HistoryEntry.objects.create(
        actor=user,
        actor_label=label[:200],
        organisation_id=getattr(organisation, "pk", organisation),
        content_type=ContentType.objects.get_for_model(subject),
        object_id=str(subject.pk),
        action=action,
        before=_jsonable(before),
        after=_jsonable(after),
        reason=reason,
        request_id=current_request_id(),
        **({"at": at} if at is not None else {}),
    )


def history_of(subject: models.Model) -> models.QuerySet[HistoryEntry]:
    return HistoryEntry.objects.for_object(subject).select_related("actor")
