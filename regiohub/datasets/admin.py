"""Admin for datasets: feeds are configured here (kind, settings, interval); versions and
loads are shown read-only (they change only through the services)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from regiohub.core.secrets import unseal_fields
from regiohub.core.tasks import enqueue
from regiohub.datasets.feeds import registry
from regiohub.datasets.feeds.base import FeedSettingsError
from regiohub.datasets.models import Dataset, DatasetVersion, Feed, Load


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "owner", "theme", "access", "licence"]
    list_filter = ["access", "theme", "owner"]
    search_fields = ["title", "slug"]
    readonly_fields = ["storage_key", "created_by", "created_at", "updated_at"]


@admin.register(DatasetVersion)
class DatasetVersionAdmin(admin.ModelAdmin):
    list_display = ["dataset", "number", "row_count", "rows_added", "rows_updated", "created_at"]
    list_filter = ["dataset"]
    readonly_fields = [f.name for f in DatasetVersion._meta.fields]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Load)
class LoadAdmin(admin.ModelAdmin):
    list_display = ["dataset", "filename", "source", "state", "error_count", "created_at"]
    list_filter = ["state", "source"]
    readonly_fields = [f.name for f in Load._meta.fields]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class FeedForm(forms.ModelForm):
    kind = forms.ChoiceField(label=gettext_lazy("kind"), choices=registry.choices)

    class Meta:
        model = Feed
        fields = ["dataset", "kind", "settings", "interval_minutes", "is_active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("kind")
        if kind:
            source = registry.get(kind)
            opened = unseal_fields(data.get("settings") or {}, source.secret_settings())
            try:
                source.clean_settings(opened)
            except FeedSettingsError as exc:
                for name, problems in exc.errors.items():
                    self.add_error("settings", f"{name}: {' '.join(problems)}")
        return data


@admin.register(Feed)
class FeedAdmin(admin.ModelAdmin):
    form = FeedForm
    list_display = ["dataset", "kind", "interval_minutes", "is_active", "last_run_at", "last_error"]
    list_filter = ["kind", "is_active"]
    readonly_fields = ["cursor", "last_run_at", "last_error"]
    actions = ["run_now"]

    @admin.action(description=gettext_lazy("Fetch now"))
    def run_now(self, request: Any, queryset: Any) -> None:
        from regiohub.datasets.tasks import run_feed

        for feed in queryset:
            enqueue(run_feed, feed.pk)
        messages.success(request, _("%(count)d feeds started.") % {"count": queryset.count()})
