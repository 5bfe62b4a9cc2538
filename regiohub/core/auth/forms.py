from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


class LoginForm(forms.Form):
    username = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=200,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        self.request = request
        self.user: Any = None
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.errors:
            return data
        self.user = authenticate(self.request, username=data["username"], password=data["password"])
        if self.user is None or not self.user.is_active:
            raise forms.ValidationError(
                _("This e-mail address and password do not match an active account."),
                code="invalid_login",
            )
        return data


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Six-digit code"),
        min_length=6,
        max_length=8,
        help_text=_("The code your authenticator app shows now."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9 ]*",
                "autofocus": True,
            }
        ),
    )

    def clean_token(self) -> str:
        token = self.cleaned_data["token"].replace(" ", "")
        if not token.isdigit():
            raise forms.ValidationError(_("The code consists of digits only."), code="digits")
        return token
