"""Demo data of the letters: Kortrijk set up to send letters, against local stand-ins.

The eBox, a print partner and a timestamp authority cannot be reached from a demo machine,
so the demo seals with a seal of its own making and sends to stand-ins on this machine
that speak the real wire formats (``regiohub documents stand-ins``, which
``regiohub serve --with-demo-services`` starts; see :mod:`.stand_ins`). :func:`load` makes
what both sides need, once, under ``REGIOHUB_DATA_DIR/demo/letters``:

- ``pki.json``: a demo root, intermediate, the seal's and the timestamp authority's
  certificates and keys (the stand-in timestamp authority signs with these);
- ``seal.p12``: the seal as the sender opens it (passphrase :data:`SEAL_PASSPHRASE`);
- ``ebox-client-key.pem`` / ``ebox-client.pem``: the eBox client's key (the sender signs
  its token requests with it) and its public half (the stand-in eBox checks them).

Then the Kortrijk sender and a letter template "Besluit". Idempotent: the files are kept
(made again only when the demo seal expires within a month), the sender and the template
are updated. The stand-ins listen on fixed ports of 127.0.0.1 (constants below, not
settings: only the demo uses them).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

HOST = "127.0.0.1"
TSA_PORT = 8741
EBOX_PORT = 8742
PARTNER_PORT = 8743
#: The path the stand-in timestamp authority is asked on (it answers on any path).
TSA_PATH = "/tsa"

ORGANISATION = "KOR"
#: Kortrijk's enterprise number in the demo (checksum-valid; the tests use it too).
ENTERPRISE_NUMBER = "0207451227"
RETURN_ADDRESS = ("Stad Kortrijk", "Grote Markt 54", "8500 Kortrijk")
SEAL_PASSPHRASE = "regiohub-demo-zegel"  # noqa: S105 - the demo seal's documented passphrase
EBOX_CLIENT_ID = "regiohub-demo"
EBOX_APPLICATION_ID = "regiohub-letters"
EBOX_MESSAGE_TYPE = "letter"
PARTNER_ID = "demoprint"
PAPER_AFTER_DAYS = 14
TEMPLATE_NAME = "Besluit"
TEMPLATE_DEPARTMENT = "Openbare werken"

PKI_FILE = "pki.json"
SEAL_FILE = "seal.p12"
EBOX_KEY_FILE = "ebox-client-key.pem"
EBOX_PUBLIC_FILE = "ebox-client.pem"
#: A demo seal that expires sooner than this is made again.
RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True)
class DemoRecipient:
    """Someone in the stand-in eBox's directory."""

    number: str
    kind: str  # "citizen" or "enterprise"
    #: Citizens: accepted the eBox; enterprises: read their eBox only.
    consent: bool
    #: Citizens: opened their eBox at least once.
    connected: bool
    what: str

    @property
    def shown(self) -> str:
        d = self.number
        if self.kind == "enterprise":
            return f"{d[:4]}.{d[4:7]}.{d[7:]}"
        return f"{d[:2]}.{d[2:4]}.{d[4:6]}-{d[6:9]}.{d[9:]}"


#: Who the stand-in eBox knows (checksum-valid numbers, those of the documents' tests).
#: Any other valid number has not accepted the eBox: its letters go on paper.
DIRECTORY = (
    DemoRecipient("93051822361", "citizen", True, True, "uses the eBox: the letter goes there"),
    DemoRecipient(
        "79072300048",
        "citizen",
        True,
        False,
        "accepted the eBox but never opened it: the eBox and a copy on paper",
    ),
    DemoRecipient(
        "94022722580", "citizen", False, False, "did not accept the eBox: the letter goes on paper"
    ),
    DemoRecipient(
        "0212148896", "enterprise", True, True, "reads its eBox only: the letter goes there"
    ),
)


def folder() -> Path:
    """Where the demo's keys live: ``REGIOHUB_DATA_DIR/demo/letters``."""
    return Path(settings.DATA_DIR) / "demo" / "letters"


def url(port: int, path: str = "") -> str:
    return f"http://{HOST}:{port}{path}"


def directory_lines() -> list[str]:
    """The stand-in eBox's directory in words (the command's help and its start)."""
    lines = [f"  {r.shown}  {r.kind}: {r.what}" for r in DIRECTORY]
    lines.append("  any other valid number: has not accepted the eBox, the letter goes on paper")
    return lines


# --- The files ----------------------------------------------------------------------------


def _write(path: Path, data: bytes, *, private: bool) -> None:
    """Write ``data`` to ``path`` at once (a temporary file renamed), private files 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(
        temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644
    )
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)
    os.replace(temporary, path)


def _pem_certificate(certificate: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def _pem_key(key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


_CERTIFICATES = ("root", "intermediate", "seal", "seal_ec", "tsa")
_KEYS = ("seal_key", "seal_ec_key", "tsa_key")
_BINARY = ("seal_p12", "root_crl", "intermediate_crl")


def save_pki(pki: Any, where: Path) -> None:
    """``pki`` (a :class:`~regiohub.documents.tests.pki.Pki`) as ``pki.json``."""
    data = {name: _pem_certificate(getattr(pki, name)) for name in _CERTIFICATES}
    data.update({name: _pem_key(getattr(pki, name)) for name in _KEYS})
    data.update({name: base64.b64encode(getattr(pki, name)).decode() for name in _BINARY})
    _write(where / PKI_FILE, json.dumps(data, indent=1).encode(), private=True)


def load_pki(where: Path) -> Any:
    """The demo PKI saved by :func:`save_pki`; ``FileNotFoundError`` before ``regiohub
    demo`` made it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from regiohub.documents.tests.pki import Pki

    data = json.loads((where / PKI_FILE).read_text())
    fields: dict[str, Any] = {
        name: x509.load_pem_x509_certificate(data[name].encode()) for name in _CERTIFICATES
    }
    fields.update(
        {
            name: serialization.load_pem_private_key(data[name].encode(), password=None)
            for name in _KEYS
        }
    )
    fields.update({name: base64.b64decode(data[name]) for name in _BINARY})
    return Pki(**fields)


def _still_good(where: Path) -> bool:
    """Whether the saved demo PKI and seal are there and valid for a while yet."""
    if not (where / PKI_FILE).exists() or not (where / SEAL_FILE).exists():
        return False
    try:
        pki = load_pki(where)
    except (ValueError, KeyError):
        return False
    until = min(pki.seal.not_valid_after_utc, pki.tsa.not_valid_after_utc)
    return until - dt.datetime.now(dt.UTC) > RENEW_BEFORE


def ensure_pki(where: Path) -> tuple[Any, bool]:
    """The demo PKI and ``seal.p12``, made when missing or about to expire; whether made."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    from regiohub.documents.tests.pki import make_pki

    if _still_good(where):
        return load_pki(where), False
    pki = make_pki()
    save_pki(pki, where)
    p12 = pkcs12.serialize_key_and_certificates(
        b"Kortrijk e-zegel (demo)",
        pki.seal_key,
        pki.seal,
        [pki.intermediate, pki.root],
        serialization.BestAvailableEncryption(SEAL_PASSPHRASE.encode()),
    )
    _write(where / SEAL_FILE, p12, private=True)
    return pki, True


def ensure_ebox_key(where: Path) -> tuple[str, bool]:
    """The eBox client's private key (PEM) and whether it was made now; its public half
    is written next to it for the stand-in eBox."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private_file, public_file = where / EBOX_KEY_FILE, where / EBOX_PUBLIC_FILE
    made = False
    if private_file.exists():
        key = serialization.load_pem_private_key(private_file.read_bytes(), password=None)
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _write(private_file, _pem_key(key).encode(), private=True)
        made = True
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if made or not public_file.exists() or public_file.read_bytes() != public:
        _write(public_file, public, private=False)
    return _pem_key(key), made


def load_ebox_public_key(where: Path) -> Any:
    """The eBox client's public key as the stand-in eBox checks tokens with it."""
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_public_key((where / EBOX_PUBLIC_FILE).read_bytes())


# --- The sender and its template --------------------------------------------------------


def load(
    out: Any,
    *,
    tsa_url: str | None = None,
    ebox_url: str | None = None,
    partner_url: str | None = None,
) -> None:
    """Make the demo's keys and set Kortrijk up as a sender (see the module docstring).
    The addresses default to the stand-ins' fixed ports; the tests pass others."""
    from regiohub.core.models import Organisation
    from regiohub.documents.compose import default_template
    from regiohub.documents.delivery import forget_caches
    from regiohub.documents.models import LetterTemplate, Sender

    organisation = Organisation.objects.filter(code=ORGANISATION).first()
    if organisation is None:
        out.write(f"Letters: no organisation {ORGANISATION} (the demo region), skipped.\n")
        return
    where = folder()
    pki, made = ensure_pki(where)
    until = pki.seal.not_valid_after_utc.date().isoformat()
    out.write(
        f"Letters: demo seal and timestamp authority {'made' if made else 'kept'} in {where} "
        f"(valid until {until}).\n"
    )
    private_key, made = ensure_ebox_key(where)
    out.write(f"Letters: eBox client key {'made' if made else 'kept'} ({EBOX_KEY_FILE}).\n")

    ebox_url = ebox_url or url(EBOX_PORT)
    partner_url = partner_url or url(PARTNER_PORT)
    sender, created = Sender.objects.update_or_create(
        organisation=organisation,
        defaults={
            "enterprise_number": ENTERPRISE_NUMBER,
            "return_address": "\n".join(RETURN_ADDRESS),
            "key_source": "pkcs12",
            "key_file": str(where / SEAL_FILE),
            "key_passphrase": SEAL_PASSPHRASE,
            "level": "B-T",
            "tsa_url": tsa_url or url(TSA_PORT, TSA_PATH),
            "seal_reason": "Besluit van Stad Kortrijk (demo)",
            "seal_location": "Kortrijk",
            "ebox_settings": {
                "base_url": ebox_url,
                "client_id": EBOX_CLIENT_ID,
                "private_key": private_key,
                "sender_enterprise_number": ENTERPRISE_NUMBER,
                "sender_application_id": EBOX_APPLICATION_ID,
                "message_type_id": EBOX_MESSAGE_TYPE,
                "timeout": 10,
            },
            "paper_partner": PARTNER_ID,
            "paper_url": partner_url,
            "paper_after_days": PAPER_AFTER_DAYS,
        },
    )
    forget_caches()
    out.write(
        f"Letters: {organisation.name} sends letters ({'created' if created else 'updated'}): "
        f"stand-in eBox {ebox_url}, print partner {partner_url}, timestamps {sender.tsa_url}; "
        f"also on paper when unread after {PAPER_AFTER_DAYS} days.\n"
    )
    _template, created = LetterTemplate.objects.update_or_create(
        organisation=organisation,
        name=TEMPLATE_NAME,
        defaults={
            "source": default_template(),
            "department": TEMPLATE_DEPARTMENT,
            "is_active": True,
        },
    )
    out.write(
        f"Letters: template “{TEMPLATE_NAME}” of {organisation.name} "
        f"{'created' if created else 'updated'}.\n"
    )
    out.write(
        "Letters: the eBox, print partner and timestamp authority are stand-ins on this "
        "machine (`regiohub documents stand-ins`, which `make run` starts); recipients: "
        f"{summary()}.\n"
    )


def summary() -> str:
    """The stand-in eBox's directory on one line."""
    short = {
        (True, True): "eBox",
        (True, False): "eBox and paper",
        (False, False): "paper",
    }
    found = [f"{r.shown} {short[(r.consent, r.connected)]}" for r in DIRECTORY]
    return ", ".join(found) + ", any other number paper"
