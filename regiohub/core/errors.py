"""The error pages (400, 403, 404, 413, 429, 500): the site's own, styled, translated and
usable on a phone. ``regiohub.urls`` wires the views below as Django's error handlers; the
middleware that refuses a request before any view (too large, control characters) and the
views that slow a client down answer a browser with the same pages.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

from regiohub.core import access

TEMPLATES = {
    400: "400.html",
    403: "403.html",
    404: "404.html",
    413: "413.html",
    429: "429.html",
    500: "500.html",
}


def wants_html(request: HttpRequest) -> bool:
    """A browser asks for a page (``Accept: text/html``); webhooks, API clients and scripts
    keep their plain-text or JSON answers. A request answered for an API token is never a
    browser's."""
    if access.token_scope(getattr(request, "user", None)) is not None:
        return False
    return "text/html" in request.headers.get("Accept", "")


def error_page(request: HttpRequest, status: int, **context: Any) -> HttpResponse:
    """The styled page for ``status``, with the request's context (menus, language)."""
    return render(request, TEMPLATES[status], {"status": status, **context}, status=status)


@requires_csrf_token
def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 400)


@requires_csrf_token
def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 403)


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    """Rendered without the request: no context processor runs, so the page needs no
    database (which may be what failed), no session and no user."""
    template = loader.get_template(TEMPLATES[500])
    html = template.render({"status": 500, "REGION_NAME": settings.REGION_NAME})
    return HttpResponse(html, status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without a valid CSRF token (``CSRF_FAILURE_VIEW``): most often a page
    left open past its session. Says so, instead of Django's English technical page."""
    return render(request, "403_csrf.html", {"status": 403}, status=403)
