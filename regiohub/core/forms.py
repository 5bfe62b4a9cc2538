from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from regiohub.core.models import Department, Organisation
from regiohub.core.roles import Role


class DepartmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    name_fr = forms.CharField(
        label=_("Name in French"),
        max_length=200,
        required=False,
        help_text=_("Shown on French pages. Empty: the name above."),
    )
    name_en = forms.CharField(
        label=_("Name in English"),
        max_length=200,
        required=False,
        help_text=_("Shown on English pages. Empty: the name above."),
    )
    email = forms.EmailField(
        label=_("E-mail"), required=False, help_text=_("Shared mailbox of the department.")
    )


class MembershipForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    full_name = forms.CharField(
        label=_("Full name"),
        max_length=200,
        help_text=_("Used when the person has no account yet; they receive an invitation."),
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.none(),
        required=False,
        empty_label=_("Whole organisation"),
    )

    def __init__(self, organisation: Organisation, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        department = cast(forms.ModelChoiceField, self.fields["department"])
        department.queryset = organisation.departments.filter(is_active=True)
