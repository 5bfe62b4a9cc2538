"""Input that no text column can hold (PostgreSQL refuses NUL) is refused with a 400 at
one place, core's BadInputMiddleware, before any view queries with it. Issue 15."""

from __future__ import annotations

import io

import pytest
from django import forms
from django.core.validators import ProhibitNullCharactersValidator
from django.test import Client

from regiohub.core import forms as core_forms
from regiohub.core.models import Department
from regiohub.core.testing import staff_client

pytestmark = pytest.mark.django_db


def plain_400(response):
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    return response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/staff/organisations/K%00R/",
        "/staff/organisations/KOR%00/departments/new/",
        "/staff/organisations/%00/people/new/",
    ],
)
def test_nul_in_an_organisation_code_of_the_url(region, kortrijk_admin, path):
    english = {"HTTP_ACCEPT_LANGUAGE": "en"}
    assert "control character" in plain_400(staff_client(kortrijk_admin).get(path, **english))
    assert "control character" in plain_400(Client().get(path, **english))  # before login


@pytest.mark.parametrize("character", ["%01", "%1f", "%7f", "%0a", "%09"])
def test_other_control_characters_in_the_path(region, character):
    plain_400(Client().get(f"/staff/organisations/KOR{character}/"))


def test_nul_in_the_query_string_names_the_parameter(region):
    response = Client().get("/", {"next": "a\x00b"}, HTTP_ACCEPT_LANGUAGE="en")
    assert plain_400(response) == "next contains a NUL character, which is not allowed."


def test_nul_in_the_name_of_a_parameter(region):
    plain_400(Client().get("/?a%00b=1"))


def test_nul_in_a_form_field(region, kortrijk_admin):
    client = staff_client(kortrijk_admin)
    response = client.post(
        "/staff/organisations/KOR/departments/new/", {"name": "Cul\x00tuur", "email": ""}
    )
    plain_400(response)
    assert not Department.objects.filter(name__startswith="Cul").exists()


def test_nul_in_the_login_form(region):
    plain_400(Client().post("/account/login/", {"email": "a\x00@example.org", "password": "x"}))


def test_nul_in_the_field_name_of_an_upload(region, kortrijk_admin):
    upload = io.BytesIO(b"data")
    upload.name = "photo\x00.jpg"  # Django itself drops non-printables from file names
    response = staff_client(kortrijk_admin).post(
        "/staff/organisations/KOR/departments/new/", {"name": "Cultuur", "fi\x00le": upload}
    )
    plain_400(response)


def test_real_text_with_tabs_and_line_breaks_passes(region, kortrijk_admin):
    """Only NUL is refused in parameters: tabs, line breaks and Word's vertical tab occur
    in pasted text and every database stores them."""
    client = staff_client(kortrijk_admin)
    response = client.post(
        "/staff/organisations/KOR/departments/new/",
        {"name": "Cultuur\tén\x0bsport", "email": ""},
    )
    assert response.status_code == 302
    assert Department.objects.filter(organisation=region["KOR"], name__startswith="Cultuur")


def test_a_session_cookie_holding_nul_is_ignored(region):
    """A quoted cookie may hold an octal escape (``"\\000"``): the session key then held a
    NUL, and every page was a 500 on PostgreSQL."""
    client = Client()
    client.cookies.load('sessionid="\\000abcdefghijklmnop"')
    assert "\x00" in client.cookies["sessionid"].value
    assert client.get("/").status_code == 200
    assert client.get("/staff/").status_code == 302  # to the login page, as without one


def test_the_rest_api_answers_in_its_own_error_format(region):
    """A module declares how refused input is answered under its paths
    (``ModuleConfig.bad_input_responses``); core's REST API answers as DRF does."""
    response = Client().get("/api/v1/organisations/K%00R/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "control character" in response.json()["detail"]
    response = Client().get("/api/v1/departments/", {"organisation__code": "KOR\x00"})
    assert response.status_code == 400
    assert "organisation__code" in response.json()["detail"]


def test_core_forms_prohibit_nul_in_every_text_field():
    """The second line of defence, for code that binds a form to data the middleware
    did not see: Django's CharField (and its subclasses) carries the validator."""
    checked = 0
    for form_class in (core_forms.DepartmentForm, core_forms.MembershipForm):
        for name, field in form_class.base_fields.items():
            if isinstance(field, forms.CharField):
                assert any(
                    isinstance(v, ProhibitNullCharactersValidator) for v in field.validators
                ), name
                checked += 1
    assert checked >= 3
