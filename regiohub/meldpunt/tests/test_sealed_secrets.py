"""Integration secrets are stored sealed: the database alone does not reveal them."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from regiohub.core.secrets import SecretError, seal, unseal
from regiohub.meldpunt.contrib.connectors.registry import connector_for
from regiohub.meldpunt.models import ConnectorConfig

pytestmark = pytest.mark.django_db


def test_seal_and_unseal(settings):
    settings.SECRETS_KEY = Fernet.generate_key().decode()
    sealed = seal("geheim-wachtwoord")
    assert sealed.startswith("sealed:v1:") and "geheim" not in sealed
    assert seal(sealed) == sealed  # sealing twice changes nothing
    assert unseal(sealed) == "geheim-wachtwoord"
    assert unseal("stored before sealing existed") == "stored before sealing existed"
    settings.SECRETS_KEY = Fernet.generate_key().decode()
    with pytest.raises(SecretError, match="REGIOHUB_SECRETS_KEY"):
        unseal(sealed)


def test_a_connector_secret_is_sealed_in_the_database_and_open_for_the_connector(region):
    config = ConnectorConfig.objects.create(
        name="Back office",
        organisation=region["KOR"],
        connector="topdesk",
        settings={"url": "https://gemeente.example", "username": "regiohub",
                  "application_password": "topdesk-app-wachtwoord"},
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("SELECT settings FROM meldpunt_connectorconfig WHERE id = %s", [config.pk])
        stored = str(cursor.fetchone()[0])
    assert "topdesk-app-wachtwoord" not in stored and "sealed:v1:" in stored
    assert "gemeente.example" in stored  # only secrets are sealed
    connector = connector_for(ConnectorConfig.objects.get(pk=config.pk))
    assert connector.settings["application_password"] == "topdesk-app-wachtwoord"
