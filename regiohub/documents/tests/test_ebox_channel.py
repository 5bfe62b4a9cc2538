"""The eBox channel against a fake eBox over real HTTP: a letter is published once however
often it is sent with its key (a repeat, a dropped answer, a timeout, a 503), every check
of the eBox comes back as a clear refusal naming its code, the digests are the ones the
eBox recomputes, routing follows consent and preferences, read status is polled, the
token is reused until it expires, and no national register number reaches an exception
or a log line."""

from __future__ import annotations

import base64
import copy
import hashlib
import logging
from datetime import datetime

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import translation
from structlog.testing import capture_logs

from regiohub.core.identifiers import IdentifierError
from regiohub.documents.channels import Recipient, channels
from regiohub.documents.channels.ebox import (
    PREFERENCE_SCOPE,
    Document,
    EboxChannel,
    EboxClient,
    EboxConfig,
    EboxRefused,
    EboxUnavailable,
    InvalidPublication,
    Publication,
    digest,
)
from regiohub.documents.tests.fake_ebox import FakeEbox

SENDER = "0474028805"
CITIZEN = "93051822361"  # consented, uses the eBox
CITIZEN_NO_CONSENT = "94022722580"
CITIZEN_NEVER = "79072300048"  # consented, never opened it
COMPANY = "0212148896"  # eBox only
COMPANY_NEVER = "0406798006"  # has an eBox, never opened it
COMPANY_NONE = "0852093431"  # no eBox
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
KEY = "8e03978e-40d5-43e8-bc93-6894a57f9324"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def ebox(key):
    with FakeEbox(public_key=key.public_key(), sender_enterprise_number=SENDER) as fake:
        fake.add_citizen(CITIZEN)
        fake.add_citizen(CITIZEN_NO_CONSENT, consent=False, connected=False)
        fake.add_citizen(CITIZEN_NEVER, connected=False)
        fake.add_enterprise(COMPANY, exclusively=True)
        fake.add_enterprise(COMPANY_NEVER, last_connection=None)
        yield fake


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client(ebox: FakeEbox, key, *, timeout: float = 5.0, clock=None) -> EboxClient:
    config = EboxConfig(
        base_url=ebox.url,
        client_id=ebox.client_id,
        private_key=key,
        sender_enterprise_number=SENDER,
        sender_application_id=ebox.sender_application_id,
        message_type_id="letter",
        timeout=timeout,
    )
    return EboxClient(config, clock=clock or Clock())


def letter(
    recipient: Recipient | None = None, *documents: Document, **subjects: str
) -> Publication:
    return Publication(
        recipient=recipient or Recipient.citizen(CITIZEN),
        subjects=subjects or {"nl": "Beslissing omgevingsvergunning", "fr": "Décision permis"},
        documents=documents or (Document("besluit.pdf", PDF),),
    )


# --- exactly once -------------------------------------------------------------------------


def test_a_letter_is_published_once_with_its_documents(ebox, key):
    annex = Document("bijlage plan €.pdf", PDF + b"annex")
    published = client(ebox, key).publish(
        letter(None, Document("besluit.pdf", PDF), annex), idempotency_key=KEY
    )
    assert published.duplicate is False and published.no_digital_user is False
    assert isinstance(published.expiration, datetime) and published.expiration.tzinfo
    assert published.language == "nl"
    assert published.sha256 == (hashlib.sha256(PDF).hexdigest(), annex.sha256)
    assert ebox.stats() | {"by_key": None} == {
        "received": 1, "accepted": 1, "duplicates": 0, "no_key": 0, "by_key": None,
        "tokens_issued": 1,
    }  # fmt: skip
    stored = ebox.messages[published.message_id]
    assert stored.recipient == {"eboxType": "citizen", "ssin": CITIZEN}
    assert stored.subject == {"nl": "Beslissing omgevingsvergunning"}
    assert stored.files["upfile1"] == ("besluit.pdf", "application/pdf", PDF)
    assert stored.files["upfile2"] == (
        "bijlage%20plan%20%E2%82%AC.pdf",
        "application/pdf",
        annex.data,
    )
    assert [a["isMainContent"] for a in stored.description["attachments"]] == [True, False]
    assert requests.get(ebox.url + "/_fake/stats", timeout=5).json()["by_key"] == {KEY: 1}
    [publish] = [r for r in ebox.requests if r.path.endswith("/ebox/messages")]
    assert publish.headers["Idempotency-Key"] == f'"{KEY}"'


def test_the_same_key_twice_is_one_message_and_a_duplicate(ebox, key):
    the_client = client(ebox, key)
    first = the_client.publish(letter(), idempotency_key=KEY)
    again = the_client.publish(letter(), idempotency_key=KEY)
    assert again.duplicate is True and first.duplicate is False
    assert again.message_id == first.message_id
    assert (ebox.accepted, ebox.duplicates, ebox.by_key[KEY]) == (1, 1, 2)
    other = the_client.publish(letter(), idempotency_key="another-letter")
    assert other.duplicate is False and ebox.accepted == 2


def test_an_answer_lost_after_commit_is_retried_with_the_same_key_into_one_message(ebox, key):
    the_client = client(ebox, key)
    ebox.drop_after_commit()
    with pytest.raises(EboxUnavailable, match="could not be reached"):
        the_client.publish(letter(), idempotency_key=KEY)
    assert ebox.accepted == 1  # the eBox has it, we do not know
    retried = the_client.publish(letter(), idempotency_key=KEY)
    assert retried.duplicate is True
    assert retried.message_id == next(iter(ebox.messages))
    assert (ebox.received, ebox.accepted, ebox.duplicates) == (2, 1, 1)


def test_a_timeout_after_commit_is_retryable_and_the_retry_is_a_duplicate(ebox, key):
    the_client = client(ebox, key, timeout=0.1)
    the_client.access_token()
    ebox.slow_after_commit(0.2)
    with pytest.raises(EboxUnavailable, match="did not answer"):
        the_client.publish(letter(), idempotency_key=KEY)
    assert the_client.publish(letter(), idempotency_key=KEY).duplicate is True
    assert ebox.accepted == 1


def test_a_503_is_retryable_and_the_retry_publishes(ebox, key):
    the_client = client(ebox, key)
    ebox.fail_next(2, status=503)
    for _attempt in range(2):
        with pytest.raises(EboxUnavailable) as caught:
            the_client.publish(letter(), idempotency_key=KEY)
        assert caught.value.status == 503
    published = the_client.publish(letter(), idempotency_key=KEY)
    assert published.duplicate is False
    assert (ebox.received, ebox.accepted) == (3, 1)


# --- the eBox's checks, answered and mapped -----------------------------------------------


def _drop_type(description, parts):
    del description["messageTypeId"]


def _null(description, parts):
    description["isReplyAuthorized"] = None


def _unknown_key(description, parts):
    description["priority"] = "high"


def _bad_ssin(description, parts):
    description["recipient"]["ssin"] = "85071512398"


def _bad_company(description, parts):
    description["recipient"] = {"eboxType": "enterprise", "enterpriseNumber": "0852093432"}


def _other_sender(description, parts):
    description["sender"]["enterpriseNumber"] = "0406798006"


def _unknown_type(description, parts):
    description["messageTypeId"] = "tax-bill"


def _two_languages(description, parts):
    description["subject"] = {"nl": "Besluit", "fr": "Décision"}


def _no_main(description, parts):
    description["attachments"][0]["isMainContent"] = False


def _two_mains(description, parts):
    parts.append(("upfile2", Document("b.pdf", PDF)))
    description["attachments"].append({**description["attachments"][0], "httpPartName": "upfile2"})


def _extra_part(description, parts):
    parts.append(("upfile2", Document("b.pdf", PDF)))


def _wrong_part_name(description, parts):
    description["attachments"][0]["httpPartName"] = "upfile9"


def _no_filename(description, parts):
    parts[0] = ("upfile1", Document("", PDF))


def _bad_media_type(description, parts):
    parts[0] = ("upfile1", Document("scan.png", PDF, media_type="image/png"))


def _hex_digest(description, parts):
    description["attachments"][0]["digest"]["digestValue"] = hashlib.sha256(PDF).hexdigest()


def _digest_of_other_bytes(description, parts):
    parts[0] = ("upfile1", Document("besluit.pdf", PDF + b"changed after sealing"))


def _seven_parts(description, parts):
    for number in range(2, 8):
        parts.append((f"upfile{number}", Document(f"{number}.pdf", PDF)))


def _too_large(description, parts):
    big = Document("big.pdf", b"0" * (30 * 1024 * 1024 + 1))
    parts[0] = ("upfile1", big)
    description["attachments"][0]["digest"]["digestValue"] = digest(big.data)


@pytest.mark.parametrize(
    ("change", "status", "code", "words"),
    [
        (_drop_type, 400, "INVALID_INPUT", "Invalid Schema: $.messageTypeId is required"),
        (_null, 400, "INVALID_INPUT", "Invalid Schema: $.isReplyAuthorized is null"),
        (_unknown_key, 400, "INVALID_INPUT", "Invalid Schema: $.priority is not a known field"),
        (_bad_ssin, 400, "INVALID_INPUT", "••.••.••-•23.98 is not a valid citizen"),
        (_bad_company, 400, "INVALID_INPUT", "0852093432 is not a valid company"),
        (_other_sender, 400, "INVALID_SENDER", "user credentials does not match payload"),
        (_unknown_type, 400, "INVALID_SENDER", "Invalid message configuration"),
        (_two_languages, 400, "NOT_IMPLEMENTED", "Multiple languages provided"),
        (_no_main, 400, "INVALID_INPUT", "No main content attachment"),
        (_two_mains, 400, "INVALID_INPUT", "Too many main content"),
        (_extra_part, 400, "INVALID_INPUT", "inconsistent with number of parts"),
        (_wrong_part_name, 400, "INVALID_INPUT", "do not match any file upload part"),
        (_no_filename, 400, "INVALID_INPUT", "Missing mediaType or fileName"),
        (_bad_media_type, 400, "INVALID_INPUT", "Attachment mime type is not valid"),
        (_hex_digest, 400, "DIGEST_DO_NOT_MATCH", "Issue with Digest"),
        (_digest_of_other_bytes, 400, "DIGEST_DO_NOT_MATCH", "Issue with Digest"),
        (_seven_parts, 413, "PAYLOAD_TOO_LARGE", "At most 6 documents"),
        (_too_large, 413, "PAYLOAD_TOO_LARGE", "30 MiB"),
    ],
)
def test_each_check_of_the_ebox_is_a_clear_permanent_refusal(
    ebox, key, change, status, code, words
):
    the_client = client(ebox, key)
    description, parts = the_client.describe(letter())
    description, parts = copy.deepcopy(description), list(parts)
    change(description, parts)
    with pytest.raises(EboxRefused) as caught:
        the_client.post_message(description, parts, idempotency_key=KEY)
    refusal = caught.value
    assert not isinstance(refusal, EboxUnavailable)
    assert (refusal.status, refusal.code) == (status, code)
    assert words in refusal.reason
    assert str(refusal).startswith(f"The eBox refused (HTTP {status} {code}): ")
    assert "85071512398" not in str(refusal)
    assert ebox.accepted == 0
    # Nothing was stored, so the key is still free for the corrected letter.
    assert the_client.publish(letter(), idempotency_key=KEY).duplicate is False


@pytest.mark.parametrize(
    ("publication", "idempotency_key", "words"),
    [
        (letter(None, *[Document(f"{n}.pdf", PDF) for n in range(7)]), KEY, "at most 6 documents"),
        (letter(None, Document("a.pdf", b"1" * (30 * 2**20 + 1))), KEY, "at most 30 MiB"),
        (letter(None, Document("a.exe", PDF, media_type="application/x-msdownload")), KEY,
         "application/x-msdownload, which the eBox does not take"),
        (letter(None, Document("a.pdf", b"")), KEY, "Document 1 is empty"),
        (letter(None, Document("x" * 256 + ".pdf", PDF)), KEY, "file name of 1 to 255"),
        (letter(None, nl="  "), KEY, "needs a subject"),
        (letter(None, nl="x" * 401), KEY, "1 to 400 characters"),
        (letter(None, es="Decisión"), KEY, "not es"),
        (letter(), "", "idempotency key"),
        (letter(), "sleutel\nmet regeleinde", "idempotency key"),
    ],
)  # fmt: skip
def test_what_the_ebox_would_refuse_is_refused_before_sending(
    ebox, key, publication, idempotency_key, words
):
    with pytest.raises(InvalidPublication, match=words):
        client(ebox, key).publish(publication, idempotency_key=idempotency_key)
    assert ebox.received == 0


def test_a_wrong_number_is_refused_when_the_recipient_is_made():
    with pytest.raises(IdentifierError, match="check the last two digits") as caught:
        Recipient.citizen("85071512398")
    assert "850715" not in str(caught.value)
    with pytest.raises(IdentifierError, match="check the last two digits"):
        Recipient.enterprise("0852093432")
    with pytest.raises(ValueError, match="not 'es'"):
        Recipient.citizen(CITIZEN, language="es")
    assert Recipient.enterprise("BE 0212.148.896").identifier == COMPANY


def test_one_language_goes_out_the_recipients_or_the_first_given(ebox, key):
    the_client = client(ebox, key)
    both = {"nl": "Besluit", "fr": "Décision"}
    french = the_client.publish(
        letter(Recipient.citizen(CITIZEN, "fr"), **both), idempotency_key="a"
    )
    german = the_client.publish(
        letter(Recipient.citizen(CITIZEN, "de"), **both), idempotency_key="b"
    )
    only_fr = the_client.publish(letter(None, fr="Décision"), idempotency_key="c")
    assert [ebox.messages[p.message_id].subject for p in (french, german, only_fr)] == [
        {"fr": "Décision"},
        {"nl": "Besluit"},
        {"fr": "Décision"},
    ]


# --- digests ------------------------------------------------------------------------------


def test_digests_are_base64url_sha256_as_the_ebox_recomputes_them(ebox, key):
    assert digest(b"") == "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU="
    the_client = client(ebox, key)
    # Bytes whose digest needs the url-safe alphabet: plain base64 would fail at the eBox.
    data = next(
        PDF + bytes([n])
        for n in range(256)
        if set(base64.b64encode(hashlib.sha256(PDF + bytes([n])).digest())) & set(b"+/")
    )
    published = the_client.publish(letter(None, Document("a.pdf", data)), idempotency_key=KEY)
    stored = ebox.messages[published.message_id]
    sent = stored.description["attachments"][0]["digest"]
    assert sent == {
        "digestMethod": "sha_256",
        "digestValue": base64.urlsafe_b64encode(
            hashlib.sha256(stored.files["upfile1"][2]).digest()
        ).decode(),
    }
    description, parts = the_client.describe(letter(None, Document("a.pdf", data)))
    description["attachments"][0]["digest"]["digestValue"] = base64.b64encode(
        hashlib.sha256(data).digest()
    ).decode()
    with pytest.raises(EboxRefused, match="DIGEST_DO_NOT_MATCH"):
        the_client.post_message(description, parts, idempotency_key="plain-base64")
    description["attachments"][0]["digest"]["digestValue"] = digest(data).rstrip("=")
    unpadded = the_client.post_message(description, parts, idempotency_key="unpadded")
    assert unpadded.duplicate is False


# --- routing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recipient", "digital", "code", "exclusive"),
    [
        (Recipient.citizen(CITIZEN), True, "consent", False),
        (Recipient.citizen(CITIZEN_NO_CONSENT), False, "no_consent", False),
        (Recipient.citizen("85071512397"), False, "no_consent", False),  # unknown to the eBox
        (Recipient.enterprise(COMPANY), True, "ebox", True),
        (Recipient.enterprise(COMPANY_NEVER), False, "never_connected", False),
        (Recipient.enterprise(COMPANY_NONE), False, "no_ebox", False),
    ],
)
def test_routing_follows_consent_and_preferences(ebox, key, recipient, digital, code, exclusive):
    reach = client(ebox, key).recipient_status(recipient)
    assert (reach.can_receive_digitally, reach.code, reach.exclusively_digital) == (
        digital,
        code,
        exclusive,
    )
    assert reach.detail


def test_a_recipient_who_never_opened_the_ebox_is_published_with_no_digital_user(ebox, key):
    the_client = client(ebox, key)
    citizen = the_client.publish(letter(Recipient.citizen(CITIZEN_NEVER)), idempotency_key="a")
    company = the_client.publish(letter(Recipient.enterprise(COMPANY_NEVER)), idempotency_key="b")
    reader = the_client.publish(letter(Recipient.enterprise(COMPANY)), idempotency_key="c")
    assert (citizen.no_digital_user, company.no_digital_user, reader.no_digital_user) == (
        True,
        True,
        False,
    )
    assert citizen.message_id and company.message_id


# --- read status --------------------------------------------------------------------------


def test_read_status_flips_when_the_recipient_opens_the_letter(ebox, key):
    the_client = client(ebox, key)
    citizen, company = Recipient.citizen(CITIZEN), Recipient.enterprise(COMPANY)
    one = the_client.publish(letter(citizen), idempotency_key="a").message_id
    two = the_client.publish(letter(company), idempotency_key="b").message_id
    assert the_client.read_status({one: citizen, two: company}) == {one: False, two: False}
    opened = requests.post(f"{ebox.url}/_fake/messages/{one}/read", timeout=5)
    assert opened.status_code == 200
    assert the_client.read_status({one: citizen, two: company}) == {one: True, two: False}
    with pytest.raises(EboxRefused) as caught:
        the_client.read_status({"no-such-message": citizen})
    assert (caught.value.status, caught.value.code) == (404, "NOT_FOUND")
    with pytest.raises(EboxRefused, match="404"):
        the_client.read_status({one: company})  # not the recipient it went to


# --- the token ----------------------------------------------------------------------------


def test_the_token_is_reused_until_it_expires(ebox, key):
    clock = Clock()
    the_client = client(ebox, key, clock=clock)
    the_client.publish(letter(), idempotency_key="a")
    the_client.recipient_status(Recipient.enterprise(COMPANY))
    clock.now += 500
    the_client.read_status({next(iter(ebox.messages)): Recipient.citizen(CITIZEN)})
    assert ebox.tokens_issued == 1
    clock.now += 100  # 600 s after: past the token's lifetime
    the_client.recipient_status(Recipient.citizen(CITIZEN))
    assert ebox.tokens_issued == 2
    tokens = {r.headers["Authorization"] for r in ebox.requests if "Authorization" in r.headers}
    assert len(tokens) == 2


def test_a_revoked_token_is_renewed_once_and_the_call_goes_through(ebox, key):
    the_client = client(ebox, key)
    the_client.recipient_status(Recipient.citizen(CITIZEN))
    ebox.revoke_tokens()
    assert the_client.publish(letter(), idempotency_key=KEY).duplicate is False
    assert (ebox.tokens_issued, ebox.accepted) == (2, 1)


def test_the_assertion_is_checked_and_a_missing_scope_is_refused(ebox, key):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(EboxRefused) as caught:
        client(ebox, stranger).publish(letter(), idempotency_key=KEY)
    assert (caught.value.status, caught.value.code) == (400, "invalid_client")
    assert "Signature verification failed" in caught.value.reason
    ebox.granted_scopes = frozenset({PREFERENCE_SCOPE})
    with pytest.raises(EboxRefused) as caught:
        client(ebox, key).publish(letter(), idempotency_key=KEY)
    assert caught.value.status == 403
    assert ebox.accepted == 0


# --- privacy ------------------------------------------------------------------------------


def test_a_national_register_number_never_reaches_an_error_or_a_log(ebox, key, caplog):
    caplog.set_level(logging.DEBUG)
    shown = []
    with capture_logs() as logs:
        the_client = client(ebox, key)
        citizen = Recipient.citizen(CITIZEN)
        shown.append(repr(the_client.recipient_status(citizen)))
        published = the_client.publish(letter(citizen), idempotency_key=KEY)
        shown.append(repr(the_client.publish(letter(citizen), idempotency_key=KEY)))
        shown.append(repr(the_client.read_status({published.message_id: citizen})))
        ebox.fail_next(1)
        with pytest.raises(EboxUnavailable) as caught:
            the_client.publish(letter(citizen), idempotency_key="x")
        shown.append(str(caught.value))
        description, parts = the_client.describe(letter(citizen))
        for echoed in ("93.05.18-223.61", "93051822362"):  # the eBox repeats what it refuses
            description["recipient"]["ssin"] = echoed
            with pytest.raises(EboxRefused) as caught:
                the_client.post_message(description, parts, idempotency_key="z")
            shown.append(str(caught.value))
        shown += [repr(citizen), str(citizen), repr(letter(citizen))]
    assert logs, "publications are logged"
    everything = " ".join([*shown, str(logs), caplog.text])
    assert "••.••.••-•23.61 is not a valid citizen" in everything
    assert "••.••.••-•23.62 is not a valid citizen" in everything
    for number in (CITIZEN, "93.05.18-223.6", "9305182236", "930518", "93.05.18"):
        assert number not in everything


# --- the plugin ---------------------------------------------------------------------------


def test_the_ebox_is_a_registered_delivery_channel(ebox, key):
    assert channels.get("ebox") is EboxChannel
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    settings = {
        "base_url": ebox.url,
        "client_id": ebox.client_id,
        "private_key": pem,
        "sender_enterprise_number": "0474.028.805",
        "sender_application_id": ebox.sender_application_id,
        "message_type_id": "letter",
        "timeout": 5,
    }
    channel = channels.get("ebox")(settings)
    assert channel.recipient_status(Recipient.enterprise(COMPANY)).can_receive_digitally
    assert channel.publish(letter(), idempotency_key=KEY).duplicate is False
    with pytest.raises(ValueError, match="private_key, sender_enterprise_number") as caught:
        EboxChannel(
            {**settings, "private_key": "not a key", "sender_enterprise_number": "0474028806"}
        )
    assert pem not in str(caught.value) and "not a key" not in str(caught.value)
