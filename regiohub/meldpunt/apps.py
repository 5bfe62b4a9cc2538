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
        modules.MenuEntry(_("Reports"), "meldpunt:inbox", capability=HANDLE_REPORTS, order=10),
    )
    privacy = "regiohub.meldpunt.privacy.PrivacyHandler"

    def connect(self) -> None:
        from regiohub.meldpunt.contrib.connectors.services import subscribe
        from regiohub.meldpunt.schedule import register_jobs

        register_jobs()
        subscribe()
