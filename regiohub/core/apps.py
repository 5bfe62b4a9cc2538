from django.utils.translation import gettext_lazy as _

from regiohub.core import modules


class CoreConfig(modules.ModuleConfig):
    name = "regiohub.core"
    label = "core"
    verbose_name = _("Core")

    menu = (
        modules.MenuEntry(_("My organisations"), "core:staff-home", order=90),
        modules.MenuEntry(_("API tokens"), "core:api-tokens", order=95),
    )
    privacy = "regiohub.core.privacy.PrivacyHandler"
    openapi = "regiohub.core.openapi.health_paths"
    startup_modules = ("roles", "events")
    #: Refused input (a NUL character) on the REST API answered as DRF does: ``detail``.
    bad_input_responses = {"/api/v1/": "regiohub.core.middleware.api_bad_input"}

    def connect(self) -> None:
        from django.core import checks

        from regiohub.core.checks import deprecated_variables

        checks.register(deprecated_variables)
        from regiohub.core import signals  # noqa: F401 - connects receivers
        from regiohub.core.logging import configure_structlog

        configure_structlog()

        from regiohub.core import schedule
        from regiohub.core.tasks import prune_task_results

        schedule.every_day("core.prune-task-results", prune_task_results, hour=4)
