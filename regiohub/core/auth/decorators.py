from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

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
