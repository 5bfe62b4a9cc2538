"""One registry base for every plugin family (connectors, feeds, and later delivery
channels, exporters, geocoders, decision engines).

A family is one :class:`Registry`, made once at module level by the app that owns it::

    connectors = Registry(
        "connectors",
        base=Connector,
        label=gettext_lazy("Back-office connectors"),
        builtin=("regiohub.meldpunt.contrib.webhook.connector", ...),
    )

and a plugin is a subclass of the family's base, decorated with ``connectors.register``.
Every plugin class has:

- a key, ``name`` by default (a family may use another attribute: feeds use ``kind``);
  it is what configurations store, so it never changes once used;
- a ``label`` (``gettext_lazy``), shown to people;
- a ``settings_form``: a ``django.forms.Form`` class that validates the plugin's
  settings, and describes them in the admin. Fields with a ``PasswordInput`` widget are
  the secrets (:func:`secret_fields`), stored sealed (``core.secrets``). A family whose
  plugins take no settings says ``has_settings=False``; its plugins then need no form.

Mistakes show at import, not at the first use: :meth:`Registry.register` refuses a class
without a key or a label, a key taken by another class (``TypeError``), and whatever the
family's own ``check(cls)`` refuses. Importing the same class again (a module reloaded)
just replaces it.

Built-in plugins are modules the registry imports the first time it is asked for a
plugin, so the built-in path and the extension path are the same path.

Core imports no module: a family registers itself with core when its registry is made, and
the admin page "Plugins" lists :func:`families`. The owning app imports its registry from
its ``admin`` module (or ``AppConfig.ready()``) so the family is listed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import Any, Generic, TypeVar

from django import forms
from django.utils.functional import Promise

T = TypeVar("T")

_families: dict[str, Registry[Any]] = {}


@dataclass(frozen=True)
class SettingInfo:
    """One field of a plugin's settings form, as the admin listing shows it."""

    name: str
    label: str
    type: str
    required: bool
    secret: bool
    help_text: str


@dataclass(frozen=True)
class PluginInfo:
    """One plugin, as the admin listing shows it."""

    name: str
    label: str
    path: str
    settings: tuple[SettingInfo, ...]


class Registry(Generic[T]):
    """The plugins of one family by key. See the module docstring."""

    def __init__(
        self,
        family: str,
        *,
        base: type[T],
        label: str | Promise,
        builtin: Sequence[str] = (),
        key: str = "name",
        has_settings: bool = True,
        check: Callable[[type[T]], None] | None = None,
    ) -> None:
        self.family = family
        self.base = base
        self.label = label
        self.builtin = tuple(builtin)
        self.key = key
        self.has_settings = has_settings
        self._check = check
        self._plugins: dict[str, type[T]] = {}
        self._loaded = False
        _add_family(self)

    def __repr__(self) -> str:
        return f"<Registry {self.family!r}>"

    def __copy__(self) -> Registry[T]:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Registry[T]:
        """One registry per family: a form field given ``choices=registry.choices`` is
        deep-copied with every form, and a copy would miss plugins registered later."""
        return self

    def register(self, cls: type[T]) -> type[T]:
        """Class decorator: make ``cls`` available under its key.

        Refuses (``TypeError``) a class that is not a plugin of this family, has no key,
        has a key another class already took, fails the family's :meth:`check`, or lacks
        a label or a settings form.
        """
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise TypeError(f"{cls!r} is not a {self.base.__name__}")
        name = getattr(cls, self.key, "")
        if not name or not isinstance(name, str):
            raise TypeError(f"{cls.__name__} has no {self.key}")
        existing = self._plugins.get(name)
        if existing is not None and _path(existing) != _path(cls):  # a re-import is fine
            raise TypeError(
                f"{self.family}: {self.key} {name!r} is taken by {existing.__name__}"
                f" ({_path(existing)}); {_path(cls)} needs another {self.key}"
            )
        self.check(cls)
        if not getattr(cls, "label", ""):
            raise TypeError(f"{cls.__name__} has no label")
        form = getattr(cls, "settings_form", None)
        if self.has_settings and not (isinstance(form, type) and issubclass(form, forms.Form)):
            raise TypeError(f"{cls.__name__}.settings_form must be a django.forms.Form class")
        self._plugins[name] = cls
        return cls

    def check(self, cls: type[T]) -> None:
        """The family's own checks (raise ``TypeError``): the ``check`` given to the
        constructor, or override this in a subclass."""
        if self._check is not None:
            self._check(cls)

    def key_of(self, cls: type[T]) -> str:
        """The key ``cls`` is registered under."""
        return str(getattr(cls, self.key))

    def get(self, name: str) -> type[T]:
        """The plugin registered as ``name`` (``KeyError`` if there is none)."""
        self._load_builtins()
        return self._plugins[name]

    def names(self) -> list[str]:
        """Every key, sorted."""
        self._load_builtins()
        return sorted(self._plugins)

    def all(self) -> list[type[T]]:
        """Every plugin, by key."""
        return [self._plugins[name] for name in self.names()]

    def choices(self) -> list[tuple[str, str]]:
        """``(key, label)`` pairs for a form or model field (callable as ``choices=``, so
        plugins registered later still show)."""
        return [(self.key_of(cls), str(getattr(cls, "label", ""))) for cls in self.all()]

    def listing(self) -> list[PluginInfo]:
        """Every plugin with its settings fields, for the admin page "Plugins"."""
        return [
            PluginInfo(
                name=self.key_of(cls),
                label=str(getattr(cls, "label", "")),
                path=_path(cls),
                settings=describe_settings(getattr(cls, "settings_form", None)),
            )
            for cls in self.all()
        ]

    def _load_builtins(self) -> None:
        if self._loaded:
            return
        for module in self.builtin:
            import_module(module)
        self._loaded = True


def families() -> list[Registry[Any]]:
    """Every plugin family made so far, by name."""
    return [_families[name] for name in sorted(_families)]


def secret_fields(form: type[forms.Form] | None) -> tuple[str, ...]:
    """The settings entered as passwords: the ones stored sealed (``core.secrets``)."""
    if form is None:
        return ()
    return tuple(
        name
        for name, field in form.base_fields.items()
        if isinstance(field.widget, forms.PasswordInput)
    )


def settings_errors(form: type[forms.Form], settings: Mapping[str, Any]) -> dict[str, list[str]]:
    """What is wrong with ``settings`` per field (empty when they validate): for a form
    that edits the settings as one JSON value and names each problem."""
    bound = form(data=dict(settings))
    if bound.is_valid():
        return {}
    return {name: [str(message) for message in errors] for name, errors in bound.errors.items()}


def describe_settings(form: type[forms.Form] | None) -> tuple[SettingInfo, ...]:
    """The fields of a settings form, in order."""
    if form is None:
        return ()
    secrets = set(secret_fields(form))
    return tuple(
        SettingInfo(
            name=name,
            label=str(field.label or name),
            type=_FIELD_TYPES.get(type(field).__name__, type(field).__name__),
            required=field.required,
            secret=name in secrets,
            help_text=str(field.help_text or ""),
        )
        for name, field in form.base_fields.items()
    )


#: How field classes read in the listing (others show their class name).
_FIELD_TYPES = {
    "CharField": "text",
    "URLField": "URL",
    "EmailField": "e-mail",
    "IntegerField": "integer",
    "FloatField": "number",
    "DecimalField": "number",
    "BooleanField": "yes/no",
    "DateTimeField": "date and time",
    "DateField": "date",
    "ChoiceField": "choice",
    "JSONField": "JSON",
}


def _add_family(registry: Registry[Any]) -> None:
    existing = _families.get(registry.family)
    if existing is not None and _path(existing.base) != _path(registry.base):
        raise TypeError(
            f"plugin family {registry.family!r} exists already (for {_path(existing.base)})"
        )
    _families[registry.family] = registry


def _path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"
