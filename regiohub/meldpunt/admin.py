"""Configuration of the contact point (categories, SLA, closing days) for administrators."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from regiohub.meldpunt.models import (
    ApiClient,
    AssetLayer,
    Category,
    CategoryAttribute,
    ClosingDay,
    ExternalBody,
    LayerFormat,
    LayerVersion,
    MessageTemplate,
    RoutingRule,
    SatisfactionOption,
    SlaCalendar,
)


class CategoryAttributeInline(admin.StackedInline):
    """The category's extra questions, asked on the form, in the intake and in Open311."""

    model = CategoryAttribute
    extra = 0
    fields = [
        ("code", "order", "datatype", "required"),
        ("label", "label_fr", "label_en"),
        ("help_text", "help_text_fr", "help_text_en"),
        "values",
    ]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    inlines = [CategoryAttributeInline]
    list_display = [
        "name", "code", "organisation", "department", "response_days", "resolution_days",
        "allow_anonymous", "is_active", "is_public_on_map", "map_generalise_m",
    ]  # fmt: skip
    list_filter = ["organisation", "code", "allow_anonymous", "is_active", "is_public_on_map"]
    search_fields = ["name", "name_fr", "name_en", "code"]


@admin.register(ClosingDay)
class ClosingDayAdmin(admin.ModelAdmin):
    list_display = ["date", "organisation", "description", "repeats_yearly"]
    list_filter = ["organisation", "repeats_yearly"]
    date_hierarchy = "date"


@admin.register(SlaCalendar)
class SlaCalendarAdmin(admin.ModelAdmin):
    """Per organisation: whether 11 July stops the SLA clock (on without a row)."""

    list_display = ["organisation", "flemish_community_holiday"]
    list_filter = ["flemish_community_holiday"]


@admin.register(ExternalBody)
class ExternalBodyAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "email", "manager_codes", "acknowledge_days", "is_active"]
    search_fields = ["name", "code", "manager_codes"]


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["title", "organisation", "status", "language", "is_active"]
    list_filter = ["organisation", "status", "language", "is_active"]
    search_fields = ["title", "body"]


@admin.register(SatisfactionOption)
class SatisfactionOptionAdmin(admin.ModelAdmin):
    """The standard answers to "Are you satisfied?" (ADR 0039). A municipality with active
    answers of its own offers only those; the others the region-wide ones."""

    list_display = ["text", "organisation", "position", "satisfied", "is_active"]
    list_editable = ["position", "is_active"]
    list_filter = ["organisation", "satisfied", "is_active"]
    search_fields = ["text", "text_fr", "text_en"]
    fields = ["organisation", "position", "text", "text_fr", "text_en", "satisfied", "is_active"]


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    """Apps that file reports through the Open311 API. The key is shown once, on creation."""

    list_display = ["name", "organisation", "external_body", "is_active", "created_at"]
    list_filter = ["is_active", "organisation", "external_body"]
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


class LayerVersionInline(admin.TabularInline):
    model = LayerVersion
    extra = 0
    can_delete = False
    fields = ["number", "file_format", "source", "licence", "feature_count", "sha256",
              "imported_at", "imported_by"]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class LayerImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File"))
    file_format = forms.ChoiceField(label=gettext_lazy("Format"), choices=LayerFormat.choices)
    source = forms.CharField(label=gettext_lazy("Source"), max_length=300)
    licence = forms.CharField(label=gettext_lazy("Licence"), max_length=200)
    attribution = forms.CharField(label=gettext_lazy("Attribution"), max_length=500, required=False)
    id_property = forms.CharField(
        label=gettext_lazy("GeoJSON property with the id"), initial="id", required=False
    )
    name_property = forms.CharField(
        label=gettext_lazy("GeoJSON property with the name"), initial="name", required=False
    )
    manager_property = forms.CharField(
        label=gettext_lazy("GeoJSON property with the manager's code"),
        initial="manager",
        required=False,
    )


@admin.register(AssetLayer)
class AssetLayerAdmin(admin.ModelAdmin):
    """Layers that decide who owns a report; a new version is imported from a file."""

    list_display = ["name", "code", "kind", "current_version", "is_demo", "is_active"]
    list_filter = ["kind", "is_demo", "is_active"]
    readonly_fields = ["current_version"]
    inlines = [LayerVersionInline]
    change_form_template = "admin/meldpunt/assetlayer/change_form.html"

    def get_urls(self):
        return [
            path(
                "<int:pk>/import/",
                self.admin_site.admin_view(self.import_view),
                name="meldpunt_assetlayer_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request, pk: int):
        from regiohub.meldpunt import layers

        layer = get_object_or_404(AssetLayer, pk=pk)
        if not self.has_change_permission(request, layer):
            return redirect("admin:index")
        form = LayerImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                version = layers.import_layer(
                    layer,
                    data["file"].read(layers.MAX_FILE_BYTES + 1),
                    file_format=data["file_format"],
                    source=data["source"],
                    licence=data["licence"],
                    attribution=data["attribution"],
                    actor=request.user,
                    id_property=data["id_property"],
                    name_property=data["name_property"],
                    manager_property=data["manager_property"],
                )
            except ValidationError as error:
                form.add_error("file", error)
            else:
                messages.success(
                    request,
                    _("Version %(version)d imported with %(count)d features.")
                    % {"version": version.number, "count": version.feature_count},
                )
                return redirect("meldpunt:staff-routing-moves", layer.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": layer,
            "form": form,
            "title": _("Import a new version of %(layer)s") % {"layer": layer.display_name},
        }
        return TemplateResponse(request, "admin/meldpunt/assetlayer/import.html", context)


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    """Per municipality, in order: which subjects near which layer go to whom."""

    list_display = [
        "organisation", "position", "category_codes", "layer", "max_distance_m",
        "manager_codes", "owner_kind", "external_body", "department", "is_active",
    ]  # fmt: skip
    list_filter = ["organisation", "layer", "owner_kind", "is_active"]
    list_editable = ["position", "is_active"]
    ordering = ["organisation", "position"]


# Back-office connectors: their admin lives with them (registers on import).
from regiohub.meldpunt.contrib.connectors import admin as connectors_admin  # noqa: E402, F401
