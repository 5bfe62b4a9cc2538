"""Reading an action's parameters as CKAN's validators do (``ckan/logic/validators.py``,
``ckan/lib/navl/validators.py``): the same conversions, defaults and messages.

Parameters come from a query string (strings; a repeated one is a list) or a JSON body
(any JSON value), so every reader accepts both and refuses what it cannot use with a
field error, never an exception.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from regiohub.opendata.ckan.errors import invalid

#: Longest text parameter read (a question, a filter query); longer is refused.
MAX_TEXT = 20_000


def present(data: Mapping[str, Any], name: str) -> bool:
    value = data.get(name)
    return value is not None and not (isinstance(value, str) and not value.strip())


def text(data: Mapping[str, Any], name: str, default: str = "") -> str:
    """A string (numbers are taken as their text); lists and objects are refused."""
    value = data.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        raise invalid(name, _("Must be a string"))
    if len(value) > MAX_TEXT:
        raise invalid(name, _("At most %(n)d characters.") % {"n": MAX_TEXT})
    return value


def integer(data: Mapping[str, Any], name: str, default: int | None = None) -> int | None:
    """CKAN's ``int_validator``: a whole number (``"12"``, ``12``, ``12.0``), ``None``
    for an empty value."""
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip()[:100])
        except ValueError:
            pass
    raise invalid(name, _("Invalid integer"))


def natural(data: Mapping[str, Any], name: str, default: int | None = None) -> int | None:
    """CKAN's ``natural_number_validator``: 0 or more."""
    value = integer(data, name, default)
    if value is not None and value < 0:
        raise invalid(name, _("Must be a natural number"))
    return value


def boolean(data: Mapping[str, Any], name: str, default: bool = False) -> bool:
    """CKAN's ``asbool``: true, yes, on, y, t, 1 (any case); false, no, off, n, f, 0."""
    value = data.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool | int):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"true", "yes", "on", "y", "t", "1"}:
            return True
        if lowered in {"false", "no", "off", "n", "f", "0"}:
            return False
    raise invalid(name, _("Parameter is not an bool"))


def json_value(data: Mapping[str, Any], name: str) -> Any:
    """CKAN's ``convert_to_json_if_string``: a JSON text is read, anything else kept."""
    value = data.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            raise invalid(name, _("Could not parse as valid JSON")) from None
    return value


def list_of_strings(data: Mapping[str, Any], name: str, *, comma: bool = False) -> list[str]:
    """A list of strings: a JSON list, a repeated query parameter, or (``comma``) a
    comma-separated string."""
    value = data.get(name)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        if comma:
            return [part.strip() for part in value.split(",") if part.strip()]
        value = json_value(data, name)
    if not isinstance(value, list):
        raise invalid(name, _("Not a list"))
    for item in value:
        if not isinstance(item, str):
            raise invalid(name, _("Not a string: %(value)s") % {"value": str(item)[:80]})
    return value


def nul_in(value: Any, depth: int = 0) -> bool:
    """Whether a NUL character is anywhere in ``value`` (keys included)."""
    if depth > 50:
        return True  # nothing this API reads is that deep: refuse it as unreadable
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(nul_in(k, depth + 1) or nul_in(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return any(nul_in(v, depth + 1) for v in value)
    return False
