"""The dashboards the platform ships, loaded for the demo region (after its datasets:
``dashboards`` comes after ``datasets`` in ``MODULES``), and those of the folders in
``REGIOHUB_DASHBOARDS_FOLDERS``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

from regiohub.dashboards import services
from regiohub.dashboards.management.commands.dashboards import report


def load(out: Any) -> None:
    folders = [services.shipped_folder(), *(Path(f) for f in settings.DASHBOARDS_FOLDERS)]
    for folder in folders:
        if folder.is_dir():
            report(services.load_folder(folder), out)
        else:
            out.write(f"Dashboards: no folder {folder}, skipped.\n")
