"""Staff login: password, then a TOTP code (enrolling an app at the first login).

The user is logged in only after the second factor; between the steps the session holds
the pending user's id for a few minutes. Failed passwords and codes count towards the same
lockout (django-axes).
"""

from __future__ import annotations

import base64
import io
import time
from typing import Any

import qrcode
import qrcode.image.svg
import structlog
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from regiohub.core.auth.forms import LoginForm, TokenForm
from regiohub.core.auth.oidc import SESSION_METHOD_KEY
from regiohub.core.auth.oidc import enabled as oidc_enabled

log = structlog.get_logger(__name__)

PENDING_KEY = "regiohub_pending_login"
PENDING_SECONDS = 300


def locked_out(request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any) -> Any:
    """What a locked-out login sees (django-axes calls this)."""
    minutes = settings.LOGIN_COOLOFF_MINUTES
    response = render(request, "core/auth/locked_out.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


def _safe_next(request: HttpRequest, value: str | None) -> str:
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return reverse(settings.LOGIN_REDIRECT_URL)


def _pending_user(request: HttpRequest) -> Any:
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending["since"] > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None
    return get_user_model().objects.filter(pk=pending["user"], is_active=True).first()


def _finish(request: HttpRequest, user: Any, device: TOTPDevice | None) -> HttpResponse:
    next_url = request.session.get(PENDING_KEY, {}).get("next")
    request.session.pop(PENDING_KEY, None)
    auth.login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[SESSION_METHOD_KEY] = "password+totp" if device else "password"
    if device is not None:
        otp_login(request, device)
    log.info("login", user_id=user.pk, method=request.session[SESSION_METHOD_KEY])
    return HttpResponseRedirect(_safe_next(request, next_url))


def _code_failed(request: HttpRequest, user: Any) -> HttpResponse | None:
    credentials = {"username": user.email}
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    if not AxesProxyHandler.is_allowed(request, credentials):
        request.session.pop(PENDING_KEY, None)
        return locked_out(request)
    return None


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(_safe_next(request, request.GET.get("next")))
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.user
        request.session.cycle_key()
        request.session[PENDING_KEY] = {
            "user": user.pk,
            "since": time.time(),
            "next": request.POST.get("next") or request.GET.get("next") or "",
        }
        device = TOTPDevice.objects.devices_for_user(user, confirmed=True).first()
        if device is not None:
            return redirect("core:login-verify")
        if settings.REQUIRE_2FA:
            return redirect("core:login-setup")
        return _finish(request, user, None)
    if request.GET.get("oidc") == "failed":
        messages.error(request, _("Logging in through your organisation did not succeed."))
    return render(
        request,
        "core/auth/login.html",
        {"form": form, "next": request.GET.get("next", ""), "oidc_enabled": oidc_enabled()},
    )


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    user = _pending_user(request)
    if user is None:
        messages.info(request, _("Please log in again."))
        return redirect("core:login")
    device = TOTPDevice.objects.devices_for_user(user, confirmed=True).first()
    if device is None:
        return redirect("core:login-setup")
    form = TokenForm(data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            return _finish(request, user, device)
        if (response := _code_failed(request, user)) is not None:
            return response
        form.add_error(
            "token",
            _("This code is not correct or no longer valid. Try the code your app shows now."),
        )
    return render(request, "core/auth/verify.html", {"form": form})


def _qr_svg(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    user = _pending_user(request)
    if user is None:
        messages.info(request, _("Please log in again."))
        return redirect("core:login")
    if TOTPDevice.objects.devices_for_user(user, confirmed=True).exists():
        return redirect("core:login-verify")
    device, _created = TOTPDevice.objects.get_or_create(
        user=user, confirmed=False, defaults={"name": _("Authenticator app")}
    )
    form = TokenForm(data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            messages.success(request, _("Your authenticator app is set up."))
            return _finish(request, user, device)
        if (response := _code_failed(request, user)) is not None:
            return response
        form.add_error(
            "token",
            _(
                "This code is not correct. Check that you scanned the code "
                "shown on this page and try again."
            ),
        )
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(
        request,
        "core/auth/setup.html",
        {
            "form": form,
            "qr": _qr_svg(device.config_url),
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        },
    )


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    auth.logout(request)
    messages.success(request, _("You are logged out."))
    return redirect(settings.LOGOUT_REDIRECT_URL)
