from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from regiohub.meldpunt import layers
from regiohub.meldpunt.models import AssetLayer, LayerFormat
from regiohub.meldpunt.services.routing import moves


class Command(BaseCommand):
    help = (
        "Import a new version of an asset layer from a GeoJSON file or a Wegenregister "
        "delivery (zip), then list the open reports the rules would now route elsewhere."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("layer", help="The layer's code (see the admin: Asset layers).")
        parser.add_argument("file", help="The GeoJSON file or the Wegenregister zip.")
        parser.add_argument("--format", choices=LayerFormat.values, default="")
        parser.add_argument("--source", default="", help="Where the file comes from.")
        parser.add_argument("--licence", required=True)
        parser.add_argument("--attribution", default="")
        for name in ("id", "name", "manager", "manager-name"):
            parser.add_argument(f"--{name}-property", default="", help="GeoJSON property.")

    def handle(self, *args: Any, **options: Any) -> None:
        layer = AssetLayer.objects.filter(code=options["layer"]).first()
        if layer is None:
            raise CommandError(_("No layer with code %(code)s.") % {"code": options["layer"]})
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("No file %(path)s.") % {"path": path})
        file_format = options["format"] or (
            LayerFormat.WEGENREGISTER if path.suffix.lower() == ".zip" else LayerFormat.GEOJSON
        )
        try:
            version = layers.import_layer(
                layer,
                path.read_bytes(),
                file_format=file_format,
                source=options["source"] or path.name,
                licence=options["licence"],
                attribution=options["attribution"],
                id_property=options["id_property"],
                name_property=options["name_property"],
                manager_property=options["manager_property"],
                manager_name_property=options["manager_name_property"],
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(
            _("Layer %(layer)s: version %(version)d with %(count)d features.")
            % {"layer": layer.code, "version": version.number, "count": version.feature_count}
        )
        from regiohub.meldpunt.models import Report

        candidates = (
            Report.objects.open()
            .filter(organisation__routing_rules__layer=layer)
            .select_related("category__department")
            .distinct()
        )
        for move in moves(candidates):
            self.stdout.write(
                _("%(reference)s would move from %(before)s to %(after)s")
                % {"reference": move.report.reference, "before": move.before,
                   "after": move.after_name}
            )  # fmt: skip
