"""Without an identity provider the OIDC routes answer 404 and store nothing (issue 15)."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/oidc/authenticate/", "/oidc/callback/?code=x&state=y"])
def test_oidc_routes_are_404_without_a_session_when_oidc_is_off(client, settings, path):
    settings.OIDC_ISSUER_URL = ""
    settings.OIDC_RP_CLIENT_ID = ""

    for _ in range(3):
        response = client.get(path)
        assert response.status_code == 404
        assert django_settings.SESSION_COOKIE_NAME not in response.cookies

    assert not Session.objects.exists()


def test_a_client_id_without_an_issuer_is_still_off(client, settings):
    settings.OIDC_ISSUER_URL = ""
    settings.OIDC_RP_CLIENT_ID = "regiohub"

    assert client.get("/oidc/authenticate/").status_code == 404
    assert not Session.objects.exists()


def test_the_route_starts_a_login_when_oidc_is_configured(client, settings, monkeypatch):
    from regiohub.core.auth import oidc

    settings.OIDC_ISSUER_URL = "https://login.example.org"
    settings.OIDC_RP_CLIENT_ID = "regiohub"
    settings.OIDC_RP_CLIENT_SECRET = "secret"
    monkeypatch.setitem(
        oidc._discovery,
        "https://login.example.org",
        {
            "issuer": "https://login.example.org",
            "authorization_endpoint": "https://login.example.org/authorize",
            "token_endpoint": "https://login.example.org/token",
            "userinfo_endpoint": "https://login.example.org/userinfo",
            "jwks_uri": "https://login.example.org/jwks",
        },
    )

    response = client.get("/oidc/authenticate/")

    assert response.status_code == 302
    assert response["Location"].startswith("https://login.example.org/authorize")
