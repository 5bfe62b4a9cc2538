import threading
from typing import Any

import structlog
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection

from regiohub.core import schedule
from regiohub.core.tasks import requeue_stuck

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

    def handle(self, *args: Any, **options: Any) -> None:
        requeue_stuck()
        worker_args = ["--interval", str(options["interval"])]
        worker_args += ["--queue-name", ",".join(options["queue"]) if options["queue"] else "*"]
        if options["batch"]:
            worker_args += ["--batch", "--no-startup-delay"]
            if options["schedule"]:
                schedule.tick()
            call_command("db_worker", *worker_args)
            return

        stop = threading.Event()
        if options["schedule"]:
            threading.Thread(
                target=_ticker,
                args=(stop, options["schedule_interval"]),
                name="regiohub-scheduler",
                daemon=True,
            ).start()
        try:
            call_command("db_worker", *worker_args)
        finally:
            stop.set()
