import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext as _

from regiohub.core import privacy
from regiohub.core.history import PRIVACY_COMMAND


class Command(BaseCommand):
    help = (
        "Answer a data-subject request in one go, over every module: 'export' writes what "
        "regiohub holds about a person as JSON (the right of access), 'erase' erases or "
        "anonymises it everywhere (the right to erasure)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["export", "erase"])
        parser.add_argument("--email", required=True, help="The person's e-mail address.")
        parser.add_argument("--output", help="export: write to this file instead of stdout.")
        parser.add_argument(
            "--by", default="", help="erase: who handles the request (recorded in history)."
        )
        parser.add_argument("--yes", action="store_true", help="erase: without asking again.")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"]
        try:
            if options["action"] == "export" or not options["yes"]:
                data = privacy.export(email)
            else:
                counts = privacy.erase(email, actor_label=options["by"] or PRIVACY_COMMAND)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["action"] == "export":
            text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
            if options["output"]:
                Path(options["output"]).write_text(text + "\n", encoding="utf-8")
                self.stderr.write(_("Written to %(path)s.") % {"path": options["output"]})
            else:
                self.stdout.write(text)
            return
        if not options["yes"]:
            for module in data["modules"]:
                self.stdout.write(module)
            raise CommandError(
                _("%(count)d module(s) hold data about this person. Add --yes to erase it.")
                % {"count": len(data["modules"])}
            )
        for module, count in counts.items():
            self.stdout.write(f"{module}: {count}")
        self.stderr.write(
            _("Erased: %(count)d record(s) in all.") % {"count": sum(counts.values())}
        )
