"""A plugin family used by the plugin tests (built-in plugins live at an importable module
path, so the family does too)."""

from __future__ import annotations

from typing import ClassVar

from django import forms
from django.utils.translation import gettext_lazy

from regiohub.core.plugins import Registry


class Greeter:
    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    settings_form: ClassVar[type[forms.Form] | None] = None


greeters: Registry[Greeter] = Registry(
    "sample-greeters",
    base=Greeter,
    label=gettext_lazy("Sample greeters"),
    builtin=("regiohub.core.tests.sample_plugins_builtin",),
)
