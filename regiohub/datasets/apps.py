from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DatasetsConfig(AppConfig):
    name = "regiohub.datasets"
    label = "datasets"
    verbose_name = _("Datasets")

    def ready(self) -> None:
        from regiohub.datasets.schedule import register_jobs

        register_jobs()
