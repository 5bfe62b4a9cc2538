"""A local fake print partner speaking the batch API of docs/research/issue-21-ebox.md §6.6
over real HTTP on 127.0.0.1.

``POST /batches`` (multipart ``manifest`` + ``archive``, ``Idempotency-Key: "<batchId>"``)
checks the ZIP against the manifest (every file there, its SHA-256, a PDF that starts as
one, nothing extra, the address within bpost's limits), then deduplicates: the same batch
id again is ``409``, a letter id already received in another batch makes the whole batch
``422``. An accepted batch gets an ``ACCEPTED`` event per letter; a test adds the rest
(:meth:`FakePrintPartner.add_event`), and ``GET /batches/{id}/events?after=<seq>`` pages
them (``page_size`` per answer). The fake counts each letter it took, so a test can
prove exactly-once (:attr:`FakePrintPartner.letters`, ``GET /_fake/stats``).

Faults for the next N uploads (:meth:`FakePrintPartner.fail_next`): ``"503"`` answers
Service Unavailable without taking the batch; ``"drop"`` takes the batch (commits it) and
then closes the connection without an answer, the case where only the idempotency key
saves the sender from sending twice.

    with fake_print_partner() as partner:
        partner.fail_next(1, "drop")
        ... PartnerClient(partner.url).upload(batch) ...
        assert partner.letters == {"L1": 1}
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from regiohub.core.testing import FakeHandler, Received, local_server
from regiohub.documents.paper import PaperStatus, ReturnReason

Fault = Literal["503", "drop"]
_EVENTS = re.compile(r"^/batches/(?P<batch>[^/]+)/events$")


@dataclass
class FakePrintPartner:
    url: str
    page_size: int = 50
    received: list[Received] = field(default_factory=list)
    #: Accepted batches: their manifests, by batch id.
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: How many times each letter id was taken in (exactly once is right).
    letters: Counter[str] = field(default_factory=Counter)
    #: The ZIP of each accepted batch, as received.
    archives: dict[str, bytes] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    duplicates: int = 0
    faults: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, count: int, fault: Fault) -> None:
        """The next ``count`` uploads fail with ``fault`` (``"503"`` or ``"drop"``)."""
        with self.lock:
            self.faults.extend([fault] * count)

    def add_event(
        self,
        batch_id: str,
        letter_id: str,
        status: PaperStatus | str,
        *,
        reason: ReturnReason | str | None = None,
        detail: str = "",
        mail_id: str = "",
        tracking_number: str = "",
    ) -> dict[str, Any]:
        """Report ``status`` of a letter of an accepted batch, as the partner would; a
        rejected or returned letter needs a ``reason``."""
        status = PaperStatus(status)
        if status in (PaperStatus.RETURNED, PaperStatus.REJECTED) and reason is None:
            raise ValueError(f"a {status} event needs a reason")
        with self.lock:
            manifest = self.batches[batch_id]
            if letter_id not in {entry["letterId"] for entry in manifest["letters"]}:
                raise KeyError(f"{letter_id} is not in batch {batch_id}")
            return self._append(
                batch_id,
                letter_id,
                status,
                reason=ReturnReason(reason) if reason else None,
                detail=detail,
                mail_id=mail_id,
                tracking_number=tracking_number,
            )

    def stats(self) -> dict[str, Any]:
        uploads = [r for r in self.received if r.method == "POST" and r.path == "/batches"]
        return {
            "received": len(uploads),
            "accepted": len(self.batches),
            "duplicates": self.duplicates,
            "by_letter": dict(self.letters),
        }

    # The server side ----------------------------------------------------------------

    def _append(self, batch_id: str, letter_id: str, status: str, **extra: Any) -> dict[str, Any]:
        events = self.events.setdefault(batch_id, [])
        event: dict[str, Any] = {
            "seq": len(events) + 1,
            "letterId": letter_id,
            "status": str(status),
            "at": datetime.now(UTC).isoformat(),
        }
        if extra.get("reason"):
            event["reason"] = str(extra["reason"])
        for key, name in (
            ("detail", "detail"),
            ("mail_id", "mailId"),
            ("tracking_number", "trackingNumber"),
        ):
            if extra.get(key):
                event[name] = extra[key]
        events.append(event)
        return event

    def receive(self, request: Received) -> tuple[int, dict[str, Any]]:
        """The answer to an upload (the batch taken in when it is ``201``)."""
        key = (request.headers.get("Idempotency-Key") or "").strip()
        if not (len(key) > 2 and key[0] == key[-1] == '"'):
            return 400, _bad("INVALID_INPUT", 'Idempotency-Key must be "<batchId>".')
        key = key[1:-1]
        parts = _parts(request)
        if "manifest" not in parts or "archive" not in parts:
            return 400, _bad("INVALID_INPUT", "Parts 'manifest' and 'archive' are required.")
        manifest_bytes, archive_bytes = parts["manifest"], parts["archive"]
        try:
            manifest = json.loads(manifest_bytes)
            batch_id = manifest["batchId"]
            letters = manifest["letters"]
            count = manifest["letterCount"]
        except (ValueError, KeyError, TypeError):
            return 400, _bad("INVALID_INPUT", "The manifest is not valid JSON of format 1.0.")
        if manifest.get("formatVersion") != "1.0" or not isinstance(letters, list):
            return 400, _bad("INVALID_INPUT", "The manifest is not of format 1.0.")
        if batch_id != key:
            return 400, _bad("INVALID_INPUT", "Idempotency-Key and batchId differ.")
        if count != len(letters) or not letters:
            return 400, _bad("INVALID_INPUT", "letterCount does not match the letters.")
        try:
            archive = zipfile.ZipFile(io.BytesIO(archive_bytes))
            files = {name: archive.read(name) for name in archive.namelist()}
        except (zipfile.BadZipFile, ValueError, OSError):
            return 400, _bad("INVALID_INPUT", "The archive is not a ZIP file.")
        if files.pop("manifest.json", None) != manifest_bytes:
            return 400, _bad("INVALID_INPUT", "The archive's manifest.json differs.")
        try:
            refusal = _refusal(letters, files)
        except (KeyError, TypeError, AttributeError):
            refusal = 400, _bad("INVALID_INPUT", "A letter of the manifest lacks a field.")
        if refusal is not None:
            return refusal
        with self.lock:  # dedup after validation, stored at once with the batch
            if batch_id in self.batches:
                self.duplicates += 1
                return 409, _bad("DUPLICATE_BATCH", "Idempotency-Key already used.")
            ids = [letter["letterId"] for letter in letters]
            if seen := [i for i in ids if self.letters[i]]:
                return 422, {"code": "DUPLICATE_LETTER", "letterIds": seen}
            self.batches[batch_id] = manifest
            self.archives[batch_id] = archive_bytes
            for letter_id in ids:
                self.letters[letter_id] += 1
                self._append(batch_id, letter_id, PaperStatus.ACCEPTED)
        received_at = datetime.now(UTC).isoformat()
        return 201, {"batchId": batch_id, "receivedAt": received_at, "letterCount": len(ids)}

    def answer_events(self, path: str) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(path)
        found = _EVENTS.match(parts.path)
        if found is None:
            return 404, _bad("NOT_FOUND", "No such resource.")
        batch_id = found.group("batch")
        after = parse_qs(parts.query).get("after", ["0"])[0]
        if not after.isdigit():
            return 400, _bad("INVALID_INPUT", "after is a sequence number.")
        with self.lock:
            if batch_id not in self.batches:
                return 404, _bad("NOT_FOUND", f"No batch {batch_id}.")
            events = [e for e in self.events.get(batch_id, []) if e["seq"] > int(after)]
        return 200, {"batchId": batch_id, "events": events[: self.page_size]}


def _refusal(
    letters: list[dict[str, Any]], files: dict[str, bytes]
) -> tuple[int, dict[str, Any]] | None:
    """Why the archive does not match the manifest's letters, or ``None``."""
    named: set[str] = set()
    for letter in letters:
        lines = letter.get("recipient", {}).get("addressLines") or []
        if not lines or len(lines) > 6 or any(len(line) > 50 for line in lines):
            return 400, _bad("INVALID_ADDRESS", f"Address of {letter.get('letterId')}.")
        for entry in [letter["cover"], *letter["documents"]]:
            name = entry["file"]
            named.add(name)
            if name not in files:
                return 400, {"code": "MISSING_FILE", "file": name}
            if hashlib.sha256(files[name]).hexdigest() != entry["sha256"]:
                return 400, {"code": "DIGEST_MISMATCH", "file": name}
            if not files[name].startswith(b"%PDF-"):
                return 400, {"code": "NOT_A_PDF", "file": name}
    if extra := sorted(set(files) - named):
        return 400, {"code": "UNEXPECTED_FILE", "file": extra[0]}
    return None


def _bad(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message}


def _parts(request: Received) -> dict[str, bytes]:
    content_type = request.headers.get("Content-Type", "")
    if not content_type.startswith("multipart/form-data"):
        return {}
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    found: dict[str, bytes] = {}
    for part in BytesParser(policy=HTTP).parsebytes(head + request.body).iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            found[name] = part.get_payload(decode=True) or b""
    return found


@contextmanager
def fake_print_partner(*, page_size: int = 50) -> Iterator[FakePrintPartner]:
    """Run the fake partner on a free port of 127.0.0.1 for the block."""
    state: FakePrintPartner

    class Handler(FakeHandler):
        def do_POST(self) -> None:
            request = self.read_request()
            if urlsplit(self.path).path != "/batches":
                return self.send_json(404, _bad("NOT_FOUND", "No such resource."))
            with state.lock:
                fault = state.faults.pop(0) if state.faults else None
            if fault == "503":
                return self.send_json(503, _bad("UNAVAILABLE", "Try again later."))
            status, body = state.receive(request)
            if fault == "drop":  # committed, then the answer is lost
                self.close_connection = True
                return None
            self.send_json(status, body)

        def do_GET(self) -> None:
            self.read_request()
            if self.path == "/_fake/stats":
                return self.send_json(200, state.stats())
            self.send_json(*state.answer_events(self.path))

    with local_server(Handler, poll_interval=0.05) as url:
        state = FakePrintPartner(url, page_size=page_size)
        Handler.received = state.received
        yield state
