"""Open311 lists parse as lists in the XML fetchers apps are written with: empty, one item
and many, for requests and updates (issue 19 §3).

``dict_fetch`` is written the way xmltodict / XML::Simple based fetchers are: the document
becomes nested dicts (an element with neither children nor attributes becomes its text,
or None when empty; a repeated child becomes a list, a single one a dict), then
``doc[root].get(item, [])`` with a dict wrapped into a list. ``tree_fetch`` is the
ElementTree way. Both are minimal clients, not our code."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from regiohub.meldpunt.contrib.open311 import render
from regiohub.meldpunt.services import change_status
from regiohub.meldpunt.tests.factories import file_report
from regiohub.meldpunt.tests.test_open311 import BASE, KORTRIJK
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db

LISTS = {
    "requests": ("service_requests", "request"),
    "servicerequestupdates": ("service_request_updates", "request_update"),
}


def to_dict(element: ET.Element) -> Any:
    """xmltodict's mapping of one element."""
    children = list(element)
    text = (element.text or "").strip() or None
    if not children and not element.attrib:
        return text
    result: dict[str, Any] = {f"@{k}": v for k, v in element.attrib.items()}
    for child in children:
        value = to_dict(child)
        if child.tag in result:
            if not isinstance(result[child.tag], list):
                result[child.tag] = [result[child.tag]]
            result[child.tag].append(value)
        else:
            result[child.tag] = value
    if text:
        result["#text"] = text
    return result


def dict_fetch(body: bytes, root: str, item: str) -> list[dict[str, Any]]:
    """A fetcher as they are written: dicts, then ``.get(item, [])``, one dict wrapped."""
    tree = ET.fromstring(body)  # noqa: S314 - our own output, under test
    doc = {tree.tag: to_dict(tree)}
    items = doc.get(root, {}).get(item, [])
    return items if isinstance(items, list) else [items]


def tree_fetch(body: bytes, item: str) -> list[dict[str, str | None]]:
    root = ET.fromstring(body)  # noqa: S314 - our own output, under test
    return [{child.tag: child.text for child in element} for element in root.findall(item)]


def fetch_both(client, path: str) -> tuple[list, list]:
    root, item = LISTS[path]
    response = client.get(f"{BASE}/{path}.xml", {"jurisdiction_id": KORTRIJK})
    assert response.status_code == 200, response.content
    return dict_fetch(response.content, root, item), tree_fetch(response.content, item)


def test_the_naive_client_is_as_naive_as_the_real_ones():
    """Without the count attribute an empty list is None to it, as to xmltodict: the
    failure the attribute exists for."""
    with pytest.raises(AttributeError):
        dict_fetch(b"<service_requests />", "service_requests", "request")
    with pytest.raises(AttributeError):
        dict_fetch(b"<service_requests></service_requests>", "service_requests", "request")
    assert (
        dict_fetch(render.to_xml("service_requests", []).encode(), "service_requests", "request")
        == []
    )


@pytest.mark.parametrize("path", list(LISTS))
def test_an_empty_list_is_an_empty_list(client, categories, path):
    assert fetch_both(client, path) == ([], [])


@pytest.mark.parametrize("path", list(LISTS))
def test_one_item_is_a_list_of_one(client, categories, path):
    report = file_report()
    change_status(report, Status.ACKNOWLEDGED, actor=None)
    by_dict, by_tree = fetch_both(client, path)
    assert len(by_dict) == len(by_tree) == 1
    assert isinstance(by_dict[0], dict)
    assert by_dict[0]["service_request_id"] == by_tree[0]["service_request_id"] == report.reference


@pytest.mark.parametrize("path", list(LISTS))
def test_many_items_are_a_list_of_many(client, categories, path):
    reports = [file_report() for _ in range(3)]
    for report in reports:
        change_status(report, Status.ACKNOWLEDGED, actor=None)
    by_dict, by_tree = fetch_both(client, path)
    expected = {r.reference for r in reports}
    assert {i["service_request_id"] for i in by_dict} == expected
    assert {i["service_request_id"] for i in by_tree} == expected


def test_the_count_matches_the_items(client, categories):
    file_report()
    root = ET.fromstring(  # noqa: S314 - our own output, under test
        client.get(f"{BASE}/requests.xml", {"jurisdiction_id": KORTRIJK}).content
    )
    assert root.get("count") == "1" == str(len(root.findall("request")))
    definition = ET.fromstring(  # noqa: S314 - our own output, under test
        client.get(f"{BASE}/services/pothole.xml", {"jurisdiction_id": KORTRIJK}).content
    )
    assert definition.find("attributes").get("count") == "0"
    assert to_dict(definition)["attributes"] == {"@count": "0"}  # a mapping, not None
