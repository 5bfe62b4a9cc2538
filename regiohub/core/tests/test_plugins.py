"""Every plugin family shares one registry: the same rules for keys, labels, settings and
built-ins, and one read-only admin page that lists them all."""

from __future__ import annotations

import sys
from typing import ClassVar

import pytest
from django import forms
from django.test import Client

from regiohub.core import plugins
from regiohub.core.plugins import Registry
from regiohub.core.testing import staff_client
from regiohub.core.tests.factories import UserFactory
from regiohub.core.tests.sample_plugins import Greeter, greeters


@pytest.fixture(autouse=True)
def _english(settings):
    """These tests read the English labels and messages (Dutch is the default)."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


class Widget:
    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    settings_form: ClassVar[type[forms.Form] | None] = None


class Empty(forms.Form):
    pass


@pytest.fixture
def widgets(monkeypatch: pytest.MonkeyPatch) -> Registry[Widget]:
    """A family of its own for the test, gone from :func:`plugins.families` afterwards."""
    monkeypatch.setattr(plugins, "_families", dict(plugins._families))
    return Registry("test-widgets", base=Widget, label="Widgets")


def make(name: str, *, qualname: str | None = None, **attrs: object) -> type[Widget]:
    cls = type(qualname or name.title(), (Widget,), {"name": name, "label": name.title()})
    cls.settings_form = Empty
    for attr, value in attrs.items():
        setattr(cls, attr, value)
    return cls


def test_plugins_are_found_by_name_sorted_with_choices_for_forms(widgets):
    beta, alpha = widgets.register(make("beta")), widgets.register(make("alpha"))

    assert widgets.get("alpha") is alpha
    assert widgets.names() == ["alpha", "beta"]
    assert widgets.all() == [alpha, beta]
    assert widgets.choices() == [("alpha", "Alpha"), ("beta", "Beta")]
    with pytest.raises(KeyError):
        widgets.get("gamma")


def test_a_name_taken_by_another_class_is_refused(widgets):
    widgets.register(make("alpha", qualname="First"))

    with pytest.raises(TypeError, match="'alpha' is taken by First"):
        widgets.register(make("alpha", qualname="Second"))
    assert widgets.get("alpha").__name__ == "First"


def test_registering_the_same_class_again_is_fine(widgets):
    """A module imported twice (reloaded) makes a new class object with the same path."""
    widgets.register(make("alpha"))
    again = widgets.register(make("alpha"))

    assert widgets.get("alpha") is again


def test_a_plugin_needs_a_name_a_label_a_settings_form_and_the_right_base(widgets):
    with pytest.raises(TypeError, match="has no name"):
        widgets.register(make(""))
    with pytest.raises(TypeError, match="has no label"):
        widgets.register(make("alpha", label=""))
    with pytest.raises(TypeError, match=r"settings_form must be a django\.forms\.Form"):
        widgets.register(make("alpha", settings_form=None))
    with pytest.raises(TypeError, match="is not a Widget"):
        widgets.register(type("Stranger", (), {"name": "stranger", "label": "Stranger"}))
    assert widgets.names() == []


def test_a_family_without_settings_needs_no_form(monkeypatch):
    monkeypatch.setattr(plugins, "_families", dict(plugins._families))
    plain = Registry("test-plain", base=Widget, label="Plain", has_settings=False)

    plain.register(make("alpha", settings_form=None))

    (info,) = plain.listing()
    assert (info.name, info.label, info.settings) == ("alpha", "Alpha", ())


def test_the_family_check_and_another_key_attribute(monkeypatch):
    monkeypatch.setattr(plugins, "_families", dict(plugins._families))

    def needs_colour(cls: type[Widget]) -> None:
        if not getattr(cls, "colour", ""):
            raise TypeError(f"{cls.__name__} has no colour")

    kinds = Registry("test-kinds", base=Widget, label="Kinds", key="kind", check=needs_colour)
    with pytest.raises(TypeError, match="has no colour"):
        kinds.register(make("alpha", kind="a"))
    kinds.register(make("alpha", kind="a", colour="red"))

    assert kinds.names() == ["a"]
    assert kinds.choices() == [("a", "Alpha")]


def test_built_in_plugins_load_when_first_needed():
    assert greeters.names() == ["hello"]
    assert "regiohub.core.tests.sample_plugins_builtin" in sys.modules
    (info,) = greeters.listing()
    greeting, api_key = info.settings
    assert (greeting.name, greeting.type, greeting.required, greeting.secret) == (
        "greeting",
        "text",
        True,
        False,
    )
    assert (api_key.name, api_key.secret) == ("api_key", True)
    assert plugins.secret_fields(greeters.get("hello").settings_form) == ("api_key",)


def test_families_register_themselves_once(widgets):
    assert widgets in plugins.families()
    assert greeters in plugins.families()
    with pytest.raises(TypeError, match="'test-widgets' exists already"):
        Registry("test-widgets", base=Greeter, label="Other widgets")


def test_settings_errors_name_each_field():
    form = greeters.get("hello").settings_form

    assert plugins.settings_errors(form, {"greeting": "hi"}) == {}
    assert list(plugins.settings_errors(form, {})) == ["greeting"]


@pytest.mark.django_db
def test_the_admin_lists_every_family_read_only_for_superusers_only():
    greeters.names()
    admin = staff_client(UserFactory(superuser=True))

    page = admin.get("/admin/plugins/")

    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="sample-greeters"' in text and "Sample greeters" in text
    assert "<code>hello</code>" in text and "<code>api_key</code>" in text
    assert "secret: stored sealed" in text
    # the real families, registered by their apps (core imports none of them)
    assert 'id="connectors"' in text and 'id="feeds"' in text
    assert "/admin/plugins/" in admin.get("/admin/").content.decode()

    anonymous = Client().get("/admin/plugins/")
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    staff = staff_client(UserFactory())
    assert staff.get("/admin/plugins/").status_code == 302


def test_a_form_field_with_the_choices_sees_plugins_registered_later(widgets):
    class Pick(forms.Form):
        widget = forms.ChoiceField(choices=widgets.choices)

    widgets.register(make("alpha"))

    assert list(Pick().fields["widget"].choices) == [("alpha", "Alpha")]
