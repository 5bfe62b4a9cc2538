"""Property-based fuzzing of every documented endpoint (the REST API and Open311) with
schemathesis: whatever it sends, no answer is a server error.

The schema is the platform's own (/api/schema/, committed as docs/openapi.yaml), the calls
go through the WSGI application in-process against the test database, as a logged-in
administrator with a valid Open311 key, so the fuzzing reaches past the front door. The
budget is small in ``make test`` (``FUZZ_EXAMPLES``, default 20 per operation); ``make fuzz``
runs it longer.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import schemathesis
import yaml
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from regiohub.core import api_tokens
from regiohub.core.testing import staff_client
from regiohub.core.tests.factories import UserFactory
from regiohub.meldpunt.models import ApiClient

# A raw mail (the inbound-mail webhook) is sent as the octets schemathesis generates.
schemathesis.serializer.alias("message/rfc822", "application/octet-stream")

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))  # noqa: TID251 - a test knob
SCHEMA = yaml.safe_load((Path(__file__).resolve().parents[1] / "docs" / "openapi.yaml").read_text())
OPERATIONS = sorted(
    f"{method.upper()} {path}"
    for path, item in SCHEMA["paths"].items()
    for method in item
    if method in {"get", "post", "put", "patch", "delete"}
)


MAIL_SECRET = "fuzz-mail-secret"


@pytest.fixture
def app(db, categories, settings):
    """The WSGI application, with a session, an API key and the mail webhook's secret."""
    settings.MELDPUNT_INBOUND_MAIL_SECRET = MAIL_SECRET
    superuser = UserFactory(superuser=True)
    client = staff_client(superuser)
    cookies = {name: c.value for name, c in client.cookies.items()}
    key = ApiClient.create_with_key(name="Fuzzer")[1]
    # The write API is called with a write token (a session would stop at its CSRF check).
    token = api_tokens.create_token(superuser, name="Fuzzer", scope="write").secret
    # The test database lives in this test's transaction: keep the request cycle from
    # closing the connection, as Django's test client does.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application(), cookies, key, token
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def test_every_json_endpoint_is_in_the_schema():
    assert {
        "GET /open311/v2/discovery.json",
        "GET /open311/v2/services.json",
        "GET /open311/v2/services/{service_code}.json",
        "GET /open311/v2/requests.json",
        "POST /open311/v2/requests.json",
        "GET /open311/v2/requests/{service_request_id}.json",
        "GET /open311/v2/tokens/{token}.json",
        "GET /melden/in-de-buurt/",
        "GET /melden/adressen/",
        "GET /melden/plaats/",
        "POST /melden/foto-plaats/",
        "POST /meldpunt/connectors/{id}/callback/",
        "POST /meldpunt/mail/inbound/",
        "GET /health/",
        "GET /health/live/",
        "POST /api/v1/datasets/{slug}/rows/",
    } <= set(OPERATIONS)


@pytest.mark.slow
@pytest.mark.parametrize("label", OPERATIONS)
def test_no_input_gives_a_server_error(app, label):
    wsgi, cookies, key, token = app
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi)
    operation = schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is not in the served schema"

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def fuzz(case):
        if isinstance(case.body, dict) and "api_key" in case.body:
            case.body["api_key"] = key  # past the key check, into filing
        headers = {}
        if case.path == "/meldpunt/mail/inbound/":
            headers["Authorization"] = f"Bearer {MAIL_SECRET}"  # into the mail parser
        if case.method == "POST" and (
            case.path == "/api/v1/datasets/{slug}/rows/" or case.path.startswith("/api/v1/letters/")
        ):  # into the write API's and the letters API's body readers
            headers["Authorization"] = f"Bearer {token}"
        response = case.call(cookies=cookies, headers=headers)
        case.validate_response(response, checks=[not_a_server_error])

    fuzz()
