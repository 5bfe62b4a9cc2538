"""Connectors are configured in the admin; their settings are checked with the
connector's settings form and each problem is named."""

from __future__ import annotations

import json

import pytest

from regiohub.core.secrets import is_sealed
from regiohub.core.testing import staff_client
from regiohub.meldpunt.contrib.connectors import registry
from regiohub.meldpunt.contrib.topdesk.connector import TopdeskConnector
from regiohub.meldpunt.contrib.webhook.connector import WebhookConnector
from regiohub.meldpunt.models import ConnectorConfig

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    """These tests read the English labels and messages (Dutch is the default)."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def add(client, region, connector, settings):
    return client.post(
        "/admin/meldpunt/connectorconfig/add/",
        {
            "name": "Back office",
            "organisation": region["KOR"].pk,
            "category_code": "pothole",
            "connector": connector,
            "settings": settings,
            "is_active": "on",
        },
    )


def test_the_built_in_connectors_have_a_label_and_a_settings_form():
    assert registry.names() == ["topdesk", "webhook"]
    assert registry.get("webhook") is WebhookConnector
    assert ("topdesk", "TOPdesk") in registry.choices()
    assert WebhookConnector.secret_settings == ("secret",)
    assert TopdeskConnector.secret_settings == ("application_password",)


def test_bad_settings_are_refused_per_field_and_good_ones_saved_sealed(region, superuser):
    client = staff_client(superuser)

    answer = add(client, region, "webhook", '{"url": "not a url", "status_map": {"x": "gone"}}')

    assert answer.status_code == 200
    text = answer.content.decode()
    assert "url: " in text and "secret: " in text and "Unknown statuses: gone" in text
    assert ConnectorConfig.objects.count() == 0

    answer = add(
        client,
        region,
        "topdesk",
        '{"url": "https://gemeente.topdesk.net", "username": "regiohub",'
        ' "application_password": "app-pw", "status_map": {"Afgemeld": "resolved"}}',
    )

    assert answer.status_code == 302, answer.content.decode()[:2000]
    config = ConnectorConfig.objects.get()
    assert config.connector == "topdesk"
    assert is_sealed(config.settings["application_password"])


def test_a_stored_sealed_secret_validates_as_its_value(region, superuser):
    config = ConnectorConfig.objects.create(
        name="Back office",
        organisation=region["KOR"],
        connector="webhook",
        settings={"url": "https://bo.example.org/in", "secret": "s3cret"},
    )
    client = staff_client(superuser)
    page = client.get(f"/admin/meldpunt/connectorconfig/{config.pk}/change/")
    assert page.status_code == 200

    answer = client.post(
        f"/admin/meldpunt/connectorconfig/{config.pk}/change/",
        {
            "name": "Back office",
            "organisation": region["KOR"].pk,
            "category_code": "",
            "connector": "webhook",
            "settings": json.dumps(
                {"url": "https://bo.example.org/in", "secret": config.settings["secret"]}
            ),
            "is_active": "on",
        },
    )

    assert answer.status_code == 302, answer.content.decode()[:2000]
