"""Every error page - 400, 403, 404, 413, 429, 500 and the expired form - is the site's own:
the layout with its header and language choice, translated, fit for a phone. The 500 page
renders with the database down. A browser gets these pages; webhooks, API clients and
scripts keep their plain-text or JSON answers."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.urls import include, path

from regiohub.core import errors
from regiohub.core.roles import Role
from regiohub.core.testing import staff_client
from regiohub.core.tests.factories import MembershipFactory

BROWSER = {"HTTP_ACCEPT": "text/html,application/xhtml+xml,*/*;q=0.8"}
SKIP_LINK = {"nl": "Naar de hoofdinhoud", "fr": "Aller au contenu principal", "en": "Skip to"}


def boom(request):
    raise RuntimeError("a bug")


# The site's addresses, and one that fails: the 500 through Django's own handling.
urlpatterns = [path("boom/", boom), path("", include("regiohub.urls"))]
handler500 = "regiohub.core.errors.server_error"


def styled(response, status: int, language: str = "en") -> str:
    """The site's layout, in ``language``, with the status named; the page's HTML."""
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert 'class="site-header"' in html and SKIP_LINK[language] in html
    assert f"{status}" in html
    return html


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_a_page_that_does_not_exist(region, language):
    response = Client().get("/nergens/", HTTP_ACCEPT_LANGUAGE=language)
    html = styled(response, 404, language)
    if language == "en":
        assert "Page not found" in html


@pytest.mark.django_db
def test_another_municipalitys_report_is_the_styled_404(region, categories, kortrijk_agent):
    from regiohub.meldpunt.tests.factories import MENEN_CENTRE, file_report

    menen = file_report(where=MENEN_CENTRE)
    response = staff_client(kortrijk_agent).get(
        f"/staff/reports/{menen.reference}/", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "none that you may see" in styled(response, 404)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_incoming_mail_refuses_a_handler_with_the_styled_403(region, language):
    person = MembershipFactory(organisation=region["KOR"], role=Role.HANDLER).user
    client = staff_client(person)
    for url in ("/staff/reports/mail/", "/staff/reports/new/"):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        html = styled(response, 403, language)
        assert "403 Forbidden" not in html
        if language == "en":
            assert "Your account has no access to this page" in html


@pytest.mark.django_db
def test_a_forbidden_page_before_login_offers_the_login(region):
    response = Client().get("/admin/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302  # the admin's login: ours
    person = MembershipFactory(organisation=region["KOR"]).user
    response = staff_client(person).get("/admin/login/", HTTP_ACCEPT_LANGUAGE="en")
    html = styled(response, 403)
    assert "ask an administrator" in html


@pytest.mark.django_db
def test_a_form_sent_after_its_page_expired(region):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/account/login/", {"username": "x", "password": "y"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    html = styled(response, 403)
    assert "This form has expired" in html and "CSRF" not in html


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_a_control_character_in_the_address_is_the_styled_400_for_a_browser(region, language):
    response = Client().get("/melden/?next=a%00b", HTTP_ACCEPT_LANGUAGE=language, **BROWSER)
    html = styled(response, 400, language)
    if language == "en":
        assert "next contains a NUL character" in html
    # Scripts keep the plain text (core/tests/test_nul_input_is_refused.py).
    response = Client().get("/melden/?next=a%00b", HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Type"] == "text/plain; charset=utf-8"


@pytest.mark.django_db
def test_a_request_django_finds_suspicious_is_the_styled_400(region, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    response = Client().get("/", HTTP_HOST="evil.example", HTTP_ACCEPT_LANGUAGE="en")
    assert "The request could not be read" in styled(response, 400)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_too_much_data_is_the_styled_413_for_a_browser(region, settings, language):
    settings.MAX_REQUEST_MB = 1
    big = {"CONTENT_LENGTH": str(2 * 1024 * 1024), "HTTP_ACCEPT_LANGUAGE": language}
    response = Client().post("/melden/", {"description": "x"}, **big, **BROWSER)
    html = styled(response, 413, language)
    if language == "en":
        assert "at most 1 MB" in html
    response = Client().post("/melden/", {"description": "x"}, **big)
    assert response.status_code == 413 and response["Content-Type"].startswith("text/plain")


@pytest.mark.django_db
def test_too_many_downloads_is_the_styled_429_for_a_browser(region, settings, tmp_path):
    from regiohub.datasets.tests.factories import COUNTS_CSV, make_dataset, upload

    settings.DATASETS_URI = str(tmp_path / "tables")
    settings.DATA_DIR = tmp_path
    steward = MembershipFactory(organisation=region["KOR"], role=Role.DATA_STEWARD).user
    dataset = make_dataset(region["KOR"], steward, access="open")
    assert upload(dataset, steward, COUNTS_CSV).state == "done"
    settings.DATASETS_DOWNLOAD_RATE = "1/hour"
    client = Client()
    url = f"/data/{dataset.slug}/download/?format=csv"
    answers = [client.get(url, HTTP_ACCEPT_LANGUAGE="en", **BROWSER) for _n in range(2)]
    response = answers[-1]
    html = styled(response, 429)
    assert "Please wait a moment" in html and int(response["Retry-After"]) > 0
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 429 and response["Content-Type"].startswith("text/plain")


@pytest.mark.django_db
def test_a_server_error_is_the_styled_500(region, settings):
    settings.ROOT_URLCONF = __name__
    response = Client(raise_request_exception=False).get("/boom/", HTTP_ACCEPT_LANGUAGE="en")
    html = styled(response, 500)
    assert "Something went wrong on our side" in html
    assert "a bug" not in html  # nothing of the error shows


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_the_500_page_needs_no_database(language):
    """No ``django_db`` mark: any query would fail this test."""
    from django.utils import translation

    with translation.override(language):
        response = errors.server_error(RequestFactory().get("/"))
    html = styled(response, 500, language)
    assert "Zuid-West-Vlaanderen" in html  # the region's name, from the settings
