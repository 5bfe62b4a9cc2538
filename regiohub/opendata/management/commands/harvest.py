"""``regiohub harvest``: harvest other catalogues now, without waiting for the schedule."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from regiohub.opendata.harvest import run
from regiohub.opendata.harvest.errors import HarvestBusy
from regiohub.opendata.models import HarvestSource


class Command(BaseCommand):
    help = (
        "Harvest the DCAT-AP feeds of other catalogues into the open data portal now: one "
        "source (--source ID, repeatable) or every enabled one (--all)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--source",
            type=int,
            action="append",
            default=[],
            metavar="ID",
            help="The id of a harvest source (see the admin).",
        )
        parser.add_argument("--all", action="store_true", help="Every enabled source.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["all"] == bool(options["source"]):
            raise CommandError(_("Name --source ID, or --all."))
        if options["all"]:
            ids = list(HarvestSource.objects.filter(enabled=True).values_list("pk", flat=True))
        else:
            ids = options["source"]
            missing = sorted(
                set(ids)
                - set(HarvestSource.objects.filter(pk__in=ids).values_list("pk", flat=True))
            )
            if missing:
                raise CommandError(
                    _("No harvest source with id %(ids)s.")
                    % {"ids": ", ".join(str(i) for i in missing)}
                )
        failed = 0
        for source_id in ids:
            source = HarvestSource.objects.get(pk=source_id)
            try:
                done = run.harvest(source_id, trigger="command")
            except HarvestBusy:
                failed += 1
                self.stderr.write(
                    _("%(source)s: another run is harvesting it; try again later.")
                    % {"source": source.name}
                )
                continue
            if done.error:
                failed += 1
                self.stderr.write(
                    _("%(source)s: failed: %(error)s")
                    % {"source": source.name, "error": done.error}
                )
                continue
            self.stdout.write(
                _(
                    "%(source)s: %(created)d created, %(updated)d updated, %(withdrawn)d "
                    "withdrawn, %(unchanged)d unchanged (%(pages)d pages)."
                )
                % {
                    "source": source.name,
                    "created": done.created,
                    "updated": done.updated,
                    "withdrawn": done.withdrawn,
                    "unchanged": done.unchanged,
                    "pages": done.pages,
                }
            )
            for note in done.notes.splitlines():
                self.stdout.write(f"  {note}")
        if failed:
            raise CommandError(
                _("%(failed)d of %(count)d sources could not be harvested.")
                % {"failed": failed, "count": len(ids)}
            )
