"""A local TOPdesk for tests: real HTTP on 127.0.0.1 that refuses what TOPdesk's incident
API refuses, answers as it answers, and counts what it took in.

Sources. The rules are those of TOPdesk's incident API specification
(developers.topdesk.com/explorer/?page=incident; read through the copy of its schemas in
GerbenRoebersen/Topdesk_MCP_python, ``topdesk_mcp/resources/object_schemas.yaml``): a
caller is required, as ``callerLookup`` (``{"id"}`` or ``{"email"}`` of a known person;
"It is an error to provide more than one lookup value or to provide an empty callerLookup
object") or as an unregistered caller ``caller.dynamicName`` with ``caller.branch``
("It is an error to provide both a name and a registered caller"); category, subcategory,
call type and processing status by id or by name ("It is an error to provide both an id
and a name"), known ones only, a subcategory of its category; ``maxLength`` 80 for
``briefDescription``, 60 ``externalNumber``, 109 ``caller.dynamicName``, 100
``caller.email``, 25 ``caller.phoneNumber`` (counted in UTF-16 units, as Java counts);
attachments as multipart ``file``; actions through ``PATCH`` with ``action`` and
``actionInvisibleForCaller``. Refusals are ``400`` with a JSON list of ``{"message": …}``,
TOPdesk's error body (clients read it so: ``_utils.handle_topdesk_response`` in that same
repository); an empty list is ``204 No Content``; a bad password ``401``. The message
texts (the constants below) follow the specification's wording; a live TOPdesk words them
in its own way, so tests compare with these constants.
"""

from __future__ import annotations

import base64
import html
import itertools
import re
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs, urlsplit

from regiohub.core.testing import FakeHandler, Received, local_server

PERSON_ID = "0b1f2c3d-0000-4000-8000-00000000a001"
PERSON_EMAIL = "an.peeters@kortrijk.be"
DEFAULT_PERSON_ID = "0b1f2c3d-0000-4000-8000-00000000a002"
DEFAULT_PERSON_EMAIL = "meldpunt@kortrijk.be"
BRANCH_ID = "0b1f2c3d-0000-4000-8000-00000000b001"

CALLER_REQUIRED = "A caller is mandatory: provide callerLookup or caller.dynamicName."
CALLER_TWICE = "It is an error to provide both a name and a registered caller."
LOOKUP_ONE_VALUE = (
    "It is an error to provide more than one lookup value or to provide an empty "
    "callerLookup object."
)
PERSON_UNKNOWN = "No person found for callerLookup."
BRANCH_REQUIRED = "caller.branch is mandatory for an unregistered caller."
BRANCH_UNKNOWN = "No branch found for caller.branch."
ID_AND_NAME = "It is an error to provide both an id and a name for {field}."
UNKNOWN = "No {field} found with {key} '{value}'."
NOT_OF_CATEGORY = "Subcategory '{value}' does not belong to category '{category}'."
TOO_LONG = "{field} cannot be longer than {limit} characters."
NOT_JSON = "The request body is not a JSON object."
FILE_REQUIRED = "A file is mandatory: send it as multipart form data in the part 'file'."
NOT_FOUND = "No incident found with id '{value}'."
BAD_QUERY = "Invalid query: {value}"

LIMITS = {
    "briefDescription": 80,
    "externalNumber": 60,
    "caller.dynamicName": 109,
    "caller.email": 100,
    "caller.phoneNumber": 25,
    "caller.mobileNumber": 25,
}
QUERY = re.compile(r'^(\w+)=="([^"\\]*)"$')


def _new_id() -> str:
    return str(uuid.uuid4())


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def plain_text(markup: str) -> str:
    """How TOPdesk shows an HTML field as text: a line break for each ``<br>``, tags
    dropped (its formatting tags and any other: never run), entities decoded."""
    text = re.sub(r"<br\s*/?>", "\n", markup, flags=re.I)
    return html.unescape(re.sub(r"<[^>]*>", "", text))


@dataclass
class FakeTopdesk:
    """The state of the fake: what it knows (persons, branches, search lists), what it
    holds (incidents with their actions and attachments) and what it received."""

    username: str = "regiohub"
    password: str = "app-pw"  # noqa: S105 - the fake's own test password
    persons: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"id": PERSON_ID, "email": PERSON_EMAIL, "dynamicName": "Peeters, An"},
            {"id": DEFAULT_PERSON_ID, "email": DEFAULT_PERSON_EMAIL, "dynamicName": "Meldpunt"},
        ]
    )
    branches: dict[str, str] = field(default_factory=lambda: {BRANCH_ID: "Stadhuis Kortrijk"})
    categories: dict[str, str] = field(
        default_factory=lambda: {"Openbaar domein": _new_id(), "Afval": _new_id()}
    )
    #: Subcategory name -> its category's name.
    subcategories: dict[str, str] = field(
        default_factory=lambda: {
            "Wegen": "Openbaar domein",
            "Verlichting": "Openbaar domein",
            "Sluikstort": "Afval",
        }
    )
    call_types: dict[str, str] = field(default_factory=lambda: {"Melding": _new_id()})
    processing_statuses: dict[str, str] = field(
        default_factory=lambda: {
            name: _new_id()
            for name in ("Geregistreerd", "In behandeling", "Wachten op gebruiker", "Afgemeld")
        }
    )
    closing_statuses: frozenset[str] = frozenset({"Afgemeld"})
    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    #: ``incident``, ``attachment``, ``action``, ``refused`` (answers of 400) ...
    counts: Counter[str] = field(default_factory=Counter)
    url: str = ""

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._subcategory_ids = {name: _new_id() for name in self.subcategories}

    # --- for tests ----------------------------------------------------------------

    def only_incident(self) -> dict[str, Any]:
        (incident,) = self.incidents.values()
        return incident

    def set_processing_status(self, incident_id: str, name: str) -> None:
        """An operator changes the incident in TOPdesk."""
        with self.lock:
            incident = self.incidents[incident_id]
            incident["processingStatus"] = {"id": self.processing_statuses[name], "name": name}
            incident["closed"] = name in self.closing_statuses
            self._touch(incident)

    # --- the API ------------------------------------------------------------------

    def _touch(self, incident: dict[str, Any]) -> None:
        incident["version"] = incident.get("version", 0) + 1
        incident["modificationDate"] = f"2026-11-25T10:00:00.{incident['version']:03d}+0000"

    def _searchlist(
        self, field_name: str, value: Any, known: dict[str, str], errors: list[str]
    ) -> dict[str, str] | None:
        """A value given ``{"id"}`` or ``{"name"}``, looked up in ``known`` (name -> id)."""
        if not isinstance(value, dict) or not value:
            errors.append(UNKNOWN.format(field=field_name, key="value", value=value))
            return None
        if "id" in value and "name" in value:
            errors.append(ID_AND_NAME.format(field=field_name))
            return None
        if "id" in value:
            name = next((n for n, i in known.items() if i == value["id"]), None)
            if name is None:
                errors.append(UNKNOWN.format(field=field_name, key="id", value=value["id"]))
                return None
            return {"id": value["id"], "name": name}
        name = str(value.get("name", ""))
        if name not in known:
            errors.append(UNKNOWN.format(field=field_name, key="name", value=name))
            return None
        return {"id": known[name], "name": name}

    def _lengths(self, body: dict[str, Any], errors: list[str]) -> None:
        for path, limit in LIMITS.items():
            value: Any = body
            for part in path.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if isinstance(value, str) and _utf16(value) > limit:
                errors.append(TOO_LONG.format(field=path, limit=limit))

    def _person(self, key: str, value: str) -> dict[str, Any] | None:
        for person in self.persons:
            if str(person.get(key, "")).lower() == str(value).lower():
                return person
        return None

    def _caller(self, body: dict[str, Any], errors: list[str]) -> dict[str, Any] | None:
        caller, lookup = body.get("caller"), body.get("callerLookup")
        if caller is None and lookup is None:
            errors.append(CALLER_REQUIRED)
            return None
        if caller is not None and lookup is not None:
            errors.append(CALLER_TWICE)
            return None
        if lookup is not None:
            if not isinstance(lookup, dict) or len(lookup) != 1 or set(lookup) - {"id", "email"}:
                errors.append(LOOKUP_ONE_VALUE)
                return None
            ((key, value),) = lookup.items()
            person = self._person(key, value)
            if person is None:
                errors.append(PERSON_UNKNOWN)
                return None
            return {"id": person["id"], "dynamicName": person["dynamicName"]}
        if not isinstance(caller, dict) or not str(caller.get("dynamicName") or "").strip():
            errors.append(CALLER_REQUIRED)
            return None
        branch = caller.get("branch")
        if not isinstance(branch, dict) or not branch.get("id"):
            errors.append(BRANCH_REQUIRED)
            return None
        if branch["id"] not in self.branches:
            errors.append(BRANCH_UNKNOWN)
            return None
        return {**caller, "branch": {"id": branch["id"], "name": self.branches[branch["id"]]}}

    def create(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict):
            return 400, [{"message": NOT_JSON}]
        errors: list[str] = []
        caller = self._caller(body, errors)
        self._lengths(body, errors)
        incident: dict[str, Any] = {}
        for name, known in (("callType", self.call_types), ("category", self.categories)):
            if name in body:
                incident[name] = self._searchlist(name, body[name], known, errors)
        if "subcategory" in body:
            sub = self._searchlist(
                "subcategory", body["subcategory"], self._subcategory_ids, errors
            )
            category = (incident.get("category") or {}).get("name")
            if sub and category and self.subcategories[sub["name"]] != category:
                errors.append(NOT_OF_CATEGORY.format(value=sub["name"], category=category))
            elif sub and not category and "category" not in body:
                parent = self.subcategories[sub["name"]]
                incident["category"] = {"id": self.categories[parent], "name": parent}
            incident["subcategory"] = sub
        if errors:
            return 400, [{"message": e} for e in errors]
        with self.lock:
            incident_id = _new_id()
            first = next(iter(self.processing_statuses))
            incident.update(
                id=incident_id,
                number=f"I 2611 {next(self._numbers):03d}",
                caller=caller,
                briefDescription=body.get("briefDescription", ""),
                externalNumber=body.get("externalNumber", ""),
                requestHtml=body.get("request", ""),
                request=plain_text(str(body.get("request", ""))),
                processingStatus={"id": self.processing_statuses[first], "name": first},
                closed=False,
                actions=[],
                attachments=[],
            )
            self._touch(incident)
            self.incidents[incident_id] = incident
            self.counts["incident"] += 1
        return 201, self.shown(incident)

    def patch(self, incident: dict[str, Any], body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict):
            return 400, [{"message": NOT_JSON}]
        errors: list[str] = []
        self._lengths(body, errors)
        status = None
        if "processingStatus" in body:
            status = self._searchlist(
                "processingStatus", body["processingStatus"], self.processing_statuses, errors
            )
        if errors:
            return 400, [{"message": e} for e in errors]
        with self.lock:
            if body.get("action"):
                incident["actions"].insert(
                    0,  # newest first, as TOPdesk lists them
                    {
                        "id": _new_id(),
                        "memoText": body["action"],
                        "plainText": plain_text(str(body["action"])),
                        "invisibleForCaller": bool(body.get("actionInvisibleForCaller")),
                    },
                )
                self.counts["action"] += 1
            if status:
                incident["processingStatus"] = status
                incident["closed"] = status["name"] in self.closing_statuses
                self.counts["processing_status"] += 1
            if "briefDescription" in body:
                incident["briefDescription"] = body["briefDescription"]
            self._touch(incident)
        return 200, self.shown(incident)

    def attach(self, incident: dict[str, Any], content_type: str, data: bytes) -> tuple[int, Any]:
        upload = None
        if content_type.startswith("multipart/form-data"):
            head = f"Content-Type: {content_type}\r\n\r\n".encode()
            for part in BytesParser(policy=HTTP).parsebytes(head + data).iter_parts():
                if part.get_param("name", header="content-disposition") == "file":
                    upload = part
        if upload is None or not upload.get_filename():
            return 400, [{"message": FILE_REQUIRED}]
        content = upload.get_payload(decode=True) or b""
        attachment = {
            "id": _new_id(),
            "fileName": upload.get_filename(),
            "size": len(content),
            "invisibleForCaller": False,
        }
        with self.lock:
            incident["attachments"].append({**attachment, "content": content})
            self.counts["attachment"] += 1
        return 200, attachment

    def shown(self, incident: dict[str, Any]) -> dict[str, Any]:
        """An incident as the API returns it (its lists are endpoints of their own)."""
        hidden = {"actions", "attachments", "requestHtml", "version"}
        return {k: v for k, v in incident.items() if k not in hidden}

    def search(self, items: list[dict[str, Any]], query: str) -> tuple[int, Any]:
        """``?query=field=="value"`` (FIQL, one clause); 204 when nothing matches."""
        match = QUERY.match(query)
        if match is None:
            return 400, [{"message": BAD_QUERY.format(value=query[:100])}]
        key, value = match.groups()
        found = [i for i in items if str(i.get(key, "")).lower() == value.lower()]
        return (200, found) if found else (204, None)


class _Handler(FakeHandler):
    fake: FakeTopdesk

    def _authorised(self) -> bool:
        expected = f"{self.fake.username}:{self.fake.password}".encode()
        return self.headers.get("Authorization") == "Basic " + base64.b64encode(expected).decode()

    def _answer(self) -> None:
        request = self.read_request()
        if not self._authorised():
            self.send_json(401, [{"message": "Unauthorized"}])
            return
        parts = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        status, body = self._route(request, parts.path, query)
        if status == 400:
            self.fake.counts["refused"] += 1
        if status == 204:
            self.send_bytes(204, b"")
        else:
            self.send_json(status, body)

    def _route(self, request: Received, path: str, query: dict[str, str]) -> tuple[int, Any]:
        fake, method = self.fake, request.method
        if path == "/tas/api/persons" and method == "GET":
            return fake.search(fake.persons, query.get("query", ""))
        if path == "/tas/api/incidents" and method == "GET":
            return fake.search(
                [fake.shown(i) for i in fake.incidents.values()], query.get("query", "")
            )
        if path == "/tas/api/incidents" and method == "POST":
            try:
                body = request.json()
            except ValueError:
                body = None
            return fake.create(body)
        match = re.fullmatch(r"/tas/api/incidents/id/([^/]+)(/actions|/attachments)?", path)
        if match is None:
            return 404, [{"message": f"No endpoint {method} {path[:100]}"}]
        incident = fake.incidents.get(match.group(1))
        if incident is None:
            return 404, [{"message": NOT_FOUND.format(value=match.group(1)[:60])}]
        sub = match.group(2)
        if sub is None and method == "GET":
            return 200, fake.shown(incident)
        if sub is None and method == "PATCH":
            try:
                body = request.json()
            except ValueError:
                body = None
            return fake.patch(incident, body)
        if sub == "/actions" and method == "GET":
            actions = incident["actions"][: int(query.get("page_size") or 10)]
            return (200, actions) if actions else (204, None)
        if sub == "/attachments" and method == "GET":
            shown = [
                {k: v for k, v in a.items() if k != "content"} for a in incident["attachments"]
            ]
            return (200, shown) if shown else (204, None)
        if sub == "/attachments" and method == "POST":
            return fake.attach(incident, request.headers.get("Content-Type", ""), request.body)
        return 405, [{"message": f"{method} is not allowed here"}]

    do_GET = do_POST = do_PATCH = _answer


@contextmanager
def fake_topdesk(**state: Any) -> Iterator[FakeTopdesk]:
    """A fake TOPdesk on a free port for the block; ``state`` replaces what it knows."""
    fake = FakeTopdesk(**state)
    handler = type("Handler", (_Handler,), {"fake": fake, "received": fake.received})
    with local_server(handler, poll_interval=0.05) as url:
        fake.url = url
        yield fake


def settings_for(fake: FakeTopdesk, **changes: Any) -> dict[str, Any]:
    """Connector settings that reach ``fake`` (its operator and password), with a default
    caller it knows; ``changes`` replace or add settings (``None`` drops one)."""
    settings: dict[str, Any] = {
        "url": fake.url,
        "username": fake.username,
        "application_password": fake.password,
        "default_caller": DEFAULT_PERSON_EMAIL,
        "call_type": "Melding",
        "category": "Openbaar domein",
        "timeout": 2,
    }
    settings.update(changes)
    return {k: v for k, v in settings.items() if v is not None}
