"""How many letters per second per core go out end to end, against pyHanko alone?

Issue 21: letters per second per core, end to end (validate, seal B-T, route, record,
deliver to the fake eBox), side by side in the same run with pyHanko alone sealing the same
PDF at the same level with the same TSA, once with its defaults and once with its fastest
tuning. Targets: at least 0.8x the tuned pyHanko rate and 4x its defaults.

* **ours, end to end**: ``services.submit`` of a letter to a citizen who uses the eBox, with
  a postal address (the PDF checked, stored, the letter and its trail recorded, the task
  queued; without an address ``submit`` would also ask the eBox at once), then the
  ``deliver_letter`` task claimed and run the way ``regiohub worker`` runs it
  (django-tasks-db's ``Worker.run_task`` after ``claim``, as ``core.testing.run_tasks``):
  seal B-T, ask the eBox whether the citizen consented, publish, record. One process,
  one thread, a temporary SQLite file database (WAL, as in production).
* **pyHanko, defaults**: its documentation's example run for every letter, as the
  research measured "defaults": ``SimpleSigner.load_pkcs12``, a new ``HTTPTimeStamper``,
  no ``bytes_reserved`` (pyHanko then signs twice to measure the signature). Also shown:
  the same with the signer and the timestamper made once (for scale, not the target's).
* **pyHanko, tuned**: the fastest found in docs/research/issue-21-signing.md §6: the key
  parsed once (a ``SimpleSigner`` subclass), ``bytes_reserved``, a kept-alive TSA client.
* for scale, **our seal alone**: ``documents.signing.Sealer.seal`` on the same PDF (the
  same tuning as pyHanko tuned, plus the seal's reason, location and DSS settings).

The same PDF for all: a one-page letter rendered from the default template (typst, PDF/A).
The TSA (pyHanko's ``DummyTimeStamper`` with its key parsed once, as the research's TSA)
and the fake eBox run in a child process, so this process's CPU time is the cost of the
letters alone: "per core" is letters per CPU second of this process; the wall-clock rate
is shown too. The fake eBox keeps connections alive there (HTTP/1.1), as the real one
does over HTTPS. The variants run in alternating rounds, so a machine busy with other work
weighs on all of them alike. When ours misses 0.8x tuned, a cProfile of a small run
prints where the time goes.

Run with `make bench`; BENCH_SMOKE=1 for a tiny run.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SMOKE, setup_django, table

#: Letters per round and rounds; the pyHanko defaults are slow, they get fewer per round.
ROUNDS = 1 if SMOKE else 3
PER_ROUND = 3 if SMOKE else 100
DEFAULTS_PER_ROUND = 2 if SMOKE else 25
PROFILED = 3 if SMOKE else 60
#: ``bytes_reserved`` for pyHanko tuned, as signing.RESERVED["B-T"] (hex characters).
RESERVED = 24 * 1024
TARGET_TUNED = 0.8
TARGET_DEFAULTS = 4.0


# --- The child process: the TSA and the fake eBox ------------------------------------------


def serve(folder: Path) -> None:
    """Run the TSA and the fake eBox until stdin closes; print their addresses first."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from pyhanko.sign.timestamps import DummyTimeStamper

    from regiohub.core.testing import FakeHandler
    from regiohub.documents.tests.conftest import CITIZEN, KORTRIJK_KBO
    from regiohub.documents.tests.fake_ebox import FakeEbox
    from regiohub.documents.tests.killed_worker_run import cached_key_sign_tst_info
    from regiohub.documents.tests.pki import TimestampAuthority, make_pki

    DummyTimeStamper._sign_tst_info = cached_key_sign_tst_info
    # Kept-alive connections, as the real eBox (HTTPS) keeps them; the fakes answer
    # HTTP/1.0 by default, which makes the client connect again for every call.
    FakeHandler.protocol_version = "HTTP/1.1"
    pki = make_pki()
    (folder / "seal.p12").write_bytes(pki.seal_p12)
    der = serialization.Encoding.DER
    (folder / "root.der").write_bytes(pki.root.public_bytes(der))
    (folder / "intermediate.der").write_bytes(pki.intermediate.public_bytes(der))
    (folder / "root.crl").write_bytes(pki.root_crl)
    (folder / "intermediate.crl").write_bytes(pki.intermediate_crl)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (folder / "ebox-key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    tsa = TimestampAuthority(pki)
    with FakeEbox(public_key=key.public_key(), sender_enterprise_number=KORTRIJK_KBO) as ebox:
        ebox.add_citizen(CITIZEN)
        address = {
            "tsa_url": tsa.url,
            "ebox": {
                "url": ebox.url,
                "client_id": ebox.client_id,
                "sender_application_id": ebox.sender_application_id,
            },
        }
        print(json.dumps(address), flush=True)
        sys.stdin.read()  # until the benchmark closes it
    tsa.stop()


@contextmanager
def servers(folder: Path) -> Iterator[dict[str, Any]]:
    child = subprocess.Popen(  # noqa: S603
        [sys.executable, __file__, "--serve", str(folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line:
            raise RuntimeError("the TSA and fake eBox process did not start")
        yield json.loads(line)
    finally:
        assert child.stdin is not None
        child.stdin.close()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def ebox_stats(url: str) -> dict[str, Any]:
    import requests

    return requests.get(f"{url}/_fake/stats", timeout=10).json()


# --- Timing -------------------------------------------------------------------------------


class Clock:
    """Wall and CPU seconds (this process) spent per named part, and letters counted."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.count: dict[str, int] = defaultdict(int)

    @contextmanager
    def part(self, name: str, letters: int = 0) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall[name] += time.perf_counter() - wall
            self.cpu[name] += time.process_time() - cpu
            self.count[name] += letters

    def wrap(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.part(name):
                return func(*args, **kwargs)

        return timed

    def per_core(self, name: str) -> float:
        return self.count[name] / self.cpu[name]

    def per_second(self, name: str) -> float:
        return self.count[name] / self.wall[name]


# --- pyHanko alone ------------------------------------------------------------------------


def pyhanko_signers(
    pdf: bytes, p12: Path, passphrase: bytes, tsa_url: str
) -> dict[str, Callable[[], bytes]]:
    """One function per pyHanko variant that seals ``pdf`` once (B-T, PAdES)."""
    import requests
    from asn1crypto import tsp
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ec import ECDSA
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers, timestamps
    from pyhanko.sign.fields import SigSeedSubFilter
    from pyhanko_certvalidator.util import get_pyca_cryptography_hash

    class CachedKeySigner(signers.SimpleSigner):  # type: ignore[misc]
        """docs/research/issue-21-signing-code/bench.py: the key parsed once."""

        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
            digest = get_pyca_cryptography_hash(digest_algorithm)
            if mechanism == "rsassa_pkcs1v15":
                return self._parsed.sign(data, PKCS1v15(), digest)
            if mechanism == "ecdsa":
                return self._parsed.sign(data, ECDSA(digest))
            raise NotImplementedError(mechanism)

        async def async_sign_raw(
            self, data: bytes, digest_algorithm: str, dry_run: bool = False
        ) -> bytes:
            return self.sign_raw(data, digest_algorithm)

    class KeepAliveTimeStamper(timestamps.TimeStamper):  # type: ignore[misc]
        """docs/research/issue-21-signing-code/bench.py: one kept-alive session."""

        def __init__(self) -> None:
            super().__init__()
            self.http = requests.Session()

        async def async_request_tsa_response(self, req: Any) -> Any:
            answer = self.http.post(
                tsa_url,
                data=req.dump(),
                timeout=10,
                headers={"Content-Type": "application/timestamp-query"},
            )
            if answer.status_code != 200:
                raise timestamps.TimestampRequestError(f"TSA answered {answer.status_code}")
            return tsp.TimeStampResp.load(answer.content)

    meta = signers.PdfSignatureMetadata(
        field_name="Zegel", subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256"
    )

    def sign(signer: Any, stamper: Any, reserved: int | None) -> bytes:
        out = io.BytesIO()
        signers.PdfSigner(meta, signer=signer, timestamper=stamper).sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(pdf)), output=out, bytes_reserved=reserved
        )
        return out.getvalue()

    def load() -> Any:
        signer = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=passphrase)
        if signer is None:
            raise RuntimeError("the PKCS#12 file did not open")
        return signer

    reused = load()
    reused_stamper = timestamps.HTTPTimeStamper(tsa_url)
    tuned = CachedKeySigner(
        signing_cert=reused.signing_cert,
        signing_key=reused.signing_key,
        cert_registry=reused.cert_registry,
    )
    tuned._parsed = serialization.load_der_private_key(reused.signing_key.dump(), None)
    keep_alive = KeepAliveTimeStamper()

    return {
        "defaults": lambda: sign(load(), timestamps.HTTPTimeStamper(tsa_url), None),
        "defaults_reused": lambda: sign(reused, reused_stamper, None),
        "tuned": lambda: sign(tuned, keep_alive, RESERVED),
    }


# --- Ours ---------------------------------------------------------------------------------


def set_up_sender(folder: Path, address: dict[str, Any]) -> Any:
    from cryptography.hazmat.primitives import serialization

    from regiohub.core.models import Organisation
    from regiohub.core.models.organisation import OrganisationKind
    from regiohub.documents.tests.conftest import make_sender

    kortrijk = Organisation.objects.create(
        kind=OrganisationKind.MUNICIPALITY, code="KOR", nis_code="34022", name="Kortrijk"
    )
    key = serialization.load_pem_private_key((folder / "ebox-key.pem").read_bytes(), None)
    make_sender(
        kortrijk,
        pki=SimpleNamespace(seal_p12=(folder / "seal.p12").read_bytes()),
        tsa=SimpleNamespace(url=address["tsa_url"]),
        folder=folder,
        ebox=SimpleNamespace(**address["ebox"]),
        ebox_key=key,
        partner=SimpleNamespace(url="http://127.0.0.1:9/"),  # no paper in this run
    )
    return kortrijk


def the_letter() -> bytes:
    """A one-page letter from the default template, as municipalities send them."""
    from datetime import UTC, date, datetime

    from regiohub.documents.compose import Letterhead, default_template, render

    return render(
        default_template(),
        variables={
            "body": "Geachte heer Peeters,\n\nUw aanvraag OMV-2026-0042 voor een carport is "
            "goedgekeurd onder de voorwaarden in bijlage.",
            "signatory": "An Desmet\nDiensthoofd",
        },
        letterhead=Letterhead(
            name="Stad Kortrijk",
            department="Dienst Omgeving",
            address_lines=("Grote Markt 54", "8500 Kortrijk"),
            enterprise_number="0207451227",
            website="www.kortrijk.be",
        ),
        recipient_lines=["Jan Peeters", "Kerkstraat 12 bus 3", "8500 Kortrijk"],
        subject="Omgevingsvergunning voor een carport",
        reference="OMV-2026-0042",
        dated=date(2026, 12, 7),
        language="nl",
        created=datetime(2026, 12, 7, 9, 0, tzinfo=UTC),
    )


class Pipeline:
    """Submit letters and run their delivery tasks as the worker does, timing each stage."""

    def __init__(self, organisation: Any, pdf: bytes, clock: Clock) -> None:
        from django_tasks_db.management.commands.db_worker import Worker

        from regiohub.documents import delivery

        self.organisation = organisation
        self.pdf = pdf
        self.clock = clock
        self.worker = Worker(
            queue_names=["documents"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="bench-worker",
            excluded_queue_names=[],
        )
        # The stages advance() runs, timed where they are looked up (module globals).
        for stage in ("seal", "route", "publish"):
            setattr(delivery, stage, clock.wrap(stage, getattr(delivery, stage)))
        self.sent = 0

    def submit(self, n: int) -> None:
        from regiohub.documents import services
        from regiohub.documents.tests.conftest import ADDRESS, CITIZEN

        for _ in range(n):
            self.sent += 1
            services.submit(
                services.Submission(
                    organisation=self.organisation,
                    reference=f"BENCH-{self.sent:06d}",
                    idempotency_key=str(uuid.uuid4()),
                    recipient_kind="citizen",
                    recipient_number=CITIZEN,
                    recipient_name="Jan Peeters",
                    address_lines=ADDRESS,  # for paper, if the eBox were not used
                    subjects={"nl": "Omgevingsvergunning", "fr": "Permis d'environnement"},
                    files=[("besluit.pdf", self.pdf)],
                ),
                actor_label="bench",
            )

    def deliver(self) -> int:
        from django_tasks_db.models import DBTaskResult

        ran = 0
        for result in DBTaskResult.objects.ready():
            result.claim(self.worker.worker_id)
            self.worker.run_task(result)
            ran += 1
        return ran

    def run(self, n: int, label: str = "ours") -> None:
        with self.clock.part(label, n):
            with self.clock.part("submit"):
                self.submit(n)
            with self.clock.part("deliver"):
                ran = self.deliver()
        assert ran == n, f"{ran} tasks ran for {n} letters"


# --- The run ------------------------------------------------------------------------------


def check_outcome(
    address: dict[str, Any], before: dict[str, Any], letters: int, folder: Path, samples: Any
) -> None:
    """Every letter published once, and what each variant wrote is a valid B-T seal."""
    from asn1crypto import x509
    from pyhanko_certvalidator import ValidationContext

    from regiohub.documents.models import Letter
    from regiohub.documents.signing import verify

    assert Letter.objects.filter(status="published").count() == Letter.objects.count()
    after = ebox_stats(address["ebox"]["url"])
    assert after["accepted"] - before["accepted"] == letters, (before, after, letters)
    assert after["duplicates"] == before["duplicates"]
    context = ValidationContext(
        trust_roots=[x509.Certificate.load((folder / "root.der").read_bytes())],
        other_certs=[x509.Certificate.load((folder / "intermediate.der").read_bytes())],
        crls=[(folder / "root.crl").read_bytes(), (folder / "intermediate.crl").read_bytes()],
        allow_fetching=False,
        revocation_mode="hard-fail",
    )
    for name, data in samples.items():
        verdict = verify(data, context)
        assert verdict.ok and verdict.timestamped, f"{name}: {verdict.summary}"


def profile(pipeline: Pipeline, n: int) -> str:
    profiler = cProfile.Profile(time.process_time)  # CPU: not the wait for the fakes
    profiler.enable()
    pipeline.run(n, label="profiled")
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    # Our own code first (where the stages spend it), then the heaviest functions anywhere.
    stats.sort_stats("cumulative").print_stats(r"regiohub/(?!core/testing)", 35)
    stats.strip_dirs().sort_stats("tottime").print_stats(15)
    return out.getvalue()


def report(clock: Clock, pdf: bytes, letters: int) -> bool:
    """Print the rates, the ratios and the stages of ours; whether ours met 0.8x tuned."""
    ours, tuned, defaults = (clock.per_core(n) for n in ("ours", "tuned", "defaults"))
    rows = [
        [
            label,
            f"{clock.per_core(name):.1f}",
            f"{clock.per_second(name):.1f}",
            f"{clock.cpu[name] / clock.count[name] * 1000:.1f}",
            f"{clock.count[name]}",
        ]
        for label, name in (
            ("ours, end to end (submit + deliver_letter)", "ours"),
            ("pyHanko tuned (cached key, bytes_reserved, keep-alive TSA)", "tuned"),
            ("ours, Sealer.seal alone (documents.signing)", "sealer"),
            ("pyHanko defaults (p12 + HTTPTimeStamper per letter)", "defaults"),
            ("pyHanko defaults, signer and timestamper reused", "defaults_reused"),
        )
    ]
    print(f"Letters sealed B-T per second, one PDF of {len(pdf) / 1024:.0f} KB")
    print(table(["", "per core (CPU)", "wall", "CPU ms/letter", "letters"], rows))
    print(
        f"ours / tuned: {ours / tuned:.2f}x (target >= {TARGET_TUNED}x); "
        f"ours / defaults: {ours / defaults:.1f}x (target >= {TARGET_DEFAULTS}x); "
        f"ours / defaults with signer reused: {ours / clock.per_core('defaults_reused'):.1f}x"
    )
    total = clock.cpu["ours"]
    stages = {
        "submit (check the PDF, store, record, queue)": clock.cpu["submit"],
        "seal (read, B-T with the TSA, store, record)": clock.cpu["seal"],
        "route (ask the eBox, record)": clock.cpu["route"],
        "publish (to the eBox, record)": clock.cpu["publish"],
    }
    stages["task (claim, count the try, result)"] = clock.cpu["deliver"] - sum(
        clock.cpu[name] for name in ("seal", "route", "publish")
    )
    rows = [
        [label, f"{cpu / letters * 1000:.1f}", f"{cpu / total:.0%}"]
        for label, cpu in stages.items()
    ]
    rows.append(["total", f"{total / letters * 1000:.1f}", "100%"])
    print()
    print(table(["stage of ours", "CPU ms/letter", "share"], rows))
    return ours >= TARGET_TUNED * tuned


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "regiohub.settings")
        os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-0123456789")
        import django

        django.setup()
        serve(Path(sys.argv[2]))
        return
    # The product logs each letter's steps at INFO; the figures are read better without.
    os.environ.setdefault("REGIOHUB_LOG_LEVEL", "WARNING")
    setup_django()
    from django.conf import settings
    from django.core.files.storage import default_storage

    from regiohub.documents.models import LetterFile
    from regiohub.documents.signing import Sealer
    from regiohub.documents.tests.pki import PASSPHRASE

    folder = Path(settings.MEDIA_ROOT).parent / "bench-documents"
    folder.mkdir(parents=True, exist_ok=True)
    with servers(folder) as address:
        organisation = set_up_sender(folder, address)
        pdf = the_letter()
        clock = Clock()
        pipeline = Pipeline(organisation, pdf, clock)
        variants = pyhanko_signers(pdf, folder / "seal.p12", PASSPHRASE, address["tsa_url"])
        sealer = Sealer.from_pkcs12(
            (folder / "seal.p12").read_bytes(), PASSPHRASE, tsa_url=address["tsa_url"]
        )
        variants["sealer"] = lambda: sealer.seal(pdf).data

        # Warm-up: the eBox token, the sealer, the connections, the first queries.
        pipeline.run(2, label="warm-up")
        samples = {name: sign() for name, sign in variants.items()}
        before = ebox_stats(address["ebox"]["url"])
        for kept in (clock.wall, clock.cpu, clock.count):
            kept.clear()
        for _round in range(ROUNDS):
            for name in ("defaults", "defaults_reused"):
                with clock.part(name, DEFAULTS_PER_ROUND):
                    for _ in range(DEFAULTS_PER_ROUND):
                        variants[name]()
            for name in ("tuned", "sealer"):
                with clock.part(name, PER_ROUND):
                    for _ in range(PER_ROUND):
                        variants[name]()
            pipeline.run(PER_ROUND)
        letters = ROUNDS * PER_ROUND
        item = LetterFile.objects.order_by("-pk").first()
        assert item is not None
        with default_storage.open(item.signed, "rb") as handle:
            samples["ours"] = handle.read()
        check_outcome(address, before, letters, folder, samples)

        if not report(clock, pdf, letters) and not SMOKE:
            print()
            print(f"ours misses {TARGET_TUNED}x tuned: cProfile of {PROFILED} letters")
            print(profile(pipeline, PROFILED))


if __name__ == "__main__":
    main()
