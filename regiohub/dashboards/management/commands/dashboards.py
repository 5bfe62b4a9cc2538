"""regiohub dashboards load <folder> | export <slug> [file]: dashboards as files.

``load`` saves every ``<slug>.yaml`` of a folder (a refused file is reported with its
problems and leaves its dashboard as it was; the exit status says whether any was
refused); ``export`` writes a saved dashboard back as the file it would load from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from regiohub.dashboards import services
from regiohub.dashboards.models import Dashboard


class Command(BaseCommand):
    help = "Load dashboards from <slug>.yaml files, or export one as a file."

    def add_arguments(self, parser: Any) -> None:
        verbs = parser.add_subparsers(dest="verb", required=True)
        load = verbs.add_parser("load", help="Save every <slug>.yaml in a folder.")
        load.add_argument("folder", nargs="?", help="Default: the dashboards the platform ships.")
        export = verbs.add_parser("export", help="Write a dashboard as <slug>.yaml.")
        export.add_argument("slug")
        export.add_argument("file", nargs="?", help="Default: print it.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verb"] == "export":
            found = Dashboard.objects.filter(slug=options["slug"]).first()
            if found is None:
                raise CommandError(f"No dashboard {options['slug']!r}.")
            if options.get("file"):
                Path(options["file"]).write_text(found.definition, encoding="utf-8")
            else:
                self.stdout.write(found.definition, ending="")
            return
        folder = Path(options["folder"]) if options.get("folder") else services.shipped_folder()
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder.")
        refused = report(services.load_folder(folder), self.stdout)
        if refused:
            raise CommandError(f"{refused} file(s) refused; their dashboards did not change.")


def report(results: list[services.FileResult], out: Any) -> int:
    refused = 0
    for result in results:
        if result.problems:
            refused += 1
            out.write(f"{result.path}: refused\n")
            for problem in result.problems:
                out.write(f"  - {problem}\n")
        else:
            state = "saved" if result.changed else "unchanged"
            out.write(f"{result.path}: {result.slug} {state}\n")
    return refused
