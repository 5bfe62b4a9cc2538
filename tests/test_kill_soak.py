"""Kill soak: workers killed (SIGKILL) at random moments, every effect still happens once.

One migrated file SQLite database in a fresh data directory for the whole module, a fake
back office (``fake_server``) and one long-lived ``regiohub shell -c`` helper process that
runs code for the test against that database and samples ``core.health.check()`` a few
times a second while it is told to watch.

Each iteration (``SOAK_ITERATIONS``, 2 by default; ``make soak`` runs 20) enqueues a mix of
work: reports filed with an e-mail address (their acknowledgement mails, on the mail queue),
one of them in Kortrijk, which has a webhook connector (the event delivery and the push, on
the connectors queue), and a dataset load of :data:`ROWS` rows in append mode
(the data queue). Two workers serving all queues start, with a lease of :data:`LEASE_S`
seconds; after a random delay one of them, chosen at random, is killed with SIGKILL and a
new one started. The test waits until nothing is ready or running, then checks:

* every acknowledgement mail is in ``REGIOHUB_DATA_DIR/mail`` once, by its Message-ID;
* one Delivery per (report, connector), sent, every back-office request for it with the
  delivery's event id and the same body;
* the dataset's published row count grew by exactly the rows of one load (and the Delta
  table has that many rows at the published version); a load may end cancelled only if
  another load of the same rows published them;
* no task is left READY or RUNNING, and no attempt failed;
* health tells the truth: no health sample before the killed worker's lease expired, nor
  after its task was requeued, reports an orphan (a live worker's task is never taken for
  one), and every sample taken entirely while the task was orphaned reports it. Whether
  such a sample exists depends on how soon the surviving worker requeued (half a lease at
  most): it is counted, not required. At the end ``check()`` reports no orphan.

The two outcomes docs/operations.md allows for a worker killed after the outside world
accepted an effect and before its idempotency key committed are allowed here only with that
evidence (the task that sent was run by the killed worker and then by another): a second
copy of a mail with the same Message-ID, and a second push with the same event id and
body. They are counted in the summary.

The seed of each iteration is printed on failure; ``SOAK_SEED=<seed> SOAK_ITERATIONS=1``
replays its choices (the timing of the machine is not replayed).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import random
import re
import signal
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django_tasks_db.models import DBTaskResult

from regiohub.core.models import IdempotencyKey, WorkerHeartbeat
from regiohub.core.testing import worker_env
from regiohub.core.tests.test_workers_per_queue import PROJECT, REGIOHUB, stop
from regiohub.datasets.tests.test_killed_worker_load import SETUP as DATASET_SETUP
from regiohub.datasets.tests.test_killed_worker_load import UPLOAD
from regiohub.meldpunt.contrib.connectors.testing import Answer, fake_server
from regiohub.meldpunt.contrib.webhook.connector import EVENT_HEADER
from regiohub.meldpunt.models import Delivery
from regiohub.meldpunt.tests.test_connector_push_survives_a_killed_worker import (
    PUSH,
    SECRET,
    SUBSCRIBER,
)

ITERATIONS = int(os.environ.get("SOAK_ITERATIONS", "2"))  # noqa: TID251 - a test knob
#: Short, so an orphan is requeued within seconds (a heartbeat every 0.5 s, a look for
#: orphans every 1.5 s).
LEASE_S = 3
#: Rows per dataset load (a second or two of work for a worker).
ROWS = 50_000
#: Reports filed per iteration: the first in Kortrijk (connector), the others in Wevelgem.
REPORTS = 4
#: The kill comes this many seconds after the first worker registered (the work then takes
#: about two seconds).
KILL_AFTER_S = (0.0, 2.0)
#: How long the back office sits on each answer: a push is in flight meanwhile.
PUSH_DELAY_S = 1.5
#: Seconds between two health samples of the helper.
SAMPLE_EVERY_S = 0.1
#: Upper bound for the work of one iteration to end.
DRAIN_S = 60

TASKS = DBTaskResult._meta.db_table
HEARTBEATS = WorkerHeartbeat._meta.db_table
DELIVERIES = Delivery._meta.db_table
KEYS = IdempotencyKey._meta.db_table
ACK = "regiohub.meldpunt.tasks.send_acknowledgement"
RUN_LOAD = "regiohub.datasets.tasks.run_load"

#: The helper: runs the code the test sends (one JSON command a line on stdin, one
#: ``REPLY <json>`` line on stdout) and samples the health check while watching.
HELPER = (
    f"SAMPLE_EVERY = {SAMPLE_EVERY_S}\n"
    + """
import json, sys, threading, time, traceback
from django.db import connection
from regiohub.core import health

samples = []
watching = threading.Event()
idle = threading.Event()
idle.set()


def sample():
    while True:
        watching.wait()
        idle.clear()
        try:
            while watching.is_set():
                t0 = time.time()
                queue = health.check(only=("task_queue",))["checks"]["task_queue"]
                samples.append([t0, time.time(), queue.get("orphaned"), queue.get("running"),
                                queue.get("error", "")])
                time.sleep(SAMPLE_EVERY)
        finally:
            connection.close()
            idle.set()


threading.Thread(target=sample, daemon=True).start()
namespace = {}
for line in sys.stdin:
    command = json.loads(line)
    reply = {}
    try:
        if command["cmd"] == "exec":
            namespace.pop("result", None)
            exec(command["code"], namespace)
            reply["result"] = namespace.get("result")
        elif command["cmd"] == "watch":
            samples.clear()
            watching.set()
        elif command["cmd"] == "unwatch":
            watching.clear()
            idle.wait(10)
            reply["result"] = list(samples)
        elif command["cmd"] == "quit":
            break
    except Exception:
        reply["error"] = traceback.format_exc()
    finally:
        connection.close()
    print("REPLY " + json.dumps(reply, default=str), flush=True)
"""
)

CONNECTOR_SETUP = """
from regiohub.core.models import Organisation
from regiohub.meldpunt.demo import load_categories
from regiohub.meldpunt.models import ConnectorConfig

load_categories()
config = ConnectorConfig.objects.create(
    name="Back office Kortrijk",
    organisation=Organisation.objects.get(code="KOR"),
    connector="webhook",
    settings={"url": URL, "secret": SECRET, "timeout": 10},
)
result = config.pk
"""

ENQUEUE = """
from regiohub.core.mail import message_id
from regiohub.datasets.models import Dataset
from regiohub.meldpunt.services import submit_report

filed = []
for n in range(REPORTS):
    here = {"latitude": 50.8275, "longitude": 3.2649} if n == 0 else {
        "latitude": None, "longitude": None, "municipality_code": "WEV",
        "address": f"Kerkstraat {n}"}
    report = submit_report(
        category_code="pothole",
        description=f"Soak {ITERATION}.{n}: diep gat in het fietspad.",
        channel="web",
        reporter_email=f"soak-{ITERATION}-{n}@example.org",
        consent=True,
        **here,
    ).report
    filed.append({"id": report.pk, "reference": report.reference,
                  "organisation": report.organisation.code,
                  "message_id": message_id(f"meldpunt.ack:{report.pk}")})
exec(UPLOAD % CSV)
result = {"reports": filed, "load": load.pk}
"""

FINAL = """
from regiohub.core import health
from regiohub.datasets import storage
from regiohub.datasets.models import Dataset

dataset = Dataset.objects.get(slug="tellingen")
version = dataset.current_version
stored = storage.open_table(dataset.storage_key, version.delta_version)
result = {
    "health": health.check(),
    "version": [version.number, version.row_count],
    "stored_rows": stored.to_pyarrow_dataset().count_rows(),
}
"""

MESSAGE_ID = re.compile(r"^Message-ID: (<[^>]+>)\s*$", re.MULTILINE | re.IGNORECASE)


class Helper:
    """The long-lived ``regiohub shell -c`` process (see :data:`HELPER`)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as err:
            self.proc = subprocess.Popen(
                [*REGIOHUB, "shell", "-c", HELPER],
                env=env, cwd=PROJECT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=err, text=True, start_new_session=True,
            )  # fmt: skip
        self.replies: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("REPLY "):
                self.replies.put(json.loads(line[len("REPLY ") :]))
        self.replies.put(None)

    def call(self, cmd: str, timeout: float = 120, **fields: Any) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
        self.proc.stdin.flush()
        try:
            reply = self.replies.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"helper: no answer to {cmd} in {timeout} s") from None
        assert reply is not None, f"helper stopped:\n{self.log.read_text()[-3000:]}"
        assert "error" not in reply, reply["error"]
        return reply.get("result")

    def run(self, code: str, **names: Any) -> Any:
        """Run ``code`` with ``names`` bound (as Python literals); returns its ``result``."""
        prelude = "".join(f"{name} = {value!r}\n" for name, value in names.items())
        return self.call("exec", code=prelude + code)

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(AssertionError, OSError):
                self.call("quit", timeout=10)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


@dataclass
class Soak:
    tmp: Path
    data_dir: Path
    env: dict[str, str]
    csv: Path
    helper: Helper
    back_office: Any
    config_id: int
    #: Summary lines, one per iteration, and counters over all of them.
    lines: list[str] = field(default_factory=list)
    stats: Counter[str] = field(default_factory=Counter)

    def query(self, sql: str, *params: Any) -> list[tuple]:
        with sqlite3.connect(self.data_dir / "regiohub.sqlite3", timeout=10) as db:
            return db.execute(sql, params).fetchall()


def _timestamp(value: str | None) -> float:
    """A datetime as Django stores it in SQLite (UTC) as a Unix time."""
    assert value is not None
    return datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp()


@pytest.fixture(scope="module")
def soak(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Soak]:
    tmp = tmp_path_factory.mktemp("soak")
    data_dir = tmp / "data"
    data_dir.mkdir()
    env = worker_env(
        data_dir,
        REGIOHUB_TASK_LEASE_SECONDS=str(LEASE_S),
        REGIOHUB_TASK_STUCK_MINUTES="60",  # only the lease brings orphans back
    )

    csv = tmp / "tellingen.csv"
    with csv.open("w") as out:
        out.write("Segment;Uur;Auto's;Snelheid\n")
        for i in range(ROWS):
            out.write(f"{i % 97};{1 + i % 28:02d}/12/2025 {i % 24:02d}:00;{i % 1000};{i % 90},5\n")

    done = subprocess.run(
        [*REGIOHUB, "migrate", "--noinput"],
        env=env, cwd=PROJECT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    helper = Helper(env, tmp / "helper.log")
    try:
        with fake_server(Answer(201, {"id": "BO-1"}, delay=PUSH_DELAY_S)) as back_office:
            helper.run(DATASET_SETUP)
            config_id = helper.run(CONNECTOR_SETUP, URL=back_office.url, SECRET=SECRET)
            state = Soak(tmp, data_dir, env, csv, helper, back_office, config_id)
            yield state
            print(f"\n{len(state.lines)} iterations: {dict(state.stats)}")
    finally:
        helper.close()


class Workers:
    """The iteration's ``regiohub worker`` processes (all queues, short lease)."""

    def __init__(self, soak: Soak, iteration: int) -> None:
        self.soak = soak
        self.iteration = iteration
        self.procs: list[subprocess.Popen] = []
        self.logs: dict[int, Path] = {}

    def start(self) -> subprocess.Popen:
        log = self.soak.tmp / f"worker-{self.iteration}-{len(self.procs) + 1}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [*REGIOHUB, "worker", "--no-schedule", "--interval", "0.2"],
                env=self.soak.env, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed as one
            )  # fmt: skip
        self.procs.append(proc)
        self.logs[proc.pid] = log
        return proc

    def alive(self) -> list[subprocess.Popen]:
        return [p for p in self.procs if p.poll() is None]

    def check_alive(self, killed: subprocess.Popen | None) -> None:
        for proc in self.procs:
            if proc is not killed and proc.poll() is not None:
                raise AssertionError(
                    f"worker {proc.pid} stopped ({proc.returncode}):\n{self.tail(proc)}"
                )

    def tail(self, proc: subprocess.Popen, chars: int = 3000) -> str:
        return self.logs[proc.pid].read_text(errors="replace")[-chars:]

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def wait_until(
    condition: Callable[[], bool], what: str, limit: float, every: float, check: Callable[[], None]
) -> float:
    """Poll ``condition`` until true; returns the time it first held."""
    deadline = time.monotonic() + limit
    while not condition():
        check()
        assert time.monotonic() < deadline, f"no {what} after {limit} s"
        time.sleep(every)
    return time.time()


def run_iteration(soak: Soak, iteration: int, seed: int, evidence: dict[str, Any]) -> str:
    rng = random.Random(seed)
    kill_after = rng.uniform(*KILL_AFTER_S)
    victim_index = rng.randrange(2)
    evidence.update(kill_after_s=round(kill_after, 3), victim_index=victim_index)
    started = time.monotonic()

    task_ids_before = {row[0] for row in soak.query(f"SELECT id FROM {TASKS}")}
    versions_before = soak.query(
        "SELECT number, row_count FROM datasets_datasetversion ORDER BY number"
    )
    loads_before = {row[0] for row in soak.query("SELECT id FROM datasets_load")}
    filed = soak.helper.run(
        ENQUEUE, REPORTS=REPORTS, ITERATION=f"{seed}", UPLOAD=UPLOAD, CSV=str(soak.csv)
    )
    reports = filed["reports"]
    evidence["reports"] = reports

    def task_rows() -> list[dict[str, Any]]:
        rows = soak.query(
            f"SELECT id, task_path, status, worker_ids, args_kwargs, started_at, traceback"
            f" FROM {TASKS}"
        )
        return [
            {
                "id": pk,
                "path": path,
                "status": status,
                "workers": json.loads(workers),
                "args": json.loads(args)["args"],
                "started_at": started_at,
                "traceback": tb,
            }
            for pk, path, status, workers, args, started_at, tb in rows
            if pk not in task_ids_before
        ]

    workers = Workers(soak, iteration)
    soak.helper.call("watch")
    samples: list[list[Any]] | None = None
    try:
        workers_started = time.time()
        pair = [workers.start(), workers.start()]

        def registered() -> bool:
            ((count,),) = soak.query(
                f"SELECT count(*) FROM {HEARTBEATS} WHERE pid IN (?, ?)", *(p.pid for p in pair)
            )
            return count > 0

        # The kill clock starts when the first worker can claim tasks.
        wait_until(registered, "a heartbeat", 60, 0.02, lambda: workers.check_alive(None))
        time.sleep(kill_after)
        victim = pair[victim_index]
        workers.check_alive(None)
        os.killpg(victim.pid, signal.SIGKILL)
        killed_at = time.time()
        assert victim.wait(timeout=10) == -signal.SIGKILL
        # The dead worker cannot change anything any more, and its lease runs for
        # LEASE_S seconds from its last beat: what it was running is still RUNNING.
        beats = [
            (worker_id, beat_at)
            for worker_id, beat_at, since in soak.query(
                f"SELECT worker_id, beat_at, started_at FROM {HEARTBEATS} WHERE pid = ?",
                victim.pid,
            )
            if _timestamp(since) >= workers_started - 1  # not a dead one's with that pid
        ]
        victim_id, beat_at = beats[0] if beats else (None, None)
        hit = [
            t
            for t in task_rows()
            if t["status"] == "RUNNING" and victim_id and t["workers"][-1] == victim_id
        ]
        assert len(hit) <= 1, hit  # a worker runs one task at a time
        moment = "during start-up" if victim_id is None else "mid-task" if hit else "between tasks"
        evidence.update(victim_pid=victim.pid, victim_id=victim_id, moment=moment)
        workers.start()  # the restart

        orphan: dict[str, Any] | None = None
        if hit:
            (task,) = hit
            evidence["hit"] = {k: task[k] for k in ("id", "path", "workers", "started_at")}
            # The task is orphaned from its lease's expiry until a live worker requeues it.
            expires = max(_timestamp(beat_at), _timestamp(task["started_at"])) + LEASE_S
            last_owned = time.time()

            def owned() -> bool:
                rows = soak.query(
                    f"SELECT status, worker_ids FROM {TASKS} WHERE id = ?", task["id"]
                )
                return rows[0][0] == "RUNNING" and json.loads(rows[0][1])[-1] == victim_id

            def still_owned() -> bool:
                nonlocal last_owned
                seen = time.time()
                if owned():
                    last_owned = seen
                    return False
                return True

            requeued = wait_until(
                still_owned,
                "requeue of the orphaned task",
                LEASE_S * 3 + 10,
                0.05,
                lambda: workers.check_alive(victim),
            )
            orphan = {"expires": expires, "last_owned": last_owned, "requeued": requeued}
            evidence["orphan"] = {
                "expired_after_kill_s": round(expires - killed_at, 3),
                "requeued_after_expiry_s": round(requeued - expires, 3),
            }

        def drained() -> bool:
            ((pending,),) = soak.query(
                f"SELECT count(*) FROM {TASKS} WHERE status IN ('READY', 'RUNNING')"
            )
            return pending == 0

        wait_until(drained, "end of the work", DRAIN_S, 0.1, lambda: workers.check_alive(victim))
        samples = soak.helper.call("unwatch")
        # Stopped once it handles SIGTERM (a worker still starting up would die of it).
        for proc in workers.alive():
            wait_until(
                # The whole log: a worker that started long ago has logged much since.
                lambda proc=proc: "Starting worker" in workers.tail(proc, chars=10**9),
                f"start of worker {proc.pid}",
                60,
                0.05,
                lambda: workers.check_alive(victim),
            )
        for proc in workers.alive():
            assert stop(proc, workers.logs[proc.pid]) == 0
    finally:
        workers.kill_all()
        if samples is None:  # failed on the way: stop sampling for the next iteration
            soak.helper.call("unwatch")
    work_s = time.monotonic() - started

    rows = task_rows()
    evidence["tasks"] = Counter(f"{t['path'].rsplit('.', 1)[1]}:{t['status']}" for t in rows)

    def rerun_after_kill(task: dict[str, Any]) -> bool:
        """Run by the killed worker, then by another: the documented window."""
        return victim_id in task["workers"][:-1]

    # -- No task left, no attempt failed. -------------------------------------------------
    left = [t for t in rows if t["status"] in ("READY", "RUNNING")]
    assert not left, f"tasks left: {left}"
    failed = [t for t in rows if t["status"] == "FAILED"]
    assert not failed, f"failed attempts: {[(t['path'], t['traceback']) for t in failed]}"

    # -- Every acknowledgement mail once, by Message-ID. ----------------------------------
    mails = Counter(
        found
        for path in (soak.data_dir / "mail").glob("*.log")
        for found in MESSAGE_ID.findall(path.read_text(errors="replace"))
    )
    acks = {t["args"][0]: t for t in rows if t["path"] == ACK}
    assert sorted(acks) == sorted(r["id"] for r in reports), acks
    for report in reports:
        copies = mails[report["message_id"]]
        if copies == 2 and rerun_after_kill(acks[report["id"]]):
            soak.stats["mail sent twice in the documented window"] += 1
            continue
        assert copies == 1, (
            f"acknowledgement of report {report['id']}: {copies} mails with Message-ID "
            f"{report['message_id']}; its task: {acks[report['id']]}"
        )
    repeated = {mid: n for mid, n in mails.items() if n > 1}
    allowed = soak.stats["mail sent twice in the documented window"]
    assert len(repeated) <= allowed, f"Message-IDs more than once: {repeated}"

    # -- One delivery per (report, connector), sent, one event id. ------------------------
    kortrijk = [r for r in reports if r["organisation"] == "KOR"]
    assert len(kortrijk) == 1, reports
    for report in reports:
        deliveries = soak.query(
            f"SELECT id, config_id, state, attempts FROM {DELIVERIES} WHERE report_id = ?",
            report["id"],
        )
        if report["organisation"] != "KOR":
            assert deliveries == [], deliveries
            continue
        ((delivery_id, config_id, state, attempts),) = deliveries
        assert (config_id, state) == (soak.config_id, "sent"), deliveries
        received = [
            r for r in soak.back_office.received if r.json()["reference"] == report["reference"]
        ]
        assert received, f"the back office got nothing for {report}"
        assert {r.headers[EVENT_HEADER] for r in received} == {
            f"regiohub-delivery-{delivery_id}"
        }, [r.headers for r in received]
        assert len({r.body for r in received}) == 1
        (push,) = [t for t in rows if t["path"] == PUSH and t["args"] == [delivery_id]]
        if len(received) > 1:
            assert len(received) == 2 and rerun_after_kill(push), (
                f"{len(received)} pushes of delivery {delivery_id}; its task: {push}"
            )
            soak.stats["push sent twice in the documented window"] += 1
        # Counted before the request: one more when a worker died before sending it.
        extra = 1 if rerun_after_kill(push) else 0
        assert len(received) <= attempts <= len(received) + extra, (attempts, push)
    # The connectors' subscriber took each event once: one key per report filed in
    # Kortrijk (the only municipality with a connector), as many as deliveries.
    ((keys,),) = soak.query(f"SELECT count(*) FROM {KEYS} WHERE key LIKE ?", f"%:{SUBSCRIBER}")
    ((all_deliveries,),) = soak.query(f"SELECT count(*) FROM {DELIVERIES}")
    assert keys == all_deliveries == iteration + 1, (keys, all_deliveries)

    # -- The rows of the load counted once. -----------------------------------------------
    loads = soak.query("SELECT id, state, message FROM datasets_load ORDER BY id")
    loads = [load for load in loads if load[0] not in loads_before]
    states = Counter(state for _, state, _ in loads)
    assert states["done"] == 1 and states["done"] + states["cancelled"] == len(loads), loads
    versions = soak.query("SELECT number, row_count FROM datasets_datasetversion ORDER BY number")
    assert len(versions) == len(versions_before) + 1, versions
    previous_rows = versions_before[-1][1] if versions_before else 0
    assert versions[-1][1] == previous_rows + ROWS, (versions_before, versions)
    final = soak.helper.run(FINAL)
    assert final["version"] == list(versions[-1]), final
    assert final["stored_rows"] == versions[-1][1], final

    # -- Health tells the truth. ----------------------------------------------------------
    queue_now = final["health"]["checks"]["task_queue"]
    assert (queue_now["orphaned"], queue_now["running"], queue_now["ready"]) == (0, 0, 0), final
    assert final["health"]["status"] == "ok", final
    assert samples, "no health sample"
    broken = [s for s in samples if s[2] is None]
    assert not broken, f"health failed: {broken[:3]}"
    if orphan is None:
        wrong = [s for s in samples if s[2] != 0]
        assert not wrong, f"orphans reported although no task was orphaned: {wrong[:5]}"
        observed = "n/a"
    else:
        before = [s for s in samples if s[1] < orphan["expires"] - 0.01 and s[2] != 0]
        after = [s for s in samples if s[0] > orphan["requeued"] + 0.01 and s[2] != 0]
        assert not before, f"orphans reported before the lease expired: {before[:5]}"
        assert not after, f"orphans reported after the requeue: {after[:5]}"
        inside = [
            s
            for s in samples
            if s[0] > orphan["expires"] + 0.01 and s[1] < orphan["last_owned"] - 0.01
        ]
        missed = [s for s in inside if s[2] < 1]
        assert not missed, f"an orphan not reported: {missed[:5]}; {evidence['orphan']}"
        observed = "seen" if inside else "too short to sample"
        soak.stats[f"orphan {observed}"] += 1
    soak.stats[f"kill {moment}"] += 1
    hit_kind = evidence["hit"]["path"].rsplit(".", 1)[1] if hit else "-"
    if hit:
        soak.stats[f"hit {hit_kind}"] += 1
    return (
        f"iteration {iteration} seed {seed}: kill after {kill_after:.2f} s {moment}"
        f" ({hit_kind}), orphan in health: {observed}"
        + (
            f" (requeued {evidence['orphan']['requeued_after_expiry_s']:.2f} s after expiry)"
            if hit
            else ""
        )
        + f", {work_s:.1f} s, loads {dict(states)}"
    )


@pytest.mark.slow
def test_workers_killed_at_random_moments_leave_every_effect_once(soak: Soak) -> None:
    chosen = os.environ.get("SOAK_SEED")  # noqa: TID251 - a test knob
    base = int(chosen) if chosen else random.SystemRandom().randrange(10**9)
    for iteration in range(ITERATIONS):
        seed = base + iteration
        evidence: dict[str, Any] = {"seed": seed}
        started = time.monotonic()
        try:
            line = run_iteration(soak, iteration, seed, evidence)
        except AssertionError as exc:
            logs = sorted(soak.tmp.glob(f"worker-{iteration}-*.log"))
            tails = "\n".join(
                f"--- {log.name}\n{log.read_text(errors='replace')[-1500:]}" for log in logs
            )
            raise AssertionError(
                f"iteration {iteration} failed; replay with SOAK_SEED={seed} "
                f"SOAK_ITERATIONS=1\n{exc}\nevidence: {evidence}\n{tails}"
            ) from exc
        soak.lines.append(f"{line}; whole iteration {time.monotonic() - started:.1f} s")
        print(soak.lines[-1], flush=True)
