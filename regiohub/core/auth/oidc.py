"""Login through the municipality's OpenID Connect provider (mozilla-django-oidc).

Only ``OIDC_ISSUER_URL``, the client id and secret are configured; the endpoints are read
from the provider's discovery document once per process. People are matched on their
(verified) e-mail address; unknown people are refused unless ``OIDC_CREATE_USERS`` is set.
"""

from __future__ import annotations

import threading
from typing import Any

import jwt
import requests
import structlog
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponseBase
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

log = structlog.get_logger(__name__)

SESSION_METHOD_KEY = "regiohub_auth_method"

_DISCOVERED_SETTINGS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
    "OIDC_OP_LOGOUT_ENDPOINT": "end_session_endpoint",
}
_discovery: dict[str, dict[str, Any]] = {}
_lock = threading.Lock()


def enabled() -> bool:
    return bool(settings.OIDC_ISSUER_URL and settings.OIDC_RP_CLIENT_ID)


def discovery_document(issuer: str) -> dict[str, Any]:
    """The provider's ``/.well-known/openid-configuration``, fetched once per process."""
    with _lock:
        if issuer not in _discovery:
            url = issuer.rstrip("/") + "/.well-known/openid-configuration"
            response = requests.get(url, timeout=10)
            response.raise_for_status()
            document = response.json()
            if document.get("issuer", "").rstrip("/") != issuer.rstrip("/"):
                raise ImproperlyConfigured(
                    f"OIDC discovery at {url} names issuer {document.get('issuer')!r}"
                )
            _discovery[issuer] = document
        return _discovery[issuer]


def get_setting(attr: str, *args: Any) -> Any:
    if attr in _DISCOVERED_SETTINGS:
        if not enabled():
            return ""
        return discovery_document(settings.OIDC_ISSUER_URL).get(_DISCOVERED_SETTINGS[attr], "")
    if attr == "OIDC_USE_PKCE":
        return True
    return import_from_settings(attr, *args)


def username_from_email(email: str, claims: dict[str, Any] | None = None) -> str:
    return email.lower()


class OIDCBackend(OIDCAuthenticationBackend):
    get_settings = staticmethod(get_setting)

    def authenticate(self, request: Any, **kwargs: Any) -> Any:
        if not enabled() or request is None or "code" not in request.GET:
            return None
        user = super().authenticate(request, **kwargs)
        if user is not None:
            request.session[SESSION_METHOD_KEY] = "oidc"
        return user

    def retrieve_matching_jwk(self, token: bytes) -> Any:
        """The provider's signing key: by ``kid`` when the token names one, else by
        algorithm (a provider with a single key may leave ``kid`` out, RFC 7515 4.1.4)."""
        response = requests.get(self.OIDC_OP_JWKS_ENDPOINT, timeout=10)
        response.raise_for_status()
        header = jwt.get_unverified_header(token)
        candidates = [
            key
            for key in response.json().get("keys", [])
            if key.get("use", "sig") == "sig"
            and key.get("alg", header.get("alg")) == header.get("alg")
            and ("kid" not in header or key.get("kid") == header["kid"])
        ]
        if len(candidates) != 1:
            raise SuspiciousOperation("No single matching signing key at the provider.")
        return jwt.PyJWK(candidates[0])

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        email = claims.get("email")
        if not email or claims.get("email_verified") is False:
            log.warning("oidc login refused: no verified e-mail", sub=claims.get("sub"))
            return False
        return True

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        return self.UserModel.objects.filter(email__iexact=claims["email"], is_active=True)

    def create_user(self, claims: dict[str, Any]) -> Any:
        log.info("oidc login created an account", sub=claims.get("sub"))
        return self.UserModel.objects.create_user(
            email=claims["email"],
            password=None,
            full_name=claims.get("name") or claims["email"],
            oidc_subject=str(claims.get("sub", "")),
        )

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        changed = []
        if claims.get("name") and claims["name"] != user.full_name:
            user.full_name = claims["name"]
            changed.append("full_name")
        if claims.get("sub") and str(claims["sub"]) != user.oidc_subject:
            user.oidc_subject = str(claims["sub"])
            changed.append("oidc_subject")
        if changed:
            user.save(update_fields=changed)
        return user


def _refuse_unless_enabled() -> None:
    """Without a provider the routes do not exist: 404, before the view stores its state
    and nonce in a session (a session row per anonymous hit otherwise)."""
    if not settings.OIDC_ISSUER_URL or not enabled():
        raise Http404


class OIDCStartView(OIDCAuthenticationRequestView):
    get_settings = staticmethod(get_setting)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        _refuse_unless_enabled()
        return super().dispatch(request, *args, **kwargs)


class OIDCCallbackView(OIDCAuthenticationCallbackView):
    get_settings = staticmethod(get_setting)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        _refuse_unless_enabled()
        return super().dispatch(request, *args, **kwargs)
