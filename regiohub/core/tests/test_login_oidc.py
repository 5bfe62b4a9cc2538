"""Log in through a real OpenID Connect provider (oidc-provider-mock, over HTTP)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from oidc_provider_mock import run_server_in_thread

from regiohub.core.auth import oidc
from regiohub.core.models import User
from regiohub.core.tests.factories import MembershipFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def provider(settings) -> Iterator[str]:
    with run_server_in_thread() as server:
        issuer = f"http://localhost:{server.server_port}"
        settings.OIDC_ISSUER_URL = issuer
        settings.OIDC_RP_CLIENT_ID = "regiohub"
        settings.OIDC_RP_CLIENT_SECRET = "regiohub-secret"
        oidc._discovery.clear()
        yield issuer
        oidc._discovery.clear()


def login_through_provider(live_server, issuer: str, sub: str, claims: dict) -> requests.Session:
    requests.put(f"{issuer}/users/{sub}", json=claims, timeout=5).raise_for_status()
    browser = requests.Session()
    start = browser.get(f"{live_server.url}/oidc/authenticate/", allow_redirects=False, timeout=5)
    assert start.status_code == 302
    authorize_url = start.headers["Location"]
    assert authorize_url.startswith(f"{issuer}/oauth2/authorize")
    assert "code_challenge=" in authorize_url  # PKCE
    consent = browser.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=5)
    assert consent.status_code == 302
    callback = consent.headers["Location"]
    assert callback.startswith(f"{live_server.url}/oidc/callback/")
    browser.get(callback, allow_redirects=False, timeout=10)
    return browser


def test_known_person_logs_in_through_the_identity_provider(live_server, provider, region):
    person = MembershipFactory(organisation=region["KOR"], agent=True).user
    browser = login_through_provider(
        live_server,
        provider,
        "kortrijk-42",
        {"email": person.email.upper(), "email_verified": True, "name": "Karel Vercruysse"},
    )
    page = browser.get(f"{live_server.url}/staff/", allow_redirects=False, timeout=5)
    assert page.status_code == 200
    assert "Kortrijk" in page.text and "Menen" not in page.text
    person.refresh_from_db()
    assert person.full_name == "Karel Vercruysse"
    assert person.oidc_subject == "kortrijk-42"


def test_unknown_person_is_refused_by_default(live_server, provider, region):
    browser = login_through_provider(
        live_server, provider, "stranger", {"email": "stranger@example.org", "name": "S"}
    )
    page = browser.get(f"{live_server.url}/staff/", allow_redirects=False, timeout=5)
    assert page.status_code == 302 and "/account/login/" in page.headers["Location"]
    assert not User.objects.filter(email="stranger@example.org").exists()


def test_unverified_email_is_refused(live_server, provider, region):
    person = MembershipFactory(organisation=region["KOR"]).user
    browser = login_through_provider(
        live_server, provider, "unverified", {"email": person.email, "email_verified": False}
    )
    page = browser.get(f"{live_server.url}/staff/", allow_redirects=False, timeout=5)
    assert page.status_code == 302


def test_accounts_can_be_created_on_first_login_when_allowed(
    live_server, provider, region, settings
):
    settings.OIDC_CREATE_USER = True
    browser = login_through_provider(
        live_server, provider, "newcomer", {"email": "new@example.org", "name": "Nieuwe Collega"}
    )
    page = browser.get(f"{live_server.url}/staff/", allow_redirects=False, timeout=5)
    assert page.status_code == 200
    user = User.objects.get(email="new@example.org")
    assert user.full_name == "Nieuwe Collega"
    assert not user.memberships.exists()  # roles still come from an administrator


def test_login_page_offers_the_provider_only_when_configured(client, settings, db):
    settings.OIDC_ISSUER_URL = ""
    assert "/oidc/authenticate/" not in client.get("/account/login/").text
    settings.OIDC_ISSUER_URL = "http://localhost:1"
    settings.OIDC_RP_CLIENT_ID = "x"
    assert "/oidc/authenticate/" in client.get("/account/login/").text
