from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from regiohub.core.models import Organisation
from regiohub.core.models.organisation import OrganisationKind
from regiohub.meldpunt.models import ApiClient


class Command(BaseCommand):
    help = (
        "Create a client of the Open311 API and print its key, once (only its hash is "
        "stored). With --organisation, the client may file reports in that municipality only."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--name", required=True, help="Name of the app or partner.")
        parser.add_argument(
            "--organisation", help="Short code of the municipality (e.g. KOR); default: region."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = None
        if options["organisation"]:
            organisation = Organisation.objects.filter(
                kind=OrganisationKind.MUNICIPALITY, code=options["organisation"].upper()
            ).first()
            if organisation is None:
                raise CommandError(
                    _("No municipality with code %(code)s.") % {"code": options["organisation"]}
                )
        client, key = ApiClient.create_with_key(name=options["name"], organisation=organisation)
        self.stderr.write(
            _("API client %(name)s created. Its key, shown only now:") % {"name": client.name}
        )
        self.stdout.write(key)
