"""The TOPdesk settings are checked in the admin, each problem named: the default caller is
a person's id or e-mail, the branch an id, the category map an object per category code."""

from __future__ import annotations

import json

import pytest

from regiohub.core.plugins import settings_errors
from regiohub.core.testing import staff_client
from regiohub.meldpunt.contrib.topdesk.connector import TopdeskSettings
from regiohub.meldpunt.contrib.topdesk.fake import BRANCH_ID, DEFAULT_PERSON_ID
from regiohub.meldpunt.models import ConnectorConfig

pytestmark = pytest.mark.django_db

BASE = {"url": "https://kortrijk.topdesk.net", "username": "regiohub", "application_password": "pw"}


@pytest.fixture(autouse=True)
def _english(settings):
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def errors(**settings) -> dict[str, list[str]]:
    return settings_errors(TopdeskSettings, {**BASE, **settings})


def test_good_settings_pass():
    assert (
        errors(
            default_caller=DEFAULT_PERSON_ID,
            branch=BRANCH_ID,
            category_map={
                "pothole": {"category": "Openbaar domein", "subcategory": "Wegen"},
                "litter": "Afval",
            },
            push_updates=False,
        )
        == {}
    )
    assert errors(default_caller="meldpunt@kortrijk.be") == {}


@pytest.mark.parametrize(
    ("given", "field", "message"),
    [
        ({"default_caller": "Meldpunt Kortrijk"}, "default_caller", "a UUID) or their e-mail"),
        ({"default_caller": "x@" + "a" * 100 + ".be"}, "default_caller", "at most 100"),
        ({"default_caller": "mel\x00dpunt@kortrijk.be"}, "default_caller", "Null characters"),
        ({"branch": "Stadhuis"}, "branch", "TOPdesk takes no name here"),
        ({"branch": "0b1f2c3d-0000-4000-8000-00000000b00"}, "branch", "a UUID"),
        ({"category_map": ["pothole"]}, "category_map", "Expected an object of category codes"),
        ({"category_map": {"pothole": {"categorie": "X"}}}, "category_map", "Expected an object"),
        ({"category_map": {"pothole": {"category": "  "}}}, "category_map", "Expected an object"),
        ({"category_map": {"pothole": 12}}, "category_map", "Expected an object"),
        ({"caller_name": "n" * 110}, "caller_name", "at most 109"),
    ],
)
def test_each_bad_setting_is_named(given, field, message):
    found = errors(**given)
    assert list(found) == [field]
    assert message in " ".join(found[field])


def test_the_admin_refuses_a_branch_given_by_name_and_saves_a_good_one(region, superuser):
    client = staff_client(superuser)

    def add(settings):
        return client.post(
            "/admin/meldpunt/connectorconfig/add/",
            {
                "name": "TOPdesk Kortrijk",
                "organisation": region["KOR"].pk,
                "category_code": "",
                "connector": "topdesk",
                "settings": json.dumps({**BASE, **settings}),
                "is_active": "on",
            },
        )

    answer = add({"branch": "Stadhuis"})
    assert answer.status_code == 200
    assert "branch: Give the branch&#x27;s id in TOPdesk (a UUID)" in answer.content.decode()
    assert not ConnectorConfig.objects.exists()

    answer = add({"branch": BRANCH_ID, "caller_name": "Meldpunt"})
    assert answer.status_code == 302
    assert ConnectorConfig.objects.get().settings["branch"] == BRANCH_ID
