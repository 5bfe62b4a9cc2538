from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from regiohub.core import access
from regiohub.core.models import Organisation
from regiohub.datasets.models import Dataset, LoadMode
from regiohub.datasets.permissions import MANAGE_DATA
from regiohub.datasets.quick_chart import AGGREGATIONS, chart_errors


class DatasetForm(forms.ModelForm):
    class Meta:
        model = Dataset
        fields = [
            "title", "slug", "description", "owner", "theme", "licence", "attribution",
            "access",
        ]  # fmt: skip
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ids = access.organisation_ids(user, MANAGE_DATA)
        self.fields["owner"].queryset = Organisation.objects.filter(pk__in=ids).order_by("name")
        if len(ids) == 1:
            self.fields["owner"].initial = next(iter(ids))


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV or text (any separator), Excel (.xlsx), JSON or NDJSON; also zipped."),
    )
    sheet = forms.CharField(
        label=_("Excel sheet"),
        required=False,
        max_length=100,
        help_text=_("Leave empty for the first sheet."),
    )
    delimiter = forms.ChoiceField(
        label=_("Separator"),
        required=False,
        choices=[
            ("", _("Detect")),
            (";", _("Semicolon ;")),
            (",", _("Comma ,")),
            ("|", _("Vertical bar |")),
            ("\t", _("Tab")),
        ],
    )
    encoding = forms.ChoiceField(
        label=_("Character encoding"),
        required=False,
        choices=[
            ("", _("Detect")),
            ("utf-8", "UTF-8"),
            ("cp1252", _("Windows (cp1252)")),
            ("utf-16", "UTF-16"),
        ],
    )
    decimal = forms.ChoiceField(
        label=_("Decimal separator"),
        required=False,
        choices=[("", _("Detect")), (",", _("Comma: 1.234,56")), (".", _("Point: 1,234.56"))],
    )

    def options(self) -> dict[str, str]:
        return {
            name: self.cleaned_data[name]
            for name in ("sheet", "delimiter", "encoding", "decimal")
            if self.cleaned_data.get(name)
        }


class ModeForm(forms.Form):
    mode = forms.ChoiceField(
        label=_("What to do with the rows"), choices=LoadMode.choices, widget=forms.RadioSelect
    )


class DatasetEditForm(DatasetForm):
    """The same fields without the short name: it is the dataset's address; whether the
    write API gathers calls into one version per interval; and, once the dataset has data,
    the default chart of its page (columns of the current version)."""

    CHART_FIELDS = ("x", "measure", "aggregation", "group")

    chart_x = forms.CharField(
        label=_("Default chart: along the axis"),
        required=False,
        help_text=_("Leave empty for a chart chosen from the columns."),
    )
    chart_measure = forms.CharField(label=_("Default chart: measure"), required=False)
    chart_aggregation = forms.ChoiceField(
        label=_("Default chart: aggregation"),
        required=False,
        choices=[("", "—"), *AGGREGATIONS.items()],
    )
    chart_group = forms.CharField(label=_("Default chart: one bar per (optional)"), required=False)

    class Meta(DatasetForm.Meta):
        fields = [*(f for f in DatasetForm.Meta.fields if f != "slug"), "write_batch_seconds"]

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        if self.is_bound and "write_batch_seconds" not in self.data:
            # A post without it (a script, a page loaded before it was offered) keeps it.
            self.data = self.data.copy()
            self.data["write_batch_seconds"] = str(self.instance.write_batch_seconds)
        version = self.instance.current_version if self.instance.pk else None
        self.schema: list[dict[str, Any]] = version.schema if version else []
        if not self.schema:
            for name in self.CHART_FIELDS:
                del self.fields[f"chart_{name}"]
            return
        columns = [("", "—"), *((c["key"], c["name"]) for c in self.schema)]
        numbers = [("", _("— (count the rows)"))] + [
            (c["key"], c["name"]) for c in self.schema if c["type"] in ("integer", "decimal")
        ]
        for name, choices in (("x", columns), ("measure", numbers), ("group", columns)):
            self.fields[f"chart_{name}"].widget = forms.Select(choices=choices)
        for name in self.CHART_FIELDS:
            self.fields[f"chart_{name}"].initial = (self.instance.chart or {}).get(name, "")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.schema:
            return cleaned
        chart = {name: cleaned.get(f"chart_{name}") or "" for name in self.CHART_FIELDS}
        if not any(chart.values()):
            cleaned["chart"] = {}  # the chart chosen from the columns
            return cleaned
        for name, message in chart_errors(chart, self.schema).items():
            self.add_error(f"chart_{name}", message)
        cleaned["chart"] = chart
        return cleaned

    def chart(self) -> dict[str, str] | None:
        """The chart settings to save; None when the dataset has no data to chart yet."""
        return self.cleaned_data.get("chart") if self.schema else None


class RestoreForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you restore this version?"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Kept in the dataset's history with your name, e.g. “the March file was wrong”."
        ),
    )
