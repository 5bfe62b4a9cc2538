"""The municipality's electronic seal on a letter's PDFs: PAdES baseline B-T (a signature
with a trusted timestamp; B-LT when the chain's revocation data are at hand), subfilter
``ETSI.CAdES.detached``, with pyHanko (docs/research/issue-21-signing.md).

A :class:`Sealer` is made once per process: its key is read once (pyHanko's own signer
parses and checks the key again for every signature, 40 ms for RSA-2048), the size of a
signature is reserved up front (no second signing pass to measure it) and the timestamp
authority is asked over one kept-alive connection. Keys come from a PKCS#12 file or a
PKCS#11 token (a smart card or HSM; SoftHSM2 in the tests).

The PDF is never changed otherwise: the seal is an incremental update, and the SHA-256 of
the sealed bytes is what every later step checks the delivered bytes against.
"""

from __future__ import annotations

import hashlib
import io
import threading
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

LEVELS = ("B-B", "B-T", "B-LT")
#: Room for the signature in the PDF (CMS, chain, timestamp token; revocation data for
#: B-LT): reserved up front, so pyHanko signs once instead of twice.
RESERVED = {"B-B": 16 * 1024, "B-T": 24 * 1024, "B-LT": 96 * 1024}


class SealError(Exception):
    """The seal could not be put on: the key, the timestamp authority or the PDF."""


@dataclass(frozen=True)
class Sealed:
    data: bytes
    #: Of ``data``: the bytes delivered must be these.
    sha256: str
    level: str


def _cached_key_signer(simple: Any) -> Any:
    """pyHanko's ``SimpleSigner`` with its private key parsed once."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ec import ECDSA
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from pyhanko.sign import signers
    from pyhanko_certvalidator.util import get_pyca_cryptography_hash

    class CachedKeySigner(signers.SimpleSigner):  # type: ignore[misc]
        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
            digest = get_pyca_cryptography_hash(digest_algorithm)
            if mechanism == "rsassa_pkcs1v15":
                return self._parsed.sign(data, PKCS1v15(), digest)
            if mechanism == "ecdsa":
                return self._parsed.sign(data, ECDSA(digest))
            return super().sign_raw(data, digest_algorithm)

        async def async_sign_raw(
            self, data: bytes, digest_algorithm: str, dry_run: bool = False
        ) -> bytes:
            return self.sign_raw(data, digest_algorithm)

    signer = CachedKeySigner(
        signing_cert=simple.signing_cert,
        signing_key=simple.signing_key,
        cert_registry=simple.cert_registry,
    )
    signer._parsed = serialization.load_der_private_key(simple.signing_key.dump(), None)
    return signer


def _keep_alive_timestamper(url: str, timeout: float) -> Any:
    """An RFC 3161 client over one kept-alive HTTP connection (pyHanko's own opens a new
    session, and sets up TLS, for every request)."""
    import requests
    from asn1crypto import tsp
    from pyhanko.sign import timestamps

    class KeepAliveTimeStamper(timestamps.TimeStamper):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.local = threading.local()

        def _session(self) -> requests.Session:
            if not hasattr(self.local, "session"):
                self.local.session = requests.Session()
            return self.local.session

        async def async_request_tsa_response(self, req: Any) -> Any:
            try:
                answer = self._session().post(
                    url,
                    data=req.dump(),
                    timeout=timeout,
                    headers={"Content-Type": "application/timestamp-query"},
                )
            except requests.RequestException as error:
                raise timestamps.TimestampRequestError(f"TSA unreachable: {error}") from error
            kind = answer.headers.get("Content-Type", "")
            if answer.status_code != 200 or kind != "application/timestamp-reply":
                raise timestamps.TimestampRequestError(f"TSA answered {answer.status_code}")
            return tsp.TimeStampResp.load(answer.content)

    return KeepAliveTimeStamper()


class Sealer:
    """Puts one organisation's seal on PDFs. Thread-safe for ``seal``."""

    def __init__(
        self,
        signer: Any,
        *,
        tsa_url: str = "",
        level: str = "B-T",
        reason: str = "",
        location: str = "",
        validation_context: Any = None,
        timeout: float = 10.0,
    ) -> None:
        if level not in LEVELS:
            raise ValueError(f"a seal is one of {', '.join(LEVELS)}, not {level!r}")
        if level != "B-B" and not tsa_url:
            raise ValueError(f"a {level} seal needs a timestamp authority (tsa_url)")
        if level == "B-LT" and validation_context is None:
            raise ValueError("a B-LT seal needs the chain's revocation data (validation_context)")
        self.signer = signer
        self.level = level
        self.reason = reason
        self.location = location
        self.validation_context = validation_context
        self.timestamper = _keep_alive_timestamper(tsa_url, timeout) if level != "B-B" else None
        self.reserved: int | None = RESERVED[level]

    @classmethod
    def from_pkcs12(cls, data: bytes, passphrase: bytes | None, **options: Any) -> Sealer:
        """From a PKCS#12 file's bytes (key, certificate and its chain)."""
        from pyhanko.sign import signers

        try:
            simple = signers.SimpleSigner.load_pkcs12_data(data, [], passphrase=passphrase)
        except (ValueError, TypeError) as error:
            raise SealError(
                _("The seal's key file cannot be opened: %(why)s") % {"why": error}
            ) from error
        return cls(_cached_key_signer(simple), **options)

    @classmethod
    def from_pkcs11(
        cls,
        *,
        library: str,
        token_label: str,
        pin: str,
        key_label: str,
        cert_label: str = "",
        ca_chain: tuple[Any, ...] = (),
        **options: Any,
    ) -> Sealer:
        """From a key on a PKCS#11 token (an HSM or a smart card), found by the token's
        label (slot numbers change), the certificate on the token or ``ca_chain``'s."""
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

        try:
            session = open_pkcs11_session(
                library, token_criteria=TokenCriteria(label=token_label), user_pin=pin
            )
        except Exception as error:  # python-pkcs11 raises many kinds
            raise SealError(
                _("The seal's token cannot be opened: %(why)s") % {"why": type(error).__name__}
            ) from error
        signer = PKCS11Signer(
            session,
            key_label=key_label,
            cert_label=cert_label or key_label,
            ca_chain=list(ca_chain),
            # SoftHSM and many tokens know ECDSA only on a ready digest.
            use_raw_mechanism=True,
        )
        return cls(signer, **options)

    def seal(self, data: bytes, *, field_name: str = "Zegel") -> Sealed:
        """``data`` (a checked PDF) with the seal added as an incremental update."""
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import signers
        from pyhanko.sign.fields import SigSeedSubFilter
        from pyhanko.sign.signers.pdf_signer import DSSContentSettings, SigDSSPlacementPreference

        long_term = self.level == "B-LT"
        meta = signers.PdfSignatureMetadata(
            field_name=field_name,
            subfilter=SigSeedSubFilter.PADES,
            md_algorithm="sha256",
            reason=self.reason or None,
            location=self.location or None,
            embed_validation_info=long_term,
            validation_context=self.validation_context if long_term else None,
            use_pades_lta=False,
            # B-LT in one revision: the validation data are written before the signature,
            # so it still covers the whole file.
            dss_settings=DSSContentSettings(
                placement=SigDSSPlacementPreference.TOGETHER_WITH_SIGNATURE, include_vri=False
            ),
        )
        pdf_signer = signers.PdfSigner(meta, signer=self.signer, timestamper=self.timestamper)
        out = io.BytesIO()
        try:
            writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
            try:
                pdf_signer.sign_pdf(writer, output=out, bytes_reserved=self.reserved)
            except Exception as error:
                if "reserved" not in str(error).lower() or self.reserved is None:
                    raise
                # A signature larger than reserved (a long chain): measure from now on.
                self.reserved = None
                out = io.BytesIO()
                writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
                pdf_signer.sign_pdf(writer, output=out)
        except SealError:
            raise
        except Exception as error:
            raise SealError(
                _("The seal could not be put on the PDF: %(why)s") % {"why": str(error)[:200]}
            ) from error
        sealed = out.getvalue()
        return Sealed(data=sealed, sha256=hashlib.sha256(sealed).hexdigest(), level=self.level)


@dataclass(frozen=True)
class Verdict:
    """What pyHanko's validator says of a sealed PDF."""

    intact: bool
    valid: bool
    trusted: bool
    timestamped: bool
    whole_file: bool
    summary: str

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.trusted and self.whole_file


def verify(data: bytes, validation_context: Any) -> Verdict:
    """Validate the (last) seal of ``data`` against ``validation_context`` (the trust
    anchors; no network)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import validation
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    reader = PdfFileReader(io.BytesIO(data), strict=False)
    if not reader.embedded_signatures:
        return Verdict(False, False, False, False, False, "no signature")
    embedded = reader.embedded_signatures[-1]
    status = validation.validate_pdf_signature(
        embedded, validation_context, ts_validation_context=validation_context
    )
    stamp = status.timestamp_validity
    return Verdict(
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        timestamped=bool(stamp is not None and stamp.intact and stamp.valid and stamp.trusted),
        whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        summary=status.summary(),
    )
