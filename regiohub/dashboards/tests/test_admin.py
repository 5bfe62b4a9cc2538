"""The data team in the admin: a dashboard made by pasting its YAML or importing a file,
edited (a broken edit is refused with its problems shown and the dashboard stays as it
was), downloaded with the action as the file it loads from; each save in its history
(issue 20, ADR 0042)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import translation

from regiohub.core.history import history_of
from regiohub.core.testing import staff_client
from regiohub.dashboards.models import Dashboard
from regiohub.dashboards.tests.test_services import GOOD

pytestmark = pytest.mark.django_db

ADD = "/admin/dashboards/dashboard/add/"
LIST = "/admin/dashboards/dashboard/"


def change(dashboard: Dashboard) -> str:
    return f"/admin/dashboards/dashboard/{dashboard.pk}/change/"


@pytest.fixture
def admin(region: dict[str, Any], superuser: Any) -> Any:
    with translation.override("en"):
        yield staff_client(superuser)


def post(client: Any, path: str, data: dict[str, Any]) -> Any:
    return client.post(path, data, HTTP_ACCEPT_LANGUAGE="en")


def test_a_dashboard_made_by_pasting_its_yaml(admin, superuser):
    response = post(admin, ADD, {"definition": GOOD, "position": 5, "_save": "Save"})
    assert response.status_code == 302, response.content.decode()[:3000]
    made = Dashboard.objects.get(slug="meldingen")
    assert (made.origin, made.revision, made.position) == ("admin", 1, 5)
    assert made.updated_by == superuser
    entry = history_of(made).get()
    assert (entry.action, entry.actor) == ("dashboard.created", superuser)


def test_a_dashboard_made_by_importing_a_file(admin):
    upload = SimpleUploadedFile("meldingen.yaml", GOOD.encode(), content_type="application/yaml")
    response = post(admin, ADD, {"definition": "", "upload": upload, "position": 100})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Dashboard.objects.get(slug="meldingen").revision == 1


def test_an_import_whose_name_is_not_its_slug_is_refused(admin):
    upload = SimpleUploadedFile("andere.yaml", GOOD.encode())
    response = post(admin, ADD, {"definition": "", "upload": upload, "position": 100})
    assert response.status_code == 200
    assert "the file is called “andere” but its slug is “meldingen”" in response.content.decode()
    assert not Dashboard.objects.exists()


def test_neither_text_nor_file_says_so(admin):
    response = post(admin, ADD, {"definition": "", "position": 100})
    assert response.status_code == 200
    assert "Write the definition or import a file." in response.content.decode()


def test_an_edit_saves_a_new_revision(admin, superuser):
    post(admin, ADD, {"definition": GOOD, "position": 100})
    made = Dashboard.objects.get(slug="meldingen")
    edited = GOOD.replace("Hoe ze binnenkwamen", "Langs welke weg")
    response = post(admin, change(made), {"definition": edited, "position": 100})
    assert response.status_code == 302, response.content.decode()[:3000]
    made.refresh_from_db()
    assert made.revision == 2 and "Langs welke weg" in made.definition
    actions = list(history_of(made).order_by("pk").values_list("action", flat=True))
    assert actions == ["dashboard.created", "dashboard.changed"]


def test_a_broken_edit_is_refused_with_its_problems_and_the_dashboard_stays(admin):
    post(admin, ADD, {"definition": GOOD, "position": 100})
    made = Dashboard.objects.get(slug="meldingen")
    before = made.definition
    broken = GOOD.replace("mark: bar", "mark: sparkles").replace(
        "title: {nl: Per kanaal, fr: Par canal, en: Per channel}",
        "title: {nl: Per kanaal, en: Per channel}",
    )
    response = post(admin, change(made), {"definition": broken, "position": 100})
    assert response.status_code == 200
    body = response.content.decode()
    assert "errornote" in body
    assert "chart 1 (“per-kanaal”), title: the text in “fr” is missing" in body
    renamed = GOOD.replace("slug: meldingen", "slug: andere")
    response = post(admin, change(made), {"definition": renamed, "position": 100})
    assert "a dashboard keeps its slug (its address)" in response.content.decode()
    made.refresh_from_db()
    assert (made.revision, made.definition) == (1, before)
    assert history_of(made).count() == 1
    assert not Dashboard.objects.filter(slug="andere").exists()


def test_the_download_action_gives_the_file_that_loads_back_unchanged(admin, tmp_path: Path):
    post(admin, ADD, {"definition": GOOD, "position": 100})
    made = Dashboard.objects.get(slug="meldingen")
    post(
        admin,
        change(made),
        {"definition": GOOD.replace("Hoe ze binnenkwamen", "Langs welke weg"), "position": 100},
    )
    made.refresh_from_db()
    response = post(admin, LIST, {"action": "download", "_selected_action": [made.pk]})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="meldingen.yaml"'
    assert response.content.decode() == made.definition
    (tmp_path / "meldingen.yaml").write_bytes(response.content)
    out = io.StringIO()
    call_command("dashboards", "load", str(tmp_path), stdout=out)
    assert "meldingen unchanged" in out.getvalue()
    made.refresh_from_db()
    assert made.revision == 2 and history_of(made).count() == 2
    # And the command's export is the same file.
    exported = io.StringIO()
    call_command("dashboards", "export", "meldingen", stdout=exported)
    assert exported.getvalue() == response.content.decode()


def test_the_download_action_takes_one_dashboard(admin):
    post(admin, ADD, {"definition": GOOD, "position": 100})
    post(admin, ADD, {"definition": GOOD.replace("slug: meldingen", "slug: tweede"), "position": 1})
    chosen = list(Dashboard.objects.values_list("pk", flat=True))
    assert len(chosen) == 2
    response = post(admin, LIST, {"action": "download", "_selected_action": chosen})
    assert response.status_code == 302
    assert "Choose one dashboard to download." in admin.get(LIST).content.decode()
