from django.utils.translation import gettext_lazy as _

from regiohub.core import modules


class DashboardsConfig(modules.ModuleConfig):
    name = "regiohub.dashboards"
    label = "dashboards"
    verbose_name = _("Dashboards")

    menu = (modules.MenuEntry(_("Dashboards"), "dashboards:list", area="public", order=18),)

    def connect(self) -> None:
        from regiohub.dashboards.subscribers import subscribe

        subscribe()
