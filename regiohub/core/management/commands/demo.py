"""regiohub demo: migrate, then load the demo region and each module's demo data."""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec
from typing import Any

from django.apps import apps
from django.core.management import call_command
from django.core.management.base import BaseCommand

from regiohub.core.demo.region import DEMO_DOMAIN, DEMO_PASSWORD, PEOPLE


class Command(BaseCommand):
    help = "Migrate the database and load the demo region (safe to run again)."

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        # Each regiohub module may ship demo data as <app>/demo/__init__.py: load(stdout).
        for config in apps.get_app_configs():
            if not config.name.startswith("regiohub."):
                continue
            module_name = f"{config.name}.demo"
            if find_spec(module_name) is None:
                continue
            module = import_module(module_name)
            if hasattr(module, "load"):
                module.load(self.stdout)
        self.stdout.write(f"\nDemo accounts (password: {DEMO_PASSWORD}):\n")
        self.stdout.write(f"  admin@{DEMO_DOMAIN}  (superuser)\n")
        for local, full_name, org, _dept, role in PEOPLE:
            self.stdout.write(f"  {local}@{DEMO_DOMAIN}  {full_name}, {role.label} ({org})\n")
        self.stdout.write(
            "At the first login you add the account to an authenticator app (QR code and "
            "secret are shown).\n"
        )
