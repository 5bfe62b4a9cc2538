import threading
import time
from typing import Any

import structlog
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection

from regiohub.core import heartbeat, schedule
from regiohub.core.tasks import requeue_orphaned, requeue_stuck

log = structlog.get_logger(__name__)


def _ticker(stop: threading.Event, every: float) -> None:
    """Enqueue the due periodic jobs every ``every`` seconds until ``stop`` is set.

    Runs in its own thread, so it has its own database connection; that connection is
    closed after each tick (the worker thread's transactions are never touched).
    """
    while not stop.is_set():
        try:
            close_old_connections()
            schedule.tick()
        except Exception:
            log.exception("scheduler tick failed")
        finally:
            connection.close()
        stop.wait(every)


def _heartbeat(
    stop: threading.Event, worker_id: str, queues: list[str], sweep_every: float
) -> None:
    """Renew this worker's lease every few seconds and, every ``sweep_every`` seconds,
    requeue the tasks of workers whose lease expired (see :mod:`regiohub.core.heartbeat`).

    Like the ticker, a thread with its own database connection, closed after each round.
    """
    # The worker swept once before starting this thread (see Command.handle).
    next_sweep = time.monotonic() + sweep_every
    while not stop.is_set():
        try:
            close_old_connections()
            if not heartbeat.beat(worker_id) and not stop.is_set():
                heartbeat.register(worker_id, queues)  # the row was deleted meanwhile
            if time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + sweep_every
                requeue_orphaned()
                heartbeat.forget_long_dead()
        except Exception:
            log.exception("worker heartbeat failed")
        finally:
            connection.close()
        stop.wait(heartbeat.beat_interval())


class Command(BaseCommand):
    help = "Run background tasks from the database queue (regiohub worker)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--queue", action="append", help="Queue to serve (repeatable); default: all."
        )
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between polls.")
        parser.add_argument("--batch", action="store_true", help="Run the ready tasks, then exit.")
        parser.add_argument(
            "--no-schedule",
            action="store_false",
            dest="schedule",
            help="Do not enqueue the periodic jobs (daily digests, retention, ...).",
        )
        parser.add_argument(
            "--schedule-interval",
            type=float,
            default=60.0,
            help="Seconds between two checks for periodic jobs that are due.",
        )
        parser.add_argument(
            "--requeue-interval",
            type=float,
            default=None,
            help="Seconds between two looks for tasks of dead workers to requeue "
            "(default: half of REGIOHUB_TASK_LEASE_SECONDS, at most 30).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        queues = options["queue"] or ["*"]
        worker_id = heartbeat.new_worker_id()
        # Registered before the first claim: a task of ours is never taken for an orphan.
        heartbeat.register(worker_id, queues)
        log.info(
            "worker started",
            worker_id=worker_id,
            queues=queues,
            lease_s=settings.TASK_LEASE_SECONDS,
        )
        # Sweep once here, before the heartbeat thread starts: the two sweeps of the same
        # task table would otherwise run at the same moment in two connections (SQLite's
        # shared in-memory database refuses that at once: "database table is locked").
        requeue_stuck()  # the last resort; the heartbeat thread requeues within a lease
        requeue_orphaned()
        stop = threading.Event()
        beats = threading.Thread(
            target=_heartbeat,
            args=(
                stop,
                worker_id,
                queues,
                options["requeue_interval"] or heartbeat.sweep_interval(),
            ),
            name="regiohub-heartbeat",
            daemon=True,
        )
        beats.start()
        try:
            self._run(worker_id, stop, options)
        finally:
            stop.set()
            beats.join(timeout=10)
            try:
                heartbeat.forget(worker_id)
            except Exception:
                log.exception("could not delete the worker's heartbeat", worker_id=worker_id)

    def _run(self, worker_id: str, stop: threading.Event, options: dict[str, Any]) -> None:
        worker_args = ["--interval", str(options["interval"]), "--worker-id", worker_id]
        worker_args += ["--queue-name", ",".join(options["queue"]) if options["queue"] else "*"]
        if options["batch"]:
            worker_args += ["--batch", "--no-startup-delay"]
            if options["schedule"]:
                schedule.tick()
            call_command("db_worker", *worker_args)
            return

        if options["schedule"]:
            threading.Thread(
                target=_ticker,
                args=(stop, options["schedule_interval"]),
                name="regiohub-scheduler",
                daemon=True,
            ).start()
        call_command("db_worker", *worker_args)
