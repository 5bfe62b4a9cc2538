"""Admin for connectors and their deliveries; the dead-letter list is the "dead" filter."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from regiohub.core.plugins import settings_errors
from regiohub.core.secrets import SecretError, unseal_fields
from regiohub.meldpunt.contrib.connectors import registry
from regiohub.meldpunt.contrib.connectors.services import replay
from regiohub.meldpunt.models import ConnectorConfig, Delivery


class ConnectorConfigForm(forms.ModelForm):
    connector = forms.ChoiceField(label=gettext_lazy("connector"), choices=registry.choices)

    class Meta:
        model = ConnectorConfig
        fields = ["name", "organisation", "category_code", "connector", "settings", "is_active"]

    def clean(self) -> dict[str, Any]:
        """Settings are checked with the connector's settings form, each problem named
        (sealed secrets are opened first: the form checks the value, not the seal)."""
        data = super().clean()
        name = data.get("connector")
        if not name or "settings" in self.errors:
            return data
        settings = data.get("settings") or {}
        source = registry.get(name)
        if not isinstance(settings, dict):
            self.add_error("settings", _("Expected a JSON object."))
        elif source.settings_form is not None:
            try:
                opened = unseal_fields(settings, source.secret_settings)
            except SecretError as exc:
                self.add_error("settings", str(exc))
                return data
            for field, problems in settings_errors(source.settings_form, opened).items():
                self.add_error("settings", f"{field}: {' '.join(problems)}")
        return data


@admin.register(ConnectorConfig)
class ConnectorConfigAdmin(admin.ModelAdmin):
    form = ConnectorConfigForm
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
