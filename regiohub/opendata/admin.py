"""Admin of the open data portal: the catalogues it harvests (decision 0031) are configured
here, harvested now, or stopped; their runs are shown read-only (only the harvester writes
them)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from regiohub.core.tasks import enqueue
from regiohub.opendata.harvest import fetch, run
from regiohub.opendata.models import HarvestRun, HarvestSource


class HarvestSourceForm(forms.ModelForm):
    url = forms.URLField(
        label=gettext_lazy("feed address"),
        max_length=1000,
        assume_scheme="https",
        help_text=gettext_lazy("The address of the catalogue's DCAT-AP feed (its first page)."),
    )

    class Meta:
        model = HarvestSource
        fields = ["name", "publisher", "url", "format", "interval_hours", "enabled"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        parts = urlsplit(url)
        if parts.scheme.lower() not in fetch.SCHEMES or not parts.hostname or "@" in parts.netloc:
            raise forms.ValidationError(
                _("Enter the feed's http or https address, without a user name or password.")
            )
        hosts = fetch.allowed_hosts()
        host = parts.hostname.lower()
        try:
            port = parts.port or fetch.DEFAULT_PORTS[parts.scheme.lower()]
        except ValueError:
            raise forms.ValidationError(_("Enter a valid port number.")) from None
        if not hosts.allows(host, port):
            raise forms.ValidationError(
                _(
                    "“%(host)s” is not an allowed host. Allowed: %(hosts)s. An administrator "
                    "can change the list with REGIOHUB_OPENDATA_HARVEST_HOSTS."
                )
                % {"host": host[:80], "hosts": hosts.names}
            )
        if fetch.url_problem(url, hosts) is not None:
            raise forms.ValidationError(
                _(
                    "“%(host)s” is an internal address: only a host named in "
                    "REGIOHUB_OPENDATA_HARVEST_HOSTS may be one."
                )
                % {"host": host[:80]}
            )
        return url


class HarvestRunInline(admin.TabularInline):
    model = HarvestRun
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-started_at", "-pk"]
    fields = [
        "started_at",
        "trigger",
        "status",
        "pages",
        "found",
        "created",
        "updated",
        "withdrawn",
        "unchanged",
        "skipped",
        "error",
        "notes",
    ]
    readonly_fields = fields

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(HarvestSource)
class HarvestSourceAdmin(admin.ModelAdmin):
    form = HarvestSourceForm
    list_display = [
        "name",
        "publisher",
        "enabled",
        "interval_hours",
        "last_run_at",
        "last_ok_at",
        "last_created",
        "last_updated",
        "last_withdrawn",
        "last_unchanged",
        "last_error",
    ]
    list_filter = ["enabled", "publisher"]
    search_fields = ["name", "url"]
    readonly_fields = [
        "last_run_at",
        "last_ok_at",
        "last_error",
        "last_created",
        "last_updated",
        "last_withdrawn",
        "last_unchanged",
        "leased_until",
    ]
    inlines = [HarvestRunInline]
    actions = ["harvest_now", "stop_and_withdraw"]

    @admin.action(description=gettext_lazy("Harvest now"))
    def harvest_now(self, request: Any, queryset: QuerySet[HarvestSource]) -> None:
        from regiohub.opendata.harvest.tasks import harvest_source

        started = 0
        for source in queryset.filter(enabled=True):
            enqueue(harvest_source, source.pk, "admin")
            started += 1
        messages.success(
            request,
            _("%(count)d harvest runs started; their results show here when they are done.")
            % {"count": started},
        )
        if started < queryset.count():
            messages.warning(request, _("Disabled sources are not harvested."))

    @admin.action(description=gettext_lazy("Stop: disable and withdraw its datasets"))
    def stop_and_withdraw(self, request: Any, queryset: QuerySet[HarvestSource]) -> None:
        withdrawn = sum(run.stop(source.pk, actor=request.user) for source in queryset)
        messages.success(
            request,
            _("%(count)d sources stopped; %(withdrawn)d datasets left the portal.")
            % {"count": queryset.count(), "withdrawn": withdrawn},
        )

    def delete_model(self, request: Any, obj: HarvestSource) -> None:
        """A deleted source's datasets leave the portal first (they would stay listed)."""
        run.stop(obj.pk, actor=request.user)
        super().delete_model(request, obj)

    def delete_queryset(self, request: Any, queryset: QuerySet[HarvestSource]) -> None:
        for source in queryset:
            run.stop(source.pk, actor=request.user)
        super().delete_queryset(request, queryset)
