"""A test PKI and a local RFC 3161 timestamp authority over HTTP, as the documents' tests
need them: a root, an intermediate, the municipality's seal (RSA, and EC for the token),
a TSA certificate (timeStamping, critical), CRLs; the seal as PKCS#12."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PASSPHRASE = b"zegel-test"


@dataclass
class Pki:
    root: x509.Certificate
    intermediate: x509.Certificate
    seal: x509.Certificate
    seal_key: Any
    seal_p12: bytes
    seal_ec: x509.Certificate
    seal_ec_key: Any
    tsa: x509.Certificate
    tsa_key: Any
    root_crl: bytes
    intermediate_crl: bytes

    def validation_context(self) -> Any:
        """Trust in our root only, the CRLs we made, never the network."""
        from pyhanko_certvalidator import ValidationContext

        return ValidationContext(
            trust_roots=[_asn1(self.root)],
            other_certs=[_asn1(self.intermediate)],
            crls=[self.root_crl, self.intermediate_crl],
            allow_fetching=False,
            revocation_mode="hard-fail",
        )

    def chain(self) -> list[Any]:
        return [_asn1(self.intermediate), _asn1(self.root)]


def _asn1(certificate: x509.Certificate) -> Any:
    from asn1crypto import x509 as asn1

    return asn1.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Stad Kortrijk (test)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def _usage(**on: bool) -> x509.KeyUsage:
    flags = dict.fromkeys(
        ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
         "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"),
        False,
    )  # fmt: skip
    flags.update(on)
    return x509.KeyUsage(**flags)


def _certificate(
    common: str,
    key: Any,
    issuer: x509.Certificate | None,
    issuer_key: Any,
    *,
    ca: bool = False,
    usage: x509.KeyUsage,
    eku: list[Any] | None = None,
    now: dt.datetime,
) -> x509.Certificate:
    subject = _name(common)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                (issuer or None).public_key() if issuer else key.public_key()
            ),
            critical=False,
        )
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def _crl(issuer: x509.Certificate, key: Any, now: dt.datetime) -> bytes:
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + dt.timedelta(days=7))
        .add_extension(x509.CRLNumber(1), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key()),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    return crl.public_bytes(serialization.Encoding.DER)


def make_pki() -> Pki:
    now = dt.datetime.now(dt.UTC)
    root_key = rsa.generate_private_key(65537, 2048)
    root = _certificate(
        "Test Root CA", root_key, None, root_key, ca=True,
        usage=_usage(key_cert_sign=True, crl_sign=True), now=now,
    )  # fmt: skip
    int_key = rsa.generate_private_key(65537, 2048)
    intermediate = _certificate(
        "Test Seal CA", int_key, root, root_key, ca=True,
        usage=_usage(key_cert_sign=True, crl_sign=True), now=now,
    )  # fmt: skip
    seal_usage = _usage(digital_signature=True, content_commitment=True)
    seal_key = rsa.generate_private_key(65537, 2048)
    seal = _certificate("Kortrijk e-zegel", seal_key, intermediate, int_key,
                        usage=seal_usage, now=now)  # fmt: skip
    seal_ec_key = ec.generate_private_key(ec.SECP256R1())
    seal_ec = _certificate("Kortrijk e-zegel (token)", seal_ec_key, intermediate, int_key,
                           usage=seal_usage, now=now)  # fmt: skip
    tsa_key = rsa.generate_private_key(65537, 2048)
    tsa = _certificate(
        "Test TSA", tsa_key, intermediate, int_key,
        usage=_usage(digital_signature=True, content_commitment=True),
        eku=[ExtendedKeyUsageOID.TIME_STAMPING], now=now,
    )  # fmt: skip
    p12 = pkcs12.serialize_key_and_certificates(
        b"seal", seal_key, seal, [intermediate, root],
        serialization.BestAvailableEncryption(PASSPHRASE),
    )  # fmt: skip
    return Pki(
        root=root,
        intermediate=intermediate,
        seal=seal,
        seal_key=seal_key,
        seal_p12=p12,
        seal_ec=seal_ec,
        seal_ec_key=seal_ec_key,
        tsa=tsa,
        tsa_key=tsa_key,
        root_crl=_crl(root, root_key, now),
        intermediate_crl=_crl(intermediate, int_key, now),
    )


class TimestampAuthority:
    """An RFC 3161 timestamp server on 127.0.0.1 (``url``), counting what it answered."""

    def __init__(self, pki: Pki) -> None:
        from asn1crypto import keys as asn1_keys
        from pyhanko.sign.timestamps import DummyTimeStamper
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        key_der = pki.tsa_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        stamper = DummyTimeStamper(
            tsa_cert=_asn1(pki.tsa),
            tsa_key=asn1_keys.PrivateKeyInfo.load(key_der),
            certs_to_embed=SimpleCertificateStore.from_certs(pki.chain()),
        )
        authority = self
        self.answered = 0

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                from asn1crypto import tsp

                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Type") != "application/timestamp-query":
                    self._reply(415, b"", "text/plain")
                    return
                request = tsp.TimeStampReq.load(body)
                answer = stamper.request_tsa_response(request).dump()
                authority.answered += 1
                self._reply(200, answer, "application/timestamp-reply")

            def _reply(self, code: int, data: bytes, kind: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tsa"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
