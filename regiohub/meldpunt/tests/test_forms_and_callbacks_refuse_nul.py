"""NUL never reaches the database through the contact point's forms or a back office's
JSON callback (PostgreSQL refuses NUL in text). Issue 15."""

from __future__ import annotations

import json

import pytest
from django import forms
from django.core.validators import ProhibitNullCharactersValidator
from django.test import Client

from regiohub.meldpunt import forms as meldpunt_forms
from regiohub.meldpunt.contrib.connectors.base import sign
from regiohub.meldpunt.models import Report
from regiohub.meldpunt.tests.test_connectors_webhook import SECRET, sent  # noqa: F401

FORMS = [
    meldpunt_forms.ReportForm,
    meldpunt_forms.IntakeForm,
    meldpunt_forms.AnswerForm,
    meldpunt_forms.SatisfactionForm,
    meldpunt_forms.ReopenForm,
]


@pytest.mark.parametrize("form_class", FORMS, ids=lambda f: f.__name__)
def test_every_text_field_prohibits_nul(form_class):
    """Behind the platform's check: a text field refuses NUL itself (Django's CharField
    and its subclasses carry the validator); choices are checked against their list."""
    for name, field in form_class.base_fields.items():
        if isinstance(field, forms.CharField):
            assert any(isinstance(v, ProhibitNullCharactersValidator) for v in field.validators), (
                name
            )
        else:
            assert isinstance(
                field, forms.ChoiceField | forms.FloatField | forms.BooleanField | forms.FileField
            ), name


@pytest.mark.django_db
def test_the_public_form_refuses_nul(categories):
    response = Client().post("/melden/", {"description": "Gat\x00", "category": "pothole"})
    assert response.status_code == 400
    assert not Report.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["external_id", "status", "note", "event_id"])
def test_a_callback_with_nul_in_its_json_is_refused(client, sent, field):  # noqa: F811
    config, report = sent
    body = {"external_id": "BO-9", "status": "in_progress", "note": "ok", "event_id": "e-1"}
    body[field] += "\x00"
    raw = json.dumps(body).encode()  # NUL as the JSON escape \u0000
    response = client.post(
        f"/meldpunt/connectors/{config.pk}/callback/",
        raw,
        content_type="application/json",
        headers={"X-Regiohub-Signature": sign(SECRET, raw)},
    )
    assert response.status_code == 400
    assert "NUL" in response.json()["error"]
    report.refresh_from_db()
    assert report.status != "in_progress"


@pytest.mark.django_db
def test_nul_in_a_follow_up_token_is_refused_without_a_trace(categories):
    response = Client().get("/melding/%00/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.content.decode().startswith("The address contains a control character")


@pytest.mark.django_db
def test_nul_in_the_path_of_a_callback_is_refused_in_json(client, categories):
    response = client.post(
        "/meldpunt/connectors/1%00/callback/",
        b"{}",
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "control character" in response.json()["error"]
