from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "regiohub.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from regiohub.core import signals  # noqa: F401 - connects receivers
        from regiohub.core.logging import configure_structlog

        configure_structlog()

        from regiohub.core import schedule
        from regiohub.core.tasks import prune_task_results

        schedule.every_day("core.prune-task-results", prune_task_results, hour=4)
