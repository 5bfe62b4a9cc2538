"""TOPdesk gets each report once and each of regiohub's changes once, although workers are
killed with SIGKILL in the middle of the pushes (issue 19 §7, "broken on purpose").

Real ``regiohub worker`` processes on a file SQLite database, the strict fake TOPdesk in
the test process. Twelve reports are filed in Kortrijk, which pushes every subject to
TOPdesk; workers are killed as soon as the fake has taken some incidents, then later some
actions, each started with ``REGIOHUB_TASK_STUCK_MINUTES=0`` so that it requeues what its
dead predecessor was running (one worker alive at a time). The incident push looks up the
reference before it creates (``externalNumber``), an action looks for its marker first:
what a killed worker sent and never recorded is found again, not sent twice.
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

from regiohub.core.testing import worker_env
from regiohub.core.tests.test_workers_per_queue import PROJECT, REGIOHUB, stop
from regiohub.meldpunt.contrib.topdesk.fake import fake_topdesk, settings_for
from regiohub.meldpunt.models import Delivery

REPORTS = 12
CHANGES = 6
STEP_S = 40

SETUP = """
import json
from regiohub.core.demo.region import load_region
from regiohub.core.models import Organisation
from regiohub.meldpunt.demo import load_categories
from regiohub.meldpunt.models import ConnectorConfig
from regiohub.meldpunt.services import submit_report

load_region()
load_categories()
ConnectorConfig.objects.create(
    name="TOPdesk Kortrijk",
    organisation=Organisation.objects.get(code="KOR"),
    connector="topdesk",
    settings=json.loads({settings!r}),
)
ids = [
    submit_report(
        category_code="pothole",
        description=f"Put nummer {{n}} in het fietspad <b>voor</b> de school & de kerk.",
        latitude=50.8275 + n / 10000,
        longitude=3.2649,
        channel="web",
        reporter_email=f"burger{{n}}@example.org",
        consent=True,
    ).report.pk
    for n in range({reports})
]
print("SETUP", json.dumps(ids))
"""

CHANGE = """
from regiohub.meldpunt.models import Report
from regiohub.meldpunt.services import change_status

for report in Report.objects.order_by("pk")[:{changes}]:
    change_status(report, "in_progress", actor=None, reason="Ploeg is onderweg")
"""


@pytest.mark.slow
def test_topdesk_gets_each_report_and_change_once_although_workers_are_killed(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = worker_env(data_dir, REGIOHUB_TASK_STUCK_MINUTES="0")
    database = data_dir / "regiohub.sqlite3"

    def regiohub(*args: str) -> str:
        done = subprocess.run(
            [*REGIOHUB, *args], env=env, cwd=PROJECT, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def query(sql: str) -> list[tuple]:
        with sqlite3.connect(database, timeout=10) as db:
            return db.execute(sql).fetchall()

    def unfinished_tasks() -> int:
        table = DBTaskResult._meta.db_table
        return query(f"SELECT COUNT(*) FROM {table} WHERE status IN ('READY', 'RUNNING')")[0][0]

    def sent() -> int:
        table = Delivery._meta.db_table
        return query(f"SELECT COUNT(*) FROM {table} WHERE state = 'sent'")[0][0]

    workers: list[tuple[subprocess.Popen, Path]] = []

    def start_worker() -> tuple[subprocess.Popen, Path]:
        log = tmp_path / f"worker-{len(workers) + 1}.log"
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [*REGIOHUB, "worker", "--no-schedule", "--interval", "0.1"],
                env=env, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed as one
            )  # fmt: skip
        workers.append((worker, log))
        return worker, log

    def wait_for(condition: Callable[[], bool], what: str, worker: Any, log: Path) -> None:
        deadline = time.monotonic() + STEP_S
        while not condition():
            assert worker.poll() is None, f"the worker stopped before {what}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"no {what} after {STEP_S} s:\n{log.read_text()}"
            time.sleep(0.02)

    def kill(worker: subprocess.Popen) -> None:
        os.killpg(worker.pid, signal.SIGKILL)
        assert worker.wait(timeout=10) == -signal.SIGKILL

    regiohub("migrate", "--noinput")
    with fake_topdesk() as fake:
        settings = json.dumps(settings_for(fake, timeout=10))
        out = regiohub("shell", "-c", SETUP.format(settings=settings, reports=REPORTS))
        assert len(json.loads(out.split("SETUP ", 1)[1])) == REPORTS
        try:
            # Killed three times while incidents come in, at whatever step each push is.
            for after in (2, 5, 8):
                worker, log = start_worker()
                wait_for(lambda n=after: fake.counts["incident"] >= n, "incidents", worker, log)
                kill(worker)
            worker, log = start_worker()
            wait_for(lambda: sent() == REPORTS and not unfinished_tasks(), "pushes", worker, log)
            stop(worker, log)

            numbers = [i["externalNumber"] for i in fake.incidents.values()]
            assert len(numbers) == REPORTS == len(set(numbers)), numbers
            assert fake.counts["incident"] == REPORTS

            # regiohub's own status changes go back as actions: killed during those too.
            regiohub("shell", "-c", CHANGE.format(changes=CHANGES))
            worker, log = start_worker()
            wait_for(lambda: fake.counts["action"] >= 2, "actions", worker, log)
            kill(worker)
            worker, log = start_worker()
            wait_for(lambda: not unfinished_tasks(), "the actions", worker, log)
            stop(worker, log)
        finally:
            for worker, log in workers:
                if worker.poll() is None:
                    stop(worker, log)

        actions = [len(i.get("actions", [])) for i in fake.incidents.values()]
        assert sorted(actions) == [0] * (REPORTS - CHANGES) + [1] * CHANGES, actions
        assert fake.counts["action"] == CHANGES
        assert fake.counts["refused"] == 0
