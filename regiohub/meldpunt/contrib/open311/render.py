"""Open311 output: XML (the required format) and JSON (the Spark convention mapping).

XML is built with ElementTree, so every text is escaped; it is only ever output, never
parsed. Element names follow the spec exactly.

Every list element carries a ``count`` attribute (``<service_requests count="0"/>``). The
spec has no attributes, and parsers ignore ones they do not expect; but the fetchers apps
are written with (xmltodict, XML::Simple, PHP's SimpleXML) turn an element with neither
children nor attributes into nothing (None, an empty string), so a naive
``doc["service_requests"].get("request", [])`` fails on an empty list. With the attribute
the list element is always a mapping, and "no items" is an empty list (decision 0034).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import Any

from django.http import HttpResponse

FORMATS = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'

#: The element name of one item of each list-valued field.
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}


#: Characters XML 1.0 cannot hold at all, not even escaped (control characters, NUL).
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    # Refused on input; dropped here too, so one stored value can never break a document.
    return NOT_XML.sub("", str(value))


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, list | tuple):
        item_name = ITEM_NAMES[element.tag]
        element.set("count", str(len(value)))
        for item in value:
            _fill(ET.SubElement(element, item_name), item)
    else:
        element.text = _text(value)


def to_xml(root: str, value: Any) -> str:
    element = ET.Element(root)
    _fill(element, value)
    return XML_DECLARATION + ET.tostring(element, encoding="unicode")


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def respond(fmt: str, root: str, value: Any, *, status: int = 200) -> HttpResponse:
    """``value`` as ``fmt``: in XML under the element ``root``; in JSON as is (a list
    stays a list, as the spec's JSON examples show)."""
    body = to_xml(root, value) if fmt == "xml" else to_json(value)
    return HttpResponse(body.encode("utf-8"), content_type=FORMATS[fmt], status=status)


def errors(fmt: str, status: int, descriptions: Iterable[str]) -> HttpResponse:
    """The spec's error format: one ``<error>`` (code, description) per problem."""
    items = [{"code": status, "description": str(d)} for d in descriptions]
    return respond(fmt if fmt in FORMATS else "xml", "errors", items, status=status)
