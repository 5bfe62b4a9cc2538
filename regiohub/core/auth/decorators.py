from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _

from regiohub.core import api_tokens
from regiohub.core.auth.oidc import SESSION_METHOD_KEY


def fully_authenticated(request: HttpRequest) -> bool:
    """Logged in, and with a second factor where one is required."""
    user = request.user
    if not user.is_authenticated or not user.is_active:
        return False
    method = request.session.get(SESSION_METHOD_KEY)
    if method == "oidc":
        return True
    if settings.REQUIRE_2FA:
        return bool(getattr(user, "is_verified", lambda: False)())
    return method is not None


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The view needs a logged-in staff member; others are sent to the login page."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not fully_authenticated(request):
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


#: The methods a view decorated with :func:`token_or_session` answers a token on.
TOKEN_METHODS = ("GET", "HEAD")


def _token_answer(request: HttpRequest, status: int, message: str, code: str) -> HttpResponse:
    """A short answer for a client that sent a token: JSON when it asks for JSON, else plain
    text (what curl, Power BI and QGIS show); never the site's HTML pages."""
    if "json" in request.headers.get("Accept", ""):
        response: HttpResponse = JsonResponse({"detail": message, "code": code}, status=status)
    else:
        response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    if status == 401:
        response["WWW-Authenticate"] = api_tokens.CHALLENGE
    return response


def token_or_session(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The view (a download, read with GET or HEAD) also answers a personal API token, the
    way the REST API does (``core.api_tokens.authenticate``): ``Authorization: Bearer <token>``,
    ``Token <token>`` or the bare token. Such a request is answered as the token's owner
    within the token's scope, for that request only: no session is created or saved and no
    cookie is set. A token that opens nothing is a 401 with the reason in the request's
    language, never an anonymous answer; what the owner may not see is a 404, as for a
    person without rights. Without a token the view is the session's, unchanged; pages
    (HTML) stay session-only and are not decorated.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if api_tokens.token_in_header(request.META.get("HTTP_AUTHORIZATION", "")) is None:
            response = view(request, *args, **kwargs)
            patch_vary_headers(response, ["Authorization"])
            return response
        if request.method not in TOKEN_METHODS:
            return HttpResponseNotAllowed(TOKEN_METHODS)
        try:
            found = api_tokens.authenticate(request)
        except api_tokens.TokenRefused as refused:
            return _token_answer(request, 401, refused.message, refused.code)
        assert found is not None
        request.user = found[0]
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            response = _token_answer(
                request,
                404,
                _("There is nothing at this address, or nothing this API token may read."),
                "not_found",
            )
        except PermissionDenied:
            response = _token_answer(
                request, 403, _("This API token may not do this."), "permission_denied"
            )
        # The answer belongs to this token alone: no shared cache keeps it, and no cookie
        # (a CSRF token a page asked for) goes with it.
        patch_vary_headers(response, ["Authorization"])
        patch_cache_control(response, private=True)
        request.META["CSRF_COOKIE_NEEDS_UPDATE"] = False
        return response

    return wrapper
