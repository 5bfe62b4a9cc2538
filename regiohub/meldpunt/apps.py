from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MeldpuntConfig(AppConfig):
    name = "regiohub.meldpunt"
    label = "meldpunt"
    verbose_name = _("Contact point")

    def ready(self) -> None:
        from regiohub.meldpunt.schedule import register_jobs

        register_jobs()
