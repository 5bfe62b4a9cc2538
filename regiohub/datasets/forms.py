from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from regiohub.core import access
from regiohub.core.models import Organisation
from regiohub.datasets.models import Dataset, LoadMode
from regiohub.datasets.permissions import MANAGE_DATA


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
    """The same fields without the short name: it is the dataset's address."""

    class Meta(DatasetForm.Meta):
        fields = [f for f in DatasetForm.Meta.fields if f != "slug"]


class RestoreForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you restore this version?"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Kept in the dataset's history with your name, e.g. “the March file was wrong”."
        ),
    )
