from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MeldpuntConfig(AppConfig):
    name = "regiohub.meldpunt"
    label = "meldpunt"
    verbose_name = _("Contact point")
