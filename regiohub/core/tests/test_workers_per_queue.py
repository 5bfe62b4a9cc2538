"""A worker per queue: a mail goes out while a long data task keeps the data worker busy.

Two real ``regiohub worker`` processes on a file SQLite database in a fresh data directory,
as docs/scaling.md tells operators to run them.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django_tasks_db.models import DBTaskResult

from regiohub.core.testing import worker_env

PROJECT = Path(__file__).resolve().parents[3]
REGIOHUB = [sys.executable, "-m", "regiohub.cli"]
#: Upper bound for any one step (process start-up included); the test takes a few seconds.
WAIT_S = 60


def wait_for(condition: Callable[[], bool], what: str, workers: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        for worker in workers:
            assert worker.poll() is None, f"a worker stopped while waiting for {what}"
        assert time.monotonic() < deadline, f"no {what} after {WAIT_S} s"
        time.sleep(0.1)


def stop(worker: subprocess.Popen, log: Path) -> int:
    """SIGTERM (a worker finishes its task, then exits), then a hard kill after a while."""
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            return worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
            raise AssertionError(f"worker ignored SIGTERM:\n{log.read_text()[-2000:]}") from None
    return worker.returncode


@pytest.mark.slow
def test_mail_is_sent_while_a_long_data_task_runs(tmp_path):
    data_dir = tmp_path / "data"
    signals = tmp_path / "signals"  # the data task's started/release files
    data_dir.mkdir()
    signals.mkdir()
    env = worker_env(data_dir)

    def regiohub(*args: str) -> None:
        done = subprocess.run(
            [*REGIOHUB, *args], env=env, cwd=PROJECT, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-3000:]

    def enqueue(code: str) -> None:
        regiohub("shell", "-c", f"from regiohub.core.tests import sample_tasks as t; {code}")

    regiohub("migrate", "--noinput")
    database = data_dir / "regiohub.sqlite3"
    assert database.exists()

    def statuses() -> dict[str, str]:
        with sqlite3.connect(database, timeout=10) as db:
            rows = db.execute(
                f"SELECT task_path, status FROM {DBTaskResult._meta.db_table}"
            ).fetchall()
        return {path.rsplit(".", 1)[1]: status for path, status in rows}

    def mails() -> str:
        return "".join(p.read_text() for p in (data_dir / "mail").glob("*.log"))

    workers: list[subprocess.Popen] = []
    logs: list[Path] = []
    started = time.monotonic()
    try:
        for queue in ("data", "mail"):
            log = tmp_path / f"worker-{queue}.log"
            with log.open("wb") as out:
                workers.append(
                    subprocess.Popen(
                        [*REGIOHUB, "worker", "--queue", queue, "--interval", "0.2",
                         "--no-schedule"],
                        env=env, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT,
                        start_new_session=True,  # its own process group, killed as one
                    )
                )  # fmt: skip
            logs.append(log)
        enqueue(f"t.wait_for_release.enqueue({str(signals)!r}, {WAIT_S * 2})")
        wait_for(lambda: (signals / "started").exists(), "start of the data task", workers)

        enqueue("t.send_note.enqueue('sent while the data worker is busy')")
        wait_for(lambda: "sent while the data worker is busy" in mails(), "mail", workers)
        # The mail went out while the data task was still running (not timed out).
        assert statuses() == {"wait_for_release": "RUNNING", "send_note": "SUCCESSFUL"}

        (signals / "release").touch()
        wait_for(
            lambda: statuses()["wait_for_release"] == "SUCCESSFUL", "end of the data task", workers
        )
        assert all(stop(w, log) == 0 for w, log in zip(workers, logs, strict=True))
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)
    print(f"two workers, mail during a data task: {time.monotonic() - started:.1f} s")
