"""A service request posted by an app becomes a report, through ``submit_report``.

The location decides the municipality, as on every channel: a point in another
municipality than ``jurisdiction_id`` is refused rather than filed elsewhere silently.
``media_url`` is never fetched (that would let any client make us request any URL); it is
kept as an internal note for the handler.
"""

from __future__ import annotations

import math
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext as _

from regiohub.core import history
from regiohub.core.models import Organisation
from regiohub.meldpunt.attributes import parameter
from regiohub.meldpunt.events import Action
from regiohub.meldpunt.models import (
    ApiClient,
    AttributeType,
    Category,
    Message,
    MessageKind,
    Report,
)
from regiohub.meldpunt.models.report import Channel
from regiohub.meldpunt.services import locate, submit_report

from .render import NOT_XML
from .resources import ApiError, category

#: The spec limits a description to 4,000 characters.
MAX_DESCRIPTION = 4000
#: Our error keys (submit_report and the model) -> the Open311 parameter to name.
PARAMETERS = {
    "location": "lat/long",
    "category": "service_code",
    "description": "description",
    "reporter_email": "email",
    "reporter_name": "first_name/last_name",
    "reporter_phone": "phone",
    "address": "address_string",
    "consent": "email/phone",
}
LIMITS = {
    "email": 254,
    "first_name": 100,
    "last_name": 100,
    "phone": 40,
    "address_string": 300,
    "media_url": 2000,
}


def _field_error(parameter: str, message: str) -> str:
    return _("%(field)s: %(message)s") % {"field": parameter, "message": message}


def _coordinate(raw: str, parameter: str, limit: float, errors: list[str]) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not -limit <= value <= limit:
        errors.append(
            _field_error(
                parameter,
                _("a number of degrees (WGS84) between -%(limit)d and %(limit)d is needed.")
                % {"limit": limit},
            )
        )
        return None
    return value


def _clean(data: Any) -> tuple[dict[str, str], float | None, float | None]:
    """Check the parameters; raise one 400 naming every problem."""
    values = {
        name: (data.get(name) or "").strip()
        for name in (
            "lat", "long", "address_string", "address_id", "email", "first_name",
            "last_name", "phone", "description", "media_url",
        )
    }  # fmt: skip
    errors: list[str] = [
        _field_error(name, _("contains control characters that are not allowed."))
        for name, value in values.items()
        if NOT_XML.search(value)
    ]
    if errors:
        raise ApiError(400, *errors)
    latitude = longitude = None
    if values["lat"] or values["long"]:
        if not (values["lat"] and values["long"]):
            errors.append(_field_error("lat/long", _("send both lat and long.")))
        else:
            latitude = _coordinate(values["lat"], "lat", 90, errors)
            longitude = _coordinate(values["long"], "long", 180, errors)
    elif not values["address_string"]:
        if values["address_id"]:
            errors.append(
                _field_error(
                    "address_id",
                    _("address ids are not supported here; send lat and long, or address_string."),
                )
            )
        else:
            errors.append(_field_error("lat/long", _("send lat and long, or address_string.")))
    if not values["description"]:
        errors.append(_field_error("description", _("describe the problem.")))
    elif len(values["description"]) > MAX_DESCRIPTION:
        errors.append(
            _field_error(
                "description",
                _("at most %(limit)d characters.") % {"limit": MAX_DESCRIPTION},
            )
        )
    for name, limit in LIMITS.items():
        if len(values[name]) > limit:
            errors.append(_field_error(name, _("at most %(limit)d characters.") % {"limit": limit}))
    if values["media_url"] and len(values["media_url"]) <= LIMITS["media_url"]:
        try:
            URLValidator(schemes=["http", "https"])(values["media_url"])
        except ValidationError:
            errors.append(_field_error("media_url", _("an http or https URL is needed.")))
    if errors:
        raise ApiError(400, *errors)
    return values, latitude, longitude


#: ``attribute[code]=value``, or ``attribute[code][]=value`` (repeated) for a multivaluelist.
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,50})\](\[\])?$")
#: The most attribute parameters, and values of one, a request may hold.
MAX_ATTRIBUTES = 50


def _attributes(data: Any, found: Category) -> dict[str, Any]:
    """The ``attribute[...]`` parameters as answers by code, refusing (400, each named)
    what does not fit the service definition: an unknown code, a malformed name, several
    values for a question that takes one, control characters, too many values. Whether an
    answer is valid and complete is ``submit_report``'s to say."""
    names = [name for name in data if name.startswith("attribute")]
    if len(names) > MAX_ATTRIBUTES:
        raise ApiError(
            400,
            _field_error(
                "attribute",
                _("at most %(count)d attribute parameters.") % {"count": MAX_ATTRIBUTES},
            ),
        )
    defined = {attribute.code: attribute for attribute in found.attributes.all()}
    answers: dict[str, Any] = {}
    errors: list[str] = []
    for name in names:
        match = _ATTRIBUTE.match(name)
        label = NOT_XML.sub("", name)[:60]
        if match is None:
            errors.append(
                _field_error(
                    label,
                    _(
                        "send attribute[code]=value, or attribute[code][]=value for each value "
                        "of a multivaluelist."
                    ),
                )
            )
            continue
        code, many = match.group(1), bool(match.group(2))
        values = data.getlist(name) if hasattr(data, "getlist") else [data[name]]
        attribute = defined.get(code)
        if attribute is None:
            errors.append(
                _field_error(
                    label,
                    _(
                        "service %(service)s has no attribute %(code)s; its definition lists "
                        "the ones it has (services/%(service)s.json)."
                    )
                    % {"service": found.code, "code": NOT_XML.sub("", code)},
                )
            )
        elif any(NOT_XML.search(value) for value in values):
            errors.append(
                _field_error(label, _("contains control characters that are not allowed."))
            )
        elif len(values) > MAX_ATTRIBUTES:
            errors.append(
                _field_error(label, _("at most %(count)d values.") % {"count": MAX_ATTRIBUTES})
            )
        elif attribute.datatype == AttributeType.MULTI:
            answers[code] = [*answers.get(code, []), *values]
        elif many or len(values) > 1 or code in answers:
            errors.append(_field_error(parameter(code), _("send one value.")))
        else:
            answers[code] = values[0]
    if errors:
        raise ApiError(400, *errors)
    return answers


def _validation_errors(exc: ValidationError) -> list[str]:
    if not hasattr(exc, "error_dict"):
        return [str(m) for m in exc.messages]
    return [
        _field_error(PARAMETERS.get(key, key), str(message))
        for key, messages in exc.message_dict.items()
        for message in messages
    ]


@transaction.atomic
def file_request(
    client: ApiClient, organisation: Organisation, data: Any, *, language: str
) -> Report:
    """File the posted service request in ``organisation`` for ``client``."""
    if client.organisation_id is not None and client.organisation_id != organisation.pk:
        raise ApiError(
            403,
            _("This api_key may only file service requests in %(municipality)s.")
            % {"municipality": client.organisation.display_name},
        )
    found = category(organisation, data.get("service_code"))
    values, latitude, longitude = _clean(data)
    answers = _attributes(data, found)
    if latitude is not None and longitude is not None:
        try:
            located = locate(latitude, longitude)
        except ValidationError as exc:
            raise ApiError(400, *_validation_errors(exc)) from exc
        if located.pk != organisation.pk:
            raise ApiError(
                400,
                _field_error(
                    "lat/long",
                    _(
                        "this point lies in %(located)s, not in %(municipality)s. Send the "
                        "request with jurisdiction_id=%(nis)s."
                    )
                    % {
                        "located": located.display_name,
                        "municipality": organisation.display_name,
                        "nis": located.nis_code,
                    },
                ),
            )
    name = " ".join(p for p in (values["first_name"], values["last_name"]) if p)
    contact = bool(name or values["email"] or values["phone"])
    try:
        report = submit_report(
            category_code=found.code,
            description=values["description"],
            latitude=latitude,
            longitude=longitude,
            channel=Channel.API,
            address=values["address_string"],
            municipality_code=organisation.code,
            reporter_name=name,
            reporter_email=values["email"],
            reporter_phone=values["phone"],
            language=language,
            # The app showed the privacy notice and obtained consent (docs/open311.md).
            consent=contact,
            attributes=answers,
        ).report
    except ValidationError as exc:
        raise ApiError(400, *_validation_errors(exc)) from exc
    note = None
    if values["media_url"]:
        note = Message.objects.create(
            report=report,
            kind=MessageKind.NOTE,
            body=_("Media URL sent by the app %(client)s (not fetched; open with care): %(url)s")
            % {"client": client.name, "url": values["media_url"]},
        )
    history.record(
        report,
        Action.REPORT_FILED_THROUGH_API,
        actor_label=_("API client %(name)s") % {"name": client.name},
        organisation=report.organisation,
        after={"api_client": client.pk, "media_url_note": note.pk if note else None},
    )
    return report
