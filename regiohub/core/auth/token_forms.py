"""The form a person creates an API token with."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from regiohub.core import api_tokens
from regiohub.core.models import Organisation, TokenScope

ALL = "all"
CHOSEN = "chosen"


class OrganisationChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What will use it, so you recognise it later, e.g. “Power BI traffic”."),
    )
    scope = forms.ChoiceField(
        label=_("The token may"),
        choices=TokenScope.choices,
        initial=TokenScope.READ,
        widget=forms.RadioSelect,
        help_text=_(
            "Read: query and download the datasets you may see. Read and write: also add "
            "and update rows of the datasets you manage, as in an upload."
        ),
    )
    reach = forms.ChoiceField(
        label=_("For which organisations"),
        choices=[
            (ALL, _("Every organisation I hold a role in, now and later")),
            (CHOSEN, _("Only the organisations I tick below")),
        ],
        initial=ALL,
        widget=forms.RadioSelect,
        help_text=_(
            "Never more than you may do yourself: when your roles change, the token follows."
        ),
    )
    organisations = OrganisationChoice(
        label=_("Organisations"),
        queryset=Organisation.objects.none(),  # the person's own: see __init__
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    expires_in_days = forms.TypedChoiceField(
        label=_("Valid for"),
        choices=api_tokens.EXPIRY_CHOICES,
        coerce=int,
        initial=api_tokens.DEFAULT_EXPIRY_DAYS,
        widget=forms.RadioSelect,
        help_text=_("After that the token stops working; create a new one then."),
    )

    #: Needed in one case only: their help says when.
    conditionally_required = ("organisations",)

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        organisations = cast(forms.ModelMultipleChoiceField, self.fields["organisations"])
        organisations.queryset = api_tokens.organisation_choices(user)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("reach") == CHOSEN and not data.get("organisations"):
            self.add_error("organisations", _("Tick at least one organisation."))
        return data

    def chosen_organisations(self) -> list[Any] | None:
        if self.cleaned_data["reach"] == ALL:
            return None
        return list(self.cleaned_data["organisations"])
