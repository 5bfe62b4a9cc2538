"""What the Open311 API shows: jurisdictions, services, service requests and their filters.

Nothing here returns personal data: a service request carries no name, e-mail, phone,
account or device of the reporter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from regiohub.core.models import Department, HistoryEntry, Organisation
from regiohub.core.models.organisation import OrganisationKind
from regiohub.meldpunt.events import Action
from regiohub.meldpunt.models import Category, CategoryAttribute, Report
from regiohub.meldpunt.workflow import FINISHED, Status

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
#: Changes when what the API offers changes (the service discovery ``changeset``).
CHANGESET = "2026-12-07T00:00:00Z"
MAX_RESULTS = 1000
MAX_IDS = 50
DEFAULT_WINDOW = timedelta(days=90)
#: Our statuses that are ``closed`` in Open311; every other status is ``open``.
CLOSED_STATUSES: frozenset[Status] = FINISHED
#: Statuses whose reason is shown as ``status_notes`` (the reporter is told it as well).
NOTED_STATUSES: frozenset[Status] = frozenset({Status.CANCELLED, Status.REOPENED})

#: The moments a date parameter may name: far enough from the ends of ``datetime`` that a
#: window of 90 days either way, and any time zone, stay representable.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
_W3_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$"
)


class ApiError(Exception):
    """An answer in the spec's error format: HTTP ``status`` and one description per
    problem."""

    def __init__(self, status: int, *descriptions: str) -> None:
        self.status = status
        self.descriptions = list(descriptions)
        super().__init__("; ".join(self.descriptions))


def open311_status(status: str) -> str:
    return "closed" if status in CLOSED_STATUSES else "open"


def w3(moment: datetime | None) -> str | None:
    """A date-time in the W3C profile of ISO 8601, in local time with its UTC offset."""
    if moment is None:
        return None
    return timezone.localtime(moment).isoformat(timespec="seconds")


def parse_w3(value: str, field: str) -> datetime:
    """The date parameter ``field``: a W3C date-time with a time zone, between
    ``EARLIEST`` and ``LATEST`` (in UTC); 400 otherwise. Every date parameter goes through
    here, so no date at the edge of the calendar reaches arithmetic or the database."""
    value = value.strip()
    if _W3_DATETIME.match(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            try:
                in_utc: datetime | None = moment.astimezone(UTC)
            except OverflowError:  # 0001-01-01T00:00:00+14:00 is in the year 0 in UTC
                in_utc = None
            if in_utc is None or not EARLIEST <= in_utc <= LATEST:
                raise ApiError(
                    400,
                    _("%(field)s must lie between %(earliest)s and %(latest)s.")
                    % {
                        "field": field,
                        "earliest": EARLIEST.isoformat().replace("+00:00", "Z"),
                        "latest": LATEST.isoformat().replace("+00:00", "Z"),
                    },
                )
            return in_utc
    raise ApiError(
        400,
        _(
            "%(field)s must be a date and time with a time zone in ISO 8601, "
            "e.g. 2026-01-31T00:00:00Z."
        )
        % {"field": field},
    )


def jurisdiction(jurisdiction_id: str | None) -> Organisation:
    """The municipality whose NIS code is ``jurisdiction_id``; 400 or 404 otherwise."""
    jurisdiction_id = (jurisdiction_id or "").strip()
    if not jurisdiction_id:
        raise ApiError(
            400,
            _(
                "jurisdiction_id was not provided. This endpoint serves several "
                "municipalities: give the NIS code of one, e.g. jurisdiction_id=34022."
            ),
        )
    organisation = Organisation.objects.filter(
        kind=OrganisationKind.MUNICIPALITY, nis_code=jurisdiction_id[:10]
    ).first()
    if organisation is None:
        raise ApiError(
            404, _("jurisdiction_id %(id)s was not found.") % {"id": jurisdiction_id[:10]}
        )
    return organisation


def categories(organisation: Organisation) -> QuerySet[Category]:
    """The active categories of ``organisation``; ``has_attributes`` says whether they ask
    extra questions (the services list's ``metadata``), in the same query."""
    return (
        Category.objects.filter(organisation=organisation, is_active=True)
        .select_related("department")
        .annotate(has_attributes=Exists(CategoryAttribute.objects.filter(category=OuterRef("pk"))))
    )


def category(organisation: Organisation, service_code: str | None) -> Category:
    """The active category of ``organisation`` with this code; 400 or 404 otherwise."""
    service_code = (service_code or "").strip()
    if not service_code:
        raise ApiError(400, _("service_code was not provided."))
    found = categories(organisation).filter(code=service_code[:50]).first()
    if found is None:
        raise ApiError(
            404,
            _("service_code %(code)s was not found in %(municipality)s.")
            % {"code": service_code[:50], "municipality": organisation.display_name},
        )
    return found


def _keywords(category: Category) -> str:
    words: list[str] = []
    for word in (category.name, category.name_fr, category.name_en, category.code):
        word = word.replace(",", " ").strip()
        if word and word not in words:
            words.append(word)
    return ", ".join(words)


def service(category: Category) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": category.display_name,
        "description": category.display_help,
        "metadata": bool(getattr(category, "has_attributes", False)),
        "type": "realtime",
        "keywords": _keywords(category),
        "group": category.department.display_name,
    }


def service_definition(category: Category) -> dict[str, Any]:
    """The service's extra questions in the spec's shape, in the client's language: each
    ``variable`` (an app asks it), ``datatype_description`` the help, ``description`` the
    question, ``values`` the answers of a list (empty for other datatypes)."""
    return {
        "service_code": category.code,
        "attributes": [
            {
                "variable": True,
                "code": attribute.code,
                "datatype": attribute.datatype,
                "required": attribute.required,
                "datatype_description": attribute.display_help or None,
                "order": attribute.order,
                "description": attribute.display_label,
                "values": [{"key": o.key, "name": o.name} for o in attribute.options()],
            }
            for attribute in category.attributes.all()
        ],
    }


def _status_notes(rows: Sequence[dict[str, Any]]) -> dict[int, str]:
    """The reason of the change into the current status, for cancelled and reopened
    reports (the reporter was told it too); other reasons are internal."""
    noted = {str(r["pk"]): r["status"] for r in rows if r["status"] in NOTED_STATUSES}
    if not noted:
        return {}
    entries = HistoryEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Report),
        object_id__in=list(noted),
        action=Action.STATUS_CHANGED,
    ).order_by("at", "pk")
    notes: dict[int, str] = {}
    for object_id, after, reason in entries.values_list("object_id", "after", "reason"):
        if (after or {}).get("status") == noted[object_id]:
            notes[int(object_id)] = reason
    return notes


#: The columns an Open311 request is made of: read as plain rows, not model instances
#: (a window of 1000 requests is the API's most expensive answer).
ROW_FIELDS = (
    "pk", "reference", "status", "category_id", "department_id", "description",
    "created_at", "updated_at", "closed_at", "resolved_at", "resolution_due_at",
    "address", "latitude", "longitude", "location_is_approximate",
)  # fmt: skip


def service_request(
    row: dict[str, Any], category: tuple[str, str], department: str, status_notes: str = ""
) -> dict[str, Any]:
    closed = row["status"] in CLOSED_STATUSES
    updated = (row["closed_at"] or row["resolved_at"] or row["updated_at"]) if closed else None
    return {
        "service_request_id": row["reference"],
        "status": "closed" if closed else "open",
        "status_notes": status_notes or None,
        "service_name": category[0],
        "service_code": category[1],
        "description": row["description"],
        "agency_responsible": department,
        "service_notice": None,
        "requested_datetime": w3(row["created_at"]),
        "updated_datetime": w3(updated or row["updated_at"]),
        "expected_datetime": None if closed else w3(row["resolution_due_at"]),
        "address": row["address"] or None,
        "address_id": None,
        "zipcode": None,
        "lat": row["latitude"],
        "long": row["longitude"],
        "media_url": None,
    }


def _public(rows: list[dict[str, Any]]) -> None:
    """What anyone may read, the public map's rules (ADR 0035): no free text, the street
    without house number, no point for an unknown place, a point generalised for sensitive
    subjects and none for subjects kept off the map."""
    from regiohub.meldpunt.public_map import generalise, street_of

    rules = dict(
        Category.objects.filter(pk__in={r["category_id"] for r in rows}).values_list(
            "pk", "map_generalise_m"
        )
    )
    shown = set(
        Category.objects.filter(
            pk__in={r["category_id"] for r in rows}, is_public_on_map=True
        ).values_list("pk", flat=True)
    )
    for row in rows:
        row["description"] = None
        metres = rules.get(row["category_id"]) or 0
        on_map = row["category_id"] in shown
        row["address"] = street_of(row["address"] or "") if on_map and not metres else ""
        if row["location_is_approximate"] or not on_map:
            row["latitude"] = row["longitude"] = None
        elif metres:
            lat, lon = generalise([row["latitude"]], [row["longitude"]], metres)
            row["latitude"], row["longitude"] = float(lat[0]), float(lon[0])


def service_requests(reports: QuerySet[Report], *, public: bool = True) -> list[dict[str, Any]]:
    """The requests as Open311 shows them: to anyone (``public``) without the reporter's
    words or exact places (see :func:`_public`); in full to a client key of the
    municipality."""
    rows = list(reports.values(*ROW_FIELDS))
    if public:
        _public(rows)
    categories = {
        c.pk: (c.display_name, c.code)
        for c in Category.objects.filter(pk__in={r["category_id"] for r in rows})
    }
    departments = dict(
        Department.objects.filter(pk__in={r["department_id"] for r in rows}).values_list(
            "pk", "name"
        )
    )
    notes = _status_notes(rows)
    return [
        service_request(
            row,
            categories[row["category_id"]],
            departments[row["department_id"]],
            notes.get(row["pk"], ""),
        )
        for row in rows
    ]


def _list(params: Any, name: str) -> list[str]:
    """A comma-separated parameter that may also be given several times."""
    values = params.getlist(name) if hasattr(params, "getlist") else [params.get(name) or ""]
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def reports_of(organisation: Organisation) -> QuerySet[Report]:
    return Report.objects.filter(organisation=organisation)


def search(
    organisation: Organisation, params: Any, now: datetime | None = None
) -> QuerySet[Report]:
    """The reports of GET requests: by ids (which overrides the other arguments), or by
    service codes, status and a window of at most 90 days (default: the last 90), newest
    first, at most 1000."""
    reports = reports_of(organisation)
    ids = _list(params, "service_request_id")
    if ids:
        if len(ids) > MAX_IDS:
            raise ApiError(
                400,
                _("Ask for at most %(count)d service_request_id at once.") % {"count": MAX_IDS},
            )
        return reports.filter(reference__in=ids).order_by("-created_at")

    errors: list[str] = []
    codes = _list(params, "service_code")
    if codes:
        reports = reports.filter(category__code__in=codes)
    statuses = set(_list(params, "status"))
    if statuses - {"open", "closed"}:
        errors.append(_("status must be open, closed or both (comma-separated)."))
    elif statuses == {"open"}:
        reports = reports.exclude(status__in=CLOSED_STATUSES)
    elif statuses == {"closed"}:
        reports = reports.filter(status__in=CLOSED_STATUSES)

    start = end = None
    for field in ("start_date", "end_date"):
        if (params.get(field) or "").strip():
            try:
                value = parse_w3(params[field], field)
            except ApiError as exc:
                errors.extend(exc.descriptions)
                continue
            if field == "start_date":
                start = value
            else:
                end = value
    if errors:
        raise ApiError(400, *errors)
    now = now or timezone.now()
    if start is None and end is None:
        end = now
    if start is None:
        start = end - DEFAULT_WINDOW
    if end is None:
        end = start + DEFAULT_WINDOW
    if end < start:
        raise ApiError(400, _("end_date must not be before start_date."))
    if end - start > DEFAULT_WINDOW:
        raise ApiError(400, _("start_date and end_date may not span more than 90 days."))
    reports = reports.filter(created_at__gte=start, created_at__lte=end)
    return reports.order_by("-created_at")[:MAX_RESULTS]
