from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from regiohub.core.history import PRIVACY_COMMAND
from regiohub.meldpunt.privacy import PersonNotGiven, erase_person_references, find_reports


class Command(BaseCommand):
    help = (
        "Erase a person's contact details from every report they filed (the right to "
        "erasure). The reports stay, anonymised; their follow-up links stop working."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--email", help="The person's e-mail address.")
        parser.add_argument("--phone", help="The person's phone number.")
        parser.add_argument(
            "--by",
            default="",
            help="Who handles the request (recorded in the reports' history).",
        )
        parser.add_argument("--yes", action="store_true", help="Erase without asking again.")

    def handle(self, *args: Any, **options: Any) -> None:
        email, phone = options["email"], options["phone"]
        try:
            if not options["yes"]:
                references = list(find_reports(email, phone).values_list("reference", flat=True))
                for reference in references:
                    self.stdout.write(reference)
                raise CommandError(
                    _("%(count)d report(s) would be anonymised. Add --yes to erase them.")
                    % {"count": len(references)}
                )
            actor_label = options["by"] or PRIVACY_COMMAND
            references = erase_person_references(email, phone, actor_label=actor_label)
        except PersonNotGiven as exc:
            raise CommandError(str(exc)) from exc
        for reference in references:
            self.stdout.write(reference)
        self.stderr.write(_("%(count)d report(s) anonymised.") % {"count": len(references)})
