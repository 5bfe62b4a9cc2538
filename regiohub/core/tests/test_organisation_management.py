"""An administrator adds departments and people; bad input is refused clearly."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from regiohub.core.models import Department, HistoryEntry, Membership, User
from regiohub.core.testing import run_tasks, staff_client
from regiohub.core.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_admin_adds_a_department_and_history_records_it(region, kortrijk_admin):
    client = staff_client(kortrijk_admin)
    response = client.post(
        "/staff/organisations/KOR/departments/new/",
        {"name": "  Cultuur  ", "email": "cultuur@kortrijk.be"},
    )
    assert response.status_code == 302
    department = Department.objects.get(organisation=region["KOR"], name="Cultuur")
    entry = HistoryEntry.objects.for_object(department).get()
    assert entry.action == "department.created"
    assert entry.actor == kortrijk_admin
    assert entry.organisation == region["KOR"]
    page = client.get("/staff/organisations/KOR/")
    assert "Cultuur" in page.text


def test_duplicate_department_names_are_refused_with_the_reason(region, kortrijk_admin):
    client = staff_client(kortrijk_admin)
    response = client.post("/staff/organisations/KOR/departments/new/", {"name": "mobiliteit"})
    assert response.status_code == 200
    assert "Mobiliteit" in response.text or "mobiliteit" in response.text
    assert "form-errors" in response.text
    assert (
        Department.objects.filter(organisation=region["KOR"], name__iexact="mobiliteit").count()
        == 1
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Ok", "email": "not-an-address"}, "email"),
        ({"name": "Ok", "email": "a@" + "b" * 300 + ".be"}, "email"),
    ],
)
def test_bad_department_input_names_the_field(region, kortrijk_admin, data, field):
    response = staff_client(kortrijk_admin).post("/staff/organisations/KOR/departments/new/", data)
    assert response.status_code == 200
    assert f'id="id_{field}"' in response.text
    assert re.search(
        rf'id="id_{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="id_{field}"',
        response.text,
    )
    assert not Department.objects.filter(name="Ok").exists()


def test_hostile_department_name_is_stored_as_text_and_escaped(region, kortrijk_admin):
    client = staff_client(kortrijk_admin)
    name = "<script>alert('x')</script> Dienst"
    client.post("/staff/organisations/KOR/departments/new/", {"name": name})
    assert Department.objects.filter(name=name).exists()
    page = client.get("/staff/organisations/KOR/").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page


def test_new_person_gets_an_invitation_by_mail_through_the_worker(region, kortrijk_admin):
    client = staff_client(kortrijk_admin)
    department = region["KOR"].departments.get(name="Milieu")
    response = client.post(
        "/staff/organisations/KOR/people/new/",
        {
            "email": "Nieuw.Collega@Kortrijk.be",
            "full_name": "Nieuwe Collega",
            "role": "handler",
            "department": department.pk,
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email__iexact="nieuw.collega@kortrijk.be")
    assert not user.has_usable_password()
    membership = Membership.objects.get(user=user)
    assert membership.department == department and membership.role == "handler"
    assert HistoryEntry.objects.for_object(membership).get().action == "membership.created"

    assert mail.outbox == []  # sent by the worker, not by the request
    run_tasks()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nieuw.collega@kortrijk.be"]
    link = re.search(r"https?://\S+/account/password/\S+/", message.body).group(0)

    path = link.split("://", 1)[1].split("/", 1)[1]
    anonymous = Client()
    form_page = anonymous.get("/" + path, follow=True)
    assert form_page.status_code == 200
    response = anonymous.post(
        form_page.redirect_chain[-1][0],
        {
            "new_password1": "Kortrijk-aan-de-Leie-2026",
            "new_password2": "Kortrijk-aan-de-Leie-2026",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Kortrijk-aan-de-Leie-2026")
    # The link works once.
    assert (
        "no longer valid" in anonymous.get("/" + path, follow=True).text
        or "niet meer geldig" in anonymous.get("/" + path, follow=True).text
    )


def test_existing_person_gets_a_second_role_without_a_new_invitation(region, kortrijk_admin):
    existing = MembershipFactory(organisation=region["KOR"], agent=True).user
    client = staff_client(kortrijk_admin)
    client.post(
        "/staff/organisations/KOR/people/new/",
        {"email": existing.email, "full_name": "ignored", "role": "handler"},
    )
    assert set(existing.memberships.values_list("role", flat=True)) == {"agent", "handler"}
    run_tasks()
    assert mail.outbox == []


def test_department_of_another_organisation_is_refused(region, kortrijk_admin):
    menen_department = region["MEN"].departments.first()
    response = staff_client(kortrijk_admin).post(
        "/staff/organisations/KOR/people/new/",
        {
            "email": "x@kortrijk.be",
            "full_name": "X",
            "role": "agent",
            "department": menen_department.pk,
        },
    )
    assert response.status_code == 200
    assert not User.objects.filter(email="x@kortrijk.be").exists()


def test_unknown_role_is_refused(region, kortrijk_admin):
    response = staff_client(kortrijk_admin).post(
        "/staff/organisations/KOR/people/new/",
        {"email": "x@kortrijk.be", "full_name": "X", "role": "superuser"},
    )
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.text
    assert not User.objects.filter(email="x@kortrijk.be").exists()
