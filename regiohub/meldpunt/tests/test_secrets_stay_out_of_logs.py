"""The follow-up token is a key to the citizen's report: it must never be written to a log,
and nobody may make the server swallow an endless upload."""

from __future__ import annotations

import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.test import override_settings

from regiohub.core.redact import GunicornLogger, redact, redact_event
from regiohub.meldpunt import services
from regiohub.meldpunt.tests.factories import file_report

pytestmark = pytest.mark.django_db


def test_tokens_in_paths_are_cut_out():
    assert redact("Bad Request: /melding/AbC_123-xyz/antwoord/") == (
        "Bad Request: /melding/…/antwoord/"
    )
    assert redact("/account/password/MQ/abc-123/") == "/account/password/MQ/…/"
    assert redact("/melden/") == "/melden/"


def test_a_refused_answer_logs_no_token(client, categories, caplog):
    report = file_report()
    token = services.followup_token(report)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.post(f"/melding/{token}/antwoord/", {"body": ""})
    assert response.status_code == 400
    assert caplog.records, "Django logs the 400"
    for record in caplog.records:
        event = {"event": record.getMessage(), "request": record.__dict__.get("request")}
        assert token in str(event)  # what Django hands to the log ...
        assert token not in str(redact_event(None, "warning", event))  # ... and what is written


def test_gunicorn_access_log_has_no_token():
    logger = GunicornLogger(SimpleNamespace(**_gunicorn_cfg()))
    request = SimpleNamespace(
        method="GET", uri="/melding/SECRET/", path="/melding/SECRET/", query="", version=(1, 1),
        headers=[],
    )  # fmt: skip
    response = SimpleNamespace(status="200 OK", headers=[], sent=10, response_length=10)
    environ = {
        "REQUEST_METHOD": "GET", "RAW_URI": "/melding/SECRET/", "PATH_INFO": "/melding/SECRET/",
        "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
    }  # fmt: skip

    atoms = logger.atoms(response, request, environ, timedelta(seconds=0.01))
    assert "SECRET" not in " ".join(str(v) for v in atoms.values())


def _gunicorn_cfg() -> dict:
    from gunicorn.config import Config

    cfg = Config()
    return {name: setting.get() for name, setting in cfg.settings.items()} | {
        "settings": cfg.settings,
        "logconfig_dict": {},
        "logconfig_json": None,
        "logconfig": None,
        "syslog": False,
        "errorlog": "-",
        "accesslog": None,
        "loglevel": "info",
        "capture_output": False,
        "access_log_format": cfg.access_log_format,
        "user": None,
        "group": None,
    }


@override_settings(MAX_REQUEST_MB=1)
def test_an_oversized_request_is_refused_before_it_is_read(client, categories):
    body = b"x" * (2 * 1024 * 1024)
    response = client.generic("POST", "/melden/", body, content_type="application/octet-stream")
    assert response.status_code == 413
    assert "MB" in response.content.decode()
