"""The seal as its checkers see it: ``pdfsig`` (poppler) and pyHanko's validator both call a
sealed letter valid, timestamped (B-T) and covering the whole document; a letter altered
after sealing is caught by both; the key may sit in a PKCS#12 file or on a PKCS#11 token
(SoftHSM2); a wrong passphrase or a silent timestamp authority is a clear refusal."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from django.utils import translation
from pypdf import PdfWriter

from regiohub.core.testing import in_ci
from regiohub.documents.signing import Sealer, SealError, verify
from regiohub.documents.tests.pki import PASSPHRASE, TimestampAuthority, make_pki

SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so"


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if in_ci():
            pytest.fail(f"{name} is not installed: make system-test installs it")
        pytest.skip(f"{name} is not installed (make system-test installs it)")
    return found


@pytest.fixture(scope="module")
def pki():
    return make_pki()


@pytest.fixture(scope="module")
def tsa(pki):
    authority = TimestampAuthority(pki)
    yield authority
    authority.stop()


def letter(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": "Besluit omgevingsvergunning"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdfsig(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "brief.pdf"
    path.write_bytes(data)
    done = subprocess.run(
        [tool("pdfsig"), "-nocert", str(path)], capture_output=True, text=True, check=False
    )
    return done.stdout + done.stderr  # pdfsig exits 0 even for a broken signature


def test_a_b_t_seal_is_valid_for_pdfsig_and_pyhanko(pki, tsa, tmp_path):
    sealer = Sealer.from_pkcs12(pki.seal_p12, PASSPHRASE, tsa_url=tsa.url, level="B-T",
                                reason="Besluit", location="Kortrijk")  # fmt: skip
    before = tsa.answered
    sealed = sealer.seal(letter(2))
    assert sealed.sha256 == hashlib.sha256(sealed.data).hexdigest() and sealed.level == "B-T"
    assert tsa.answered == before + 1  # one timestamp, no second signing pass
    said = pdfsig(sealed.data, tmp_path)
    assert "Signature is Valid" in said, said
    assert "Total document signed" in said, said
    assert "ETSI.CAdES.detached" in said, said
    verdict = verify(sealed.data, pki.validation_context())
    assert verdict.ok and verdict.timestamped, verdict.summary


def test_a_letter_altered_after_sealing_is_caught(pki, tsa, tmp_path):
    sealer = Sealer.from_pkcs12(pki.seal_p12, PASSPHRASE, tsa_url=tsa.url)
    sealed = bytearray(sealer.seal(letter()).data)
    at = sealed.index(b"Besluit omgevingsvergunning")
    sealed[at : at + 7] = b"Beslist"  # the title, inside the signed range
    said = pdfsig(bytes(sealed), tmp_path)
    assert "Signature is Valid" not in said, said
    verdict = verify(bytes(sealed), pki.validation_context())
    assert not verdict.intact and not verdict.ok
    # Bytes added after the seal: the seal no longer covers the whole file.
    appended = sealer.seal(letter()).data + b"\n% added later\n"
    assert not verify(appended, pki.validation_context()).whole_file


def test_a_b_lt_seal_carries_its_validation_data_in_one_revision(pki, tsa, tmp_path):
    sealer = Sealer.from_pkcs12(pki.seal_p12, PASSPHRASE, tsa_url=tsa.url, level="B-LT",
                                validation_context=pki.validation_context())  # fmt: skip
    sealed = sealer.seal(letter())
    assert b"/DSS" in sealed.data
    said = pdfsig(sealed.data, tmp_path)
    assert "Signature is Valid" in said and "Total document signed" in said, said
    assert verify(sealed.data, pki.validation_context()).ok


def test_a_key_on_a_pkcs11_token(pki, tsa, tmp_path, monkeypatch):
    tool("softhsm2-util")
    if not os.path.exists(SOFTHSM):
        pytest.fail(f"{SOFTHSM} is missing: make system-test installs softhsm2")
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    run = [tool("softhsm2-util")]
    subprocess.run(
        [*run, "--init-token", "--free", "--label", "kortrijk", "--so-pin", "5678", "--pin",
         "1234"], check=True, capture_output=True,
    )  # fmt: skip
    key = tmp_path / "seal.key.pem"
    key.write_bytes(
        pki.seal_ec_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    subprocess.run(
        [*run, "--import", str(key), "--token", "kortrijk", "--label", "zegel", "--id", "01",
         "--pin", "1234"], check=True, capture_output=True,
    )  # fmt: skip
    import pkcs11
    from pkcs11 import Attribute, CertificateType, ObjectClass

    certificate = pki.seal_ec.public_bytes(serialization.Encoding.DER)
    token = pkcs11.lib(SOFTHSM).get_token(token_label="kortrijk")
    with token.open(rw=True, user_pin="1234") as session:
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.LABEL: "zegel",
                Attribute.ID: b"\x01",
                Attribute.SUBJECT: pki.seal_ec.subject.public_bytes(),
                Attribute.VALUE: certificate,
            }
        )
    sealer = Sealer.from_pkcs11(
        library=SOFTHSM, token_label="kortrijk", pin="1234", key_label="zegel",
        ca_chain=tuple(pki.chain()), tsa_url=tsa.url,
    )  # fmt: skip
    sealed = sealer.seal(letter())
    assert verify(sealed.data, pki.validation_context()).ok
    said = pdfsig(sealed.data, tmp_path)
    assert "Signature is Valid" in said and "Total document signed" in said, said
    with translation.override("en"), pytest.raises(SealError, match="token cannot be opened"):
        Sealer.from_pkcs11(library=SOFTHSM, token_label="kortrijk", pin="0000",
                           key_label="zegel", tsa_url=tsa.url)  # fmt: skip


def test_a_wrong_passphrase_or_a_silent_tsa_is_refused_clearly(pki, tsa):
    with translation.override("en"), pytest.raises(SealError, match="key file cannot be opened"):
        Sealer.from_pkcs12(pki.seal_p12, b"wrong", tsa_url=tsa.url)
    silent = Sealer.from_pkcs12(pki.seal_p12, PASSPHRASE, tsa_url="http://127.0.0.1:9/tsa",
                                timeout=2)  # fmt: skip
    with translation.override("en"), pytest.raises(SealError, match="could not be put"):
        silent.seal(letter())
    with pytest.raises(ValueError, match="timestamp authority"):
        Sealer.from_pkcs12(pki.seal_p12, PASSPHRASE, level="B-T")
