"""Django admin: configuration for administrators, never the daily work screen."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

import regiohub.core.geocoding  # noqa: F401 - lists the "geocoders" family
from regiohub.core import access, plugins
from regiohub.core.auth.decorators import fully_authenticated
from regiohub.core.models import Department, HistoryEntry, Membership, Organisation, User


class RegiohubAdminSite(admin.AdminSite):
    site_header = "regiohub"

    def has_permission(self, request: HttpRequest) -> bool:
        """Configuration is for superusers with a second factor; organisation
        administrators work in the staff pages, which are scoped to their organisations."""
        return (
            super().has_permission(request)
            and request.user.is_superuser
            and fully_authenticated(request)
        )

    def get_urls(self) -> list[URLPattern | URLResolver]:
        return [
            path("plugins/", self.admin_view(self.plugins_view), name="plugins"),
            *super().get_urls(),
        ]

    def plugins_view(self, request: HttpRequest) -> TemplateResponse:
        """Every plugin family with its plugins and their settings, read-only: what an
        administrator may choose in a configuration, and what each choice asks for."""
        context = {
            **self.each_context(request),
            "title": _("Plugins"),
            "families": [
                {
                    "name": family.family,
                    "label": family.label,
                    "key": family.key,
                    "plugins": family.listing(),
                }
                for family in plugins.families()
            ],
        }
        return TemplateResponse(request, "admin/core/plugins.html", context)

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        """The index and the side bar also show "Plugins", one row per family."""
        app_list = super().get_app_list(request, app_label)
        if app_label is None and plugins.families():
            url = reverse("admin:plugins", current_app=self.name)
            rows = [
                {
                    "name": family.label,
                    "object_name": f"plugins-{family.family}",
                    "admin_url": f"{url}#{family.family}",
                    "add_url": None,
                    "view_only": True,
                }
                for family in plugins.families()
            ]
            app_list.append(
                {"name": _("Plugins"), "app_label": "plugins", "app_url": url, "models": rows}
            )
        return app_list


admin.site.__class__ = RegiohubAdminSite


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind", "nis_code", "population", "parent"]
    list_filter = ["kind"]
    search_fields = ["name", "name_fr", "code", "nis_code"]
    exclude = ["boundary"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organisation]:
        return access.scope(super().get_queryset(request), request.user, via="pk")


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "email", "is_active"]
    list_filter = ["organisation", "is_active"]
    search_fields = ["name", "name_fr", "name_en"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Department]:
        return access.scope(super().get_queryset(request), request.user)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["email", "full_name", "is_active", "is_superuser", "last_login"]
    search_fields = ["email", "full_name"]
    exclude = ["password", "user_permissions", "groups"]
    readonly_fields = ["last_login", "date_joined"]
    inlines = [MembershipInline]


@admin.register(HistoryEntry)
class HistoryEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "who", "action", "content_type", "object_id"]
    list_filter = ["action", "content_type"]

    @admin.display(description=gettext_lazy("who"), ordering="actor_label")
    def who(self, entry: HistoryEntry) -> str:
        return entry.actor_display

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[HistoryEntry]:
        return access.scope(super().get_queryset(request), request.user)
