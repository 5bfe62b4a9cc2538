"""The Open311 GeoReport v2 endpoints. Each answers in the format of its suffix (``.xml``
or ``.json``) and reports problems in the spec's error format."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header
from django.views.decorators.csrf import csrf_exempt

from regiohub.core.models import Organisation
from regiohub.core.models.organisation import OrganisationKind
from regiohub.meldpunt import throttling
from regiohub.meldpunt.models import ApiClient

from . import render, resources, updates
from .filing import file_request
from .resources import ApiError
from .updating import post_update

LANGUAGES = ("nl", "fr", "en")
_SUFFIX = re.compile(r"\.([A-Za-z0-9]{1,10})$")


def request_language(request: HttpRequest) -> str:
    """The first of nl, fr, en in the Accept-Language header; Dutch by default."""
    header = request.headers.get("Accept-Language", "")[:500]
    for code, _quality in parse_accept_lang_header(header):
        if code[:2].lower() in LANGUAGES:
            return code[:2].lower()
    return "nl"


def refused(request: HttpRequest, problem: Any) -> HttpResponse:
    """Input the platform refuses before any view (a NUL in a parameter or the path, see
    ``core.middleware.BadInputMiddleware``), in the spec's error format: XML or JSON by the
    path's suffix, XML when that is missing or unknown."""
    match = _SUFFIX.search(request.path_info)
    fmt = match.group(1) if match and match.group(1) in render.FORMATS else "xml"
    with translation.override(request_language(request)):
        return render.errors(fmt, 400, [problem.message()])


def endpoint(*methods: str) -> Callable:
    """Check the format and method, speak the client's language, and turn an
    :class:`ApiError` into the spec's error format."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, fmt: str, **kwargs: Any) -> HttpResponse:
            language = request_language(request)
            with translation.override(language):
                if fmt not in render.FORMATS:
                    return render.errors(
                        "xml",
                        404,
                        [_("Unknown format %(format)s: use xml or json.") % {"format": fmt[:10]}],
                    )
                if request.method not in methods:
                    response = render.errors(
                        fmt,
                        405,
                        [_("Method %(method)s is not allowed here.") % {"method": request.method}],
                    )
                    response["Allow"] = ", ".join(methods)
                    return response
                if request.method == "GET":
                    ok, wait = throttling.allowed(throttling.Open311ReadThrottle, request)
                    if not ok:
                        response = render.errors(
                            fmt, 429, [_("Too many requests from this address. Try again later.")]
                        )
                        response["Retry-After"] = str(wait)
                        return response
                try:
                    return view(request, *args, fmt=fmt, language=language, **kwargs)
                except ApiError as exc:
                    return render.errors(fmt, exc.status, exc.descriptions)

        return wrapper

    return decorate


def _contact() -> str:
    region = Organisation.objects.filter(kind=OrganisationKind.REGION).first()
    ways = [w for w in (region.email, region.phone, region.website) if w] if region else []
    name = region.display_name if region else settings.REGION_NAME
    if ways:
        return _("Contact point of %(region)s: %(ways)s") % {
            "region": name,
            "ways": ", ".join(ways),
        }
    return _("Contact point of %(region)s.") % {"region": name}


@endpoint("GET")
def discovery(request: HttpRequest, *, fmt: str, language: str) -> HttpResponse:
    base = settings.SITE_URL.rstrip("/") + reverse(
        "meldpunt:open311:discovery", kwargs={"fmt": "xml"}
    )
    return render.respond(
        fmt,
        "discovery",
        {
            "changeset": resources.CHANGESET,
            "contact": _contact(),
            "key_service": _(
                "Apps get an API key from the administrators of the contact point; ask them "
                "through the contact above. Reading needs no key."
            ),
            "endpoints": [
                {
                    "specification": resources.SPECIFICATION,
                    "url": base.rsplit("/", 1)[0],
                    "changeset": resources.CHANGESET,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        },
    )


@endpoint("GET")
def services(request: HttpRequest, *, fmt: str, language: str) -> HttpResponse:
    organisation = resources.jurisdiction(request.GET.get("jurisdiction_id"))
    items = [resources.service(c) for c in resources.categories(organisation).order_by("code")]
    return render.respond(fmt, "services", items)


@endpoint("GET")
def service_definition(
    request: HttpRequest, service_code: str, *, fmt: str, language: str
) -> HttpResponse:
    organisation = resources.jurisdiction(request.GET.get("jurisdiction_id"))
    found = resources.category(organisation, service_code)
    return render.respond(fmt, "service_definition", resources.service_definition(found))


def _client(request: HttpRequest) -> ApiClient:
    """The API client whose ``api_key`` was posted, within its rate (one limit for filing
    and updating: both can mail reporters)."""
    client = ApiClient.authenticate((request.POST.get("api_key") or "").strip())
    if client is None:
        raise ApiError(403, _("api_key was not provided or is invalid."))
    ok, _wait = throttling.client_allowed(client.pk)
    if not ok:
        raise ApiError(429, _("Too many requests for this api_key. Try again later."))
    return client


def _post(request: HttpRequest, fmt: str, language: str) -> HttpResponse:
    client = _client(request)
    organisation = resources.jurisdiction(request.POST.get("jurisdiction_id"))
    report = file_request(client, organisation, request.POST, language=language)
    notice = _(
        "%(department)s of %(municipality)s handles this report; expected to be resolved "
        "by %(date)s."
    ) % {
        "department": report.department.display_name,
        "municipality": report.organisation.display_name,
        "date": resources.w3(report.resolution_due_at),
    }
    item = {"service_request_id": report.reference, "service_notice": notice, "account_id": None}
    return render.respond(fmt, "service_requests", [item])


@csrf_exempt  # apps post with an api_key, not with a session cookie
@endpoint("GET", "POST")
def requests(request: HttpRequest, *, fmt: str, language: str) -> HttpResponse:
    if request.method == "POST":
        return _post(request, fmt, language)
    organisation = resources.jurisdiction(request.GET.get("jurisdiction_id"))
    found = resources.search(organisation, request.GET)
    public = not _reads_in_full(request, organisation)
    return render.respond(fmt, "service_requests", resources.service_requests(found, public=public))


def _reads_in_full(request: HttpRequest, organisation: Any) -> bool:
    """A client key of this municipality (or of the region) reads the reporters' words and
    exact places; anyone else reads what the public map shows (ADR 0035)."""
    key = request.GET.get("api_key", "")
    if not key or "\x00" in key:
        return False
    client = ApiClient.authenticate(key)
    if client is None:
        return False
    return client.organisation_id is None or client.organisation_id == organisation.pk


@endpoint("GET")
def service_request(
    request: HttpRequest, service_request_id: str, *, fmt: str, language: str
) -> HttpResponse:
    organisation = resources.jurisdiction(request.GET.get("jurisdiction_id"))
    found = resources.reports_of(organisation).filter(reference=service_request_id)
    if not found.exists():
        raise ApiError(
            404,
            _("service_request_id %(id)s was not found in %(municipality)s.")
            % {"id": service_request_id[:30], "municipality": organisation.display_name},
        )
    public = not _reads_in_full(request, organisation)
    return render.respond(fmt, "service_requests", resources.service_requests(found, public=public))


@csrf_exempt  # apps post with an api_key, not with a session cookie
@endpoint("GET", "POST")
def service_request_updates(request: HttpRequest, *, fmt: str, language: str) -> HttpResponse:
    """mySociety's extension: what happened to reports (GET, no key), or an app's update
    of a report (POST, with a key)."""
    if request.method == "POST":
        client = _client(request)
        organisation = resources.jurisdiction(request.POST.get("jurisdiction_id"))
        ours = post_update(client, organisation, request.POST)
        return render.respond(fmt, "service_request_updates", [{"update_id": ours}])
    organisation = resources.jurisdiction(request.GET.get("jurisdiction_id"))
    since, until = updates.window(request.GET)
    return render.respond(
        fmt, "service_request_updates", updates.updates(organisation, since, until)
    )


@endpoint("GET")
def token(request: HttpRequest, token: str, *, fmt: str, language: str) -> HttpResponse:
    """Requests are filed at once and answered with their service_request_id: no token is
    ever issued, so none is ever found."""
    raise ApiError(
        404,
        _(
            "token %(token)s was not found: this server files requests at once and returns "
            "their service_request_id, it never issues tokens."
        )
        % {"token": token[:30]},
    )
