"""Configuration of the contact point (categories, SLA, closing days) for administrators."""

from django.contrib import admin

from regiohub.meldpunt.models import Category, ClosingDay, ExternalBody, MessageTemplate


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
