"""Every letter is delivered exactly once, although workers are killed (``kill -9``) at
random points of a run of 2,000 letters and restarted (issue 21, acceptance).

Real ``regiohub worker`` processes on a file SQLite database in a fresh data directory;
the fake eBox, the fake print partner and the timestamp authority run in the test process
over real HTTP and count what they receive. A ``regiohub shell`` subprocess migrates the
database and sets Kortrijk up as a sender against the fakes; another hands the letters in
one by one while the workers deliver them (``killed_worker_run``): most to eBox users
(citizens, a company), some to a citizen without eBox (paper, with an address) and some to
a citizen who never opened it (eBox and a paper copy).

1. Two workers deliver the letters (seal B-T, route, publish). At 5 to 8 seeded moments,
   spread over the run by the share of letters done, workers are killed with SIGKILL
   (each its whole process group) and restarted at once. Most of these kills strike a
   random subset of the workers wherever they are. Two are aimed at the one gap no
   idempotency key closes on our side: the fake eBox stores a publication (one to a
   connected recipient, one to a citizen who never opened the eBox) and sits on its
   answer, and every worker is killed then; the next try is answered 409. The workers run
   with a short lease (:data:`LEASE_S`): a live worker requeues what a dead one was running
   within seconds (``REGIOHUB_TASK_STUCK_MINUTES`` stays 60, only the lease brings orphans
   back).
2. The paper batch task runs; the print partner stores the batch and holds its answer
   until the workers are killed, then the restarted ones hand the batch over again (409).
3. What the fakes received is checked against what the database says, letter by letter:
   one eBox message per eBox letter by its idempotency key, one paper letter per paper
   letter (the citizen who never opened the eBox included), nothing failed, every trail
   verifies, the bytes sealed are the bytes stored and delivered (the eBox's and the
   partner's), and a sample of what the eBox received passes pyHanko's validator.

``DOCUMENTS_KILL_LETTERS`` and ``DOCUMENTS_KILL_SEED`` change the size and the seed; the
summary line (``-rP``) gives the figures. ``make test`` runs 500 letters (about two
minutes); ``make soak`` runs the issue's 2,000 (four to six minutes on two cores).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import resource
import signal
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from django_tasks_db.models import DBTaskResult
from pyhanko.sign.timestamps import DummyTimeStamper

from regiohub.core.testing import worker_env
from regiohub.core.tests.test_workers_per_queue import PROJECT, REGIOHUB, stop
from regiohub.documents.models import Letter
from regiohub.documents.signing import verify
from regiohub.documents.tests.killed_worker_run import cached_key_sign_tst_info

LETTERS = int(os.environ.get("DOCUMENTS_KILL_LETTERS", "500"))  # noqa: TID251 - a test knob
SEED = int(os.environ.get("DOCUMENTS_KILL_SEED", "21"))  # noqa: TID251 - a test knob
WORKERS = 2
#: How many kills while the letters go out (seeded), two of them aimed.
KILL_RANGE = (5, 8)
#: A short lease: an orphan is requeued within 3 to 4.5 s (heartbeat every 0.5 s, a look
#: for orphans every 1.5 s).
LEASE_S = 3
#: Upper bound for a worker's start, an aimed kill's wait, the batch.
STEP_S = 60
#: Upper bounds for the letters to go out (about 10 letters/s on two busy cores) and for
#: the paper batch (a cover sheet per letter, about 75 ms each).
DELIVERY_S = max(STEP_S, LETTERS * 0.4)
BATCH_S = max(STEP_S, LETTERS * 0.1)
#: Letters whose eBox copy is checked with pyHanko's validator too (the rest by digest).
VALIDATED = 12

LETTER_TABLE = Letter._meta.db_table
TASK_TABLE = DBTaskResult._meta.db_table
DELIVER = "regiohub.documents.tasks.deliver_letter"
BATCH = "regiohub.documents.tasks.batch_paper"
RUN = "from regiohub.documents.tests.killed_worker_run"


class Workers:
    """The ``regiohub worker`` processes, each in its own process group, and the ``regiohub
    shell`` that hands the letters in next to them."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.procs: list[tuple[subprocess.Popen, Path]] = []
        self.started = 0
        self.handing_in: tuple[subprocess.Popen, Path] | None = None

    def hand_in(self, code: str) -> None:
        """Run ``code`` in a ``regiohub shell`` next to the workers (never killed)."""
        log = self.logs / "hand-in.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [*REGIOHUB, "shell", "-c", code],
                env=self.env, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.handing_in = (proc, log)

    def start(self) -> None:
        self.started += 1
        log = self.logs / f"worker-{self.started}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [*REGIOHUB, "worker", "--queue", "documents", "--no-schedule",
                 "--interval", "0.1"],
                env=self.env, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed as one
            )  # fmt: skip
        self.procs.append((proc, log))

    def handed_in(self) -> bool:
        return self.handing_in is not None and self.handing_in[0].poll() == 0

    def alive(self) -> list[tuple[subprocess.Popen, Path]]:
        return [(p, log) for p, log in self.procs if p.poll() is None]

    def check(self) -> None:
        if self.handing_in is not None:
            proc, log = self.handing_in
            if proc.poll() not in (None, 0):
                raise AssertionError(f"handing in stopped ({proc.returncode}):\n{_tail(log)}")
        for proc, log in self.procs:
            if proc.poll() is not None and proc.returncode != -signal.SIGKILL:
                raise AssertionError(f"a worker stopped ({proc.returncode}):\n{_tail(log)}")

    def kill(self, victims: list[tuple[subprocess.Popen, Path]]) -> None:
        for proc, _log in victims:
            os.killpg(proc.pid, signal.SIGKILL)
        for proc, _log in victims:
            assert proc.wait(timeout=10) == -signal.SIGKILL

    def stop_all(self) -> None:
        for proc, log in self.alive():
            assert stop(proc, log) == 0, _tail(log)

    def kill_all(self) -> None:
        for proc, _log in [*self.alive(), *([self.handing_in] if self.handing_in else [])]:
            if proc.poll() is not None:
                continue
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


class Hold:
    """Which publication the fake eBox stores and then sits on: once armed, the next one to
    a ``connected`` recipient, or to a citizen who ``never`` opened the eBox; ``taken`` is
    set when it did."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.armed = ""
        self.taken = threading.Event()

    def arm(self, kind: str) -> None:
        with self.lock:
            self.armed = kind
            self.taken.clear()

    def take(self, kind: str) -> bool:
        with self.lock:
            if self.armed != kind:
                return False
            self.armed = ""
            self.taken.set()
            return True


def _cpu() -> tuple[float, float]:
    """CPU seconds of this process and of its finished children so far."""
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


@pytest.mark.slow
def test_every_letter_is_delivered_once_although_workers_are_killed(
    tmp_path, pki, tsa, ebox, ebox_key, partner, monkeypatch
):
    # The local TSA parses its key once, not once per timestamp (see killed_worker_run),
    # and keeps quiet about the connections of killed workers.
    monkeypatch.setattr(DummyTimeStamper, "_sign_tst_info", cached_key_sign_tst_info)
    monkeypatch.setattr(tsa.server, "handle_error", lambda *_: None)
    rng = random.Random(SEED)
    began = time.monotonic()
    cpu_before = _cpu()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = worker_env(
        data_dir,
        REGIOHUB_TASK_LEASE_SECONDS=str(LEASE_S),
        REGIOHUB_TASK_STUCK_MINUTES="60",
        REGIOHUB_TASK_RETRY_BASE_SECONDS="1",
        PYTHONUNBUFFERED="1",  # a killed worker's log is whole up to the kill
    )
    database = data_dir / "regiohub.sqlite3"

    def shell(code: str) -> None:
        done = subprocess.run(
            [*REGIOHUB, "shell", "-c", code],
            env=env, cwd=PROJECT, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]

    def query(sql: str) -> list[tuple]:
        with sqlite3.connect(database, timeout=10) as db:
            return db.execute(sql).fetchall()

    def unfinished(path: str) -> int:
        return query(
            f"SELECT COUNT(*) FROM {TASK_TABLE} WHERE task_path = '{path}'"
            " AND status IN ('READY', 'RUNNING')"
        )[0][0]

    def progress() -> tuple[int, int]:
        """(letters out or waiting for the batch, letters failed)."""
        ((done, failed),) = query(
            "SELECT SUM(failed_at IS NULL AND ((channel = 'ebox' AND published_at IS NOT NULL)"
            " OR (channel = 'paper' AND routed_at IS NOT NULL))),"
            f" SUM(failed_at IS NOT NULL) FROM {LETTER_TABLE}"
        )
        return done or 0, failed or 0

    workers = Workers(env, tmp_path)

    def wait_for(condition: Callable[[], bool], what: str, limit: float = STEP_S) -> None:
        deadline = time.monotonic() + limit
        while not condition():
            workers.check()
            assert progress()[1] == 0, "a letter failed"
            if time.monotonic() > deadline:
                logs = "\n".join(_tail(log) for _p, log in workers.alive())
                raise AssertionError(f"no {what} after {limit:.0f} s:\n{logs}")
            time.sleep(0.02)

    # --- The database, the sender and the letters ---------------------------------------
    seal_p12 = tmp_path / "seal.p12"
    seal_p12.write_bytes(pki.seal_p12)
    key_pem = tmp_path / "ebox-key.pem"
    key_pem.write_bytes(
        ebox_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    params = {
        "folder": str(tmp_path),
        "seal_p12": str(seal_p12),
        "ebox_key": str(key_pem),
        "tsa_url": tsa.url,
        "ebox": {
            "url": ebox.url,
            "client_id": ebox.client_id,
            "sender_application_id": ebox.sender_application_id,
        },
        "partner_url": partner.url,
        "letters": LETTERS,
        "seed": SEED,
        "out": str(tmp_path / "letters.json"),
    }
    (tmp_path / "params.json").write_text(json.dumps(params))
    shell(f"{RUN} import set_up; set_up({str(tmp_path / 'params.json')!r})")
    set_up_s = time.monotonic() - began

    # --- 1. Delivery, with workers killed at random moments ------------------------------
    kills = rng.randint(*KILL_RANGE)
    # Two kills are aimed (see the module docstring): at a publication to a connected
    # recipient, and at one to a citizen who never opened the eBox (a paper copy is due);
    # early enough that such letters are still to come. The others strike anywhere.
    plan = [(rng.uniform(0.03, 0.9), "") for _ in range(kills - 2)]
    plan += [(rng.uniform(0.05, 0.6), "connected"), (rng.uniform(0.05, 0.6), "never")]
    plan.sort()
    held = Hold()
    publish = ebox.publish

    def publish_and_hold(headers: Any, body: bytes) -> tuple[int, dict[str, Any], str | None]:
        status, answer, after = publish(headers, body)
        never = answer.get("code") == "NO_DIGITAL_USER"
        if status == 201 and held.take("never" if never else "connected"):
            after = f"slow:{STEP_S}"  # stored; the answer comes after the kill
        return status, answer, after

    monkeypatch.setattr(ebox, "publish", publish_and_hold)
    killed: list[int] = []  # workers killed at each kill
    try:
        # The letters come in while the workers deliver them.
        workers.hand_in(f"{RUN} import hand_in; hand_in({str(tmp_path / 'params.json')!r})")
        for _ in range(WORKERS):
            workers.start()
        delivering = time.monotonic()
        for share, aimed in plan:
            wait_for(
                lambda s=share: progress()[0] >= s * LETTERS,
                f"{share:.0%} of the letters",
                limit=DELIVERY_S,
            )
            if aimed:
                held.arm(aimed)
                wait_for(held.taken.is_set, f"a publication to a {aimed} recipient held")
                victims = workers.alive()
            else:
                time.sleep(rng.uniform(0, 0.3))  # anywhere inside a letter's steps
                alive = workers.alive()
                victims = rng.sample(alive, rng.randint(1, len(alive)))
            workers.kill(victims)
            killed.append(len(victims))
            for _ in victims:
                workers.start()
        wait_for(
            lambda: workers.handed_in() and progress()[0] == LETTERS and not unfinished(DELIVER),
            "delivery of every letter",
            limit=DELIVERY_S,
        )
        delivered = time.monotonic()

        # --- 2. The paper batch, killed once the partner stored it ----------------------
        stored, answer = threading.Event(), threading.Event()
        receive = partner.receive

        def hold_the_answer(request: Any) -> tuple[int, dict[str, Any]]:
            result = receive(request)
            if not stored.is_set():
                stored.set()
                answer.wait(BATCH_S)  # the workers are killed meanwhile
            return result

        monkeypatch.setattr(partner, "receive", hold_the_answer)
        shell(f"{RUN} import enqueue_batch; enqueue_batch()")
        wait_for(stored.is_set, "the batch at the print partner", limit=BATCH_S)
        workers.kill(workers.alive())
        killed.append(WORKERS)
        answer.set()
        for _ in range(WORKERS):
            workers.start()
        wait_for(lambda: not unfinished(BATCH), "the batch handed over", limit=BATCH_S)
        handed_over = time.monotonic()
        workers.stop_all()
    finally:
        workers.kill_all()

    # --- 3. What the fakes received against what the database says ---------------------
    shell(f"{RUN} import proof; proof({str(tmp_path / 'proof.json')!r})")
    proof = json.loads((tmp_path / "proof.json").read_text())
    handed = json.loads((tmp_path / "letters.json").read_text())
    letters = handed["letters"]
    assert len(letters) == LETTERS
    rows = proof["letters"]
    assert len(rows) == LETTERS

    batched = sum(row["batched"] for row in rows.values())
    routes = Counter(letter["route"] for letter in letters)
    extra_copies = batched - routes["paper"] - routes["ebox+paper"]
    messages = Counter(message.key for message in ebox.messages.values())
    by_key = {message.key: message for message in ebox.messages.values()}
    # The figures first: a failing run shows them too.
    own_cpu, their_cpu = (now - then for now, then in zip(_cpu(), cpu_before, strict=True))
    rerun = [t for t in proof["tasks"] if t["workers"] > 1]
    print(
        f"{LETTERS} letters ({dict(routes)}), seed {SEED}: {len(killed)} kills "
        f"({sum(killed)} workers, {workers.started} started), "
        f"{len(rerun)} tasks run again after a kill; eBox {len(ebox.messages)} messages, "
        f"{ebox.duplicates} duplicates answered 409, {sum(ebox.by_key.values())} publish "
        f"requests; partner {sum(partner.letters.values())} letters in "
        f"{len(partner.batches)} batch(es) ({extra_copies} paper copies "
        f"after a lost eBox answer), {partner.duplicates} duplicate hand-over(s); "
        f"TSA {tsa.answered} stamps. Times: set up {set_up_s:.0f} s, hand in "
        f"{handed['seconds']:.0f} s ({LETTERS / handed['seconds']:.0f}/s) while delivering, "
        f"delivered after {delivered - delivering:.0f} s "
        f"({LETTERS / (delivered - delivering):.1f}/s), "
        f"batch {handed_over - delivered:.0f} s, whole test {time.monotonic() - began:.0f} s; "
        f"CPU: this process (fakes, TSA) {own_cpu:.0f} s, the regiohub processes "
        f"{their_cpu:.0f} s"
    )

    problems: list[str] = []
    for letter in letters:
        row = rows[str(letter["id"])]
        name = f"{letter['public_id']} ({letter['route']})"
        files = row["files"]
        if row["failed"] or not row["intact"]:
            problems.append(f"{name}: failed {row['failed']}, trail intact {row['intact']}")
        if len(files) != letter["files"] or any(
            not (f["signed"] == f["delivered"] == f["stored"]) for f in files
        ):
            problems.append(f"{name}: sealed and delivered differ: {files}")
        to_ebox = letter["route"] in ("ebox", "ebox+paper")
        to_paper = letter["route"] in ("paper", "ebox+paper")
        if row["channel"] != ("ebox" if to_ebox else "paper"):
            problems.append(f"{name}: routed to {row['channel']}")
        if messages[letter["key"]] != int(to_ebox):
            problems.append(f"{name}: {messages[letter['key']]} eBox messages")
        if to_ebox and letter["key"] in by_key:
            received = [
                hashlib.sha256(f[2]).hexdigest() for f in by_key[letter["key"]].files.values()
            ]
            if received != [f["signed"] for f in files]:
                problems.append(f"{name}: the eBox got other bytes than were sealed")
        paper = partner.letters[letter["public_id"]]
        if paper != int(to_paper or row["batched"]) or row["batched"] != bool(paper):
            problems.append(f"{name}: {paper} paper letters, batched {row['batched']}")
        if (
            not to_paper
            and row["batched"]
            and not (row["duplicate"] and "letter.paper_copy" in row["actions"])
        ):
            # A paper copy of a letter for an eBox user is only allowed as the choice made
            # when the eBox's answer to its publication was lost (a 409 then says nothing
            # of whether the recipient ever opened the eBox), recorded in its trail.
            problems.append(f"{name}: on paper too, with trail {row['actions']}")
        expected_status = "published" if to_ebox else "batched"
        if row["status"] != expected_status:
            problems.append(f"{name}: status {row['status']}")
        if row["actions"].count("letter.signed") != 1:
            problems.append(f"{name}: trail {row['actions']}")
    assert not problems, f"{len(problems)} letters wrong:\n" + "\n".join(problems[:20])

    # Nothing more than the letters: no message without a key, no stray paper letter.
    assert ebox.no_key == 0
    assert len(ebox.messages) == routes["ebox"] + routes["ebox+paper"]
    assert set(partner.letters) <= {letter["public_id"] for letter in letters}
    assert sum(partner.letters.values()) == batched
    # The partner's manifest names the sealed bytes.
    manifests = {
        entry["letterId"]: [d["sha256"] for d in entry["documents"]]
        for manifest in partner.batches.values()
        for entry in manifest["letters"]
    }
    for letter in letters:
        if letter["public_id"] in manifests:
            sealed = [f["signed"] for f in rows[str(letter["id"])]["files"]]
            assert manifests[letter["public_id"]] == sealed, letter["public_id"]
    assert [b["state"] for b in proof["batches"]] == ["uploaded"] * len(partner.batches)
    # The batch was handed over again after the kill and taken once.
    assert partner.duplicates >= 1
    # Each aimed kill left a publication the next try repeated: answered 409.
    assert ebox.duplicates >= 2
    assert all(t["status"] == "SUCCESSFUL" for t in proof["tasks"]), Counter(
        t["status"] for t in proof["tasks"]
    )

    # A sample of what the eBox received, validated by pyHanko (B-T, whole file).
    context = pki.validation_context()
    for key in random.Random(SEED).sample(sorted(by_key), min(VALIDATED, len(by_key))):
        for _name, _kind, data in by_key[key].files.values():
            verdict = verify(data, context)
            assert verdict.ok and verdict.timestamped, verdict.summary
