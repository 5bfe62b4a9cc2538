"""A task survives a killed worker: another running worker takes it over within a lease.

Two real ``regiohub worker`` processes serve the mail queue on a file SQLite database in a
fresh data directory, with a lease of 3 s (``REGIOHUB_TASK_LEASE_SECONDS``) and the
start-up requeue out of reach (``REGIOHUB_TASK_STUCK_MINUTES`` stays 60), so only the lease
can bring the task back. A mail task (``sample_tasks.slow_note``) pauses on its first run
before it sends; the worker that picked it (A) is killed with SIGKILL during that pause. The
other worker (B) was started before and is never restarted.

To look at ``core.health.check()`` while the task is orphaned without racing B's next look
for orphans (every 1.5 s with this lease), B is frozen with SIGSTOP just before the kill and
thawed with SIGCONT once the health check has seen the orphan: the same process then
renews its own lease, finds the orphan, requeues it and runs it. The mail goes out once,
with the Message-ID of its idempotency key.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django_tasks_db.models import DBTaskResult

from regiohub.core.mail import message_id
from regiohub.core.models import WorkerHeartbeat
from regiohub.core.testing import worker_env
from regiohub.core.tests.test_workers_per_queue import PROJECT, REGIOHUB, stop

LEASE_S = 3
SUBJECT = "sent once although its worker was killed"
#: Upper bound for any one step (process start-up included).
STEP_S = 30

HEALTH = """
import json
from django.conf import settings
from regiohub.core import health
report = health.check()
settings.HEALTH_ORPHANED_SECONDS = 1
strict = health.check()
print("HEALTH", json.dumps({"default": report, "strict": strict}))
"""


@pytest.mark.slow
def test_a_running_worker_takes_over_the_task_of_a_killed_one(tmp_path, settings):
    data_dir = tmp_path / "data"
    signals = tmp_path / "signals"
    data_dir.mkdir()
    signals.mkdir()
    env = worker_env(
        data_dir,
        REGIOHUB_TASK_LEASE_SECONDS=str(LEASE_S),
        REGIOHUB_TASK_STUCK_MINUTES="60",
    )

    def regiohub(*args: str) -> str:
        done = subprocess.run(
            [*REGIOHUB, *args], env=env, cwd=PROJECT, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    database = data_dir / "regiohub.sqlite3"

    def query(sql: str, *params: Any) -> list[tuple]:
        with sqlite3.connect(database, timeout=10) as db:
            return db.execute(sql, params).fetchall()

    def task_row() -> dict[str, Any] | None:
        rows = query(f"SELECT status, worker_ids, return_value FROM {DBTaskResult._meta.db_table}")
        if not rows:
            return None
        ((status, worker_ids, returned),) = rows
        return {
            "status": status,
            "workers": json.loads(worker_ids),
            "returned": json.loads(returned) if returned else None,
        }

    def heartbeats() -> dict[str, int]:
        return dict(query(f"SELECT worker_id, pid FROM {WorkerHeartbeat._meta.db_table}"))

    def runs() -> list[int]:
        path = signals / "runs"
        return [int(line) for line in path.read_text().split()] if path.exists() else []

    procs: dict[int, subprocess.Popen] = {}
    logs: dict[int, Path] = {}

    def wait_for(condition: Callable[[], Any], what: str, alive: list[int]) -> None:
        deadline = time.monotonic() + STEP_S
        while not condition():
            for pid in alive:
                assert procs[pid].poll() is None, f"{pid} stopped:\n{logs[pid].read_text()}"
            assert time.monotonic() < deadline, f"no {what} after {STEP_S} s"
            time.sleep(0.05)

    regiohub("migrate", "--noinput")
    started = time.monotonic()
    try:
        for name in ("1", "2"):
            log = tmp_path / f"worker-{name}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    [*REGIOHUB, "worker", "--queue", "mail", "--interval", "0.2",
                     "--no-schedule"],
                    env=env, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group
                )  # fmt: skip
            procs[proc.pid] = proc
            logs[proc.pid] = log
        wait_for(lambda: set(heartbeats().values()) == set(procs), "two heartbeats", list(procs))

        regiohub(
            "shell",
            "-c",
            "from regiohub.core.tests import sample_tasks as t; "
            f"t.slow_note.enqueue({SUBJECT!r}, {str(signals)!r}, 120)",
        )
        wait_for(lambda: len(runs()) == 1, "first run", list(procs))
        row = task_row()
        assert row is not None and row["status"] == "RUNNING"
        (a_id,) = row["workers"]
        a_pid = heartbeats()[a_id]
        (b_pid,) = set(procs) - {a_pid}
        assert runs() == [a_pid]

        # Freeze B (see the module docstring), then kill A in the middle of the task.
        os.killpg(b_pid, signal.SIGSTOP)
        os.killpg(a_pid, signal.SIGKILL)
        assert procs[a_pid].wait(timeout=10) == -signal.SIGKILL
        killed = time.monotonic()

        # The health check sees the orphan once A's lease expired.
        def health() -> dict[str, Any]:
            out = regiohub("shell", "-c", HEALTH)
            return json.loads(out.split("HEALTH ", 1)[1])

        def orphaned_for() -> int:
            queue = seen["default"]["checks"]["task_queue"]
            return queue["oldest_orphaned_s"] if queue["orphaned"] else -1

        seen = health()
        while orphaned_for() < 2:  # orphaned, and for longer than the strict threshold
            assert time.monotonic() - killed < STEP_S, "the orphan never showed in health"
            seen = health()
        orphan_seen = time.monotonic() - killed
        queue = seen["default"]["checks"]["task_queue"]
        assert (queue["running"], queue["orphaned"], queue["stuck"]) == (1, 1, 0)
        assert seen["default"]["status"] == "ok"  # within REGIOHUB_HEALTH_ORPHANED_SECONDS
        # Past the threshold (1 s here, 120 s by default) the whole status is an error.
        assert seen["strict"]["status"] == "error"
        assert seen["strict"]["checks"]["task_queue"]["status"] == "error"
        assert task_row()["status"] == "RUNNING"  # type: ignore[index]

        # B, thawed (not restarted), renews its lease, requeues the task and runs it.
        os.killpg(b_pid, signal.SIGCONT)
        thawed = time.monotonic()
        wait_for(lambda: task_row()["status"] == "SUCCESSFUL", "run by B", [b_pid])  # type: ignore[index]
        taken_over = time.monotonic() - thawed
        assert stop(procs[b_pid], logs[b_pid]) == 0
        b_log = logs[b_pid].read_text()
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGCONT)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    row = task_row()
    assert row is not None
    assert row["status"] == "SUCCESSFUL" and row["returned"] == "sent"
    assert row["workers"][0] == a_id and len(row["workers"]) == 2  # A, then B
    assert runs() == [a_pid, b_pid]
    assert "requeued tasks of a dead worker" in b_log and a_id in b_log
    # B stopped cleanly and deleted its row; dead A's stays (deleted after a day).
    assert heartbeats() == {a_id: a_pid}

    # Exactly one mail, with the Message-ID of the task's idempotency key.
    settings.SITE_URL = "http://127.0.0.1:8000"  # the workers' default
    mails = "".join(p.read_text() for p in (data_dir / "mail").glob("*.log"))
    assert mails.count(f"Subject: {SUBJECT}") == 1
    assert mails.count(f"Message-ID: {message_id(f'test-slow-note:{SUBJECT}')}") == 1
    print(
        f"lease {LEASE_S} s: orphan in health {orphan_seen:.1f} s after the kill, "
        f"run by B {taken_over:.1f} s after it was thawed, "
        f"whole test {time.monotonic() - started:.1f} s"
    )
