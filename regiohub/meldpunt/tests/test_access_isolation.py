"""A user of one municipality never sees another municipality's departments or people."""

from __future__ import annotations

import pytest
from django.test import Client

from regiohub.core import access
from regiohub.core.models import Department, Membership, Organisation
from regiohub.core.roles import MANAGE_ORGANISATION
from regiohub.core.testing import staff_client
from regiohub.core.tests.factories import MembershipFactory
from regiohub.meldpunt.permissions import TAKE_REPORTS

pytestmark = pytest.mark.django_db


def test_scope_limits_departments_to_own_municipality(region, kortrijk_agent):
    visible = access.scope(Department.objects.all(), kortrijk_agent)
    assert visible.exists()
    assert set(visible.values_list("organisation__code", flat=True)) == {"KOR"}


def test_region_membership_covers_every_member_organisation(region, region_admin):
    ids = access.organisation_ids(region_admin)
    assert ids == set(Organisation.objects.values_list("pk", flat=True))


def test_intermunicipal_membership_does_not_cover_municipalities(region):
    user = MembershipFactory(organisation=region["W13"]).user
    assert access.organisation_ids(user) == {region["W13"].pk}


def test_anonymous_and_inactive_users_see_nothing(region, kortrijk_agent):
    from django.contrib.auth.models import AnonymousUser

    assert not access.scope(Organisation.objects.all(), AnonymousUser(), via="pk").exists()
    kortrijk_agent.is_active = False
    access.forget(kortrijk_agent)
    assert access.organisation_ids(kortrijk_agent) == frozenset()


def test_capability_is_per_role(region, kortrijk_agent):
    assert access.can(kortrijk_agent, TAKE_REPORTS, region["KOR"])
    assert not access.can(kortrijk_agent, MANAGE_ORGANISATION, region["KOR"])
    assert not access.can(kortrijk_agent, TAKE_REPORTS, region["MEN"])


def test_kortrijk_user_cannot_list_or_read_menen_pages(region, kortrijk_agent):
    client = staff_client(kortrijk_agent)
    menen = region["MEN"]
    menen_department = menen.departments.first()
    menen_person = MembershipFactory(organisation=menen, agent=True).user

    home = client.get("/staff/")
    assert home.status_code == 200
    assert "Kortrijk" in home.text
    assert "Menen" not in home.text

    assert client.get("/staff/organisations/MEN/").status_code == 404
    url = f"/staff/organisations/MEN/departments/{menen_department.pk}/"
    assert client.get(url).status_code == 404
    # Menen's department through Kortrijk's URL is not found either.
    url = f"/staff/organisations/KOR/departments/{menen_department.pk}/"
    assert client.get(url).status_code == 404

    own = client.get("/staff/organisations/KOR/")
    assert own.status_code == 200
    assert menen_person.email not in own.text
    assert menen_department.email not in own.text


def test_kortrijk_user_cannot_list_or_read_menen_through_the_api(region, kortrijk_agent):
    client = staff_client(kortrijk_agent)
    listing = client.get("/api/v1/departments/?limit=500").json()
    assert {row["organisation"] for row in listing["results"]} == {"KOR"}
    menen_department = region["MEN"].departments.first()
    assert client.get(f"/api/v1/departments/{menen_department.pk}/").status_code == 404
    assert client.get("/api/v1/organisations/MEN/").status_code == 404
    codes = {row["code"] for row in client.get("/api/v1/organisations/").json()["results"]}
    assert codes == {"KOR"}


def test_anonymous_api_and_pages_are_closed(region):
    client = Client()
    answer = client.get("/api/v1/departments/")
    assert answer.status_code == 401  # with a challenge: send a login or an API token
    assert answer["WWW-Authenticate"].startswith("Bearer")
    response = client.get("/staff/organisations/KOR/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/")


def test_kortrijk_admin_cannot_add_to_menen(region, kortrijk_admin):
    client = staff_client(kortrijk_admin)
    response = client.post("/staff/organisations/MEN/departments/new/", {"name": "Schaduwdienst"})
    assert response.status_code == 404
    response = client.post(
        "/staff/organisations/MEN/people/new/",
        {"email": "spy@example.org", "full_name": "Spy", "role": "admin"},
    )
    assert response.status_code == 404
    assert not Department.objects.filter(name="Schaduwdienst").exists()
    assert not Membership.objects.filter(user__email="spy@example.org").exists()


def test_agent_cannot_manage_own_organisation(region, kortrijk_agent):
    client = staff_client(kortrijk_agent)
    response = client.post("/staff/organisations/KOR/departments/new/", {"name": "Nieuw"})
    assert response.status_code == 403
    assert not Department.objects.filter(name="Nieuw").exists()
