"""The report form's hidden resend key opens nothing for someone else (issue 15): it is bound
to the content sent and to the browser (CSRF cookie or session), and the form page is never
stored in a cache, so every visitor gets their own key."""

from __future__ import annotations

import pytest
from django.test import Client

from regiohub.meldpunt.models import Report
from regiohub.meldpunt.tests.test_public_form import URL, form_data

pytestmark = pytest.mark.django_db

KEY = "k" * 32


def browser() -> Client:
    """A browser that has opened the form: it holds the form's CSRF cookie."""
    client = Client(enforce_csrf_checks=True)
    page = client.get(URL)
    assert page.status_code == 200
    client.csrf_token = page.context["csrf_token"]
    return client


def send(client: Client, **overrides: object):
    data = {**form_data(client_key=KEY, **overrides), "csrfmiddlewaretoken": client.csrf_token}
    response = client.post(URL, data)
    assert response.status_code == 302, getattr(response, "context", None)
    return response


def test_the_same_browser_sending_the_same_form_again_files_once(categories):
    citizen = browser()
    first = send(citizen)
    second = send(citizen)

    assert Report.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_another_browser_with_the_same_key_files_its_own_report(categories):
    first = send(browser())
    # Someone who learnt the key, sending the very same content from their own browser.
    other = send(browser())

    assert Report.objects.count() == 2
    assert other["Location"] != first["Location"]


def test_the_same_key_with_other_content_files_a_new_report(categories):
    citizen = browser()
    first = send(citizen)
    other = send(citizen, description="Een ander gat, verderop.")

    assert Report.objects.count() == 2
    assert other["Location"] != first["Location"]
    assert set(Report.objects.values_list("description", flat=True)) == {
        "Diep gat in het fietspad.",
        "Een ander gat, verderop.",
    }


def test_the_form_and_its_answer_are_never_stored_in_a_cache(client, categories):
    page = client.get(URL)
    assert "no-store" in page["Cache-Control"]

    answer = client.post(URL, form_data(client_key=KEY))
    assert answer.status_code == 302
    assert "no-store" in answer["Cache-Control"]

    refused = client.post(URL, form_data(description=""))
    assert refused.status_code == 200
    assert "no-store" in refused["Cache-Control"]
