from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from regiohub.core.tasks import requeue_stuck


class Command(BaseCommand):
    help = "Run background tasks from the database queue (regiohub worker)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--queue", action="append", help="Queue to serve (repeatable); default: all."
        )
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between polls.")
        parser.add_argument("--batch", action="store_true", help="Run the ready tasks, then exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        requeue_stuck()
        worker_args = ["--interval", str(options["interval"])]
        worker_args += ["--queue-name", ",".join(options["queue"]) if options["queue"] else "*"]
        if options["batch"]:
            worker_args += ["--batch", "--no-startup-delay"]
        call_command("db_worker", *worker_args)
