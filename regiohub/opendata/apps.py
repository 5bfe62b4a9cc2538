from django.utils.translation import gettext_lazy as _

from regiohub.core import modules
from regiohub.opendata.permissions import PUBLISH_OPEN_DATA


class OpendataConfig(modules.ModuleConfig):
    name = "regiohub.opendata"
    label = "opendata"
    verbose_name = _("Open data portal")

    menu = (
        modules.MenuEntry(_("Open data"), "opendata:catalogue", area="public", order=19),
        modules.MenuEntry(
            _("Open data portal"), "opendata:manage", capability=PUBLISH_OPEN_DATA, order=45
        ),
    )

    privacy = "regiohub.opendata.privacy.PrivacyHandler"
    #: A NUL or control character in a CKAN call gets CKAN's error envelope.
    bad_input_responses = {
        "/api/3/action/": "regiohub.opendata.ckan.views.bad_input",
        "/api/action/": "regiohub.opendata.ckan.views.bad_input",
    }

    def connect(self) -> None:
        from regiohub.opendata.schedule import register_jobs
        from regiohub.opendata.subscribers import subscribe

        subscribe()
        register_jobs()
