"""Filing a report: where it goes, its reference, its follow-up link and its due dates."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from regiohub.core import events, geo, history
from regiohub.core.models import Organisation
from regiohub.core.tasks import enqueue
from regiohub.meldpunt import attributes as attribute_rules
from regiohub.meldpunt import catalogue, workflow
from regiohub.meldpunt.events import Action, ReportFiled
from regiohub.meldpunt.links import followup_token, token_hash
from regiohub.meldpunt.models import Photo, ReferenceSequence, Report
from regiohub.meldpunt.models.report import Channel, PlaceSource
from regiohub.meldpunt.sla import Calendar

TRACKED_FIELDS = ["status", "department", "assignee", "organisation", "category"]


class PhotoContent(Protocol):
    """A photo ready to store (see meldpunt.photos.process_photo)."""

    content: bytes
    content_type: str
    width: int
    height: int
    sha256: str


def attach_photos(
    report: Report, photos: Sequence[PhotoContent], *, by_reporter: bool, actor: Any = None
) -> list[Photo]:
    """Store processed photos with ``report``, inside the caller's transaction.

    If the transaction then fails, :func:`discard_files` removes the written files.
    """
    stored: list[Photo] = []
    for content in photos:
        photo = Photo(
            report=report,
            content_type=content.content_type,
            width=content.width,
            height=content.height,
            size=len(content.content),
            sha256=content.sha256,
            by_reporter=by_reporter,
            added_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        photo.file.save("photo.jpg", ContentFile(content.content), save=False)
        photo.save()
        stored.append(photo)
    return stored


def discard_files(photos: Sequence[Photo]) -> None:
    for photo in photos:
        photo.file.storage.delete(photo.file.name)


@dataclass(frozen=True)
class Submitted:
    report: Report
    token: str  # the private follow-up token; only its hash is stored


#: A form sent again within this time returns the report it filed (a double click, a
#: reload after a slow answer); after it, the key no longer opens anything.
RESEND_WINDOW = timedelta(hours=1)


def client_key_hash(client_key: str) -> str:
    """Stored hashed: the key must not become a second way into the follow-up page."""
    return hashlib.sha256(client_key.encode()).hexdigest() if client_key else ""


def resend_key(client_key: str, *, scope: str, content: Mapping[str, Any]) -> str:
    """The form's resend key bound to what was sent and by whom (``scope``: the session or
    the browser's CSRF cookie). Only the same form, sent again from the same browser with
    the same content, finds the report it filed; someone who learnt the hidden key (from a
    shared cache, a screenshot, a shared computer's history) files their own report instead
    of receiving the first citizen's follow-up link."""
    if not client_key:
        return ""
    normalised = json.dumps(
        {name: _normalised(value) for name, value in content.items()},
        sort_keys=True,
        ensure_ascii=False,
    )
    payload = "\0".join((client_key, scope, normalised))
    return hashlib.sha256(payload.encode()).hexdigest()


def _normalised(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, list | tuple):
        return [getattr(item, "sha256", None) or _normalised(item) for item in value]
    return value if value is None or isinstance(value, bool | int) else str(value)


def calendar_for(organisation: Organisation) -> Calendar:
    """The SLA calendar of ``organisation``: its closing days (once or yearly) and 11 July
    unless its ``SlaCalendar`` switches that off (no row: on, every municipality of the
    region being a Flemish administration). Kept per process (``meldpunt.catalogue``): due
    dates are computed at every filing and status change."""
    return catalogue.calendar(organisation.pk)


def _next_reference(organisation: Organisation, year: int) -> str:
    """The next reference of the municipality and year, in one statement: the UPDATE locks
    the counter's row until the filing commits, so two filings never get the same number
    (SQLite and PostgreSQL both return the new value)."""
    table = connection.ops.quote_name(ReferenceSequence._meta.db_table)
    sql = (
        f"UPDATE {table} SET last_number = last_number + 1 "  # noqa: S608 - our own table
        "WHERE organisation_id = %s AND year = %s RETURNING last_number"
    )
    for _attempt in range(2):
        with connection.cursor() as cursor:
            cursor.execute(sql, [organisation.pk, year])
            row = cursor.fetchone()
        if row is not None:
            return f"{organisation.code}-{year}-{row[0]:06d}"
        try:
            with transaction.atomic():  # the first report of the year: start the counter
                ReferenceSequence.objects.create(organisation=organisation, year=year)
        except IntegrityError:
            pass  # another filing started it at the same moment: count on from there
    raise RuntimeError("reference counter could not be created")  # pragma: no cover


def _pauses(report: Report) -> list[tuple[datetime, datetime | None]]:
    if report.pk is None:
        return []
    return [(p.started_at, p.ended_at) for p in report.sla_pauses.all()]


def update_due_dates(report: Report) -> None:
    """Recompute the response and resolution due dates from the category's SLA."""
    calendar = calendar_for(report.organisation)
    pauses = _pauses(report)
    report.response_due_at = calendar.add_business_days(
        report.created_at, float(report.category.response_days), pauses
    )
    report.resolution_due_at = calendar.add_business_days(
        report.created_at, float(report.category.resolution_days), pauses
    )


def locate(latitude: float, longitude: float) -> Organisation:
    """The municipality of the region where the point lies, or a ValidationError for the
    citizen saying what to do instead."""
    if not geo.valid_wgs84(latitude, longitude):
        raise ValidationError(
            {"location": _("This location is not valid. Pick the place on the map again.")}
        )
    location = geo.municipality_at(latitude, longitude)
    if not location.inside:
        raise ValidationError(
            {
                "location": _(
                    "This place is outside the municipalities of this contact point. "
                    "Please contact the municipality where the problem is, or for a "
                    "motorway or regional road, the Flemish roads agency (Agentschap "
                    "Wegen en Verkeer)."
                )
            }
        )
    found = catalogue.organisation(location.organisation_id)
    if found is None:  # the boundaries know a municipality the database does not (yet)
        raise Organisation.DoesNotExist(location.organisation_id)
    return found


@transaction.atomic
def submit_report(
    *,
    category_code: str,
    description: str,
    latitude: float | None,
    longitude: float | None,
    channel: Channel | str,
    address: str = "",
    reporter_name: str = "",
    reporter_email: str = "",
    reporter_phone: str = "",
    language: str = "nl",
    consent: bool = False,
    photos: Sequence[PhotoContent] = (),
    client_key: str = "",
    municipality_code: str = "",
    same_as: str = "",
    actor: Any = None,
    location_source: PlaceSource | str = "",
    address_register_id: str = "",
    routing_answer: str = "",
    attributes: Mapping[str, Any] | None = None,
) -> Submitted:
    """File a report: the location decides the municipality, the category its department.

    ``client_key`` (a random value the form sends along) makes a resent form return the
    report it already filed instead of filing it twice. ``location_source`` says how the
    point was found (the map by default; the photo's position or an address found in the
    register, each confirmed by whoever filed it); without a point, the place is the
    municipality's centre and marked approximate (see ``meldpunt.places``).

    The municipality's routing rules then decide the owner (``meldpunt.routing``):
    ``routing_answer`` is the citizen's reply to the form's question about an asset nearby;
    ``municipality_code`` with a point picks the municipality across a border within
    ``routing.BORDER_M`` of the point (the form's border question).

    ``attributes`` answers the category's extra questions by code (``meldpunt.attributes``):
    checked against the category the place decides, each problem under ``attribute[code]``.
    """
    client_key = client_key_hash(client_key)
    if client_key:
        # Nearly always nothing: ask for the id alone, read the report only when found.
        found = list(Report.objects.filter(client_key=client_key).values_list("pk", flat=True)[:1])
        if found:
            existing = Report.objects.get(pk=found[0])
            if existing.token_hash and existing.created_at >= timezone.now() - RESEND_WINDOW:
                return Submitted(report=existing, token=followup_token(existing))
            raise ValidationError(
                {"client_key": _("This form was sent before. Check your report and send it again.")}
            )
    if len(photos) > settings.MELDPUNT_MAX_PHOTOS:
        raise ValidationError(
            {"photos": _("Add at most %(count)d photos.") % {"count": settings.MELDPUNT_MAX_PHOTOS}}
        )
    approximate = False
    if latitude is None or longitude is None:
        # No point on the map (no JavaScript, or the citizen preferred to type): the
        # municipality they chose plus the address; the handler sees it is approximate.
        organisation = catalogue.municipality(municipality_code)
        if organisation is None or not address.strip():
            raise ValidationError(
                {
                    "location": _(
                        "Mark the place on the map, or type the address and choose the "
                        "municipality."
                    )
                }
            )
        latitude, longitude = geo.representative_point(organisation.pk)
        approximate = True
        location_source, address_register_id = PlaceSource.MUNICIPALITY, ""
    else:
        organisation = locate(latitude, longitude)
        if municipality_code and municipality_code != organisation.code:
            organisation = _across_border(organisation, municipality_code, latitude, longitude)
        if location_source not in PlaceSource.values or location_source == PlaceSource.MUNICIPALITY:
            location_source = PlaceSource.MAP
        if location_source != PlaceSource.ADDRESS:
            address_register_id = ""
    category = catalogue.category(organisation.pk, category_code)
    if category is None:
        raise ValidationError(
            {
                "category": _(
                    "%(municipality)s does not handle this subject through the contact "
                    "point. Choose another subject or call the municipality."
                )
                % {"municipality": organisation.display_name}
            }
        )
    description = description.strip()
    if not description:
        raise ValidationError({"description": _("Describe the problem or your question.")})
    answers = attribute_rules.clean_answers(category, attributes or {})
    if not (reporter_email or reporter_phone) and not category.allow_anonymous:
        raise ValidationError(
            {
                "reporter_email": _(
                    "For this subject we need an e-mail address or a phone number to contact you."
                )
            }
        )
    if (reporter_email or reporter_phone or reporter_name) and not consent:
        raise ValidationError(
            {"consent": _("Accept the privacy notice, or leave your contact details empty.")}
        )
    now = timezone.now()
    report = Report(
        reference=_next_reference(organisation, timezone.localdate(now).year),
        organisation=organisation,
        category=category,
        department=category.department,
        channel=channel,
        description=description,
        attributes=answers,
        latitude=latitude,
        longitude=longitude,
        address=address.strip(),
        location_is_approximate=approximate,
        location_source=location_source,
        address_register_id=address_register_id.strip()[:200],
        # An approximate point is the municipality's centre, not the place: no district.
        district_code="" if approximate else geo.district_at(latitude, longitude),
        reporter_name=reporter_name.strip(),
        reporter_email=reporter_email.strip().lower(),
        reporter_phone=reporter_phone.strip(),
        reporter_language=language if language in ("nl", "fr", "en") else "nl",
        consent_at=now if consent else None,
        token_salt=secrets.token_hex(16),
        client_key=client_key or None,
        created_at=now,
    )
    token = followup_token(report)
    report.token_hash = token_hash(token)
    # Field rules (lengths, e-mail syntax, channel) with Django's translated messages.
    # (The municipality, subject and department were just read: no need to look them up.)
    report.full_clean(
        exclude=["organisation", "category", "department"],
        validate_unique=False,
        validate_constraints=False,
    )
    update_due_dates(report)
    from regiohub.meldpunt.services import routing

    route = routing.decide_new(report, answer=routing_answer)
    report.save()
    stored = attach_photos(report, photos, by_reporter=actor is None, actor=actor)
    try:
        history.record(
            report,
            Action.REPORT_CREATED,
            actor=actor,
            actor_label=None if actor else history.CITIZEN,
            organisation=organisation,
            after=history.snapshot(report, [*TRACKED_FIELDS, "channel"]),
        )
        events.publish(
            ReportFiled(
                report_id=report.pk,
                reference=report.reference,
                organisation_id=organisation.pk,
                category_code=category.code,
                channel=report.channel,
            )
        )
        if report.reporter_email:
            from regiohub.meldpunt.tasks import send_acknowledgement

            enqueue(send_acknowledgement, report.pk)
    except Exception:
        discard_files(stored)
        raise
    if same_as:
        _join(report, same_as, actor)
    routing.record_new(report, route, actor=actor)  # a merged report is not handed over
    return Submitted(report=report, token=token)


def _across_border(
    located: Organisation, municipality_code: str, latitude: float, longitude: float
) -> Organisation:
    """The municipality the citizen chose for a point near its border, if it is near."""
    from regiohub.meldpunt.routing import BORDER_M

    chosen = catalogue.municipality(municipality_code)
    if chosen is None:
        return located
    near = {
        loc.organisation_id for loc, _d in geo.municipalities_near(latitude, longitude, BORDER_M)
    }
    return chosen if chosen.pk in near else located


@transaction.atomic
def set_place(
    report: Report,
    *,
    latitude: float,
    longitude: float,
    source: PlaceSource | str,
    address: str = "",
    register_id: str = "",
    actor: Any = None,
    reason: str = "",
) -> Report:
    """Mark the place of ``report``: the address it was filed with, found in the register
    (``actor`` None: done by the system), or a point staff set. The point must lie in the
    report's own municipality; one elsewhere means the report belongs there (a hand-over,
    not a correction). Recorded in the history with the place before and after."""
    from regiohub.meldpunt.services.handling import _locked

    report = _locked(report, actor)
    organisation = locate(latitude, longitude)
    if organisation.pk != report.organisation_id:
        raise ValidationError(
            {
                "location": _(
                    "This place is in %(municipality)s. Hand the report over to "
                    "%(municipality)s instead."
                )
                % {"municipality": organisation.display_name}
            }
        )
    if source not in PlaceSource.values or source == PlaceSource.MUNICIPALITY:
        raise ValidationError({"location": _("This is not a way to find a place.")})
    fields = ["latitude", "longitude", "address", "location_source", "address_register_id"]
    before = history.snapshot(report, fields)
    report.latitude, report.longitude = latitude, longitude
    report.location_is_approximate = False
    report.location_source = source
    report.address_register_id = register_id.strip()[:200] if source == PlaceSource.ADDRESS else ""
    if address.strip():
        report.address = address.strip()[:300]
    report.district_code = geo.district_at(latitude, longitude)
    report.save(update_fields=[*fields, "location_is_approximate", "district_code", "updated_at"])
    history.record(
        report,
        Action.PLACE_CHANGED,
        actor=actor,
        organisation=report.organisation,
        before=before,
        after=history.snapshot(report, fields),
        reason=reason,
    )
    from regiohub.meldpunt.services import routing

    routing.follow_change(report, actor=actor)
    return report


def _join(report: Report, reference: str, actor: Any) -> None:
    """ "Me too": the reporter said their problem is an open report nearby. File theirs
    and merge it there, so they follow that report. A reference that does not qualify (gone,
    finished, elsewhere, another subject) is ignored: the report stays on its own."""
    from regiohub.meldpunt import duplicates
    from regiohub.meldpunt.services.handling import merge

    target = duplicates.candidates(report, Report.objects.all()).filter(reference=reference)
    target = target.filter(status__in=[s for s in workflow.OPEN]).first()
    if target is None:
        return
    merge(
        report,
        target,
        actor=actor,
        reason=_("The reporter said this is the same problem as %(reference)s.")
        % {"reference": target.reference},
        notify=False,  # they just got the acknowledgement; the follow-up page explains
    )
