"""Dutch first, French and English too; translation files complete."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.test import Client

LOCALE = Path(__file__).resolve().parents[2] / "locale"

pytestmark = pytest.mark.django_db


def test_site_speaks_dutch_by_default(region):
    response = Client().get("/")
    assert response.status_code == 200
    assert '<html lang="nl">' in response.text
    assert "Naar de hoofdinhoud" in response.text


def test_language_switcher_works_without_javascript(region):
    client = Client()
    response = client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    assert response.status_code == 302
    page = client.get("/")
    assert '<html lang="fr">' in page.text
    assert "Courtrai" in page.text  # municipality names follow the language
    assert "Aller au contenu principal" in page.text
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Skip to main content" in client.get("/").text


def test_browser_language_is_respected(region):
    page = Client().get("/", HTTP_ACCEPT_LANGUAGE="fr-BE,fr;q=0.9")
    assert '<html lang="fr">' in page.text


def test_unknown_language_falls_back_to_dutch(region):
    client = Client()
    client.post("/i18n/setlang/", {"language": "xx", "next": "/"})
    assert '<html lang="nl">' in client.get("/").text


def test_switcher_refuses_off_site_next(region):
    response = Client().post("/i18n/setlang/", {"language": "fr", "next": "https://evil.example/"})
    assert response["Location"] == "/"


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_translation_files_are_complete_and_valid(language):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr, result.stderr
    assert "fuzzy" not in result.stderr, result.stderr
