"""A sending municipality for the documents tests: a seal (PKCS#12 file), a local
timestamp authority, the fake eBox and the fake print partner, all over real HTTP."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pypdf import PdfWriter

from regiohub.documents.tests.fake_ebox import FakeEbox
from regiohub.documents.tests.fake_print_partner import FakePrintPartner, fake_print_partner
from regiohub.documents.tests.pki import PASSPHRASE, Pki, TimestampAuthority, make_pki

KORTRIJK_KBO = "0207451227"
CITIZEN = "93051822361"  # consented, uses the eBox
CITIZEN_PAPER = "94022722580"  # no consent: paper
CITIZEN_NEVER = "79072300048"  # consented, never opened it: eBox and paper
COMPANY = "0212148896"  # eBox only
ADDRESS = ["Grote Markt 54", "8500 Kortrijk"]


@pytest.fixture(scope="session")
def pki() -> Pki:
    return make_pki()


@pytest.fixture(scope="session")
def tsa(pki: Pki) -> Iterator[TimestampAuthority]:
    authority = TimestampAuthority(pki)
    yield authority
    authority.stop()


@pytest.fixture(scope="session")
def ebox_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def ebox(ebox_key: Any) -> Iterator[FakeEbox]:
    with FakeEbox(public_key=ebox_key.public_key(), sender_enterprise_number=KORTRIJK_KBO) as fake:
        fake.add_citizen(CITIZEN)
        fake.add_citizen(CITIZEN_PAPER, consent=False, connected=False)
        fake.add_citizen(CITIZEN_NEVER, connected=False)
        fake.add_enterprise(COMPANY, exclusively=True)
        yield fake


@pytest.fixture
def partner() -> Iterator[FakePrintPartner]:
    with fake_print_partner() as fake:
        yield fake


def ebox_settings(ebox: FakeEbox, key: Any) -> dict[str, Any]:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "base_url": ebox.url,
        "client_id": ebox.client_id,
        "private_key": pem,
        "sender_enterprise_number": KORTRIJK_KBO,
        "sender_application_id": ebox.sender_application_id,
        "message_type_id": "letter",
        "timeout": 5,
    }


def make_sender(
    organisation: Any,
    *,
    pki: Pki,
    tsa: TimestampAuthority,
    folder: Path,
    ebox: FakeEbox | None,
    ebox_key: Any = None,
    partner: FakePrintPartner,
    **fields: Any,
) -> Any:
    from regiohub.documents.delivery import forget_caches
    from regiohub.documents.models import Sender

    key_file = folder / f"seal-{organisation.code}.p12"
    key_file.write_bytes(pki.seal_p12)
    forget_caches()
    return Sender.objects.create(
        organisation=organisation,
        enterprise_number=KORTRIJK_KBO,
        return_address=f"{organisation.name}\nGrote Markt 54\n8500 Kortrijk",
        key_file=str(key_file),
        key_passphrase=PASSPHRASE.decode(),
        tsa_url=tsa.url,
        ebox_settings=ebox_settings(ebox, ebox_key) if ebox is not None else {},
        paper_partner="printco",
        paper_url=partner.url,
        **fields,
    )


@pytest.fixture
def sender(region, pki, tsa, ebox, ebox_key, partner, tmp_path, settings) -> Any:
    settings.DOCUMENTS_PAPER_DIR = str(tmp_path / "paper")
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return make_sender(region["KOR"], pki=pki, tsa=tsa, folder=tmp_path, ebox=ebox,
                       ebox_key=ebox_key, partner=partner)  # fmt: skip


def pdf(pages: int = 1, title: str = "Besluit") -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
