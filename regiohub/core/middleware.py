"""Request id for logs and history; security headers on every response."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from regiohub.core import modules

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
            return HttpResponse(
                _("This is too much data to send at once (at most %(mb)d MB). Send fewer or "
                  "smaller photos.") % {"mb": limit_mb},
                status=413,
                content_type="text/plain; charset=utf-8",
            )  # fmt: skip
        return self.get_response(request)
