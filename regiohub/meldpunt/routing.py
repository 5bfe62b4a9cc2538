"""Who owns the problem at this place: a municipality's rules against its asset layers.

:func:`route` answers for one point and subject with a :class:`Route`: the owner (the
subject's own department, another department, or an external body such as the roads
agency) and how that was decided (rule, layer version, feature, distance), or
``uncertain`` with the reason. It fails closed: a layer that is switched off, has no
version or cannot be read, an asset whose manager is not linked to an owner, or two owners
at the same distance never fall back to a default; the report goes to the
routing-uncertain queue with the reason instead. Only when no rule applies does the
subject's own department own the report, and the trace says so.

Distances are metric, point to segment in Lambert 72 (EPSG:31370); the layers are kept in
those metres (see ``meldpunt.layers``). The rules and layers are prepared once per process
and rebuilt when their stamp changes (one small query per call), so an admin's change or a
new layer version holds at once in every web process and worker.
"""

from __future__ import annotations

import fnmatch
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.db.models import Count, Max
from django.db.models.signals import post_delete, post_save
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from shapely.errors import ShapelyError
from shapely.geometry import Point, shape
from shapely.strtree import STRtree

from regiohub.core import geo
from regiohub.core.models import Organisation
from regiohub.meldpunt.models import (
    Answer,
    AssetFeature,
    AssetLayer,
    ExternalBody,
    OwnerKind,
    RoutingRule,
)

#: Two assets whose distances differ by less than this are "at the same distance": a tap
#: on a phone's map is not more precise.
TIE_M = 1.0
#: Within this distance of another municipality, the form asks which one is meant.
BORDER_M = 25.0


class Reason:
    """Why a route is uncertain: stored as a code with its details, shown translated."""

    LAYER_INACTIVE = "layer_inactive"
    LAYER_MISSING = "layer_missing"
    LAYER_UNREADABLE = "layer_unreadable"
    TWO_OWNERS = "two_owners"
    UNKNOWN_MANAGER = "unknown_manager"
    OTHER_MUNICIPALITY = "other_municipality"
    PLACE_UNKNOWN = "place_unknown"
    OWNER_INACTIVE = "owner_inactive"
    HANDOVER_REJECTED = "handover_rejected"

    TEXT = {
        LAYER_INACTIVE: gettext_lazy("The layer “%(layer)s” is switched off."),
        LAYER_MISSING: gettext_lazy("The layer “%(layer)s” has no version to route with."),
        LAYER_UNREADABLE: gettext_lazy(
            "The layer “%(layer)s” (version %(version)s) cannot be read: %(error)s"
        ),
        TWO_OWNERS: gettext_lazy(
            "Two owners at the same distance: %(first)s (%(first_distance)s m) and "
            "%(second)s (%(second_distance)s m)."
        ),
        UNKNOWN_MANAGER: gettext_lazy(
            "The nearest asset (%(feature)s) is managed by %(manager)s (code %(code)s), "
            "which is not linked to an owner."
        ),
        OTHER_MUNICIPALITY: gettext_lazy(
            "The nearest asset (%(feature)s) is managed by another municipality: %(manager)s."
        ),
        PLACE_UNKNOWN: gettext_lazy(
            "The place is not known, and the layer “%(layer)s” decides who owns this subject."
        ),
        OWNER_INACTIVE: gettext_lazy("%(owner)s takes no hand-overs."),
        HANDOVER_REJECTED: gettext_lazy(
            "%(body)s sent the report back: it is not theirs to handle. Decide who owns it."
        ),
    }


def reason_text(code: str, params: dict[str, Any]) -> str:
    """The reason in the active language (an unknown code is shown as it is)."""
    text = Reason.TEXT.get(code)
    if text is None:
        return code
    try:
        return str(text) % params
    except (KeyError, TypeError, ValueError):
        return str(text)


@dataclass(frozen=True)
class Route:
    """Where a report goes and why (the trace kept with the report)."""

    uncertain: bool
    owner_kind: str
    owner_name: str = ""
    external_body_id: int | None = None
    department_id: int | None = None
    rule_id: int | None = None
    rule_text: str = ""
    layer_version_id: int | None = None
    layer_name: str = ""
    layer_is_demo: bool = False
    feature_id: str = ""
    feature_name: str = ""
    manager_code: str = ""
    distance_m: float | None = None
    reason_code: str = ""
    reason_params: dict[str, Any] = field(default_factory=dict)
    #: The rule wants the citizen asked whether the report is about the asset found.
    ask: bool = False
    answer: str = ""

    @property
    def reason(self) -> str:
        return reason_text(self.reason_code, self.reason_params) if self.reason_code else ""

    @property
    def from_layer(self) -> bool:
        return bool(self.feature_id)


# -- the prepared layers and rules -------------------------------------------------------


@dataclass
class _Layer:
    id: int
    name: str
    kind: str
    is_demo: bool
    version_id: int | None = None
    version_number: int | None = None
    error: tuple[str, dict[str, Any]] | None = None  # (reason code, params)
    tree: STRtree | None = None
    geometries: np.ndarray | None = None
    feature_ids: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    managers: list[tuple[str, str]] = field(default_factory=list)  # (code, name)


@dataclass(frozen=True)
class _Rule:
    id: int
    organisation_id: int
    codes: frozenset[str]
    layer_id: int | None
    distance_m: float
    manager_patterns: tuple[str, ...]
    owner_kind: str
    external_body_id: int | None
    department_id: int | None
    ask: bool
    text: str


@dataclass
class _Owner:
    kind: str
    name: str
    external_body_id: int | None = None
    department_id: int | None = None
    active: bool = True


@dataclass
class _Snapshot:
    stamp: tuple
    layers: dict[int, _Layer]
    rules: dict[int, list[_Rule]]  # per organisation, in order
    bodies: dict[int, _Owner]
    body_patterns: list[tuple[str, int]]  # (manager code pattern, body id)
    municipalities: dict[str, tuple[int, str]]  # NIS code -> (organisation id, name)
    departments: dict[int, _Owner]


def _stamp() -> tuple:
    rules = RoutingRule.objects.aggregate(n=Count("id"), at=Max("updated_at"))
    layers = tuple(
        AssetLayer.objects.order_by("id").values_list(
            "id", "current_version_id", "is_active", "updated_at"
        )
    )
    bodies = tuple(
        ExternalBody.objects.order_by("id").values_list("id", "manager_codes", "is_active", "name")
    )
    return (rules["n"], rules["at"], layers, bodies)


def _load_layer(layer: AssetLayer) -> _Layer:
    prepared = _Layer(layer.pk, layer.display_name, layer.kind, layer.is_demo)
    if not layer.is_active:
        prepared.error = (Reason.LAYER_INACTIVE, {"layer": layer.display_name})
        return prepared
    version = layer.current_version
    if version is None:
        prepared.error = (Reason.LAYER_MISSING, {"layer": layer.display_name})
        return prepared
    prepared.version_id, prepared.version_number = version.pk, version.number
    geometries = []
    try:
        for fid, name, code, manager, geometry in AssetFeature.objects.filter(
            version=version
        ).values_list("feature_id", "name", "manager_code", "manager_name", "geometry"):
            shaped = shape(geometry)
            if shaped.is_empty:
                raise ValueError(_("feature %(id)s has no geometry") % {"id": fid})
            geometries.append(shaped)
            prepared.feature_ids.append(fid)
            prepared.names.append(name)
            prepared.managers.append((code, manager))
        if len(geometries) != version.feature_count:
            raise ValueError(
                _("%(found)d of its %(count)d features are there")
                % {"found": len(geometries), "count": version.feature_count}
            )
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, ShapelyError) as error:
        prepared.error = (
            Reason.LAYER_UNREADABLE,
            {"layer": layer.display_name, "version": version.number, "error": str(error)},
        )
        prepared.feature_ids, prepared.names, prepared.managers = [], [], []
        return prepared
    prepared.geometries = np.array(geometries, dtype=object)
    shapely.prepare(prepared.geometries)
    prepared.tree = STRtree(prepared.geometries)
    return prepared


def _build(stamp: tuple) -> _Snapshot:
    layers = {
        layer.pk: _load_layer(layer)
        for layer in AssetLayer.objects.select_related("current_version")
    }
    rules: dict[int, list[_Rule]] = {}
    for rule in (
        RoutingRule.objects.filter(is_active=True)
        .select_related("layer", "external_body", "department")
        .order_by("organisation", "position", "id")
    ):
        rules.setdefault(rule.organisation_id, []).append(
            _Rule(
                id=rule.pk,
                organisation_id=rule.organisation_id,
                codes=frozenset(rule.codes),
                layer_id=rule.layer_id,
                distance_m=rule.distance_m,
                manager_patterns=tuple(p for p in rule.manager_codes.split(",") if p),
                owner_kind=rule.owner_kind,
                external_body_id=rule.external_body_id,
                department_id=rule.department_id,
                ask=rule.ask_citizen,
                text=_rule_text(rule),
            )
        )
    bodies: dict[int, _Owner] = {}
    patterns: list[tuple[str, int]] = []
    for body in ExternalBody.objects.all():
        bodies[body.pk] = _Owner(
            OwnerKind.EXTERNAL, body.display_name, external_body_id=body.pk,
            active=body.is_active,
        )  # fmt: skip
        patterns += [(p.strip(), body.pk) for p in body.manager_codes.split(",") if p.strip()]
    municipalities = {
        nis: (pk, name)
        for pk, nis, name in Organisation.objects.filter(
            kind="municipality", nis_code__isnull=False
        ).values_list("pk", "nis_code", "name")
    }
    from regiohub.core.models import Department

    departments = {
        d.pk: _Owner(OwnerKind.DEPARTMENT, d.display_name, department_id=d.pk)
        for d in Department.objects.filter(
            pk__in=[r.department_id for rs in rules.values() for r in rs if r.department_id]
        )
    }
    return _Snapshot(stamp, layers, rules, bodies, patterns, municipalities, departments)


def _rule_text(rule: RoutingRule) -> str:
    where = (
        _("within %(metres)s m of %(layer)s")
        % {"metres": f"{rule.distance_m:g}", "layer": rule.layer.display_name}
        if rule.layer
        else _("anywhere")
    )
    if rule.manager_codes:
        where += " " + _("(managers %(codes)s)") % {"codes": rule.manager_codes}
    return _("Rule %(position)s: %(subjects)s %(where)s → %(owner)s") % {
        "position": rule.position,
        "subjects": rule.category_codes,
        "where": where,
        "owner": rule.get_owner_kind_display()
        if rule.owner_kind in (OwnerKind.MANAGER, OwnerKind.MUNICIPALITY)
        else str(rule.external_body or rule.department or ""),
    }


_lock = threading.Lock()
_snapshot: _Snapshot | None = None
_checked_at = 0.0


def _current() -> _Snapshot:
    """The prepared rules and layers; their stamp is read again at most every
    ``MELDPUNT_ROUTING_CHECK_SECONDS`` (changes saved in this process reset it at once)."""
    global _snapshot, _checked_at
    snapshot = _snapshot
    now = time.monotonic()
    if snapshot is not None and now - _checked_at < settings.MELDPUNT_ROUTING_CHECK_SECONDS:
        return snapshot
    stamp = _stamp()
    _checked_at = now
    if snapshot is None or snapshot.stamp != stamp:
        with _lock:
            if _snapshot is None or _snapshot.stamp != stamp:
                # The trace's texts are kept in the region's language, whoever routes.
                with translation.override(settings.LANGUAGE_CODE):
                    _snapshot = _build(stamp)
            snapshot = _snapshot
    return snapshot


def invalidate(*_args: Any, **_kwargs: Any) -> None:
    """Forget the prepared rules and layers (connected to their models' saves and deletes;
    call it after a feature was edited in place)."""
    global _snapshot
    with _lock:
        _snapshot = None


for _model in (RoutingRule, AssetLayer, ExternalBody):
    post_save.connect(invalidate, sender=_model, dispatch_uid=f"routing-{_model.__name__}")
    post_delete.connect(invalidate, sender=_model, dispatch_uid=f"routing-del-{_model.__name__}")


# -- routing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hit:
    index: int
    distance: float


def _hits(layer: _Layer, point: Point, distance: float) -> list[_Hit]:
    """The layer's assets within ``distance`` of ``point``, nearest first."""
    assert layer.tree is not None and layer.geometries is not None
    if distance <= 0:
        found = layer.tree.query(point, predicate="intersects")
        return [_Hit(int(i), 0.0) for i in sorted(found)]
    found = layer.tree.query(point, predicate="dwithin", distance=distance)
    if not len(found):
        return []
    distances = shapely.distance(layer.geometries[found], point)
    order = np.argsort(distances, kind="stable")
    return [_Hit(int(found[i]), float(distances[i])) for i in order]


def _matches(code: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(code, p) if "*" in p else code == p for p in patterns)


def _manager_owner(
    snapshot: _Snapshot, layer: _Layer, hit: _Hit, organisation_id: int
) -> _Owner | tuple[str, dict[str, Any]]:
    code, manager = layer.managers[hit.index]
    feature = layer.names[hit.index] or layer.feature_ids[hit.index]
    for pattern, body_id in snapshot.body_patterns:
        if _matches(code, (pattern,)):
            return snapshot.bodies[body_id]
    municipality = snapshot.municipalities.get(code)
    if municipality is not None:
        if municipality[0] == organisation_id:
            return _Owner(OwnerKind.MUNICIPALITY, "")
        return Reason.OTHER_MUNICIPALITY, {
            "feature": feature,
            "manager": manager or municipality[1],
        }
    return Reason.UNKNOWN_MANAGER, {"feature": feature, "manager": manager or code, "code": code}


def _owner(
    snapshot: _Snapshot, rule: _Rule, layer: _Layer | None, hit: _Hit | None, organisation_id: int
) -> _Owner | tuple[str, dict[str, Any]]:
    if rule.owner_kind == OwnerKind.EXTERNAL:
        return snapshot.bodies[rule.external_body_id]  # type: ignore[index]
    if rule.owner_kind == OwnerKind.DEPARTMENT:
        return snapshot.departments[rule.department_id]  # type: ignore[index]
    if rule.owner_kind == OwnerKind.MUNICIPALITY or layer is None or hit is None:
        return _Owner(OwnerKind.MUNICIPALITY, "")
    return _manager_owner(snapshot, layer, hit, organisation_id)


def _uncertain(code: str, params: dict[str, Any], **trace: Any) -> Route:
    return Route(
        uncertain=True, owner_kind=OwnerKind.MUNICIPALITY, reason_code=code,
        reason_params=params, **trace,
    )  # fmt: skip


def _same(a: _Owner, b: _Owner) -> bool:
    return (a.kind, a.external_body_id, a.department_id) == (
        b.kind,
        b.external_body_id,
        b.department_id,
    )


def route(
    organisation_id: int,
    category_code: str,
    latitude: float | None,
    longitude: float | None,
    *,
    place_known: bool = True,
    answer: str = Answer.NOT_ASKED,
) -> Route:
    """Who owns a report on ``category_code`` at this place in this municipality.

    ``answer`` is the citizen's reply to the question about the asset found (see
    :func:`question`): "elsewhere" sets that layer aside for this report.
    """
    snapshot = _current()
    point: Point | None = None
    if place_known and latitude is not None and longitude is not None:
        point = Point(*geo.from_wgs84(latitude, longitude))
    for rule in snapshot.rules.get(organisation_id, ()):
        if category_code not in rule.codes:
            continue
        trace: dict[str, Any] = {"rule_id": rule.id, "rule_text": rule.text, "answer": answer}
        layer = snapshot.layers.get(rule.layer_id) if rule.layer_id else None
        hit: _Hit | None = None
        if rule.layer_id is not None:
            if layer is None:
                return _uncertain(Reason.LAYER_MISSING, {"layer": str(rule.layer_id)}, **trace)
            trace.update(layer_name=layer.name, layer_is_demo=layer.is_demo)
            if layer.error:
                return _uncertain(*layer.error, **trace)
            trace["layer_version_id"] = layer.version_id
            if point is None:
                return _uncertain(Reason.PLACE_UNKNOWN, {"layer": layer.name}, **trace)
            hits = _hits(layer, point, rule.distance_m)
            if not hits:
                continue
            hit = hits[0]
            code = layer.managers[hit.index][0]
            if rule.manager_patterns and not _matches(code, rule.manager_patterns):
                continue
            if answer == Answer.ELSEWHERE:
                continue  # the citizen said the report is not about this asset
            trace.update(
                feature_id=layer.feature_ids[hit.index],
                feature_name=layer.names[hit.index],
                manager_code=code,
                distance_m=round(hit.distance, 1),
                ask=rule.ask,
            )
            owner = _owner(snapshot, rule, layer, hit, organisation_id)
            if isinstance(owner, tuple):
                return _uncertain(*owner, **trace)
            for other in hits[1:]:
                if other.distance - hit.distance >= TIE_M:
                    break
                other_owner = _owner(snapshot, rule, layer, other, organisation_id)
                if isinstance(other_owner, tuple) or not _same(owner, other_owner):
                    name = other_owner.name if isinstance(other_owner, _Owner) else ""
                    return _uncertain(
                        Reason.TWO_OWNERS,
                        {
                            "first": owner.name or _("the municipality"),
                            "first_distance": f"{hit.distance:.1f}",
                            "second": name
                            or layer.managers[other.index][1]
                            or layer.managers[other.index][0],
                            "second_distance": f"{other.distance:.1f}",
                        },
                        **trace,
                    )
        else:
            owner = _owner(snapshot, rule, None, None, organisation_id)
        if isinstance(owner, tuple):  # pragma: no cover - only layer owners can fail
            return _uncertain(*owner, **trace)
        if not owner.active:
            return _uncertain(Reason.OWNER_INACTIVE, {"owner": owner.name}, **trace)
        return Route(
            uncertain=False,
            owner_kind=owner.kind,
            owner_name=owner.name,
            external_body_id=owner.external_body_id,
            department_id=owner.department_id,
            **trace,
        )
    return Route(
        uncertain=False,
        owner_kind=OwnerKind.MUNICIPALITY,
        rule_text=_("No rule applies: the subject's own department."),
        answer=answer,
    )


def route_many(
    organisation_id: int, category_code: str, points: list[tuple[float, float]]
) -> list[Route]:
    """:func:`route` for many points of one municipality and subject (benchmarks, layer
    updates); one stamp check for all."""
    return [route(organisation_id, category_code, lat, lon) for lat, lon in points]


@dataclass(frozen=True)
class AssetQuestion:
    """What the form asks before sending: is the report about this asset?"""

    route: Route
    feature: str
    owner: str
    is_demo: bool


def question(
    organisation_id: int, category_code: str, latitude: float, longitude: float
) -> AssetQuestion | None:
    """The question to ask the citizen, when the place is near an asset whose owner is not
    the municipality's own department and the rule asks (``ask_citizen``)."""
    found = route(organisation_id, category_code, latitude, longitude)
    if found.uncertain or not found.from_layer or not found.ask:
        return None
    if found.owner_kind == OwnerKind.MUNICIPALITY:
        return None
    return AssetQuestion(
        route=found,
        feature=found.feature_name or found.feature_id,
        owner=found.owner_name,
        is_demo=found.layer_is_demo,
    )


def with_answer(found: Route, answer: str) -> Route:
    return replace(found, answer=answer)
