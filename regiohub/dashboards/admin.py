"""Dashboards in the admin: the data team edits a dashboard's definition as text (the same
YAML as a ``<slug>.yaml`` file), imports a file, downloads one. Every save goes through
``services.save_definition``: a definition with problems is refused with each one named,
and the dashboard saved before stays as it was."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from regiohub.dashboards import services
from regiohub.dashboards.definitions import MAX_BYTES, DefinitionError
from regiohub.dashboards.models import Dashboard, Origin


class DashboardForm(forms.ModelForm):
    definition = forms.CharField(
        label=gettext_lazy("definition (YAML)"),
        widget=forms.Textarea(attrs={"rows": 30, "cols": 100, "spellcheck": "false"}),
        required=False,
        help_text=gettext_lazy(
            "The dashboard as a <slug>.yaml file writes it: see docs/dashboards.md."
        ),
    )
    upload = forms.FileField(
        label=gettext_lazy("or import a file"),
        required=False,
        help_text=gettext_lazy("A <slug>.yaml file; it replaces the text above."),
    )

    class Meta:
        model = Dashboard
        fields = ["definition", "position"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        upload = data.get("upload")
        text: str | bytes = data.get("definition") or ""
        name = ""
        if upload:
            if upload.size > MAX_BYTES:
                raise forms.ValidationError(
                    _("A dashboard definition may be at most %(kb)d KB.")
                    % {"kb": MAX_BYTES // 1024}
                )
            text, name = upload.read(), upload.name
        if not text:
            raise forms.ValidationError(_("Write the definition or import a file."))
        try:
            from regiohub.dashboards.definitions import parse

            parsed = parse(text, name=name)
        except DefinitionError as error:
            raise forms.ValidationError(
                [forms.ValidationError(p) for p in error.problems]
            ) from None
        if self.instance.pk and parsed.slug != self.instance.slug:
            raise forms.ValidationError(
                _("The slug is “%(slug)s”: a dashboard keeps its slug (its address).")
                % {"slug": self.instance.slug}
            )
        problems = services.check(parsed, actor=self.user)
        if problems:
            raise forms.ValidationError([forms.ValidationError(p) for p in problems])
        data["text"], data["name"] = text, name
        return data


@admin.register(Dashboard)
class DashboardAdmin(admin.ModelAdmin):
    form = DashboardForm
    list_display = ["slug", "__str__", "audience", "origin", "revision", "updated_at"]
    list_filter = ["audience", "origin"]
    search_fields = ["slug", "definition"]
    actions = ["download"]
    readonly_fields = ["audience", "origin", "revision", "updated_at", "updated_by"]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.user = request.user
        return form

    def save_model(self, request: HttpRequest, obj: Dashboard, form: Any, change: bool) -> None:
        data = form.cleaned_data
        try:
            saved = services.save_definition(
                data["text"], actor=request.user, origin=Origin.ADMIN, name=data["name"]
            )
        except DefinitionError as error:  # changed between the form's check and now
            messages.error(request, "; ".join(error.problems))
            return
        if obj.position != saved.dashboard.position:
            Dashboard.objects.filter(pk=saved.dashboard.pk).update(position=obj.position)
        obj.pk = saved.dashboard.pk
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The service sets the organisations from the definition."""

    def delete_model(self, request: HttpRequest, obj: Dashboard) -> None:
        services.delete_dashboard(obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Dashboard]) -> None:
        for dashboard in queryset:
            services.delete_dashboard(dashboard, actor=request.user)

    @admin.action(description=gettext_lazy("Download as <slug>.yaml"))
    def download(self, request: HttpRequest, queryset: QuerySet[Dashboard]) -> HttpResponse:
        chosen = list(queryset.order_by("slug"))
        if len(chosen) != 1:
            self.message_user(request, _("Choose one dashboard to download."), messages.WARNING)
            return None  # type: ignore[return-value]
        response = HttpResponse(
            chosen[0].definition, content_type="application/yaml; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{chosen[0].slug}.yaml"'
        return response
