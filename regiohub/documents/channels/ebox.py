"""The eBox channel: letters published to the federal eBox (citizens and enterprises)
through its REST publication API, the "Document Sender" role.

Wire format: docs/research/issue-21-ebox.md §6 (what the fake in
``documents/tests/fake_ebox.py`` accepts, and what the real service documents).

- **Token** (§6.1): OAuth2 client credentials, the client authenticated by a JWT (RS256)
  signed with the key of our applicative certificate (``private_key_jwt``, RFC 7523). One
  token asks for both scopes (publication and preferences) and is reused until shortly
  before it expires; a 401 on a call drops it and the call is tried once more with a new
  one (a 401 means nothing was done).
- **Publish** (§6.2): one ``multipart/form-data`` request per letter, ``messageToPublish``
  (JSON) and ``upfile1..6`` with their SHA-256 digests (base64url), and the header
  ``Idempotency-Key: "<key>"``. The eBox refuses a key it saw before with 409: that is
  "already published", not an error, so a caller that lost the answer (timeout, dropped
  connection, 5xx) simply tries again with the same key.
- **Routing** (§6.4, §6.5): citizens by their consent, enterprises by their eBox
  preferences.
- **Read status** (§6.3): polled, the eBox has no callback for senders.

Failures come in two kinds a caller must tell apart: :class:`EboxUnavailable` (try again
later, with the same key) and :class:`EboxRefused` (trying again changes nothing; it names
the eBox's code and words). A national register number is never part of an exception's
message or a log line: they show it masked.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

import jwt
import requests
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from regiohub.core.identifiers import IdentifierError, enterprise_number, mask_national_number
from regiohub.core.plugins import settings_errors
from regiohub.documents.channels import LANGUAGES, Channel, Reach, Recipient, channels

log = structlog.get_logger(__name__)

TOKEN_PATH = "/REST/oauth/v5/token"  # noqa: S105 - a path, not a secret
PUBLISH_PATH = "/REST/ebox/enterprise/messageRegistry/v3/ebox/messages"
STATUS_PATH = "/REST/ebox/enterprise/messageRegistry/v3/searchMessageStatus"
PREFERENCES_PATH = "/REST/ebox/enterprise/federation/v1/eboxPreferences/search"
CONSENTS_PATH = "/REST/ebox/enterprise/federation/v1/citizenEboxConsents/search"

PUBLICATION_SCOPE = "scope:document:management:consult:ws-eboxrestentreprise:publicationsender"
PREFERENCE_SCOPE = "scope:documentmanagement:ebox:enterprise:federation-rest:preference"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: A client assertion lives at most 5 minutes (§6.1).
ASSERTION_SECONDS = 300

#: Per letter (MAGDA's limits; the fake answers 413 beyond them).
MAX_PARTS = 6
MAX_BYTES = 30 * 1024 * 1024
MAX_SUBJECT = 400
MAX_FILENAME = 255
#: The attachment media types the eBox accepts (v2 ``Attachment.mediaType``).
MEDIA_TYPES = frozenset(
    {
        "application/pdf",
        "application/zip",
        "text/csv",
        "text/html",
        "text/plain",
        "text/xml",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "application/vnd.oasis.opendocument.graphics",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    }
)
#: Messages asked per read-status request.
STATUS_BATCH = 100
DEFAULT_TIMEOUT = 10.0

#: Eleven digits, however written (``85.07.15-123.97``): what is masked in the eBox's words.
_NATIONAL_NUMBER = re.compile(r"(?<!\d)\d{2}[.\s]?\d{2}[.\s]?\d{2}[-.\s]?\d{3}[.\s]?\d{2}(?!\d)")


# --- errors -------------------------------------------------------------------------------


class EboxError(Exception):
    """A call to the eBox that did not do what was asked. The message is ours plus the
    eBox's own words, with any national register number masked."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "") -> None:
        self.status = status
        self.code = code
        super().__init__(message)


class EboxUnavailable(EboxError):
    """Try again later (a timeout, a dropped connection, a 5xx or 429, an answer we could
    not read). For a publication: with the **same** idempotency key, so a letter the eBox
    did take is not published twice."""


class EboxRefused(EboxError):
    """The eBox will not do it, and asking again will not change that (400, 401, 403, 404,
    413): ``code`` and ``reason`` are the eBox's, for the letter's history."""

    def __init__(self, reason: str, *, status: int | None = None, code: str = "") -> None:
        self.reason = reason
        if status is None:
            message = reason
        else:
            message = _("The eBox refused (HTTP %(status)s %(code)s): %(reason)s") % {
                "status": status,
                "code": code or "-",
                "reason": reason,
            }
        super().__init__(message, status=status, code=code)


class InvalidPublication(EboxRefused):
    """Refused by our own checks before anything was sent (the same rules as the eBox's)."""

    def __init__(self, reason: str, *, code: str = "INVALID_INPUT") -> None:
        super().__init__(reason, code=code)


# --- what goes in, what comes out ------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """One file of a letter, as it was sealed: its bytes go out unchanged."""

    filename: str
    data: bytes = field(repr=False)
    media_type: str = "application/pdf"
    signed: bool = True

    @property
    def sha256(self) -> str:
        """Lowercase hex, as the letter's proof records it."""
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Publication:
    """A letter for the eBox: the first document is its main content, the others its
    attachments; ``subjects`` by language (nl/fr/de/en), of which the recipient's is sent
    (the eBox takes one language per message)."""

    recipient: Recipient
    subjects: Mapping[str, str]
    documents: Sequence[Document]
    reply_authorized: bool = False


@dataclass(frozen=True)
class Published:
    """What the eBox answered to a publication.

    ``duplicate``: the eBox had this idempotency key already (409); the letter is in the
    eBox, and ``message_id`` is known only if the eBox repeated it. ``no_digital_user``:
    published, but the recipient never opened their eBox, so paper is needed too.
    """

    message_id: str | None
    expiration: datetime | None
    no_digital_user: bool
    duplicate: bool
    language: str = ""
    #: Lowercase hex SHA-256 of each document as sent, in part order.
    sha256: tuple[str, ...] = ()


@dataclass(frozen=True)
class EboxConfig:
    """How to reach the eBox as one sender application (from its onboarding)."""

    base_url: str
    client_id: str
    #: The applicative certificate's private key (PEM, or a ``cryptography`` RSA key).
    private_key: Any = field(repr=False)
    sender_enterprise_number: str
    sender_application_id: str
    message_type_id: str
    #: Defaults to ``base_url`` + ``/REST/oauth/v5/token``.
    token_url: str = ""
    timeout: float = DEFAULT_TIMEOUT


# --- the client -----------------------------------------------------------------------


class EboxClient:
    """The eBox REST API for one sender application, over one kept-alive session.

    ``clock`` (seconds, monotonic) decides when the cached token is too old; tests give
    their own. Thread-safe: the token is fetched under a lock.
    """

    def __init__(
        self,
        config: EboxConfig,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.base_url = config.base_url.rstrip("/")
        self.token_url = config.token_url or self.base_url + TOKEN_PATH
        self.sender = enterprise_number(config.sender_enterprise_number).digits
        self._key = _private_key(config.private_key)
        self._session = session or requests.Session()
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_until = 0.0

    def __repr__(self) -> str:
        return f"<EboxClient {self.base_url} client {self.config.client_id}>"

    def close(self) -> None:
        self._session.close()

    # --- token ---

    def access_token(self) -> str:
        """A bearer token for both scopes: the cached one while it has time left."""
        with self._lock:
            if self._token is not None and self._clock() < self._token_until:
                return self._token
            started = self._clock()
            token, lifetime = self._fetch_token()
            # Renew a little early: a token that expires on the way is a wasted call.
            self._token = token
            self._token_until = started + lifetime - min(30.0, lifetime / 10)
            return token

    def forget_token(self) -> None:
        with self._lock:
            self._token = None

    def client_assertion(self) -> str:
        """The JWT that proves we hold the certificate's key (RFC 7523)."""
        now = int(time.time())
        claims = {
            "iss": self.config.client_id,
            "sub": self.config.client_id,
            "aud": self.token_url,
            "jti": str(uuid.uuid4()),
            "iat": now,
            "exp": now + ASSERTION_SECONDS,
        }
        return jwt.encode(claims, self._key, algorithm="RS256")

    def _fetch_token(self) -> tuple[str, float]:
        data = {
            "grant_type": "client_credentials",
            "client_id": self.config.client_id,
            "scope": f"{PUBLICATION_SCOPE} {PREFERENCE_SCOPE}",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.client_assertion(),
        }
        response = self._send("POST", self.token_url, what=_("token"), data=data)
        if response.status_code != 200:
            body = _json(response)
            error = body.get("error", "") if isinstance(body, dict) else ""
            reason = str(body.get("error_description") or error) if isinstance(body, dict) else ""
            raise EboxRefused(
                reason or _("The eBox gave no token."), status=response.status_code, code=error
            )
        body = _json(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        lifetime = body.get("expires_in") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token or not isinstance(lifetime, int | float):
            raise EboxUnavailable(_("The eBox's token answer has no token or no lifetime."))
        log.debug("ebox.token", client_id=self.config.client_id, expires_in=lifetime)
        return token, float(lifetime)

    # --- calls ---

    def _send(self, method: str, url: str, *, what: str, **kwargs: Any) -> requests.Response:
        """One HTTP request; a failure to get any answer, a 5xx or a 429 is
        :class:`EboxUnavailable`."""
        try:
            response = self._session.request(method, url, timeout=self.config.timeout, **kwargs)
        except requests.Timeout:
            raise EboxUnavailable(
                _("The eBox did not answer the %(what)s request within %(seconds)gs.")
                % {"what": what, "seconds": self.config.timeout}
            ) from None
        except requests.RequestException as error:
            raise EboxUnavailable(
                _("The eBox could not be reached for the %(what)s request (%(kind)s).")
                % {"what": what, "kind": type(error).__name__}
            ) from None
        if response.status_code >= 500 or response.status_code == 429:
            raise EboxUnavailable(
                _("The eBox is unavailable (HTTP %(status)s) for the %(what)s request.")
                % {"status": response.status_code, "what": what},
                status=response.status_code,
            )
        return response

    def _call(
        self,
        path: str,
        *,
        what: str,
        accept: Sequence[int] = (200, 201),
        scrub: Recipient | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """An authenticated POST: a 401 renews the token once; statuses not in ``accept``
        become :class:`EboxRefused` with the eBox's code and words."""
        extra = kwargs.pop("headers", {})
        for attempt in (1, 2):
            headers = {**extra, "Authorization": f"Bearer {self.access_token()}"}
            response = self._send(
                "POST", self.base_url + path, what=what, headers=headers, **kwargs
            )
            if response.status_code != 401 or attempt == 2:
                break
            self.forget_token()
        if response.status_code in accept:
            return response
        body = _json(response)
        code = str(body.get("code") or body.get("error") or "") if isinstance(body, dict) else ""
        reason = str(body.get("message") or "") if isinstance(body, dict) else ""
        if not reason:
            reason = {
                401: _("the eBox did not accept our token"),
                403: _("our token lacks the scope for this call"),
                413: _("the letter is too large"),
            }.get(response.status_code, _("no reason given"))
        raise EboxRefused(_scrub(reason, scrub), status=response.status_code, code=code)

    # --- routing ---

    def recipient_status(self, recipient: Recipient) -> Reach:
        """Whether ``recipient`` reads their eBox: a citizen who consented to the eBox
        terms (§6.5); an enterprise with an eBox that is exclusive or was ever opened
        (§6.4; one that exists but was never opened still gets paper)."""
        if recipient.kind == "citizen":
            response = self._call(
                CONSENTS_PATH,
                what=_("consent"),
                json={"ssinList": [recipient.identifier]},
                scrub=recipient,
            )
            entries = _json_list(response)
            consent = any(
                isinstance(e, dict)
                and e.get("ssin") == recipient.identifier
                and e.get("hasConsent") is True
                for e in entries
            )
            reach = (
                Reach(True, "consent", _("The citizen accepted the eBox."))
                if consent
                else Reach(False, "no_consent", _("The citizen has not accepted the eBox."))
            )
        else:
            response = self._call(
                PREFERENCES_PATH,
                what=_("preferences"),
                json={
                    "eboxType": "ENTERPRISE",
                    "eboxIdType": "EnterpriseNumber",
                    "eboxIdValueList": [recipient.identifier],
                },
            )
            entry = next(
                (
                    e
                    for e in _json_list(response)
                    if isinstance(e, dict)
                    and isinstance(e.get("eboxId"), dict)
                    and e["eboxId"].get("eboxIdValue") == recipient.identifier
                ),
                None,
            )
            if entry is None:
                reach = Reach(False, "no_ebox", _("The enterprise has no eBox."))
            elif entry.get("exclusivelyEbox") is True or entry.get("lastConnectionDate"):
                exclusive = entry.get("exclusivelyEbox") is True
                reach = Reach(
                    True,
                    "ebox",
                    _("The enterprise reads its eBox only.")
                    if exclusive
                    else _("The enterprise uses its eBox."),
                    exclusively_digital=exclusive,
                )
            else:
                reach = Reach(False, "never_connected", _("The enterprise never opened its eBox."))
        log.info("ebox.recipient_status", recipient=recipient.shown, reach=reach.code)
        return reach

    # --- publishing ---

    def describe(self, message: Publication) -> tuple[dict[str, Any], list[tuple[str, Document]]]:
        """The ``messageToPublish`` JSON and the file parts of ``message``, checked by the
        eBox's own rules first (:class:`InvalidPublication` says which one fails)."""
        documents = list(message.documents)
        if not documents:
            raise InvalidPublication(_("A letter needs at least one document."))
        if len(documents) > MAX_PARTS:
            raise InvalidPublication(
                _("A letter has at most %(max)d documents, this one has %(count)d.")
                % {"max": MAX_PARTS, "count": len(documents)},
                code="PAYLOAD_TOO_LARGE",
            )
        total = sum(len(d.data) for d in documents)
        if total > MAX_BYTES:
            raise InvalidPublication(
                _("A letter has at most %(max)d MiB of documents, this one %(size).1f MiB.")
                % {"max": MAX_BYTES // 2**20, "size": total / 2**20},
                code="PAYLOAD_TOO_LARGE",
            )
        for number, document in enumerate(documents, start=1):
            if not document.filename or len(document.filename) > MAX_FILENAME:
                raise InvalidPublication(
                    _("Document %(number)d needs a file name of 1 to %(max)d characters.")
                    % {"number": number, "max": MAX_FILENAME}
                )
            if document.media_type not in MEDIA_TYPES:
                raise InvalidPublication(
                    _("Document %(number)d is %(type)s, which the eBox does not take.")
                    % {"number": number, "type": document.media_type}
                )
            if not document.data:
                raise InvalidPublication(_("Document %(number)d is empty.") % {"number": number})
        language = pick_language(message.subjects, message.recipient.language)
        subject = message.subjects[language].strip()
        if not subject or len(subject) > MAX_SUBJECT:
            raise InvalidPublication(
                _("The subject needs 1 to %(max)d characters.") % {"max": MAX_SUBJECT}
            )
        parts = [(f"upfile{n}", d) for n, d in enumerate(documents, start=1)]
        recipient: dict[str, str] = {"eboxType": message.recipient.kind}
        if message.recipient.kind == "citizen":
            recipient["ssin"] = message.recipient.identifier
        else:
            recipient["enterpriseNumber"] = message.recipient.identifier
        description = {
            "sender": {"eboxType": "enterprise", "enterpriseNumber": self.sender},
            "recipient": recipient,
            "subject": {language: subject},
            "messageTypeId": self.config.message_type_id,
            "senderApplicationId": self.config.sender_application_id,
            "attachments": [
                {
                    "httpPartName": name,
                    "isMainContent": number == 0,
                    "isAttachmentSigned": document.signed,
                    "digest": {"digestMethod": "sha_256", "digestValue": digest(document.data)},
                }
                for number, (name, document) in enumerate(parts)
            ],
            "isReplyAuthorized": message.reply_authorized,
        }
        return description, parts

    def publish(self, message: Publication, *, idempotency_key: str) -> Published:
        """Publish ``message`` once: the same ``idempotency_key`` again gives
        ``duplicate=True`` (the eBox's 409), never a second message. Raises
        :class:`EboxUnavailable` (try again, same key) or :class:`EboxRefused`."""
        description, parts = self.describe(message)
        return self.post_message(
            description, parts, idempotency_key=idempotency_key, recipient=message.recipient
        )

    def post_message(
        self,
        description: Mapping[str, Any],
        parts: Sequence[tuple[str, Document]],
        *,
        idempotency_key: str,
        recipient: Recipient | None = None,
    ) -> Published:
        """The publish call as it goes on the wire, without our checks: what
        :meth:`publish` sends once it has checked the letter (and what tests use to see
        the eBox's own checks answered). ``recipient`` masks their number in errors."""
        header = structured_string(idempotency_key)
        files: list[tuple[str, tuple[str | None, bytes, str]]] = [
            ("messageToPublish", (None, json.dumps(description).encode(), "application/json"))
        ]
        files += [
            (name, (encode_filename(document.filename), document.data, document.media_type))
            for name, document in parts
        ]
        response = self._call(
            PUBLISH_PATH,
            what=_("publication"),
            accept=(200, 201, 409),
            scrub=recipient,
            files=files,
            headers={"Idempotency-Key": header},
        )
        subject = description.get("subject")
        language = next(iter(subject), "") if isinstance(subject, Mapping) else ""
        sha256 = tuple(document.sha256 for _name, document in parts)
        body = _json(response)
        body = body if isinstance(body, dict) else {}
        if response.status_code == 409:
            message_id = body.get("messageId")
            published = Published(
                message_id=message_id if isinstance(message_id, str) and message_id else None,
                expiration=None,
                no_digital_user=False,
                duplicate=True,
                language=language,
                sha256=sha256,
            )
        else:
            message_id = body.get("messageId")
            if not isinstance(message_id, str) or not message_id:
                raise EboxUnavailable(
                    _(
                        "The eBox took the letter but named no message id; "
                        "try again with the same key."
                    )
                )
            published = Published(
                message_id=message_id,
                expiration=_datetime(body.get("expirationDate")),
                no_digital_user=body.get("code") == "NO_DIGITAL_USER",
                duplicate=False,
                language=language,
                sha256=sha256,
            )
        log.info(
            "ebox.published",
            idempotency_key=idempotency_key,
            recipient=recipient.shown if recipient else "",
            message_id=published.message_id,
            duplicate=published.duplicate,
            no_digital_user=published.no_digital_user,
        )
        return published

    # --- read status ---

    def read_status(self, messages: Mapping[str, Recipient]) -> dict[str, bool]:
        """Whether each message (by id, with the recipient it was published to: the eBox
        asks for both) has been opened. Ids the eBox does not answer for are left out."""
        items = list(messages.items())
        read: dict[str, bool] = {}
        for start in range(0, len(items), STATUS_BATCH):
            batch = items[start : start + STATUS_BATCH]
            body = [
                {
                    "messageId": message_id,
                    "eboxId": {"eboxType": recipient.kind, "eboxIdValue": recipient.identifier},
                }
                for message_id, recipient in batch
            ]
            response = self._call(STATUS_PATH, what=_("read status"), json=body)
            asked = {message_id for message_id, _recipient in batch}
            for entry in _json_list(response):
                if isinstance(entry, dict) and entry.get("messageId") in asked:
                    read[entry["messageId"]] = entry.get("readStatus") is True
        return read


# --- the plugin -------------------------------------------------------------------------


class EboxSettings(forms.Form):
    """What the onboarding at the eBox gives a municipality's sender application."""

    base_url = forms.URLField(
        label=gettext_lazy("eBox address"),
        assume_scheme="https",
        help_text=gettext_lazy("For example https://services.socialsecurity.be"),
    )
    token_url = forms.URLField(
        label=gettext_lazy("Token address"),
        required=False,
        assume_scheme="https",
        help_text=gettext_lazy("Leave empty for the eBox address + /REST/oauth/v5/token."),
    )
    client_id = forms.CharField(label=gettext_lazy("OAuth client id"))
    private_key = forms.CharField(
        label=gettext_lazy("Private key of the applicative certificate (PEM)"),
        widget=forms.PasswordInput,
    )
    sender_enterprise_number = forms.CharField(label=gettext_lazy("Sender enterprise number"))
    sender_application_id = forms.CharField(label=gettext_lazy("Sender application id"))
    message_type_id = forms.CharField(label=gettext_lazy("Message type id"))
    timeout = forms.FloatField(
        label=gettext_lazy("Timeout (seconds)"),
        required=False,
        min_value=0.1,
        max_value=120,
        help_text=gettext_lazy("Leave empty for 10 seconds."),
    )

    def clean_sender_enterprise_number(self) -> str:
        try:
            return enterprise_number(self.cleaned_data["sender_enterprise_number"]).digits
        except IdentifierError as error:
            raise forms.ValidationError(str(error), code="invalid") from None

    def clean_private_key(self) -> str:
        try:
            _private_key(self.cleaned_data["private_key"])
        except ValueError as error:
            raise forms.ValidationError(str(error), code="invalid") from None
        return self.cleaned_data["private_key"]


@channels.register
class EboxChannel(Channel):
    """The eBox as a delivery channel; its work is done by an :class:`EboxClient`."""

    name = "ebox"
    label = gettext_lazy("eBox (citizens and enterprises)")
    settings_form = EboxSettings

    def __init__(
        self,
        settings: Mapping[str, Any],
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(settings)
        errors = settings_errors(EboxSettings, self.settings)
        if errors:
            raise ValueError(
                _("The eBox settings are not valid: %(fields)s.")
                % {"fields": ", ".join(sorted(errors))}
            )
        s = self.settings
        self.client = EboxClient(
            EboxConfig(
                base_url=s["base_url"],
                client_id=s["client_id"],
                private_key=s["private_key"],
                sender_enterprise_number=s["sender_enterprise_number"],
                sender_application_id=s["sender_application_id"],
                message_type_id=s["message_type_id"],
                token_url=s.get("token_url") or "",
                timeout=float(s.get("timeout") or DEFAULT_TIMEOUT),
            ),
            session=session,
            clock=clock,
        )

    def recipient_status(self, recipient: Recipient) -> Reach:
        return self.client.recipient_status(recipient)

    def publish(self, message: Publication, *, idempotency_key: str) -> Published:
        return self.client.publish(message, idempotency_key=idempotency_key)

    def read_status(self, messages: Mapping[str, Recipient]) -> dict[str, bool]:
        return self.client.read_status(messages)


# --- helpers ------------------------------------------------------------------------------


def digest(data: bytes) -> str:
    """SHA-256 of ``data`` in base64url (RFC 4648 §5), padded: the eBox's ``digestValue``."""
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode("ascii")


def pick_language(subjects: Mapping[str, str], preferred: str) -> str:
    """The one language a message goes out in: the recipient's when its subject is
    given, else the first given of nl, fr, de, en."""
    unknown = sorted(set(subjects) - set(LANGUAGES))
    if unknown:
        raise InvalidPublication(
            _("Subjects are in nl, fr, de or en, not %(languages)s.")
            % {"languages": ", ".join(unknown)}
        )
    given = [lang for lang in LANGUAGES if (subjects.get(lang) or "").strip()]
    if not given:
        raise InvalidPublication(_("A letter needs a subject."))
    return preferred if preferred in given else given[0]


def structured_string(value: str) -> str:
    """``value`` as an RFC 8941 sf-string (the ``Idempotency-Key`` header)."""
    if not value or len(value) > 255 or not all(0x20 <= ord(c) <= 0x7E for c in value):
        raise InvalidPublication(
            _("An idempotency key is 1 to 255 printable ASCII characters (a UUID, say).")
        )
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_filename(name: str) -> str:
    """A file name outside ISO-8859-1 percent-encoded like JavaScript's
    ``encodeURIComponent`` (what the eBox asks)."""
    try:
        name.encode("iso-8859-1")
    except UnicodeEncodeError:
        return quote(name, safe="-_.!~*'()")
    return name


def _private_key(value: Any) -> rsa.RSAPrivateKey:
    if isinstance(value, rsa.RSAPrivateKey):
        return value
    try:
        data = value.encode() if isinstance(value, str) else bytes(value)
        key = serialization.load_pem_private_key(data, password=None)
    except (TypeError, ValueError):
        raise ValueError(_("The private key is not an unencrypted PEM key.")) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(_("The private key must be an RSA key (the eBox signs with RS256)."))
    return key


def _scrub(text: str, recipient: Recipient | None) -> str:
    """``text`` with every national register number masked (the eBox repeats the
    identifiers it refuses)."""
    if recipient is not None and recipient.kind == "citizen":
        text = text.replace(recipient.identifier, recipient.shown)
    return _NATIONAL_NUMBER.sub(lambda m: mask_national_number(m.group()), text)


def _json(response: requests.Response) -> Any:
    try:
        return response.json() if response.content else None
    except ValueError:
        return None


def _json_list(response: requests.Response) -> list[Any]:
    body = _json(response)
    if not isinstance(body, list):
        raise EboxUnavailable(_("The eBox's answer is not the list it should be."))
    return body


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
