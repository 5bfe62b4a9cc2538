"""The built-in plugin of the sample family: registered only when the family first needs it."""

from __future__ import annotations

from django import forms

from regiohub.core.tests.sample_plugins import Greeter, greeters


class HelloSettings(forms.Form):
    greeting = forms.CharField(label="Greeting", help_text="Said first.")
    api_key = forms.CharField(label="API key", widget=forms.PasswordInput, required=False)


@greeters.register
class Hello(Greeter):
    name = "hello"
    label = "Hello"
    settings_form = HelloSettings
