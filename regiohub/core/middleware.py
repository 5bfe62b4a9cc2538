"""Request id for logs and history; security headers on every response."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from regiohub.core import errors, modules

log = structlog.get_logger(__name__)

_request_id: ContextVar[str] = ContextVar("regiohub_request_id", default="")
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def current_request_id() -> str:
    return _request_id.get()


class RequestIdMiddleware:
    """Takes a well-formed X-Request-ID when a trusted proxy is configured in front
    (REGIOHUB_PROXY_COUNT > 0), else makes one: clients cannot plant ids in logs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = (
            request.headers.get("X-Request-ID", "") if settings.AXES_IPWARE_PROXY_COUNT else ""
        )
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        token = _request_id.set(request_id)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            response = self.get_response(request)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
            _request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.CONTENT_SECURITY_POLICY and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = settings.CONTENT_SECURITY_POLICY
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(self)")
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response


class RequestSizeLimitMiddleware:
    """Refuse (413) a request body larger than ``REGIOHUB_MAX_REQUEST_MB`` before anything
    reads it. Django limits form fields but not uploaded files; without this a stranger
    can make the server stream gigabytes to disk."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit_mb = settings.MAX_REQUEST_MB
        for upload in modules.upload_paths():  # declared by the modules (see core.modules)
            if upload.compiled.match(request.path_info):
                # The view checks who sends before it reads the body.
                limit_mb = max(limit_mb, getattr(settings, upload.megabytes_setting) + 1)
                break
        if length > limit_mb * 1024 * 1024:
            message = _("This is too much data to send at once (at most %(mb)d MB). Send "
                        "fewer or smaller photos.") % {"mb": limit_mb}  # fmt: skip
            if errors.wants_html(request):  # a browser: the site's own page
                return errors.error_page(request, 413, message=message)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


#: Never in a path: the C0 control characters (NUL included) and DEL.
_PATH_CONTROL = re.compile("[\x00-\x1f\x7f]")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True)
class BadInput:
    """What :class:`BadInputMiddleware` refused: the parameter named ``parameter``, or the
    path itself when that is empty."""

    parameter: str = ""

    def message(self) -> str:
        """The explanation, in the active language (renderers may switch it first)."""
        if not self.parameter:
            return _("The address contains a control character (such as NUL), which is not "
                     "allowed.")  # fmt: skip
        return _("%(parameter)s contains a NUL character, which is not allowed.") % {
            "parameter": self.parameter
        }


def _label(name: str) -> str:
    return _PATH_CONTROL.sub("", name)[:50] or "?"


def bad_input(request: HttpRequest) -> BadInput | None:
    """The first thing in ``request`` that no text column can hold, or ``None``.

    PostgreSQL refuses NUL (``\\x00``) in text, so a NUL that reaches a query is a 500
    there. Refused: any C0 control character or DEL in the decoded path; NUL in a name or
    value of the query string or of a form body (uploads included).
    Other control characters in parameters are let through: pasted text holds them (Word's
    line break is a vertical tab) and the database stores them. Bodies of upload paths
    (their view checks who sends before anything reads them) and of raw-body paths (a mail
    webhook cleans what it stores) are not read here.
    """
    if _PATH_CONTROL.search(request.path_info):
        return BadInput()
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return BadInput(_label(name))
    if request.method != "POST" or request.content_type not in _FORM_TYPES:
        return None
    path = request.path_info
    if modules.is_raw_body_path(path) or any(
        upload.compiled.match(path) for upload in modules.upload_paths()
    ):
        return None
    for name, values in request.POST.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return BadInput(_label(name))
    for name in request.FILES:  # Django drops non-printable characters from file names
        if "\x00" in name:
            return BadInput(_label(name))
    return None


def _drop_bad_cookies(request: HttpRequest) -> None:
    """A cookie holding NUL (``sessionid="\\000..."``: cookies may quote octal escapes) is
    treated as absent rather than refused: the browser would send it again and again. A
    session key holding one gets a fresh session instead of a query for it."""
    bad = [name for name, value in request.COOKIES.items() if "\x00" in name + value]
    for name in bad:
        del request.COOKIES[name]
    session = getattr(request, "session", None)
    if bad and session is not None and "\x00" in (session.session_key or ""):
        request.session = type(session)()


def api_bad_input(request: HttpRequest, problem: BadInput) -> HttpResponse:
    """Refused input on the REST API, in Django REST framework's error shape."""
    return JsonResponse({"detail": problem.message()}, status=400)


class BadInputMiddleware:
    """Refuse (400) input that no database column can hold (see :func:`bad_input`), at one
    place for every view. The answer is plain text, or what the module that owns the path
    declared (``ModuleConfig.bad_input_responses``: Open311 answers in its error format).
    Runs after the locale is chosen and the request size is checked."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        _drop_bad_cookies(request)
        problem = bad_input(request)
        if problem is None:
            return self.get_response(request)
        log.info("bad input refused", parameter=problem.parameter or "(path)")
        respond = modules.bad_input_response(request.path_info)
        if respond is not None:
            response: HttpResponse = respond(request, problem)
            return response
        if errors.wants_html(request):  # a browser: the site's own page
            return errors.error_page(request, 400, message=problem.message())
        return HttpResponse(problem.message(), status=400, content_type="text/plain; charset=utf-8")
