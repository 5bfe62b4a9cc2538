"""The fake TOPdesk refuses what TOPdesk's incident API refuses, in TOPdesk's error format
(400 with a JSON list of messages), so the connector's tests cannot pass against a
back office that takes anything."""

from __future__ import annotations

import pytest
import requests

from regiohub.meldpunt.contrib.topdesk import fake as topdesk
from regiohub.meldpunt.contrib.topdesk.fake import fake_topdesk


@pytest.fixture(scope="module")
def fake():
    with fake_topdesk() as server:
        yield server


def post(fake, path: str, **kwargs) -> requests.Response:
    auth = (fake.username, fake.password)
    return requests.post(f"{fake.url}/tas/api{path}", auth=auth, timeout=5, **kwargs)


UNREGISTERED = {"dynamicName": "Peeters, An", "branch": {"id": topdesk.BRANCH_ID}}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"briefDescription": "Gat"}, topdesk.CALLER_REQUIRED),
        ({"caller": {"dynamicName": "Peeters, An"}}, topdesk.BRANCH_REQUIRED),
        ({"caller": {"dynamicName": "X", "branch": {"id": "nope"}}}, topdesk.BRANCH_UNKNOWN),
        ({"caller": {"branch": {"id": topdesk.BRANCH_ID}}}, topdesk.CALLER_REQUIRED),
        (
            {"caller": UNREGISTERED, "callerLookup": {"id": topdesk.PERSON_ID}},
            topdesk.CALLER_TWICE,
        ),
        ({"callerLookup": {}}, topdesk.LOOKUP_ONE_VALUE),
        (
            {"callerLookup": {"id": topdesk.PERSON_ID, "email": topdesk.PERSON_EMAIL}},
            topdesk.LOOKUP_ONE_VALUE,
        ),
        ({"callerLookup": {"email": "niemand@example.org"}}, topdesk.PERSON_UNKNOWN),
        (
            {"caller": UNREGISTERED, "briefDescription": "é" * 81},
            topdesk.TOO_LONG.format(field="briefDescription", limit=80),
        ),
        (
            {"caller": UNREGISTERED, "briefDescription": "🕳" * 41},  # 82 UTF-16 units
            topdesk.TOO_LONG.format(field="briefDescription", limit=80),
        ),
        (
            {"caller": UNREGISTERED, "externalNumber": "K" * 61},
            topdesk.TOO_LONG.format(field="externalNumber", limit=60),
        ),
        (
            {"caller": {**UNREGISTERED, "dynamicName": "n" * 110}},
            topdesk.TOO_LONG.format(field="caller.dynamicName", limit=109),
        ),
        (
            {"caller": {**UNREGISTERED, "phoneNumber": "0" * 26}},
            topdesk.TOO_LONG.format(field="caller.phoneNumber", limit=25),
        ),
        (
            {"caller": UNREGISTERED, "category": {"id": "x", "name": "Afval"}},
            topdesk.ID_AND_NAME.format(field="category"),
        ),
        (
            {"caller": UNREGISTERED, "callType": {"name": "Klacht"}},
            topdesk.UNKNOWN.format(field="callType", key="name", value="Klacht"),
        ),
        (
            {
                "caller": UNREGISTERED,
                "category": {"name": "Afval"},
                "subcategory": {"name": "Wegen"},
            },
            topdesk.NOT_OF_CATEGORY.format(value="Wegen", category="Afval"),
        ),
        (["not", "an", "object"], topdesk.NOT_JSON),
    ],
)
def test_an_incident_topdesk_would_refuse_is_refused_with_its_error_body(fake, body, message):
    answer = post(fake, "/incidents", json=body)
    assert answer.status_code == 400
    assert {"message": message} in answer.json()


def test_a_good_incident_is_taken_and_a_subcategory_brings_its_category(fake):
    answer = post(
        fake, "/incidents", json={"caller": UNREGISTERED, "subcategory": {"name": "Wegen"}}
    )
    assert answer.status_code == 201
    incident = answer.json()
    assert incident["category"]["name"] == "Openbaar domein"
    assert incident["processingStatus"]["name"] == "Geregistreerd"
    incident_id = incident["id"]

    answer = post(fake, f"/incidents/id/{incident_id}/attachments", data={"file": "not a file"})
    assert (answer.status_code, answer.json()) == (400, [{"message": topdesk.FILE_REQUIRED}])

    auth = (fake.username, fake.password)
    answer = requests.patch(
        f"{fake.url}/tas/api/incidents/id/{incident_id}",
        json={"processingStatus": {"name": "Klaar"}},
        auth=auth,
        timeout=5,
    )
    assert answer.status_code == 400
    answer = requests.get(
        f"{fake.url}/tas/api/incidents/id/{incident_id}/actions", auth=auth, timeout=5
    )
    assert (answer.status_code, answer.content) == (204, b"")


def test_what_is_not_there_and_who_may_not_ask(fake):
    auth = (fake.username, fake.password)
    answer = requests.get(f"{fake.url}/tas/api/incidents/id/gone", auth=auth, timeout=5)
    assert answer.status_code == 404
    answer = requests.get(f"{fake.url}/tas/api/persons", auth=("x", "y"), timeout=5)
    assert answer.status_code == 401
    answer = requests.get(
        f"{fake.url}/tas/api/persons", params={"query": "email=in=(a,b)"}, auth=auth, timeout=5
    )
    assert answer.status_code == 400
    answer = requests.get(
        f"{fake.url}/tas/api/persons", params={"query": 'email=="x@y.z"'}, auth=auth, timeout=5
    )
    assert answer.status_code == 204
