"""GET servicerequestupdates (mySociety's Open311 extension): which updates, their stable
ids, statuses and times (DST included), the inclusive window, and nothing internal or
personal in them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from regiohub.core import history
from regiohub.meldpunt.events import Action
from regiohub.meldpunt.models import ExternalBody
from regiohub.meldpunt.services import (
    add_note,
    change_status,
    forward_to_external_body,
    forward_to_municipality,
    merge,
    send_message,
)
from regiohub.meldpunt.services.citizen import answer
from regiohub.meldpunt.tests.factories import file_report
from regiohub.meldpunt.tests.test_open311 import BASE, KORTRIJK, MENEN, data, errors_json, xml
from regiohub.meldpunt.workflow import Status

pytestmark = pytest.mark.django_db

FIELDS = [
    "update_id", "service_request_id", "status", "updated_datetime", "description", "media_url",
]  # fmt: skip
#: 02:30 on the last Sunday of October 2026 happens twice in Brussels.
FIRST_0230 = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30+02:00
SECOND_0230 = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30+01:00


@pytest.fixture(autouse=True)
def english(client):
    """Descriptions and errors are checked in English (their msgids)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def updates(client, fmt="json", jurisdiction=KORTRIJK, **params):
    response = client.get(
        f"{BASE}/servicerequestupdates.{fmt}", {"jurisdiction_id": jurisdiction, **params}
    )
    assert response.status_code == 200, response.content
    if fmt == "json":
        return data(response)
    root = xml(response)
    assert root.tag == "service_request_updates"
    items = []
    for element in root.findall("request_update"):
        assert [c.tag for c in element] == FIELDS
        items.append({c.tag: c.text or "" for c in element})
    return items


def status_entry(report, before, after, at):
    """A status change recorded at exactly ``at`` (services record "now")."""
    return history.record(
        report,
        Action.STATUS_CHANGED,
        organisation=report.organisation,
        before={"status": before},
        after={"status": after},
        at=at,
    )


def around(moment, days=1):
    return {
        "start_date": (moment - timedelta(days=days)).isoformat(),
        "end_date": (moment + timedelta(days=days)).isoformat(),
    }


# --- What an update is ------------------------------------------------------------------


def test_status_changes_and_messages_to_the_reporter_are_updates(
    client, categories, kortrijk_agent
):
    report = file_report()
    change_status(report, Status.ACKNOWLEDGED, actor=kortrijk_agent)
    send_message(report, "We komen volgende week kijken.", actor=kortrijk_agent)
    change_status(report, Status.IN_PROGRESS, actor=kortrijk_agent)
    change_status(report, Status.RESOLVED, actor=kortrijk_agent)

    items = updates(client)
    assert [list(i) for i in items] == [FIELDS] * 4
    assert [(i["status"], i["description"]) for i in items] == [
        ("INVESTIGATING", "Status: Acknowledged."),
        ("INVESTIGATING", "We komen volgende week kijken."),
        ("IN_PROGRESS", "Status: In progress."),
        ("FIXED", "Status: Resolved."),
    ]
    assert {i["service_request_id"] for i in items} == {report.reference}
    assert {i["media_url"] for i in items} == {""}
    assert all(i["updated_datetime"][-6:] in ("+01:00", "+02:00") for i in items)
    assert updates(client, "xml") == items


def test_update_ids_are_stable_and_unique(client, categories, kortrijk_agent):
    report = file_report()
    change_status(report, Status.IN_PROGRESS, actor=kortrijk_agent)
    send_message(report, "Bedankt voor uw melding.", actor=kortrijk_agent)
    first = updates(client)
    ids = [i["update_id"] for i in first]
    assert len(set(ids)) == 2 and all(i.startswith("h") and i[1:].isdigit() for i in ids)

    # More updates, on this report and another, change nothing about the earlier ones ...
    other = file_report()
    change_status(other, Status.IN_PROGRESS, actor=kortrijk_agent)
    change_status(report, Status.RESOLVED, actor=kortrijk_agent)
    later = updates(client)
    assert later[:2] == first
    assert len({i["update_id"] for i in later}) == 4
    # ... nor does asking in another format, another window or another language.
    assert updates(client, "xml", **around(timezone.now(), days=15))[:2] == first
    in_dutch = client.get(
        f"{BASE}/servicerequestupdates.json",
        {"jurisdiction_id": KORTRIJK},
        HTTP_ACCEPT_LANGUAGE="nl",
    ).json()
    assert [(i["update_id"], i["status"]) for i in in_dutch] == [
        (i["update_id"], i["status"]) for i in later
    ]
    assert in_dutch[0]["description"] == "Status: In behandeling."


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (Status.ACKNOWLEDGED, "INVESTIGATING"),
        (Status.IN_PROGRESS, "IN_PROGRESS"),
        (Status.ON_HOLD, "ACTION_SCHEDULED"),
        (Status.RESOLVED, "FIXED"),
        (Status.CANCELLED, "NO_FURTHER_ACTION"),
    ],
)
def test_status_mapping(client, categories, kortrijk_agent, status, expected):
    report = file_report()
    change_status(report, status, actor=kortrijk_agent, reason="Aannemer ingepland")
    (item,) = updates(client)
    assert item["status"] == expected


def test_closing_reopening_merging_and_forwarding(client, categories, kortrijk_agent):
    report = file_report()
    change_status(report, Status.RESOLVED, actor=kortrijk_agent)
    change_status(report, Status.CLOSED, actor=kortrijk_agent)
    change_status(report, Status.REOPENED, actor=kortrijk_agent, reason="Het gat is terug")
    duplicate = file_report()
    merge(duplicate, report, actor=kortrijk_agent)
    awv = ExternalBody.objects.create(
        code="awv", name="Agentschap Wegen en Verkeer", email="awv@example.org"
    )
    forwarded = file_report()
    forward_to_external_body(forwarded, awv, reason="Gewestweg N43, intern", actor=kortrijk_agent)

    items = updates(client)
    by_report = {}
    for item in items:
        by_report.setdefault(item["service_request_id"], []).append(
            (item["status"], item["description"])
        )
    assert by_report[report.reference] == [
        ("FIXED", "Status: Resolved."),
        ("FIXED", "Status: Closed."),
        ("OPEN", "Status: Reopened. Reason: Het gat is terug"),
    ]
    assert by_report[duplicate.reference] == [
        ("DUPLICATE", f"Merged into report {report.reference}: follow that report.")
    ]
    assert by_report[forwarded.reference] == [
        (
            "NOT_COUNCILS_RESPONSIBILITY",
            "Handed over to Agentschap Wegen en Verkeer, who look after this.",
        )
    ]
    assert "intern" not in str(items)  # the hand-over's reason is internal


def test_a_hand_over_to_another_municipality_is_an_internal_referral_where_it_left(
    client, categories, kortrijk_agent
):
    report = file_report()
    forward_to_municipality(report, categories["MEN"], reason="Ligt in Menen", actor=kortrijk_agent)

    (left,) = updates(client)
    assert left["service_request_id"] == report.reference
    assert left["status"] == "INTERNAL_REFERRAL"
    assert left["description"] == f"Handed over to Menen (jurisdiction_id {MENEN})."
    arrived = updates(client, jurisdiction=MENEN)
    assert [(i["update_id"], i["status"]) for i in arrived] == [(left["update_id"], "OPEN")]
    assert [i["description"] for i in arrived] == [left["description"]]
    assert "Ligt in Menen" not in str(arrived)


def test_a_report_handed_in_brings_its_updates_along(client, categories):
    from regiohub.meldpunt.tests.factories import MENEN_CENTRE

    report = file_report(where=MENEN_CENTRE)
    change_status(report, Status.ACKNOWLEDGED, actor=None)
    forward_to_municipality(report, categories["KOR"], reason="Kortrijks", actor=None)
    change_status(report, Status.IN_PROGRESS, actor=None)

    here = updates(client)
    assert [(i["status"], i["description"]) for i in here] == [
        ("INVESTIGATING", "Status: Acknowledged."),
        ("INVESTIGATING", f"Handed over to Kortrijk (jurisdiction_id {KORTRIJK})."),
        ("IN_PROGRESS", "Status: In progress."),
    ]
    # Where it came from, only that it left: what happens now happens in Kortrijk.
    (left,) = updates(client, jurisdiction=MENEN)
    assert (left["update_id"], left["status"]) == (here[1]["update_id"], "INTERNAL_REFERRAL")


def test_only_the_reports_of_the_jurisdiction(client, categories, kortrijk_agent):
    from regiohub.meldpunt.tests.factories import MENEN_CENTRE

    menen = file_report(where=MENEN_CENTRE)
    change_status(menen, Status.ACKNOWLEDGED, actor=None)
    assert updates(client) == []
    assert [i["service_request_id"] for i in updates(client, jurisdiction=MENEN)] == [
        menen.reference
    ]


# --- Nothing internal, nothing personal ---------------------------------------------------


def test_internal_notes_reasons_and_the_reporters_own_words_stay_out(
    client, categories, kortrijk_agent
):
    report = file_report(
        reporter_name="Mieke Van den Broeck",
        reporter_email="mieke@example.org",
        reporter_phone="0470 11 22 33",
    )
    add_note(report, "Intern: buurman is lastig", actor=kortrijk_agent)
    change_status(report, Status.ON_HOLD, actor=kortrijk_agent, reason="Wacht op budget intern")
    change_status(report, Status.IN_PROGRESS, actor=kortrijk_agent)
    answer(report, "Ik ben Mieke, bel me op 0470 11 22 33")
    send_message(
        report,
        "Beste Mieke Van den Broeck,\nwe bellen u op 0470/11.22.33 of mailen naar "
        "mieke@example.org. Rekening BE68 5390 0754 7034, rijksregister 85.07.30-033.28.\n"
        "Groeten, de dienst van Kortrijk",
        actor=kortrijk_agent,
    )
    for fmt in ("json", "xml"):
        body = client.get(
            f"{BASE}/servicerequestupdates.{fmt}", {"jurisdiction_id": KORTRIJK}
        ).content.decode()
        for secret in (
            "Intern", "buurman", "budget", "Mieke", "Broeck", "mieke@example.org", "0470",
            "11.22.33", "BE68", "85.07.30", kortrijk_agent.full_name, kortrijk_agent.email,
            "Ik ben",
        ):  # fmt: skip
            assert secret not in body, (secret, fmt)
    message = updates(client)[-1]["description"]
    assert message.startswith("Beste […],\nwe bellen u op […] of mailen naar […].")
    # Ordinary words that are also parts of names stay.
    assert "de dienst van Kortrijk" in message


def test_a_question_to_the_reporter_is_an_update_too(client, categories, kortrijk_agent):
    report = file_report()
    send_message(report, "Aan welke kant van de straat?", actor=kortrijk_agent, question=True)
    items = updates(client)
    assert [(i["status"], i["description"]) for i in items] == [
        ("OPEN", "Aan welke kant van de straat?"),
        ("IN_PROGRESS", "Status: Waiting for the reporter."),
    ]


# --- Time: the window, its bounds, time zones and DST ---------------------------------------


def test_both_bounds_are_inclusive_to_the_second(client, categories):
    report = file_report()
    at = datetime(2026, 6, 1, 10, 0, 0, tzinfo=UTC)
    entry = status_entry(report, "new", "acknowledged", at)
    late = status_entry(report, "acknowledged", "in_progress", at + timedelta(seconds=60.5))
    shown = "2026-06-01T12:00:00+02:00"

    def ids(start, end):
        items = updates(client, start_date=start, end_date=end)
        return [i["update_id"] for i in items]

    assert ids(shown, shown) == [f"h{entry.pk}"]
    assert ids("2026-06-01T10:00:00Z", "2026-06-01T10:00:00Z") == [f"h{entry.pk}"]
    assert ids("2026-06-01T10:00:01Z", "2026-06-01T10:00:59Z") == []
    assert ids("2026-06-01T09:00:00Z", "2026-06-01T09:59:59Z") == []
    # Shown as 10:01:00 (seconds are the precision of the answer): in a window ending then.
    (item,) = updates(client, start_date="2026-06-01T10:01:00Z", end_date="2026-06-01T10:01:00Z")
    assert item["update_id"] == f"h{late.pk}"
    assert item["updated_datetime"] == "2026-06-01T12:01:00+02:00"


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-06-01T09:00:00Z", "2026-06-01T11:00:00Z"),
        ("2026-06-01T10:00:00+01:00", "2026-06-01T12:00:00+01:00"),
        ("2026-06-01T11:00:00+02:00", "2026-06-01T13:00:00+02:00"),
        ("2026-06-01T05:00:00-04:00", "2026-06-01T07:00:00-04:00"),
    ],
    ids=["Z", "+01:00", "+02:00", "-04:00"],
)
def test_the_same_moment_in_any_time_zone(client, categories, start, end):
    report = file_report()
    inside = status_entry(report, "new", "acknowledged", datetime(2026, 6, 1, 10, tzinfo=UTC))
    status_entry(report, "acknowledged", "in_progress", datetime(2026, 6, 1, 11, 0, 1, tzinfo=UTC))
    status_entry(report, "in_progress", "resolved", datetime(2026, 6, 1, 8, 59, 59, tzinfo=UTC))
    items = updates(client, start_date=start, end_date=end)
    assert [i["update_id"] for i in items] == [f"h{inside.pk}"]


def test_02_30_on_the_last_sunday_of_october_is_unambiguous(client, categories):
    report = file_report()
    first = status_entry(report, "new", "acknowledged", FIRST_0230)
    second = status_entry(report, "acknowledged", "in_progress", SECOND_0230)
    window = {"start_date": "2026-10-24T00:00:00Z", "end_date": "2026-10-26T00:00:00Z"}
    for fmt in ("json", "xml"):
        items = updates(client, fmt, **window)
        assert [(i["update_id"], i["updated_datetime"]) for i in items] == [
            (f"h{first.pk}", "2026-10-25T02:30:00+02:00"),
            (f"h{second.pk}", "2026-10-25T02:30:00+01:00"),
        ]
    # Each of the two 02:30s, asked for by its own offset, is exactly one of them.
    for shown, entry in (("+02:00", first), ("+01:00", second)):
        moment = f"2026-10-25T02:30:00{shown}"
        items = updates(client, start_date=moment, end_date=moment)
        assert [i["update_id"] for i in items] == [f"h{entry.pk}"]
    # An hour of local time that is two hours long holds both.
    items = updates(
        client, start_date="2026-10-25T02:00:00+02:00", end_date="2026-10-25T02:59:59+01:00"
    )
    assert len(items) == 2


def test_the_spring_change_shows_offsets_on_both_sides(client, categories):
    report = file_report()
    status_entry(report, "new", "acknowledged", datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC))
    status_entry(report, "acknowledged", "in_progress", datetime(2026, 3, 29, 1, 0, tzinfo=UTC))
    items = updates(client, start_date="2026-03-29T00:00:00Z", end_date="2026-03-29T02:00:00Z")
    assert [i["updated_datetime"] for i in items] == [
        "2026-03-29T01:59:59+01:00",
        "2026-03-29T03:00:00+02:00",
    ]


def test_default_window_is_the_last_day_and_start_alone_runs_until_now(client, categories):
    report = file_report()
    old = status_entry(report, "new", "acknowledged", timezone.now() - timedelta(days=3))
    recent = status_entry(
        report, "acknowledged", "in_progress", timezone.now() - timedelta(hours=2)
    )
    assert [i["update_id"] for i in updates(client)] == [f"h{recent.pk}"]
    since = (timezone.now() - timedelta(days=4)).isoformat()
    assert [i["update_id"] for i in updates(client, start_date=since)] == [
        f"h{old.pk}",
        f"h{recent.pk}",
    ]
    until = (timezone.now() - timedelta(days=2, hours=12)).isoformat()
    assert [i["update_id"] for i in updates(client, end_date=until)] == [f"h{old.pk}"]
    # A start in the future (a client's clock ahead of ours): an empty window, no error.
    future = (timezone.now() + timedelta(minutes=5)).isoformat()
    assert updates(client, start_date=future) == []


def test_empty_answers_are_lists(client, categories):
    assert updates(client) == []
    assert updates(client, "xml") == []
    response = client.get(f"{BASE}/servicerequestupdates.xml", {"jurisdiction_id": KORTRIJK})
    assert b'<service_request_updates count="0" />' in response.content


# --- Refused windows ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"start_date": "yesterday"}, "start_date must be a date and time with a time zone"),
        ({"end_date": "2026-10-25T02:30:00"}, "end_date must be a date and time with a time zone"),
        ({"start_date": "2026-10-25"}, "start_date must be a date and time"),
        ({"start_date": "2026-02-30T00:00:00Z"}, "start_date must be a date and time"),
        ({"start_date": "２０２６-01-01T00:00:00Z"}, "start_date must be a date and time"),
        ({"start_date": "2026-01-01T00:00:00Z" + "0" * 5000}, "start_date must be a date"),
        ({"end_date": "0001-01-01T00:00:00+14:00"}, "end_date must lie between"),
        ({"start_date": "9999-12-31T23:59:59Z"}, "start_date must lie between"),
        (
            {"start_date": "2026-06-02T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
            "end_date must not be before start_date.",
        ),
        (
            {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-02-01T00:00:01Z"},
            "start_date and end_date may not span more than 31 days.",
        ),
        ({"start_date": "2020-01-01T00:00:00Z"}, "without end_date the window ends now"),
    ],
    ids=[
        "words", "naive", "date-only", "30-february", "fullwidth-digits", "oversized",
        "year-1", "year-9999", "reversed", "32-days", "start-long-ago",
    ],
)  # fmt: skip
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_windows_are_refused_in_the_error_format(client, categories, params, words, fmt):
    from regiohub.meldpunt.tests.test_open311 import errors_xml

    response = client.get(
        f"{BASE}/servicerequestupdates.{fmt}", {"jurisdiction_id": KORTRIJK, **params}
    )
    descriptions = (errors_json if fmt == "json" else errors_xml)(response, 400)
    assert any(words in d for d in descriptions), descriptions


def test_both_dates_wrong_gives_two_errors(client, categories):
    descriptions = errors_json(
        client.get(
            f"{BASE}/servicerequestupdates.json",
            {"jurisdiction_id": KORTRIJK, "start_date": "x", "end_date": "y"},
        ),
        400,
    )
    assert len(descriptions) == 2


def test_nul_and_missing_jurisdiction_are_refused(client, categories):
    (text,) = errors_json(
        client.get(
            f"{BASE}/servicerequestupdates.json",
            {"jurisdiction_id": KORTRIJK, "start_date": "2026-01-01T00:00:00Z\x00"},
        ),
        400,
    )
    assert "NUL" in text and "start_date" in text
    (text,) = errors_json(client.get(f"{BASE}/servicerequestupdates.json"), 400)
    assert "jurisdiction_id" in text
    errors_json(client.get(f"{BASE}/servicerequestupdates.json", {"jurisdiction_id": "99999"}), 404)
    assert client.get(f"{BASE}/servicerequestupdates.html").status_code == 404
    response = client.put(f"{BASE}/servicerequestupdates.json")
    assert response.status_code == 405 and response["Allow"] == "GET, POST"


def test_the_openapi_description_names_every_status():
    from regiohub.meldpunt.contrib.open311 import openapi
    from regiohub.meldpunt.contrib.open311.updates import INTERNAL_REFERRAL, UPDATE_STATUSES
    from regiohub.meldpunt.contrib.open311.updating import HANDLER_ONLY, POSTED_STATUSES

    shown = openapi.SCHEMAS["Open311Update"]["properties"]["status"]["enum"]
    assert set(shown) == {*UPDATE_STATUSES.values(), INTERNAL_REFERRAL}
    posted = openapi._UPDATE_FIELDS["status"]["enum"]
    assert posted == [*POSTED_STATUSES, *sorted(HANDLER_ONLY)]
