"""The parts of the killed-worker test (``test_killed_worker.py``) that run inside its
``regiohub shell`` subprocesses, on the file database the real workers use: set the
database up (:func:`set_up`), hand in the letters (:func:`hand_in`), enqueue the paper batch
(:func:`enqueue_batch`), and read back, per letter, what the database says and can prove
(:func:`proof`). Each takes and writes JSON files, so the test process (whose own database
is pytest's) never opens the workers' database through the ORM.

Also :func:`cached_key_sign_tst_info`, which the test puts on the local timestamp
authority: pyHanko's ``DummyTimeStamper`` parses its RSA key again for every timestamp
(about 40 ms of CPU, docs/research/issue-21-signing.md §2), which for 2,000 letters would
cost the test process more than the workers' whole sealing.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
import uuid
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

#: The letters' mix, by share: who they go to, whether they carry a postal address, and
#: the way out the eBox's directory in conftest.py gives them.
MIX = (
    # (share, recipient kind, number name in conftest, address, expected way out)
    (0.57, "citizen", "CITIZEN", False, "ebox"),
    (0.10, "citizen", "CITIZEN", True, "ebox"),
    (0.17, "enterprise", "COMPANY", False, "ebox"),
    (0.08, "citizen", "CITIZEN_PAPER", True, "paper"),
    (0.08, "citizen", "CITIZEN_NEVER", True, "ebox+paper"),
)


def cached_key_sign_tst_info(
    self: Any, tst_info_data: bytes, md_algorithm: str, dt: datetime
) -> tuple[bytes, Any]:
    """``DummyTimeStamper._sign_tst_info`` with the TSA's key parsed once per stamper
    (the same signed attributes and signature as pyHanko 0.38's own)."""
    from asn1crypto import cms, core
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from pyhanko.sign import general
    from pyhanko.sign.general import simple_cms_attribute
    from pyhanko_certvalidator.util import get_pyca_cryptography_hash

    key = getattr(self, "_regiohub_parsed_key", None)
    if key is None:
        key = serialization.load_der_private_key(self.tsa_key.dump(), password=None)
        self._regiohub_parsed_key = key
    digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
    digest.update(tst_info_data)
    signed_attrs = cms.CMSAttributes(
        [
            simple_cms_attribute("content_type", "tst_info"),
            simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
            simple_cms_attribute(
                "signing_certificate", general.as_signing_certificate(self.tsa_cert)
            ),
            simple_cms_attribute("message_digest", digest.finalize()),
        ]
    )
    signature = key.sign(
        signed_attrs.dump(), PKCS1v15(), get_pyca_cryptography_hash(md_algorithm.upper())
    )
    return signature, signed_attrs


def set_up(params_file: str) -> None:
    """Migrate the workers' database and set Kortrijk up as a sender against the fakes
    whose addresses ``params_file`` names. Runs in a ``regiohub shell`` subprocess with
    the workers' environment."""
    from cryptography.hazmat.primitives import serialization
    from django.core.management import call_command

    from regiohub.core.models import Organisation
    from regiohub.core.models.organisation import OrganisationKind
    from regiohub.documents.tests import conftest

    params = json.loads(Path(params_file).read_text())
    call_command("migrate", verbosity=0, interactive=False)
    kortrijk = Organisation.objects.create(
        kind=OrganisationKind.MUNICIPALITY, code="KOR", nis_code="34022", name="Kortrijk"
    )
    ebox_key = serialization.load_pem_private_key(
        Path(params["ebox_key"]).read_bytes(), password=None
    )
    conftest.make_sender(
        kortrijk,
        pki=SimpleNamespace(seal_p12=Path(params["seal_p12"]).read_bytes()),
        tsa=SimpleNamespace(url=params["tsa_url"]),
        folder=Path(params["folder"]),
        ebox=SimpleNamespace(**params["ebox"]),
        ebox_key=ebox_key,
        partner=SimpleNamespace(url=params["partner_url"]),
    )


def hand_in(params_file: str) -> None:
    """Hand in ``letters`` letters for Kortrijk, a seeded mix of :data:`MIX`, one after
    the other as a back-office system would (while the workers deliver them); write
    ``{"letters": [{id, public_id, key, route, files}], "seconds": ...}`` to ``out``."""
    from regiohub.core.models import Organisation
    from regiohub.documents import services
    from regiohub.documents.tests import conftest

    params = json.loads(Path(params_file).read_text())
    kortrijk = Organisation.objects.get(code="KOR")
    rng = random.Random(params["seed"])
    files = {pages: conftest.pdf(pages, title=f"Besluit {pages}") for pages in (1, 2)}
    started = time.perf_counter()
    letters = []
    for n in range(params["letters"]):
        _share, kind, number, address, route = rng.choices(MIX, weights=[m[0] for m in MIX])[0]
        pdfs = [("besluit.pdf", files[1])]
        if n % 10 == 0:  # one letter in ten has an annex
            pdfs.append(("bijlage.pdf", files[2]))
        done = services.submit(
            services.Submission(
                organisation=kortrijk,
                reference=f"KILL-{n:05d}",
                idempotency_key=str(uuid.uuid4()),
                recipient_kind=kind,
                recipient_number=getattr(conftest, number),
                recipient_name="An Peeters" if address else "",
                address_lines=conftest.ADDRESS if address else [],
                subjects={"nl": f"Beslissing {n}", "fr": f"Décision {n}"},
                files=pdfs,
            ),
            actor_label="killed-worker-test",
        )
        letters.append(
            {
                "id": done.letter.pk,
                "public_id": str(done.letter.public_id),
                "key": f"regiohub-letter-{done.letter.public_id}",
                "route": route,
                "files": len(pdfs),
            }
        )
    seconds = time.perf_counter() - started
    Path(params["out"]).write_text(json.dumps({"letters": letters, "seconds": seconds}))


def enqueue_batch() -> None:
    """Queue the paper batch task, as the daily schedule would."""
    from regiohub.core.tasks import enqueue
    from regiohub.documents.tasks import batch_paper

    enqueue(batch_paper)


def proof(out_file: str) -> None:
    """Per letter: status, channel, checkpoints, failure, whether its trail verifies, the
    actions of the trail, whether the eBox answered its publication as a duplicate, and
    per file the SHA-256 sealed, delivered and of the sealed
    bytes in storage; the deliver tasks' runs; the paper batches. Written to ``out_file``."""
    from django.core.files.storage import default_storage
    from django_tasks_db.models import DBTaskResult

    from regiohub.documents import trail
    from regiohub.documents.models import Letter, LetterEvent, LetterFile, PaperBatch

    events: dict[int, list[str]] = {}
    duplicates: set[int] = set()  # letters whose publication the eBox answered with 409
    for letter_id, action, detail in LetterEvent.objects.order_by("letter", "sequence").values_list(
        "letter_id", "action", "detail"
    ):
        events.setdefault(letter_id, []).append(action)
        if action == "letter.published" and detail.get("duplicate"):
            duplicates.add(letter_id)
    files: dict[int, list[dict[str, Any]]] = {}
    for item in LetterFile.objects.order_by("letter", "position"):
        with default_storage.open(item.signed, "rb") as handle:
            stored = hashlib.sha256(handle.read()).hexdigest()
        files.setdefault(item.letter_id, []).append(
            {
                "signed": item.signed_sha256,
                "delivered": item.delivered_sha256,
                "stored": stored,
                "path": default_storage.path(item.signed),
            }
        )
    letters = {}
    for letter in Letter.objects.all():
        letters[letter.pk] = {
            "status": letter.status,
            "channel": letter.channel,
            "paper_copy": letter.paper_copy,
            "published": letter.published_at is not None,
            "batched": letter.batched_at is not None,
            "failed": letter.failed_at is not None,
            "last_error": letter.last_error,
            "intact": trail.verify(letter).intact,
            "actions": events.get(letter.pk, []),
            "duplicate": letter.pk in duplicates,
            "files": files.get(letter.pk, []),
        }
    tasks = [
        {
            "path": row.task_path,
            "status": row.status,
            "args": row.args_kwargs["args"],
            "workers": len(row.worker_ids),
        }
        for row in DBTaskResult.objects.all()
    ]
    batches = list(PaperBatch.objects.values("batch_id", "state"))
    Path(out_file).write_text(json.dumps({"letters": letters, "tasks": tasks, "batches": batches}))
