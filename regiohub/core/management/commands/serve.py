"""regiohub serve: gunicorn serving the WSGI app; whitenoise serves the static files."""

from __future__ import annotations

import gc
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from gunicorn.app.base import BaseApplication

from regiohub.core import modules
from regiohub.core.supervise import Supervisor


def _freeze_startup_objects(worker: Any) -> None:
    """Move everything loaded at start-up (Django, the URL conf, templates) out of the
    garbage collector's sight: full collections then scan only per-request objects, which
    cuts the GC pauses that made up most of the inbox's p99 (bench/meldpunt_inbox.py)."""
    gc.collect()
    gc.freeze()


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from regiohub.wsgi import application

        return application


class Command(BaseCommand):
    help = "Serve regiohub with a production WSGI server (regiohub serve)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port to listen on.")
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="Worker processes (default: WEB_CONCURRENCY).",
        )
        parser.add_argument("--threads", type=int, default=4, help="Threads per worker.")
        parser.add_argument(
            "--with-worker",
            action="store_true",
            help="Also run one background task worker (handy on a single machine); it is "
            "restarted with back-off when it dies.",
        )
        parser.add_argument(
            "--with-demo-services",
            action="store_true",
            help="Also run the processes the modules declare for the demo (local stand-ins "
            "for outside services, such as the letters' eBox and print partner); each is "
            "restarted with back-off when it dies and stopped at exit.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # In a child process: the manifest must be read fresh by the server afterwards.
        subprocess.run(
            [sys.executable, "-m", "regiohub.cli", "collectstatic", "--noinput", "-v", "0"],
            check=True,
        )
        worker = None
        if options["with_worker"]:
            # Restarted with back-off when it dies (docs/operations.md).
            worker = Supervisor([sys.executable, "-m", "regiohub.cli", "worker"])
            worker.start()
        services = []
        if options["with_demo_services"]:
            for service in modules.demo_services():
                supervisor = Supervisor(
                    [sys.executable, "-m", "regiohub.cli", *service], name=" ".join(service)
                )
                supervisor.start()
                services.append(supervisor)
        try:
            _Gunicorn(
                {
                    "bind": options["bind"],
                    "workers": options["workers"] or settings.WEB_CONCURRENCY,
                    "threads": options["threads"],
                    "worker_class": "gthread",
                    "accesslog": "-",
                    "logger_class": "regiohub.core.redact.GunicornLogger",
                    "timeout": 60,
                    "graceful_timeout": 20,
                    "post_worker_init": _freeze_startup_objects,
                }
            ).run()
        finally:
            for supervisor in services:
                supervisor.stop()
            if worker is not None:
                worker.stop()
