from django.utils.translation import gettext_lazy as _

from regiohub.core import modules
from regiohub.meldpunt.permissions import HANDLE_REPORTS


class MeldpuntConfig(modules.ModuleConfig):
    name = "regiohub.meldpunt"
    label = "meldpunt"
    verbose_name = _("Contact point")

    menu = (
        modules.MenuEntry(_("Report a problem"), "meldpunt:report", area="public", order=10),
        modules.MenuEntry(
            _("Report a problem or ask a question"), "meldpunt:report", area="home", order=10
        ),
        modules.MenuEntry(_("Open reports on the map"), "meldpunt:map", area="home", order=11),
        modules.MenuEntry(_("Reports"), "meldpunt:inbox", capability=HANDLE_REPORTS, order=10),
    )
    privacy = "regiohub.meldpunt.privacy.PrivacyHandler"
    openapi = (
        "regiohub.meldpunt.contrib.open311.openapi.paths",
        "regiohub.meldpunt.contrib.open311.openapi.other_json_endpoints",
        "regiohub.meldpunt.views.public_map.openapi_paths",
    )
    #: Refused input (a NUL character) answered in the error format of the path's API.
    bad_input_responses = {
        "/open311/v2/": "regiohub.meldpunt.contrib.open311.views.refused",
        "/meldpunt/mail/inbound/": "regiohub.meldpunt.contrib.mail.views.refused",
        "/meldpunt/connectors/": "regiohub.meldpunt.contrib.mail.views.refused",
        "/melden/kaart/meldingen.json": "regiohub.meldpunt.views.public_map.refused",
    }
    #: The mail webhook takes raw MIME (also as a form field) and cleans what it stores.
    raw_body_paths = ("/meldpunt/mail/inbound/",)

    def connect(self) -> None:
        from regiohub.meldpunt import places
        from regiohub.meldpunt.contrib.connectors.services import subscribe
        from regiohub.meldpunt.schedule import register_jobs
        from regiohub.meldpunt.services import routing

        register_jobs()
        subscribe()
        places.subscribe()
        routing.subscribe()
