"""Open311 service definitions with attributes: the services list says which services ask
extra questions, the definition has the spec's shape in XML and JSON, and a posted
request's ``attribute[code]`` answers are checked, each problem named, before filing."""

from __future__ import annotations

import pytest

from regiohub.meldpunt.demo import load_attributes
from regiohub.meldpunt.models import ApiClient, Category, CategoryAttribute, Report
from regiohub.meldpunt.tests.test_open311 import (
    BASE,
    KORTRIJK,
    data,
    errors_json,
    errors_xml,
    post,
    xml,
)

pytestmark = pytest.mark.django_db

ATTRIBUTE_FIELDS = [
    "variable", "code", "datatype", "required", "datatype_description", "order",
    "description", "values",
]  # fmt: skip


@pytest.fixture(autouse=True)
def english(client):
    """Messages and questions are checked in English (Dutch is the default)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def questions(categories):
    """The demo's questions, and on Kortrijk's pothole one of every other datatype."""
    load_attributes()
    pothole = Category.objects.get(organisation=categories["KOR"], code="pothole")
    for order, (code, datatype, values) in enumerate(
        [
            ("width", "number", ""),
            ("seen-at", "datetime", ""),
            ("details", "text", ""),
            ("where", "multivaluelist", "road | Rijbaan\ncycle-path | Fietspad | | Cycle path"),
        ],
        start=2,
    ):
        CategoryAttribute.objects.create(
            category=pothole, code=code, datatype=datatype, order=order,
            label=code.capitalize(), label_en=f"{code} (en)", values=values,
        )  # fmt: skip
    return pothole


@pytest.fixture
def key(categories):
    return ApiClient.create_with_key(name="Fiets-app")[1]


def answered(**attributes: object) -> dict[str, object]:
    """``attribute[code]`` parameters, the road-blocked question answered by default."""
    params: dict[str, object] = {"attribute[road-blocked]": "no"}
    params.update({f"attribute[{code}]": value for code, value in attributes.items()})
    return {k: v for k, v in params.items() if v is not None}


# --- services and their definitions -----------------------------------------------------


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_services_with_questions_say_metadata_true(client, questions, fmt):
    response = client.get(f"{BASE}/services.{fmt}", {"jurisdiction_id": KORTRIJK})
    if fmt == "xml":
        metadata = {s.findtext("service_code"): s.findtext("metadata") for s in xml(response)}
        assert metadata["pothole"] == metadata["street-light"] == "true"
        assert metadata["noise"] == "false"
    else:
        metadata = {s["service_code"]: s["metadata"] for s in data(response)}
        assert metadata["pothole"] is True and metadata["street-light"] is True
        assert metadata["noise"] is False


def test_the_definition_has_the_specs_shape_in_xml(client, questions):
    root = xml(client.get(f"{BASE}/services/pothole.xml", {"jurisdiction_id": KORTRIJK}))
    assert root.tag == "service_definition"
    assert [child.tag for child in root] == ["service_code", "attributes"]
    attributes = root.find("attributes").findall("attribute")
    assert [a.findtext("code") for a in attributes] == [
        "road-blocked", "width", "seen-at", "details", "where",
    ]  # fmt: skip
    blocked = attributes[0]
    assert [child.tag for child in blocked] == ATTRIBUTE_FIELDS
    assert blocked.findtext("variable") == "true"
    assert blocked.findtext("datatype") == "singlevaluelist"
    assert blocked.findtext("required") == "true"
    assert blocked.findtext("order") == "1"
    assert blocked.findtext("description") == "Is the road blocked?"
    assert blocked.findtext("datatype_description") == "Can traffic still get past?"
    values = [(v.findtext("key"), v.findtext("name")) for v in blocked.findall("values/value")]
    assert values == [("yes", "Yes"), ("no", "No")]
    width = attributes[1]
    assert width.findtext("required") == "false" and width.findtext("datatype") == "number"
    assert width.find("values").get("count") == "0"  # present, empty
    # A list whose English name is missing falls back to Dutch.
    where = [v.findtext("name") for v in attributes[4].findall("values/value")]
    assert where == ["Rijbaan", "Cycle path"]


def test_the_definition_has_the_specs_shape_in_json(client, questions):
    body = data(client.get(f"{BASE}/services/pothole.json", {"jurisdiction_id": KORTRIJK}))
    assert list(body) == ["service_code", "attributes"]
    assert body["service_code"] == "pothole"
    first = body["attributes"][0]
    assert list(first) == ATTRIBUTE_FIELDS
    assert first == {
        "variable": True,
        "code": "road-blocked",
        "datatype": "singlevaluelist",
        "required": True,
        "datatype_description": "Can traffic still get past?",
        "order": 1,
        "description": "Is the road blocked?",
        "values": [{"key": "yes", "name": "Yes"}, {"key": "no", "name": "No"}],
    }
    width = body["attributes"][1]
    assert width["datatype_description"] is None and width["values"] == []
    assert [a["datatype"] for a in body["attributes"]] == [
        "singlevaluelist", "number", "datetime", "text", "multivaluelist",
    ]  # fmt: skip


def test_the_definition_speaks_the_clients_language(client, questions):
    body = data(
        client.get(
            f"{BASE}/services/street-light.json",
            {"jurisdiction_id": KORTRIJK},
            HTTP_ACCEPT_LANGUAGE="fr",
        )
    )
    (lamp,) = body["attributes"]
    assert lamp["description"] == "Numéro du lampadaire (sur le poteau)"
    assert lamp["datatype"] == "string" and lamp["required"] is False


# --- posting answers --------------------------------------------------------------------


def test_answers_of_every_datatype_are_filed_with_the_report(client, questions, key):
    response = post(
        client,
        api_key=key,
        **answered(width="1.5", details="Tegen de stoeprand.\nDiep."),
        **{"attribute[seen-at]": "2026-10-25T02:30:00"},  # the hour that happens twice
        **{"attribute[where][]": ["cycle-path", "road", "road"]},
    )
    assert response.status_code == 200, response.content
    report = Report.objects.get()
    assert report.attributes == {
        "road-blocked": "no",
        "width": 1.5,
        "seen-at": "2026-10-25T02:30:00+02:00",  # local time, the first 02:30, with its offset
        "details": "Tegen de stoeprand.\nDiep.",
        "where": ["road", "cycle-path"],  # in the list's order, once each
    }


def test_a_multivaluelist_answer_may_be_sent_once_without_brackets(client, questions, key):
    assert post(client, api_key=key, **answered(where="road")).status_code == 200
    assert Report.objects.get().attributes["where"] == ["road"]


def test_a_datetime_with_an_offset_is_kept_as_that_moment(client, questions, key):
    response = post(client, api_key=key, **answered(**{"seen-at": "2026-01-31T13:30:00Z"}))
    assert response.status_code == 200
    assert Report.objects.get().attributes["seen-at"] == "2026-01-31T14:30:00+01:00"


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_a_missing_required_answer_is_refused_naming_the_attribute(client, questions, key, fmt):
    response = post(client, fmt, api_key=key, **answered(**{"road-blocked": None}))
    check = errors_xml if fmt == "xml" else errors_json
    assert check(response, 400) == ["attribute[road-blocked]: Answer this question."]
    assert not Report.objects.exists()


def test_an_empty_required_answer_is_missing_too(client, questions, key):
    response = post(client, api_key=key, **answered(**{"road-blocked": "  "}))
    assert errors_json(response, 400) == ["attribute[road-blocked]: Answer this question."]


def test_answers_of_the_wrong_type_are_each_refused_by_name(client, questions, key):
    response = post(
        client,
        api_key=key,
        **answered(**{"road-blocked": "maybe", "width": "wide", "seen-at": "tomorrow"}),
        **{"attribute[where][]": ["road", "river"]},
    )
    descriptions = errors_json(response, 400)
    assert descriptions == [
        "attribute[road-blocked]: maybe is not one of the answers (yes, no).",
        "attribute[width]: Give a number, such as 12 or 3.5.",
        "attribute[seen-at]: Give a date and time such as 2026-01-31T14:30, or with a time "
        "zone: 2026-01-31T14:30:00+01:00.",
        "attribute[where]: river is not one of the answers (road, cycle-path).",
    ]
    assert not Report.objects.exists()


@pytest.mark.parametrize(
    "moment",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1969-12-31T23:59:59Z",
     "2026-02-30T10:00:00Z", "2026-13-01T10:00"],
)  # fmt: skip
def test_dates_at_the_edge_of_the_calendar_are_refused(client, questions, key, moment):
    response = post(client, api_key=key, **answered(**{"seen-at": moment}))
    (description,) = errors_json(response, 400)
    assert description.startswith("attribute[seen-at]: Give a date")


@pytest.mark.parametrize("number", ["1e5", "NaN", "Infinity", "1" * 13, "0x10", "1.1234567"])
def test_numbers_that_are_not_plain_decimals_are_refused(client, questions, key, number):
    response = post(client, api_key=key, **answered(width=number))
    assert errors_json(response, 400) == ["attribute[width]: Give a number, such as 12 or 3.5."]


def test_one_value_only_for_a_question_that_takes_one(client, questions, key):
    response = post(client, api_key=key, **{"attribute[road-blocked][]": ["yes", "no"]})
    assert errors_json(response, 400) == ["attribute[road-blocked]: send one value."]
    response = post(client, api_key=key, **{"attribute[road-blocked]": ["yes", "no"]})
    assert errors_json(response, 400) == ["attribute[road-blocked]: send one value."]


def test_an_unknown_attribute_is_refused_with_where_to_look(client, questions, key):
    response = post(client, api_key=key, **answered(colour="red"))
    assert errors_json(response, 400) == [
        "attribute[colour]: service pothole has no attribute colour; its definition lists "
        "the ones it has (services/pothole.json)."
    ]
    response = post(client, api_key=key, service_code="noise", **{"attribute[volume]": "11"})
    assert errors_json(response, 400)[0].startswith("attribute[volume]: service noise has no")
    assert not Report.objects.exists()


@pytest.mark.parametrize("name", ["attribute[road-blocked", "attribute[a][b]", "attribute[]",
                                  "attributes", "attribute[" + "x" * 51 + "]"])  # fmt: skip
def test_a_malformed_attribute_parameter_is_refused(client, questions, key, name):
    response = post(client, api_key=key, **answered(), **{name: "yes"})
    (description,) = errors_json(response, 400)
    assert description.startswith(name[:60] + ": send attribute[code]=value")


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_a_nul_in_an_answer_is_refused_naming_the_attribute(client, questions, key, fmt):
    response = post(client, fmt, api_key=key, **answered(details="a\x00b"))
    check = errors_xml if fmt == "xml" else errors_json
    assert check(response, 400) == ["attribute[details] contains a NUL character, which is not "
                                    "allowed."]  # fmt: skip
    assert not Report.objects.exists()


def test_other_control_characters_are_refused_naming_the_attribute(client, questions, key):
    response = post(client, api_key=key, **answered(details="tab\tok, bell\x07 not"))
    assert errors_json(response, 400) == [
        "attribute[details]: contains control characters that are not allowed."
    ]


def test_odd_scripts_and_emoji_are_answers_like_any_other(client, questions, key):
    text = "Ŝtraat ‮gevaarlijk‬ 🚧 道路"
    assert post(client, api_key=key, **answered(details=text)).status_code == 200
    assert Report.objects.get().attributes["details"] == text


def test_oversized_answers_are_refused_with_the_limit(client, questions, key):
    response = post(client, api_key=key, **answered(details="x" * 2001))
    assert errors_json(response, 400) == ["attribute[details]: At most 2000 characters."]
    response = post(client, api_key=key, **answered(), **{"attribute[where][]": ["road"] * 51})
    assert errors_json(response, 400) == ["attribute[where][]: at most 50 values."]
    assert not Report.objects.exists()


def test_too_many_attribute_parameters_are_refused_at_once(client, questions, key):
    params = {f"attribute[q{i}]": "x" for i in range(51)}
    assert errors_json(post(client, api_key=key, **params), 400) == [
        "attribute: at most 50 attribute parameters."
    ]


def test_a_string_answer_is_one_line_of_at_most_200_characters(client, questions, key):
    response = post(client, api_key=key, service_code="street-light",
                    **{"attribute[lamp-number]": "x" * 201})  # fmt: skip
    assert errors_json(response, 400) == ["attribute[lamp-number]: At most 200 characters."]
    response = post(client, api_key=key, service_code="street-light",
                    **{"attribute[lamp-number]": "  12/\n345  "})  # fmt: skip
    assert response.status_code == 200
    assert Report.objects.get().attributes == {"lamp-number": "12/ 345"}


def test_an_optional_question_left_empty_is_not_stored(client, questions, key):
    response = post(client, api_key=key, service_code="street-light",
                    **{"attribute[lamp-number]": ""})  # fmt: skip
    assert response.status_code == 200
    assert Report.objects.get().attributes == {}


def test_answers_stay_out_of_the_public_requests(client, questions, key):
    post(client, api_key=key, **answered(details="Geheim detail 4711"))
    reference = Report.objects.get().reference
    for url in (f"{BASE}/requests.json", f"{BASE}/requests/{reference}.json"):
        body = client.get(url, {"jurisdiction_id": KORTRIJK}).content.decode()
        assert reference in body
        assert "4711" not in body and "road-blocked" not in body
