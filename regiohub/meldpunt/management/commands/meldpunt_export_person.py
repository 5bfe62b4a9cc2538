import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext as _

from regiohub.meldpunt.privacy import PersonNotGiven, export_person


class Command(BaseCommand):
    help = (
        "Export, as JSON, every report a person filed and the messages exchanged with them "
        "(the right of access). Matches the e-mail address in any case and the phone number "
        "on its digits."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--email", help="The person's e-mail address.")
        parser.add_argument("--phone", help="The person's phone number.")
        parser.add_argument("--output", help="Write to this file instead of standard output.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            data = export_person(email=options["email"], phone=options["phone"])
        except PersonNotGiven as exc:
            raise CommandError(str(exc)) from exc
        text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
        if options["output"]:
            Path(options["output"]).write_text(text + "\n", encoding="utf-8")
            self.stderr.write(
                _("%(count)d report(s) written to %(path)s.")
                % {"count": len(data["reports"]), "path": options["output"]}
            )
        else:
            self.stdout.write(text)
