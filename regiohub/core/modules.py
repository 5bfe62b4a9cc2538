"""What a module adds to the platform, declared on its AppConfig instead of in central files.

A module's ``apps.py`` subclasses :class:`ModuleConfig` and fills in what it brings::

    class DashboardsConfig(ModuleConfig):
        name = "regiohub.dashboards"
        label = "dashboards"
        menu = (MenuEntry(_("Dashboards"), "dashboards:list", capability=VIEW_DASHBOARDS),)
        privacy = "regiohub.dashboards.privacy.handler"

        def connect(self) -> None:  # subscribe to events, register scheduled jobs
            ...

At start-up the base imports the module's ``permissions`` (capabilities and which roles
grant them) and ``events`` submodules when present, then calls :meth:`connect`. Its
settings live in the module's own ``settings.py`` (see ``regiohub.conf.module_settings``).
Core reads all of this through the functions below and never imports a module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import import_module
from importlib.util import find_spec
from typing import Any, Literal, Protocol

from django.apps import AppConfig, apps
from django.utils.functional import Promise

#: Where an entry shows: the public menu, the staff menu, or as a big button on the home page.
Area = Literal["public", "staff", "home"]


@dataclass(frozen=True)
class MenuEntry:
    """A link in the main menu. Staff entries show to people who hold ``capability`` in
    some organisation (any logged-in person when it is ``None``); public ones to all."""

    label: str | Promise
    url_name: str
    area: Area = "staff"
    capability: Any = None
    order: int = 50


@dataclass(frozen=True)
class UploadPath:
    """A path where large request bodies are allowed: the view checks who sends before
    it reads the body. ``megabytes`` names the setting that holds the limit."""

    pattern: str
    megabytes_setting: str
    compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", re.compile(self.pattern))


#: Answers a request the platform refuses before any view sees it (a NUL character in a
#: parameter, a control character in the path): ``(request, problem) -> response``, where
#: ``problem.message()`` is the explanation in the active language (see
#: ``core.middleware.BadInputMiddleware``). Declared as a dotted path, imported when first used.
BadInputResponse = Callable[[Any, Any], Any]


class PrivacyHandler(Protocol):
    """A module's answer to a data-subject request (GDPR articles 15 and 17)."""

    #: Shown in the export and the command's summary ("Contact point", "Datasets").
    label: str | Promise

    def export(self, email: str) -> dict[str, Any]:
        """Everything the module holds about the person with this e-mail address, as
        JSON-able data; an empty dict when it holds nothing."""

    def erase(self, email: str, *, actor_label: str) -> int:
        """Erase (or anonymise) it; return how many records changed. One transaction."""


class ModuleConfig(AppConfig):
    """Base AppConfig of a regiohub module."""

    #: Links this module adds to the main menu.
    menu: tuple[MenuEntry, ...] = ()
    #: Paths that accept large uploads.
    upload_paths: tuple[UploadPath, ...] = ()
    #: Dotted path to the module's :class:`PrivacyHandler` (an object or a class).
    privacy: str = ""
    #: Dotted path to a function returning OpenAPI ``paths`` and ``components`` for
    #: endpoints drf-spectacular cannot read (plain Django views such as Open311).
    openapi: str | tuple[str, ...] = ""
    #: Path prefix -> dotted path of a :data:`BadInputResponse`: how refused input is
    #: answered under that prefix (an API's own error format); plain text elsewhere.
    bad_input_responses: dict[str, str] = {}
    #: Path prefixes whose views take raw bodies with any bytes in them (a mail webhook)
    #: and clean what they store themselves: the platform checks their path and query
    #: string, not their body.
    raw_body_paths: tuple[str, ...] = ()
    #: Processes the demo needs next to the site (local stand-ins for outside services),
    #: as the arguments of ``python -m regiohub.cli``: ``(("documents", "stand-ins"),)``.
    #: ``regiohub serve --with-demo-services`` starts and supervises each.
    demo_services: tuple[tuple[str, ...], ...] = ()
    #: Submodules imported at start-up when they exist.
    startup_modules: tuple[str, ...] = ("permissions", "events")

    def ready(self) -> None:
        for submodule in self.startup_modules:
            dotted = f"{self.name}.{submodule}"
            if find_spec(dotted) is not None:
                import_module(dotted)
        self.connect()

    def connect(self) -> None:
        """Subscribe to events, register scheduled jobs and plugins (override)."""

    def privacy_handler(self) -> PrivacyHandler | None:
        if not self.privacy:
            return None
        module, _, attribute = self.privacy.rpartition(".")
        handler = getattr(import_module(module), attribute)
        return handler() if isinstance(handler, type) else handler


def all_modules() -> list[ModuleConfig]:
    """The installed modules, core first, in ``INSTALLED_APPS`` order."""
    return [config for config in apps.get_app_configs() if isinstance(config, ModuleConfig)]


def menu(area: Area, may: Callable[[Any], bool] = lambda capability: True) -> list[MenuEntry]:
    """Menu entries of ``area`` whose capability passes ``may`` (the caller's question
    "does this person hold it somewhere?"), in order."""
    entries = [
        entry
        for module in all_modules()
        for entry in module.menu
        if entry.area == area and (entry.capability is None or may(entry.capability))
    ]
    return sorted(entries, key=lambda entry: entry.order)


def upload_paths() -> Iterable[UploadPath]:
    for module in all_modules():
        yield from module.upload_paths


def bad_input_response(path: str) -> BadInputResponse | None:
    """The answer for refused input declared for the longest prefix of ``path``."""
    declared = [
        (prefix, dotted)
        for module in all_modules()
        for prefix, dotted in module.bad_input_responses.items()
        if path.startswith(prefix)
    ]
    if not declared:
        return None
    _prefix, dotted = max(declared, key=lambda item: len(item[0]))
    module, _, attribute = dotted.rpartition(".")
    found: BadInputResponse = getattr(import_module(module), attribute)
    return found


def is_raw_body_path(path: str) -> bool:
    return any(path.startswith(p) for module in all_modules() for p in module.raw_body_paths)


def openapi_fragments() -> list[dict[str, Any]]:
    """The hand-written OpenAPI parts of every module (see ``ModuleConfig.openapi``)."""
    found = []
    for module in all_modules():
        hooks = (module.openapi,) if isinstance(module.openapi, str) else module.openapi
        for hook in filter(None, hooks):
            dotted, _, name = hook.rpartition(".")
            found.append(getattr(import_module(dotted), name)())
    return found


def demo_services() -> list[tuple[str, ...]]:
    """The demo processes of every module (see ``ModuleConfig.demo_services``), in order."""
    return [service for module in all_modules() for service in module.demo_services]


def privacy_handlers() -> list[tuple[str, PrivacyHandler]]:
    """``(module label, handler)`` for every module that holds personal data."""
    found = []
    for module in all_modules():
        handler = module.privacy_handler()
        if handler is not None:
            found.append((module.label, handler))
    return found
