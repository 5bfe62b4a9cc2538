import json
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from regiohub.core import health


class Command(BaseCommand):
    help = "Check configuration, database, migrations and the task queue (regiohub check)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--deploy", action="store_true", help="Also run deployment checks.")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("check", deploy=options["deploy"], fail_level="ERROR")
        report = health.check()
        if report["checks"]["database"]["status"] == "ok":
            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
            report["checks"]["migrations"] = {
                "status": "ok" if not pending else "error",
                "pending": len(pending),
            }
            if pending:
                report["status"] = "error"
        self.stdout.write(json.dumps(report, indent=2))
        if report["status"] != "ok":
            raise CommandError("regiohub is not healthy; see the report above.")
