"""Personal API tokens on the REST API: ``Authorization: Bearer <token>`` (also
``Token <token>``, and the bare token as CKAN clients send their key).

A request that sends a token is answered as the token's owner, within the token's scope
(``core.access.limit_to_token``); a token that opens nothing is a 401 with the reason in
the request's language, never a silent fall-back to an anonymous caller. A read-only token
is refused (403) on every request that could change something.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from regiohub.core import api_tokens


class ReadOnlyToken(exceptions.PermissionDenied):
    default_code = "token_read_only"


class ApiTokenAuthentication(BaseAuthentication):
    """Authenticates a request by a personal API token (see ``core.api_tokens``)."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        try:
            # None without a token: a session, or an anonymous caller.
            return api_tokens.authenticate(request)
        except api_tokens.TokenReadOnly as refused:
            raise ReadOnlyToken(refused.message) from None
        except api_tokens.TokenRefused as refused:
            raise exceptions.AuthenticationFailed(refused.message, code=refused.code) from None

    def authenticate_header(self, request: Request) -> str:
        # A 401 needs a challenge (without one DRF answers 403).
        return api_tokens.CHALLENGE


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes the token (drf-spectacular)."""

    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (rh_…), created on the API tokens page of "
            "your account. Read tokens read; write tokens also write datasets. What a token "
            "reaches is what its owner may, in the organisations chosen for it.",
        }
