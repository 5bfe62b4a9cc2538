"""A connector push happens exactly once per event, also when the worker is killed.

Real ``regiohub worker`` processes on a file SQLite database in a fresh data directory, a
fake back office in the test process. One report is filed in Kortrijk, which has a webhook
connector; four workers run one after the other, each started with
``REGIOHUB_TASK_STUCK_MINUTES=0`` so that it requeues what the previous (dead) one was
running, and three of them are killed with SIGKILL at a precise point:

1. inside the event delivery, after the subscriber wrote the Delivery row and queued the
   push, before that transaction commits;
2. inside the event delivery again, right after it committed but before the task row was
   marked successful (the delivery is then done, and re-run by the next worker);
3. while the push is in flight: the back office has the request, its answer is delayed.

The fourth worker finishes the work. The delivery kills are made deterministic by a tiny
test-only app (written to ``tmp_path``, installed only in workers 1 and 2 through their
settings module) that pauses the subscriber at the named point and says so in a file.

Only one worker is alive at any time: with a stuck limit of zero minutes a starting worker
takes every RUNNING task for orphaned, which is only true because its predecessor is dead.
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

from regiohub.core.models import IdempotencyKey
from regiohub.core.testing import worker_env
from regiohub.core.tests.test_workers_per_queue import PROJECT, REGIOHUB, stop
from regiohub.meldpunt.contrib.connectors.testing import Answer, fake_server
from regiohub.meldpunt.contrib.webhook.connector import EVENT_HEADER, SIGNATURE_HEADER
from regiohub.meldpunt.models import Delivery

SUBSCRIBER = "meldpunt.connectors.report_filed"
DELIVER = "regiohub.core.events.deliver"
PUSH = "regiohub.meldpunt.contrib.connectors.tasks.push_report"
SECRET = "shared-secret-for-the-killed-worker-test"
#: Upper bound for one step (a worker's start-up included); the whole test takes ~20 s.
STEP_S = 20
#: How long the back office sits on its first answer: the push is in flight meanwhile.
ANSWER_DELAY_S = 3

#: Test-only app for workers 1 and 2: pause the connectors' subscriber at
#: ``REGIOHUB_TEST_KILL_POINT`` and write the point to ``REGIOHUB_TEST_PAUSED``.
KILLPOINT_APP = """
import os
import time
from pathlib import Path

from django.apps import AppConfig
from django.db import transaction


class KillPoint(AppConfig):
    name = "killpoint"

    def ready(self):
        from regiohub.meldpunt.contrib.connectors import services

        point = os.environ["REGIOHUB_TEST_KILL_POINT"]
        paused = Path(os.environ["REGIOHUB_TEST_PAUSED"])
        original = services.deliver_if_connected

        def pause():
            paused.write_text(point)
            time.sleep(120)  # until the test kills this worker

        def deliver_if_connected(report_id):
            delivery = original(report_id)
            if point == "before-commit":
                pause()  # inside the subscriber's transaction (core.tasks.once)
            else:
                transaction.on_commit(pause)  # after it, before the task row is updated
            return delivery

        services.deliver_if_connected = deliver_if_connected
"""
KILLPOINT_SETTINGS = """
from regiohub.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "killpoint.KillPoint"]  # noqa: F405
"""

SETUP = """
import json
from regiohub.core.demo.region import load_region
from regiohub.core.models import Organisation
from regiohub.meldpunt.demo import load_categories
from regiohub.meldpunt.models import ConnectorConfig
from regiohub.meldpunt.services import submit_report

load_region()
load_categories()
config = ConnectorConfig.objects.create(
    name="Back office Kortrijk",
    organisation=Organisation.objects.get(code="KOR"),
    connector="webhook",
    settings={{"url": {url!r}, "secret": {secret!r}, "timeout": 10}},
)
report = submit_report(
    category_code="pothole",
    description="Diep gat in het fietspad voor nummer 12.",
    latitude=50.8275,
    longitude=3.2649,
    channel="web",
    reporter_email="burger@example.org",
    consent=True,
).report
print("SETUP", json.dumps({{"report": report.pk, "config": config.pk}}))
"""


@pytest.mark.slow
def test_the_connector_push_happens_once_although_workers_are_killed(tmp_path):
    data_dir = tmp_path / "data"
    hooks = tmp_path / "hooks"
    paused = tmp_path / "paused"
    data_dir.mkdir()
    (hooks / "killpoint").mkdir(parents=True)
    (hooks / "killpoint" / "__init__.py").write_text(KILLPOINT_APP)
    (hooks / "killpoint_settings.py").write_text(KILLPOINT_SETTINGS)
    # A starting worker requeues what the dead one ran.
    env = worker_env(data_dir, REGIOHUB_TASK_STUCK_MINUTES="0")

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

    tasks_table = DBTaskResult._meta.db_table

    def task_rows(path: str) -> list[dict[str, Any]]:
        rows = query(
            f"SELECT status, args_kwargs, worker_ids, return_value FROM {tasks_table}"
            " WHERE task_path = ?",
            path,
        )
        return [
            {
                "status": status,
                "args": json.loads(args_kwargs)["args"],
                "workers": json.loads(worker_ids),
                "returned": json.loads(returned) if returned else None,
            }
            for status, args_kwargs, worker_ids, returned in rows
        ]

    def deliveries(report_id: int) -> list[tuple[int, str, str]]:
        return query(
            f"SELECT id, state, external_id FROM {Delivery._meta.db_table} WHERE report_id = ?",
            report_id,
        )

    workers: list[subprocess.Popen] = []

    def start_worker(kill_point: str | None = None) -> tuple[subprocess.Popen, Path]:
        log = tmp_path / f"worker-{len(workers) + 1}.log"
        worker_env = dict(env)
        if kill_point:
            paused.unlink(missing_ok=True)
            worker_env.update(
                PYTHONPATH=os.pathsep.join(filter(None, [str(hooks), env.get("PYTHONPATH")])),
                DJANGO_SETTINGS_MODULE="killpoint_settings",
                REGIOHUB_TEST_KILL_POINT=kill_point,
                REGIOHUB_TEST_PAUSED=str(paused),
            )
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [*REGIOHUB, "worker", "--no-schedule", "--interval", "0.2"],
                env=worker_env, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed as one
            )  # fmt: skip
        workers.append(worker)
        return worker, log

    def wait_for(
        condition: Callable[[], bool],
        what: str,
        worker: subprocess.Popen,
        log: Path,
        limit: float = STEP_S,
    ) -> None:
        deadline = time.monotonic() + limit
        while not condition():
            assert worker.poll() is None, f"the worker stopped before {what}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"no {what} after {limit} s:\n{log.read_text()}"
            time.sleep(0.05)

    def kill(worker: subprocess.Popen) -> None:
        os.killpg(worker.pid, signal.SIGKILL)
        assert worker.wait(timeout=10) == -signal.SIGKILL

    started = time.monotonic()
    regiohub("migrate", "--noinput")
    with fake_server(
        Answer(201, {"id": "BO-77"}, delay=ANSWER_DELAY_S), Answer(201, {"id": "BO-77"})
    ) as back_office:
        out = regiohub("shell", "-c", SETUP.format(url=back_office.url, secret=SECRET))
        ids = json.loads(out.split("SETUP ", 1)[1])
        report_id = ids["report"]
        try:
            # 1. Killed inside the subscriber's transaction: its Delivery row and push task
            # are rolled back with it; the event's task row stays RUNNING.
            worker, log = start_worker("before-commit")
            wait_for(paused.exists, "pause inside the event delivery", worker, log)
            kill(worker)
            assert deliveries(report_id) == []
            assert [t["status"] for t in task_rows(DELIVER) if t["args"][0] == SUBSCRIBER] == [
                "RUNNING"
            ]
            assert task_rows(PUSH) == []

            # 2. The next worker requeues the event and delivers it; killed right after the
            # commit, before the task row says so: the next one will deliver it again.
            worker, log = start_worker("after-commit")
            wait_for(paused.exists, "pause after the event delivery", worker, log)
            kill(worker)
            assert [state for _, state, _ in deliveries(report_id)] == ["pending"]
            assert [t["status"] for t in task_rows(DELIVER) if t["args"][0] == SUBSCRIBER] == [
                "RUNNING"
            ]
            assert [t["status"] for t in task_rows(PUSH)] == ["READY"]
            assert back_office.received == []

            # 3. Plain worker: re-delivers the event (skipped by its idempotency key) and
            # pushes; killed while the back office sits on its answer.
            worker, log = start_worker()
            wait_for(lambda: len(back_office.received) >= 1, "push request", worker, log)
            kill(worker)
            assert [state for _, state, _ in deliveries(report_id)] == ["pending"]
            assert [t["status"] for t in task_rows(PUSH)] == ["RUNNING"]

            # 4. The last worker requeues the orphaned push and finishes it.
            worker, log = start_worker()
            wait_for(
                lambda: [state for _, state, _ in deliveries(report_id)] == ["sent"],
                "sent delivery",
                worker,
                log,
                limit=30,
            )
            assert stop(worker, log) == 0
        finally:
            for worker in workers:
                if worker.poll() is None:
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.wait(timeout=10)
        received = list(back_office.received)
    elapsed = time.monotonic() - started

    # One delivery, sent, with the back office's id.
    ((delivery_id, state, external_id),) = deliveries(report_id)
    assert (state, external_id) == ("sent", "BO-77")

    # The back office got the push twice: worker 3 died before it could record the answer,
    # so nothing told worker 4 the first request had arrived (at least once is the best any
    # sender can do over HTTP). Both carry the same event id, body and signature: the
    # idempotency key with which the back office drops the second one.
    assert len(received) == 2
    # Both tries count towards the limit after which a delivery is given up.
    ((attempts,),) = query(
        f"SELECT attempts FROM {Delivery._meta.db_table} WHERE id = ?", delivery_id
    )
    assert attempts == 2
    assert {r.headers[EVENT_HEADER] for r in received} == {f"regiohub-delivery-{delivery_id}"}
    assert received[0].body == received[1].body
    assert {r.headers[SIGNATURE_HEADER] for r in received} == {
        received[0].headers[SIGNATURE_HEADER]
    }

    # The subscriber took effect once: one key, one task row (requeued, not duplicated) that
    # three workers ran, the last of which found the event delivered already.
    keys = query(
        f"SELECT key FROM {IdempotencyKey._meta.db_table} WHERE key LIKE 'event:%' AND key LIKE ?",
        f"%:{SUBSCRIBER}",
    )
    assert len(keys) == 1, keys
    (event_task,) = [t for t in task_rows(DELIVER) if t["args"][0] == SUBSCRIBER]
    assert event_task["status"] == "SUCCESSFUL"
    assert len(event_task["workers"]) == 3
    assert event_task["returned"] == "already delivered"
    assert keys[0][0] == f"event:{event_task['args'][3]}:{SUBSCRIBER}"

    # One push task row, run by worker 3 (killed) and worker 4.
    (push_task,) = task_rows(PUSH)
    assert push_task["status"] == "SUCCESSFUL"
    assert push_task["args"] == [delivery_id]
    assert len(push_task["workers"]) == 2
    assert push_task["returned"] == "sent"
    print(f"four workers, three killed, one push: {elapsed:.1f} s")
