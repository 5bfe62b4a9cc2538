"""Each module adds itself to the platform (menus, permissions, upload paths, settings)
through its AppConfig and its own settings file: no central file lists it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from regiohub import conf
from regiohub.core import modules, roles
from regiohub.core.testing import staff_client
from regiohub.core.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_every_module_is_a_module_config_with_its_own_menu():
    labels = [m.label for m in modules.all_modules()]
    assert labels == ["core", "meldpunt", "datasets", "opendata", "dashboards", "documents"]
    assert [e.url_name for e in modules.menu("public")] == [
        "meldpunt:report",
        "dashboards:list",
        "opendata:catalogue",
    ]


def test_the_public_menu_and_home_come_from_the_modules(region, settings):
    settings.LANGUAGE_CODE = "en"
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get("/").content.decode()
    for entry in modules.menu("public") + modules.menu("home"):
        assert f'href="{reverse(entry.url_name)}">{entry.label}<' in page


def test_staff_entries_show_only_to_people_who_hold_their_capability(region):
    agent = MembershipFactory(organisation=region["KOR"], agent=True).user
    employee = MembershipFactory(organisation=region["KOR"], role="employee").user
    inbox = f'href="{reverse("meldpunt:inbox")}"'
    staff_home = f'href="{reverse("core:staff-home")}"'
    agent_page = staff_client(agent).get(reverse("core:staff-home")).content.decode()
    employee_page = staff_client(employee).get(reverse("core:staff-home")).content.decode()
    assert inbox in agent_page and staff_home in agent_page
    assert inbox not in employee_page and staff_home in employee_page
    assert inbox not in Client().get("/").content.decode()


def test_modules_grant_their_own_capabilities_to_roles():
    assert {"take_reports", "handle_reports"} <= roles.capabilities_of("agent")
    assert {"manage_data", "view_data"} <= roles.capabilities_of("data_steward")
    assert "take_reports" not in roles.capabilities_of("data_steward")
    # An administrator holds every capability any module declared.
    assert {c for c in roles.all_capabilities()} == set(roles.capabilities_of("admin"))


def test_a_capability_is_declared_once():
    with pytest.raises(ValueError, match="declared twice"):
        roles.Capability("take_reports", "something else")


def test_large_uploads_are_allowed_only_where_a_module_says_so(client, settings):
    settings.MAX_REQUEST_MB = 1
    settings.DATASETS_UPLOAD_MB = 5
    big = b"x" * (2 * 1024 * 1024)
    # Elsewhere the body is refused before anything reads it.
    refused = client.post("/melden/", data=big, content_type="application/octet-stream")
    assert refused.status_code == 413
    # The dataset upload path takes it to its view (which then wants a logged-in steward).
    upload = client.post(
        "/staff/data/tellingen/upload/", data=big, content_type="application/octet-stream"
    )
    assert upload.status_code != 413
    assert [u.megabytes_setting for u in modules.upload_paths()] == [
        "DATASETS_UPLOAD_MB",
        "DOCUMENTS_MAX_UPLOAD_MB",
        "DOCUMENTS_MAX_UPLOAD_MB",
    ]


def test_module_settings_live_in_the_module_and_old_names_still_work(monkeypatch):
    merged = conf.module_settings("regiohub.meldpunt")
    assert merged["MELDPUNT_MAX_PHOTOS"] == 3
    assert "REGIOHUB_MELDPUNT_MAX_PHOTOS" in conf.REGISTRY
    assert conf.REGISTRY["REGIOHUB_MELDPUNT_MAX_PHOTOS"].old_names == ("MELDPUNT_MAX_PHOTOS",)

    monkeypatch.setenv("MELDPUNT_MAX_PHOTOS", "5")
    with pytest.warns(FutureWarning, match="set REGIOHUB_MELDPUNT_MAX_PHOTOS instead"):
        value = conf.config(
            "REGIOHUB_MELDPUNT_MAX_PHOTOS", 3, help_text="-", old_names=("MELDPUNT_MAX_PHOTOS",)
        )
    assert value == 5
    assert ("MELDPUNT_MAX_PHOTOS", "REGIOHUB_MELDPUNT_MAX_PHOTOS") in conf.DEPRECATED_USED

    from regiohub.core.checks import deprecated_variables

    assert [w.id for w in deprecated_variables()] == ["regiohub.W001"]
    # The new name wins over the old one.
    monkeypatch.setenv("REGIOHUB_MELDPUNT_MAX_PHOTOS", "2")
    assert conf.config("REGIOHUB_MELDPUNT_MAX_PHOTOS", 3, help_text="-", old_names=("X",)) == 2
    conf.DEPRECATED_USED.clear()
