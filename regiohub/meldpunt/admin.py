"""Configuration of the contact point (categories, SLA, closing days) for administrators."""

from django.contrib import admin, messages
from django.utils.translation import gettext as _

from regiohub.meldpunt.models import ApiClient, Category, ClosingDay, ExternalBody, MessageTemplate


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = [
        "name", "code", "organisation", "department", "response_days", "resolution_days",
        "allow_anonymous", "is_active",
    ]  # fmt: skip
    list_filter = ["organisation", "code", "allow_anonymous", "is_active"]
    search_fields = ["name", "name_fr", "name_en", "code"]


@admin.register(ClosingDay)
class ClosingDayAdmin(admin.ModelAdmin):
    list_display = ["date", "organisation", "description"]
    list_filter = ["organisation"]
    date_hierarchy = "date"


@admin.register(ExternalBody)
class ExternalBodyAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "email", "is_active"]
    search_fields = ["name", "code"]


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["title", "organisation", "status", "language", "is_active"]
    list_filter = ["organisation", "status", "language", "is_active"]
    search_fields = ["title", "body"]


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    """Apps that file reports through the Open311 API. The key is shown once, on creation."""

    list_display = ["name", "organisation", "is_active", "created_at"]
    list_filter = ["is_active", "organisation"]
    search_fields = ["name"]
    readonly_fields = ["created_at"]

    def save_model(self, request, obj, form, change) -> None:
        key = "" if change else obj.new_key()
        super().save_model(request, obj, form, change)
        if key:
            messages.warning(
                request,
                _("The API key of %(name)s is %(key)s. Copy it now: it is not shown again.")
                % {"name": obj.name, "key": key},
            )


# Back-office connectors: their admin lives with them (registers on import).
from regiohub.meldpunt.contrib.connectors import admin as connectors_admin  # noqa: E402, F401
