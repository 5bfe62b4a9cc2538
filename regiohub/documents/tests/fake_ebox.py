"""A fake eBox on a local port that speaks the wire format of docs/research/issue-21-ebox.md
§6.1–6.5 (token, publish, read status, enterprise preferences, citizen consent), checks a
publication the way §6.2 says, and counts what it received so tests can prove a letter
was published exactly once.

    with FakeEbox(public_key=key.public_key()) as ebox:
        ebox.add_citizen("93051822361", consent=True)
        ... EboxClient(EboxConfig(base_url=ebox.url, ...)) ...
        assert ebox.accepted == 1

Faults on request: :meth:`FakeEbox.fail_next` (answer 503, or another status, to the next
N API calls), :meth:`FakeEbox.drop_after_commit` (store the message, then close the
connection without answering), :meth:`FakeEbox.slow_after_commit` (store, then wait
before answering, past a client's timeout). Test hooks over HTTP as §6.2/§6.3 name them:
``GET /_fake/stats`` and ``POST /_fake/messages/{id}/read``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote
from zoneinfo import ZoneInfo

import jwt

from regiohub.core.identifiers import IdentifierError, enterprise_number, national_number
from regiohub.core.testing import FakeHandler, local_server
from regiohub.documents.channels.ebox import (
    ASSERTION_SECONDS,
    ASSERTION_TYPE,
    CONSENTS_PATH,
    MEDIA_TYPES,
    PREFERENCE_SCOPE,
    PREFERENCES_PATH,
    PUBLICATION_SCOPE,
    PUBLISH_PATH,
    STATUS_PATH,
    TOKEN_PATH,
)

MAX_FILE_PARTS = 6
MAX_FILE_BYTES = 30 * 1024 * 1024
MAX_SUBJECT = 400
MAX_FILENAME = 255
LANGUAGES = {"nl", "fr", "de", "en"}
BRUSSELS = ZoneInfo("Europe/Brussels")

#: ``messageToPublish``: required and optional keys per object, and what each holds.
_STR, _BOOL, _LIST, _OBJ = "string", "boolean", "array", "object"
_TOP_REQUIRED = {
    "sender": _OBJ,
    "recipient": _OBJ,
    "subject": _OBJ,
    "messageTypeId": _STR,
    "senderApplicationId": _STR,
    "attachments": _LIST,
}
_TOP_OPTIONAL = {
    "isReplyAuthorized": _BOOL,
    "isBodyMainContent": _BOOL,
    "bodyContent": _OBJ,
    "businessDataList": _LIST,
    "forTheAttentionOf": _OBJ,
    "isRegisteredMail": _BOOL,
}
_TYPES = {_STR: str, _BOOL: bool, _LIST: list, _OBJ: dict}


class Problem(Exception):
    """A request the fake refuses: HTTP status, eBox code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(message)


@dataclass
class Citizen:
    consent: bool = True
    #: Opened their eBox at least once (else a publication answers NO_DIGITAL_USER).
    connected: bool = True


@dataclass
class Enterprise:
    exclusively: bool = False
    last_connection: str | None = "2022-08-23T00:00:00+02:00"


@dataclass
class Token:
    client_id: str
    scopes: frozenset[str]
    until: float


@dataclass
class Stored:
    """One accepted message."""

    message_id: str
    key: str | None
    recipient: dict[str, str]
    subject: dict[str, str]
    description: dict[str, Any]
    files: dict[str, tuple[str, str, bytes]]  # part name -> (filename, media type, bytes)
    expiration: str
    read: bool = False


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class _Faults:
    fail: list[int] = field(default_factory=list)  # statuses, one per coming API call
    drop: int = 0
    slow: list[float] = field(default_factory=list)


class FakeEbox:
    """The fake eBox (see the module docstring). The directory says who has an eBox; a
    recipient it does not know gets the publication with ``NO_DIGITAL_USER``."""

    def __init__(
        self,
        *,
        public_key: Any,
        client_id: str = "regiohub-test",
        sender_enterprise_number: str = "0474028805",
        sender_application_id: str = "regiohub-letters",
        message_type_ids: tuple[str, ...] = ("letter",),
        token_seconds: int = 600,
        granted_scopes: tuple[str, ...] = (PUBLICATION_SCOPE, PREFERENCE_SCOPE),
    ) -> None:
        self.public_key = public_key
        self.client_id = client_id
        self.sender = sender_enterprise_number
        self.sender_application_id = sender_application_id
        self.message_type_ids = set(message_type_ids)
        self.token_seconds = token_seconds
        self.granted_scopes = frozenset(granted_scopes)
        self.citizens: dict[str, Citizen] = {}
        self.enterprises: dict[str, Enterprise] = {}
        self.messages: dict[str, Stored] = {}
        self.requests: list[Any] = []  # every request (core.testing.Received)
        self.tokens: dict[str, Token] = {}
        self.tokens_issued = 0
        self.received = 0
        self.accepted = 0
        self.duplicates = 0
        self.no_key = 0
        self.by_key: Counter[str] = Counter()
        self._keys: dict[tuple[str, str, str], str] = {}  # dedup key -> message id
        self._jtis: set[str] = set()
        self._faults = _Faults()
        self._lock = threading.Lock()
        self._stack = ExitStack()
        self.url = ""

    # --- running ---

    def __enter__(self) -> FakeEbox:
        fake = self
        handler = type("EboxHandler", (_Handler,), {"fake": fake, "received": self.requests})
        self.url = self._stack.enter_context(local_server(handler, poll_interval=0.05))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    @property
    def token_url(self) -> str:
        return self.url + TOKEN_PATH

    # --- the directory ---

    def add_citizen(self, ssin: str, *, consent: bool = True, connected: bool = True) -> None:
        self.citizens[national_number(ssin).digits] = Citizen(consent, connected)

    def add_enterprise(
        self,
        number: str,
        *,
        exclusively: bool = False,
        last_connection: str | None = "2022-08-23T00:00:00+02:00",
    ) -> None:
        self.enterprises[enterprise_number(number).digits] = Enterprise(
            exclusively, last_connection
        )

    # --- faults and hooks ---

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        """Answer ``status`` (before doing anything) to the next ``count`` API calls."""
        with self._lock:
            self._faults.fail.extend([status] * count)

    def drop_after_commit(self, count: int = 1) -> None:
        """Store the next ``count`` publications, then close the connection unanswered."""
        with self._lock:
            self._faults.drop += count

    def slow_after_commit(self, seconds: float, count: int = 1) -> None:
        """Store the next ``count`` publications, then wait ``seconds`` before answering."""
        with self._lock:
            self._faults.slow.extend([seconds] * count)

    def revoke_tokens(self) -> None:
        """Every token given so far stops working (the next call with one gets 401)."""
        with self._lock:
            self.tokens.clear()

    def mark_read(self, message_id: str) -> None:
        self.messages[message_id].read = True

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "received": self.received,
                "accepted": self.accepted,
                "duplicates": self.duplicates,
                "no_key": self.no_key,
                "by_key": dict(self.by_key),
                "tokens_issued": self.tokens_issued,
            }

    # --- the API ---

    def token(self, body: bytes) -> tuple[int, dict[str, Any]]:
        form = {k: v[0] for k, v in parse_qs(body.decode("ascii", "replace")).items()}
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if form.get("client_assertion_type") != ASSERTION_TYPE or "client_assertion" not in form:
            return 400, {"error": "invalid_client", "error_description": "no client assertion"}
        if form.get("client_id") != self.client_id:
            return 400, {"error": "invalid_client", "error_description": "unknown client"}
        try:
            claims = jwt.decode(
                form["client_assertion"],
                self.public_key,
                algorithms=["RS256"],
                audience=self.token_url,
                issuer=self.client_id,
                options={"require": ["iss", "sub", "aud", "jti", "iat", "exp"]},
                leeway=5,
            )
        except jwt.PyJWTError as error:
            return 400, {"error": "invalid_client", "error_description": str(error)}
        if claims["sub"] != self.client_id:
            return 400, {"error": "invalid_client", "error_description": "sub is not the client"}
        if claims["exp"] - claims["iat"] > ASSERTION_SECONDS:
            return 400, {"error": "invalid_client", "error_description": "assertion too long"}
        requested = frozenset(form.get("scope", "").split())
        if not requested or not requested <= {PUBLICATION_SCOPE, PREFERENCE_SCOPE}:
            return 400, {"error": "invalid_scope"}
        with self._lock:
            if claims["jti"] in self._jtis:
                return 400, {"error": "invalid_client", "error_description": "jti replayed"}
            self._jtis.add(claims["jti"])
            token = secrets.token_urlsafe(24)
            scopes = requested & self.granted_scopes
            self.tokens[token] = Token(self.client_id, scopes, time.time() + self.token_seconds)
            self.tokens_issued += 1
        return 200, {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.token_seconds,
            "scope": " ".join(sorted(scopes)),
        }

    def authorise(self, headers: dict[str, str], scope: str) -> Token:
        value = headers.get("Authorization", "")
        token = (
            self.tokens.get(value.removeprefix("Bearer ")) if value.startswith("Bearer ") else None
        )
        if token is None or token.until < time.time():
            raise Problem(401, "UNAUTHORIZED", "Missing, invalid or expired token")
        if scope not in token.scopes:
            raise Problem(403, "FORBIDDEN", "The token lacks the scope for this operation")
        return token

    def injected_fault(self) -> int | None:
        with self._lock:
            return self._faults.fail.pop(0) if self._faults.fail else None

    def publish(
        self, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any], str | None]:
        """Check and store a publication: (status, answer, what to do after: "drop",
        "slow:<s>" or None)."""
        token = self.authorise(headers, PUBLICATION_SCOPE)
        key = _idempotency_key(headers.get("Idempotency-Key"))
        if key is not None:
            with self._lock:
                self.by_key[key] += 1
        parts = _multipart(headers.get("Content-Type", ""), body)
        files = [p for p in parts if p.name != "messageToPublish"]
        if len(files) > MAX_FILE_PARTS or sum(len(p.data) for p in files) > MAX_FILE_BYTES:
            raise Problem(
                413,
                "PAYLOAD_TOO_LARGE",
                f"At most {MAX_FILE_PARTS} documents and {MAX_FILE_BYTES // 2**20} MiB",
            )
        description = _description(parts)
        self._check_identities(description, token)
        _check_content(description, files)
        with self._lock:  # dedup and store are one step: two racing requests, one message
            dedup = (token.client_id, description["senderApplicationId"], key or "")
            if key is not None and dedup in self._keys:
                self.duplicates += 1
                return (
                    409,
                    {
                        "id": str(uuid.uuid4()),
                        "code": "DUPLICATE_PUBLICATION",
                        "message": "Idempotency-Key already used",
                        "messageId": self._keys[dedup],
                    },
                    None,
                )
            message_id = str(uuid.uuid4())
            expiration = (
                (datetime.now(UTC) + timedelta(days=365))
                .astimezone(BRUSSELS)
                .replace(microsecond=0)
            ).isoformat()
            self.messages[message_id] = Stored(
                message_id=message_id,
                key=key,
                recipient=dict(description["recipient"]),
                subject=dict(description["subject"]),
                description=description,
                files={p.name: (p.filename or "", p.content_type or "", p.data) for p in files},
                expiration=expiration,
            )
            if key is None:
                self.no_key += 1
            else:
                self._keys[dedup] = message_id
            self.accepted += 1
            after = None
            if self._faults.drop:
                self._faults.drop -= 1
                after = "drop"
            elif self._faults.slow:
                after = f"slow:{self._faults.slow.pop(0)}"
        answer: dict[str, Any] = {"messageId": message_id, "expirationDate": expiration}
        if not self._digital_user(description["recipient"]):
            answer["code"] = "NO_DIGITAL_USER"
            answer["message"] = "The recipient has never connected to the e-Box"
        return 201, answer, after

    def _digital_user(self, recipient: dict[str, str]) -> bool:
        if recipient["eboxType"] == "citizen":
            citizen = self.citizens.get(recipient["ssin"])
            return citizen is not None and citizen.connected
        enterprise = self.enterprises.get(recipient["enterpriseNumber"])
        return enterprise is not None and (
            enterprise.exclusively or enterprise.last_connection is not None
        )

    def _check_identities(self, description: dict[str, Any], token: Token) -> None:
        sender = description["sender"]
        if sender.get("eboxType") != "enterprise" or "enterpriseNumber" not in sender:
            raise Problem(400, "INVALID_INPUT", "Invalid Schema: sender is an enterprise")
        _valid_company(sender["enterpriseNumber"])
        recipient = description["recipient"]
        kind = recipient.get("eboxType")
        if kind == "citizen" and set(recipient) == {"eboxType", "ssin"}:
            try:
                national_number(recipient["ssin"])
                valid = recipient["ssin"].isdigit()
            except IdentifierError:
                valid = False
            if not valid:
                raise Problem(400, "INVALID_INPUT", f"{recipient['ssin']} is not a valid citizen")
        elif kind == "enterprise" and set(recipient) == {"eboxType", "enterpriseNumber"}:
            _valid_company(recipient["enterpriseNumber"])
        else:
            raise Problem(
                400,
                "INVALID_INPUT",
                "Invalid Schema: recipient is a citizen (ssin) or an enterprise (enterpriseNumber)",
            )
        if sender["enterpriseNumber"] != self.sender or token.client_id != self.client_id:
            raise Problem(
                400, "INVALID_SENDER", "Invalid sender: user credentials does not match payload"
            )
        if (
            description["senderApplicationId"] != self.sender_application_id
            or description["messageTypeId"] not in self.message_type_ids
        ):
            raise Problem(400, "INVALID_SENDER", "Invalid message configuration")

    def status(self, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        self.authorise(headers, PUBLICATION_SCOPE)
        asked = _json_body(body)
        if not isinstance(asked, list):
            raise Problem(400, "INVALID_INPUT", "Invalid Schema: expected an array")
        answer = []
        for item in asked:
            ebox_id = item.get("eboxId") if isinstance(item, dict) else None
            if not isinstance(ebox_id, dict) or not isinstance(item.get("messageId"), str):
                raise Problem(400, "INVALID_INPUT", "Invalid Schema: messageId and eboxId")
            stored = self.messages.get(item["messageId"])
            if stored is None or _ebox_id(stored.recipient) != ebox_id:
                raise Problem(404, "NOT_FOUND", "Message not found")
            answer.append(
                {
                    "messageId": stored.message_id,
                    "eboxId": ebox_id,
                    "expirationDate": stored.expiration,
                    "readStatus": stored.read,
                    "visible": True,
                }
            )
        return 201, answer

    def preferences(self, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        self.authorise(headers, PREFERENCE_SCOPE)
        asked = _json_body(body)
        if (
            not isinstance(asked, dict)
            or set(asked) != {"eboxType", "eboxIdType", "eboxIdValueList"}
            or asked["eboxType"] != "ENTERPRISE"
            or asked["eboxIdType"] != "EnterpriseNumber"
            or not isinstance(asked["eboxIdValueList"], list)
        ):
            raise Problem(400, "INVALID_INPUT", "Invalid Schema")
        answer = []
        for number in asked["eboxIdValueList"]:
            _valid_company(number)
            enterprise = self.enterprises.get(number)
            if enterprise is None:
                continue
            entry: dict[str, Any] = {
                "eboxId": {"eboxType": "enterprise", "eboxIdValue": number},
                "exclusivelyEbox": enterprise.exclusively,
            }
            if enterprise.last_connection is not None:
                entry["lastConnectionDate"] = enterprise.last_connection
            answer.append(entry)
        return 200, answer

    def consents(self, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        self.authorise(headers, PREFERENCE_SCOPE)
        asked = _json_body(body)
        if not isinstance(asked, dict) or set(asked) != {"ssinList"}:
            raise Problem(400, "INVALID_INPUT", "Invalid Schema")
        answer = []
        for ssin in asked["ssinList"]:
            citizen = self.citizens.get(ssin) if isinstance(ssin, str) else None
            if citizen is not None:
                answer.append({"ssin": ssin, "hasConsent": citizen.consent})
        return 200, answer


class _Handler(FakeHandler):
    fake: FakeEbox

    def do_GET(self) -> None:
        self.read_request()
        if self.path == "/_fake/stats":
            self.send_json(200, self.fake.stats())
        else:
            self.send_json(404, _status_message("NOT_FOUND", "No such path"))

    def do_POST(self) -> None:
        request = self.read_request()
        fake, path = self.fake, self.path
        read = re.fullmatch(r"/_fake/messages/([^/]+)/read", path)
        if read:
            if read.group(1) not in fake.messages:
                self.send_json(404, _status_message("NOT_FOUND", "Message not found"))
            else:
                fake.mark_read(read.group(1))
                self.send_json(200, {"messageId": read.group(1), "readStatus": True})
            return
        if path == TOKEN_PATH:
            self.send_json(*fake.token(request.body))
            return
        routes = {
            PUBLISH_PATH: None,
            STATUS_PATH: fake.status,
            PREFERENCES_PATH: fake.preferences,
            CONSENTS_PATH: fake.consents,
        }
        if path not in routes:
            self.send_json(404, _status_message("NOT_FOUND", "No such path"))
            return
        if path == PUBLISH_PATH:
            with fake._lock:
                fake.received += 1
        fault = fake.injected_fault()
        if fault is not None:
            self.send_json(fault, _status_message("SERVICE_UNAVAILABLE", "Try again later"))
            return
        headers = dict(self.headers)
        try:
            if path == PUBLISH_PATH:
                status, answer, after = fake.publish(headers, request.body)
                if after == "drop":
                    self.close_connection = True
                    return
                if after and after.startswith("slow:"):
                    time.sleep(float(after.removeprefix("slow:")))
            else:
                status, answer = routes[path](headers, request.body)  # type: ignore[misc]
        except Problem as problem:
            self.send_json(problem.status, _status_message(problem.code, problem.message))
            return
        self.send_json(status, answer)


# --- checks -------------------------------------------------------------------------------


def _status_message(code: str, message: str) -> dict[str, str]:
    return {"id": str(uuid.uuid4()), "code": code, "message": message}


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise Problem(400, "INVALID_INPUT", "Invalid Schema: not JSON") from None


def _ebox_id(recipient: dict[str, str]) -> dict[str, str]:
    value = recipient.get("ssin") or recipient.get("enterpriseNumber") or ""
    return {"eboxType": recipient["eboxType"], "eboxIdValue": value}


def _valid_company(value: Any) -> None:
    try:
        valid = isinstance(value, str) and value.isdigit() and len(value) == 10
        valid = valid and enterprise_number(value).digits == value
    except IdentifierError:
        valid = False
    if not valid:
        raise Problem(400, "INVALID_INPUT", f"{value} is not a valid company")


def _idempotency_key(value: str | None) -> str | None:
    """The key of an ``Idempotency-Key`` header: an RFC 8941 string, or (tolerated) bare."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _params(header: str) -> tuple[str, dict[str, str]]:
    main, _sep, rest = header.partition(";")
    params = {}
    for match in re.finditer(r'\s*([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))\s*;?', rest):
        params[match.group(1).lower()] = (
            match.group(2) if match.group(2) is not None else match.group(3).strip()
        )
    return main.strip().lower(), params


def _multipart(content_type: str, body: bytes) -> list[Part]:
    kind, params = _params(content_type)
    if kind != "multipart/form-data" or not params.get("boundary"):
        raise Problem(400, "INVALID_INPUT", "Invalid Schema: expected multipart/form-data")
    delimiter = b"\r\n--" + params["boundary"].encode("latin-1")
    sections = (b"\r\n" + body).split(delimiter)
    if len(sections) < 3 or not sections[-1].startswith(b"--"):
        raise Problem(400, "INVALID_INPUT", "Invalid Schema: the multipart body is not closed")
    parts = []
    for section in sections[1:-1]:
        head, sep, data = section.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise Problem(400, "INVALID_INPUT", "Invalid Schema: a part has no headers")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _colon, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        _disposition, disposition = _params(headers.get("content-disposition", ""))
        if "name" not in disposition:
            raise Problem(400, "INVALID_INPUT", "Invalid Schema: a part has no name")
        parts.append(
            Part(
                name=disposition["name"],
                filename=disposition.get("filename"),
                content_type=headers.get("content-type"),
                data=data,
            )
        )
    names = [p.name for p in parts]
    if len(set(names)) != len(names):
        raise Problem(400, "INVALID_INPUT", "Invalid Schema: a part name is repeated")
    return parts


def _description(parts: list[Part]) -> dict[str, Any]:
    found = [p for p in parts if p.name == "messageToPublish"]
    if not found:
        raise Problem(400, "INVALID_INPUT", "Invalid Schema: no messageToPublish part")
    try:
        description = json.loads(found[0].data)
    except ValueError:
        raise Problem(
            400, "INVALID_INPUT", "Invalid Schema: messageToPublish is not JSON"
        ) from None
    problem = _schema_problem(description)
    if problem:
        raise Problem(400, "INVALID_INPUT", f"Invalid Schema: {problem}")
    return description


def _schema_problem(description: Any) -> str | None:
    null = _null_path(description, "$")
    if null:
        return f"{null} is null (omit the key instead)"
    problem = _object_problem(description, "$", _TOP_REQUIRED, _TOP_OPTIONAL)
    if problem:
        return problem
    for name, known in (
        ("sender", {"eboxType", "enterpriseNumber", "partition"}),
        ("recipient", {"eboxType", "ssin", "enterpriseNumber"}),
    ):
        for key, value in description[name].items():
            if key not in known or not isinstance(value, str):
                return f"$.{name}.{key} is not a known text field"
    for name in ("subject", "bodyContent"):
        for language, text in description.get(name, {}).items():
            if language not in LANGUAGES or not isinstance(text, str):
                return f"$.{name}.{language} is not a text in nl, fr, de or en"
    if not description["attachments"]:
        return "$.attachments is empty"
    for number, attachment in enumerate(description["attachments"]):
        where = f"$.attachments[{number}]"
        problem = _object_problem(
            attachment,
            where,
            {"httpPartName": _STR, "isMainContent": _BOOL, "digest": _OBJ},
            {"isAttachmentSigned": _BOOL},
        )
        problem = problem or _object_problem(
            attachment["digest"], f"{where}.digest", {"digestMethod": _STR, "digestValue": _STR}, {}
        )
        if problem:
            return problem
        if attachment["digest"]["digestMethod"] != "sha_256":
            return f"{where}.digest.digestMethod is not sha_256"
    return None


def _object_problem(
    value: Any, where: str, required: dict[str, str], optional: dict[str, str]
) -> str | None:
    if not isinstance(value, dict):
        return f"{where} is not an object"
    for key in value:
        if key not in required and key not in optional:
            return f"{where}.{key} is not a known field"
    for key in required:
        if key not in value:
            return f"{where}.{key} is required"
    for key, kind in {**required, **optional}.items():
        if key in value and not isinstance(value[key], _TYPES[kind]):
            return f"{where}.{key} is not a {kind}"
    return None


def _null_path(value: Any, where: str) -> str | None:
    if value is None:
        return where
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        found = _null_path(item, f"{where}.{key}" if isinstance(value, dict) else f"{where}[{key}]")
        if found:
            return found
    return None


def _check_content(description: dict[str, Any], files: list[Part]) -> None:
    for name in ("subject", "bodyContent"):
        languages = description.get(name, {})
        if name == "subject" and not languages:
            raise Problem(400, "INVALID_INPUT", "Invalid Schema: the subject is empty")
        if len(languages) > 1:
            raise Problem(
                400, "NOT_IMPLEMENTED", "Multiple languages provided when only one expected"
            )
    subject = next(iter(description["subject"].values()))
    if not subject.strip() or len(subject) > MAX_SUBJECT:
        raise Problem(400, "INVALID_INPUT", f"The subject has 1 to {MAX_SUBJECT} characters")
    attachments = description["attachments"]
    main = sum(a["isMainContent"] for a in attachments) + bool(description.get("isBodyMainContent"))
    if main == 0:
        raise Problem(400, "INVALID_INPUT", "No main content attachment. Exactly one is expected")
    if main > 1:
        raise Problem(400, "INVALID_INPUT", "Too many main content. Exactly one is expected")
    if len(attachments) != len(files):
        raise Problem(
            400, "INVALID_INPUT", "Json Attachments number is inconsistent with number of parts"
        )
    by_name = {p.name: p for p in files}
    for attachment in attachments:
        part = by_name.get(attachment["httpPartName"])
        if part is None:
            raise Problem(
                400,
                "INVALID_INPUT",
                "Some json attachment info do not match any file upload part",
            )
        if not part.filename or not part.content_type:
            raise Problem(400, "INVALID_INPUT", "Missing mediaType or fileName in part")
        if len(unquote(part.filename)) > MAX_FILENAME:
            raise Problem(
                400, "INVALID_INPUT", f"The file name has at most {MAX_FILENAME} characters"
            )
        media_type = part.content_type.split(";")[0].strip().lower()
        if media_type not in MEDIA_TYPES:
            raise Problem(400, "INVALID_INPUT", "Attachment mime type is not valid")
        if not _digest_matches(attachment["digest"]["digestValue"], part.data):
            raise Problem(400, "DIGEST_DO_NOT_MATCH", "Issue with Digest")


def _digest_matches(value: str, data: bytes) -> bool:
    """base64url of the SHA-256, padded or not (hex or plain base64 fail, as at the eBox)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+={0,2}", value):
        return False
    try:
        decoded = base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    except ValueError:
        return False
    return decoded == hashlib.sha256(data).digest()
