"""Admin for connectors and their deliveries; the dead-letter list is the "dead" filter."""

from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from regiohub.meldpunt.contrib.connectors.services import replay
from regiohub.meldpunt.models import ConnectorConfig, Delivery


@admin.register(ConnectorConfig)
class ConnectorConfigAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "category_code", "connector", "is_active"]
    list_filter = ["connector", "is_active", "organisation"]
    search_fields = ["name", "category_code"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["report", "config", "state", "attempts", "last_error", "updated_at"]
    list_filter = ["state", "config"]
    search_fields = ["report__reference", "external_id"]
    readonly_fields = [
        "report", "config", "external_id", "state", "attempts", "last_error", "created_at",
        "updated_at", "replayed_at",
    ]  # fmt: skip
    actions = ["replay_deliveries"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description=gettext_lazy("Replay: push again"))
    def replay_deliveries(self, request, queryset) -> None:
        count = replay(queryset)
        messages.success(request, _("%(count)d deliveries queued again.") % {"count": count})
