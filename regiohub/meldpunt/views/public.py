"""The citizen's pages: the report form, the private follow-up page and its actions."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_page, never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from regiohub.core import geo, history
from regiohub.meldpunt import merges, pending, places, services, throttling
from regiohub.meldpunt.events import Action
from regiohub.meldpunt.forms import (
    AnswerForm,
    PhotoForm,
    ReopenForm,
    ReportForm,
    SatisfactionForm,
)
from regiohub.meldpunt.models import Channel, Report
from regiohub.meldpunt.models.conversation import PUBLIC_KINDS, MessageKind
from regiohub.meldpunt.services import citizen
from regiohub.meldpunt.services.filing import client_key_hash, resend_key
from regiohub.meldpunt.services.satisfaction import pending_request
from regiohub.meldpunt.views import place_step, public_map, routing_step
from regiohub.meldpunt.workflow import Status

#: What we wrote to the reporter: the part of a report's conversation that reaches the
#: reporters of the reports merged into it.
OUR_KINDS = (MessageKind.TO_REPORTER, MessageKind.QUESTION)


def apply_service_errors(form: Any, error: ValidationError) -> None:
    """Show a service's errors next to the form's fields (others at the top)."""
    aliases = {"location": "address", "body": "body", "photo": "photos", "client_key": None}
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        # A form may know where an error of its own kind goes (an extra question's answer).
        name = getattr(form, "field_for_error", lambda key: None)(field) or aliases.get(
            field, field
        )
        form.add_error(name if name in form.fields else None, errors)
    if "client_key" in error.error_dict and "client_key" in form.fields:
        # An old form sent again: the next send is a new report, with a new key.
        form.data = form.data.copy()
        form.data["client_key"] = secrets.token_urlsafe(24)


def _private(response: HttpResponse) -> HttpResponse:
    """The follow-up pages carry a secret in their URL: keep them out of caches and search
    engines. Other sites never see the URL: the site-wide Referrer-Policy is same-origin.
    (``no-referrer`` would make browsers send ``Origin: null`` with the page's own forms,
    which the CSRF check rightly refuses.)"""
    response["Cache-Control"] = "no-store, private"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _too_many(request: HttpRequest, wait: int) -> HttpResponse:
    minutes = max(1, wait // 60)
    response = render(
        request,
        "meldpunt/too_many.html",
        {"minutes": minutes},
        status=429,
    )
    response["Retry-After"] = str(wait)
    return response


def _resend_key(request: HttpRequest, data: dict[str, Any]) -> str:
    """The hidden resend key, bound to this browser and to what it sent (see resend_key).
    The browser is its CSRF cookie (set with the form, the same for each send), else its
    session."""
    scope = request.META.get("CSRF_COOKIE") or request.session.session_key or ""
    content = {name: value for name, value in data.items() if name != "client_key"}
    return resend_key(data["client_key"], scope=scope, content=content)


@never_cache  # each page view has its own resend key: never one copy for everybody
@require_http_methods(["GET", "POST"])
def report_form(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        ok, wait = throttling.allowed(throttling.ReportFormThrottle, request)
        if not ok:
            return _too_many(request, wait)
    form = ReportForm(request.POST or None, request.FILES or None)
    photos_kept = 0
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        photos = place_step.photos_of(data)
        decision = place_step.decide(form, {**data, "photos": photos})
        if isinstance(decision, place_step.Question):
            place_step.ask(form, decision, photos)
            return render(
                request,
                "meldpunt/report_form.html",
                {
                    "form": form,
                    "question": decision,
                    "photos_kept": len(photos),
                    "geocoding": places.available(),
                },
            )
        asked = routing_step.decide(data, decision.latitude, decision.longitude)
        if asked.asks:
            data_copy = form.data.copy()
            data_copy["routing_asked"] = asked.asked
            for ask in asked.asks:
                data_copy[ask.name] = ""
            if photos:
                data_copy["photo_stash"] = pending.keep(photos)
            if decision.latitude is not None:
                # Keep the place chosen in the first question, as a point.
                data_copy["latitude"], data_copy["longitude"] = (
                    decision.latitude,
                    decision.longitude,
                )
                data_copy["location_source"] = decision.source
                data_copy["address_register_id"] = decision.register_id
                data_copy["address"] = decision.address
            form.data = data_copy
            return render(
                request,
                "meldpunt/report_form.html",
                {
                    "form": form,
                    "routing_asks": asked.asks,
                    "photos_kept": len(photos),
                    "geocoding": places.available(),
                },
            )
        bound_key = _resend_key(request, data)
        try:
            submitted = services.submit_report(
                category_code=data["category"],
                description=data["description"],
                latitude=decision.latitude,
                longitude=decision.longitude,
                address=decision.address,
                municipality_code=asked.municipality_code or data["municipality"],
                routing_answer=asked.answer,
                channel=Channel.WEB,
                reporter_name=data["reporter_name"],
                reporter_email=data["reporter_email"],
                reporter_phone=data["reporter_phone"],
                language=(get_language() or "nl")[:2],
                consent=data["consent"],
                photos=photos,
                client_key=bound_key,
                same_as=data["same_as"],
                location_source=decision.source,
                address_register_id=decision.register_id,
                attributes=data["attributes"],
            )
        except ValidationError as error:
            apply_service_errors(form, error)
            photos_kept = len(photos) if data.get("photo_stash") else 0
        except IntegrityError:  # the same form sent twice at the same moment
            key = client_key_hash(bound_key)
            existing = Report.objects.filter(client_key=key).first() if key else None
            if existing is None or not existing.token_hash:
                raise
            return redirect("meldpunt:followup", services.followup_token(existing))
        else:
            messages.success(
                request,
                _("Thank you. Your report has number %(reference)s.")
                % {"reference": submitted.report.reference},
            )
            return redirect("meldpunt:followup", submitted.token)
    if request.method == "POST" and request.FILES and form.errors and not photos_kept:
        form.add_error(
            "photos" if "photos" not in form.errors else None,
            _("For your safety the browser forgets chosen photos: please choose them again."),
        )
    return render(
        request,
        "meldpunt/report_form.html",
        {
            "form": form,
            "photos_kept": photos_kept,
            "geocoding": places.available(),
            **public_map.me_too(request, form),  # "me too" from the public map
        },
    )


def _report_or_404(token: str) -> Report:
    report = citizen.report_for_token(token)
    if report is None:
        raise Http404
    return report


def public_timeline(report: Report) -> list[dict[str, Any]]:
    """What the reporter sees happened: status changes and the messages they may read.
    Internal notes, hand-over details and who did what stay out.

    A merged report adds what the reports it was merged into told its reporter since it
    joined them (their status changes and our messages; see ``meldpunt.merges``), marked
    with their reference; never another reporter's words."""
    items = _public_items(report)
    for link in merges.chain(report):
        items += _public_items(link.report, since=link.since, via=link.report.reference)
    items.sort(key=lambda item: item["at"])
    return items


def _public_items(report: Report, *, since: Any = None, via: str = "") -> list[dict[str, Any]]:
    """The status changes and messages of ``report`` for the timeline; with ``via`` (the
    report merged into), only those from ``since`` on and only ours, not its reporter's."""
    entries = history.history_of(report).filter(
        action__in=[Action.REPORT_CREATED, Action.STATUS_CHANGED]
    )
    messages = report.messages.filter(kind__in=PUBLIC_KINDS)
    if via:
        entries = entries.filter(at__gte=since)
        messages = messages.filter(kind__in=OUR_KINDS, created_at__gte=since)
    items: list[dict[str, Any]] = []
    for entry in entries:
        status = (entry.after or {}).get("status")
        if not status:
            continue
        show_reason = status in (Status.CANCELLED, Status.REOPENED)
        items.append(
            {
                "at": entry.at,
                "kind": "status",
                "status": Status(status).label,
                "text": entry.reason if show_reason else "",
                "via": via,
            }
        )
    for message in messages:
        items.append(
            {"at": message.created_at, "kind": message.kind, "text": message.body,
             "message": message, "via": via}
        )  # fmt: skip
    return items


def _followup_context(report: Report, token: str) -> dict[str, Any]:
    """The follow-up page: the report, what happened, and the forms the reporter may use now.

    Photos are this report's own: those of reports merged into it (or it into) belong to
    other reporters and may show their home or car (see ``meldpunt.merges``)."""
    waiting = citizen.may_answer(report)
    return {
        "report": report,
        "token": token,
        "timeline": public_timeline(report),
        "photos": report.photos.all(),
        "surviving": merges.surviving(report) if report.merged_into_id else None,
        "merged_count": len(merges.merged_ids(report.pk)),
        "waiting": waiting,
        "answer_form": AnswerForm() if waiting else None,
        "photo_form": PhotoForm() if report.is_open and citizen.photo_slots(report) else None,
        **_satisfaction_context(report),
    }


def _satisfaction_context(report: Report) -> dict[str, Any]:
    """The question asked once after resolution, else (within the reopen window) the form
    to ask to look at the report again; and what the reporter answered and asked."""
    asking = citizen.can_answer_satisfaction(report)
    waiting = pending_request(report) if report.first_resolved_at else None
    return {
        "satisfaction_form": SatisfactionForm(citizen.satisfaction_options(report))
        if asking
        else None,
        "satisfaction_answer": getattr(report, "satisfaction_answer", None)
        if report.satisfied is not None
        else None,
        "reopen_form": ReopenForm()
        if not asking and waiting is None and citizen.can_reopen(report)
        else None,
        "reopen_waiting": waiting,
    }


@never_cache
@require_GET
def followup(request: HttpRequest, token: str) -> HttpResponse:
    report = _report_or_404(token)
    context = _followup_context(report, token)
    return _private(render(request, "meldpunt/followup.html", context))


def _followup_action(
    request: HttpRequest, token: str, form_class: type, key: str, act: Any
) -> HttpResponse:
    report = _report_or_404(token)
    ok, wait = throttling.allowed(throttling.FollowUpThrottle, request)
    if not ok:
        return _private(_too_many(request, wait))
    form = form_class(request.POST, request.FILES or None)
    if form.is_valid():
        try:
            act(report, form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            return redirect("meldpunt:followup", token)
    context = {**_followup_context(report, token), key: form}
    return _private(render(request, "meldpunt/followup.html", context, status=400))


@require_POST
def followup_answer(request: HttpRequest, token: str) -> HttpResponse:
    def act(report: Report, data: dict) -> None:
        citizen.answer(report, data["body"])
        messages.success(request, _("Thank you. We passed your message on."))

    return _followup_action(request, token, AnswerForm, "answer_form", act)


@require_POST
def followup_photos(request: HttpRequest, token: str) -> HttpResponse:
    def act(report: Report, data: dict) -> None:
        if not data["photos"]:
            raise ValidationError({"photos": _("Choose a photo first.")})
        citizen.add_photos(report, data["photos"])
        messages.success(request, _("Thank you. The photo was added."))

    return _followup_action(request, token, PhotoForm, "photo_form", act)


@require_POST
def followup_rate(request: HttpRequest, token: str) -> HttpResponse:
    """The answer to "Are you satisfied?" (the 1-5 rating it replaced had this address)."""

    def act(report: Report, data: dict) -> None:
        citizen.answer_satisfaction(report, data["option"], data["comment"], reopen=data["reopen"])
        if data["reopen"]:
            messages.success(
                request,
                _("Thank you. We will look at your request and let you know what we decide."),
            )
        else:
            messages.success(request, _("Thank you for your answer."))

    def form(data: Any, files: Any = None) -> SatisfactionForm:
        report = _report_or_404(token)
        return SatisfactionForm(citizen.satisfaction_options(report), data)

    return _followup_action(request, token, form, "satisfaction_form", act)


@require_POST
def followup_reopen(request: HttpRequest, token: str) -> HttpResponse:
    def act(report: Report, data: dict) -> None:
        citizen.reopen(report, data["reason"])
        messages.success(
            request, _("Thank you. We will look at your request and let you know what we decide.")
        )

    return _followup_action(request, token, ReopenForm, "reopen_form", act)


def serve_photo(photo: Any) -> FileResponse:
    response = FileResponse(photo.file.open("rb"), content_type="image/jpeg")
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
def followup_photo(request: HttpRequest, token: str, pk: int) -> FileResponse:
    report = _report_or_404(token)
    return _private(serve_photo(get_object_or_404(report.photos, pk=pk)))


@require_GET
@cache_page(60 * 60)
def boundaries(request: HttpRequest) -> JsonResponse:
    return JsonResponse(geo.boundaries_geojson())


@require_GET
def privacy(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "meldpunt/privacy.html",
        {"retention_months": settings.MELDPUNT_RETENTION_MONTHS},
    )


@require_GET
def nearby_open_reports(request: HttpRequest) -> JsonResponse:
    """Open reports of the same or a related subject near a point, for the "me too" list of
    the report form. Only what the public map shows: no words, reporter data or photos."""
    ok, wait = throttling.allowed(throttling.NearbyThrottle, request)
    if not ok:
        response = JsonResponse({"error": "too many requests"}, status=429)
        response["Retry-After"] = str(wait)
        return response
    try:
        latitude = float(request.GET.get("lat", ""))
        longitude = float(request.GET.get("lng", ""))
    except ValueError:
        # No point: a typed address (the phone intake, the form before a tap on the map),
        # placed only when the address register is sure of it.
        latitude = longitude = float("nan")
        address = request.GET.get("address", "")[:300]
        municipality = request.GET.get("municipality", "")[:20]
        if address:
            place = places.sure_match(places.find_address(address, municipality))
            if place is None:
                return JsonResponse({"reports": [], "place": "unknown"})
            latitude, longitude = place.latitude, place.longitude
    code = request.GET.get("category", "")[:50]
    if not geo.valid_wgs84(latitude, longitude) or not code:
        return JsonResponse({"reports": []})
    location = geo.municipality_at(latitude, longitude)
    if not location.inside:
        return JsonResponse({"reports": []})
    from regiohub.meldpunt import duplicates
    from regiohub.meldpunt.models import Category

    category = Category.objects.filter(organisation_id=location.organisation_id, code=code).first()
    if category is None:
        return JsonResponse({"reports": []})
    probe = Report(
        organisation_id=location.organisation_id,
        category=category,
        latitude=latitude,
        longitude=longitude,
        created_at=timezone.now(),
    )
    from regiohub.meldpunt.public_map import street_of

    # What the public map shows (decision 0035): subjects on the map, not blurred ones; the
    # street, never the reporter's words.
    found = duplicates.within_radius(
        probe,
        Report.objects.open().filter(category__is_public_on_map=True, category__map_generalise_m=0),
    )
    return JsonResponse(
        {
            "reports": [
                {
                    "reference": other.reference,
                    "subject": other.category.display_name,
                    "status": str(other.get_status_display()),
                    "distance_m": round(distance),
                    "reported": date_format(timezone.localtime(other.created_at), "j F"),
                    "street": "" if other.location_is_approximate else street_of(other.address),
                }
                for distance, other in found[:5]
            ],
            "place": "known",
        }
    )


def _throttled_json(request: HttpRequest) -> JsonResponse | None:
    ok, wait = throttling.allowed(throttling.PlaceThrottle, request)
    if ok:
        return None
    response = JsonResponse({"error": "too many requests"}, status=429)
    response["Retry-After"] = str(wait)
    return response


@require_GET
def address_suggestions(request: HttpRequest) -> JsonResponse:
    """Addresses in the region for what the citizen is typing (the form's list). ``state``
    says whether a geocoder answered: found, none, off (not configured) or unavailable."""
    refused = _throttled_json(request)
    if refused:
        return refused
    text = request.GET.get("q", "")[:200]
    municipality = request.GET.get("municipality", "")[:20]
    lookup = (
        places.find_address(text, municipality)
        if municipality and request.GET.get("match")
        else places.suggestions(text)
    )
    return JsonResponse(
        {
            "state": lookup.state,
            "message": lookup.message,
            "places": [places.as_json(place) for place in lookup.places],
        }
    )


@require_GET
def place_at(request: HttpRequest) -> JsonResponse:
    """The nearest address to a tapped point, so the citizen sees the street they chose."""
    refused = _throttled_json(request)
    if refused:
        return refused
    try:
        latitude = float(request.GET.get("lat", ""))
        longitude = float(request.GET.get("lng", ""))
    except ValueError:
        return JsonResponse({"place": None})
    if not geo.valid_wgs84(latitude, longitude):
        return JsonResponse({"place": None})
    location = geo.municipality_at(latitude, longitude)
    if not location.inside:
        return JsonResponse({"place": None, "inside": False})
    place = places.describe(latitude, longitude)
    return JsonResponse(
        {
            "place": places.as_json(place) if place else None,
            "inside": True,
            "municipality": location.name,
        }
    )


@require_POST
def photo_position(request: HttpRequest) -> JsonResponse:
    """Where a chosen photo was taken, read from its metadata, for the form to OFFER as the
    place. Nothing is stored: the photo is read and forgotten; the form sends it again with
    the report, cleaned of its metadata."""
    from regiohub.meldpunt.photos import photo_position as read_position

    refused = _throttled_json(request)
    if refused:
        return refused
    upload = request.FILES.get("photo")
    if upload is None:
        return JsonResponse({"error": "photo: choose a photo"}, status=400)
    position = read_position(upload)
    if position is None or not geo.municipality_at(*position).inside:
        return JsonResponse({"position": None})
    place = places.describe(*position)
    return JsonResponse(
        {
            "position": {
                "lat": round(position[0], 6),
                "lng": round(position[1], 6),
                "label": place.label if place else "",
                "municipality": geo.municipality_at(*position).name,
            }
        }
    )
