"""`regiohub privacy export|erase --email X` answers a data-subject request over every
module in one go."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from regiohub.core import privacy
from regiohub.core.models import HistoryEntry, User
from regiohub.core.tests.factories import MembershipFactory
from regiohub.datasets.tests.factories import make_dataset
from regiohub.meldpunt.models import Report
from regiohub.meldpunt.tests.factories import file_report

pytestmark = pytest.mark.django_db

PERSON = "An.Peeters@example.org"


@pytest.fixture
def person(categories, settings, tmp_path):
    """Someone who is both a citizen who reported twice and a Kortrijk data steward."""
    settings.DATASETS_URI = str(tmp_path / "datasets")
    file_report(reporter_email=PERSON.lower(), reporter_name="An Peeters")
    file_report(reporter_email=PERSON, reporter_name="An Peeters", description="Sluikstort.")
    file_report(reporter_email="someone.else@example.org", reporter_name="Bert")
    steward = MembershipFactory(
        organisation=categories["KOR"], role="data_steward", user__email=PERSON.lower()
    ).user
    steward.full_name = "An Peeters"
    steward.save()
    make_dataset(categories["KOR"], steward)
    return steward


def _export(capsys) -> dict:
    call_command("privacy", "export", "--email", PERSON)
    return json.loads(capsys.readouterr().out)


def test_export_gathers_the_person_from_every_module(person, capsys):
    data = _export(capsys)
    modules = data["modules"]
    assert set(modules) == {"core", "meldpunt", "datasets"}
    assert len(modules["meldpunt"]["reports"]) == 2
    assert modules["datasets"]["datasets_created"] == ["verkeerstellingen"]
    account = modules["core"]["accounts"][0]
    assert account["full_name"] == "An Peeters"
    assert account["memberships"] == [{"organisation": "KOR", "role": "data_steward"}]
    assert "someone.else" not in json.dumps(data)


def test_erase_asks_first_then_erases_everywhere(person, capsys):
    with pytest.raises(CommandError, match="--yes"):
        call_command("privacy", "erase", "--email", PERSON)
    assert Report.objects.filter(reporter_email__iexact=PERSON).count() == 2  # nothing yet

    call_command("privacy", "erase", "--email", PERSON, "--yes", "--by", "DPO Kortrijk")
    out = capsys.readouterr().out
    assert "meldpunt: 2" in out and "core: 1" in out

    assert not Report.objects.filter(reporter_email__iexact=PERSON).exists()
    assert Report.objects.filter(reporter_email="someone.else@example.org").count() == 1
    person.refresh_from_db()
    assert not person.is_active and person.full_name == "" and "erased" in person.email
    assert not person.has_usable_password() and not person.memberships.exists()
    assert HistoryEntry.objects.filter(action="person.erased", actor_label="DPO Kortrijk")
    # Nothing is left to export, and erasing again changes nothing.
    assert _export(capsys)["modules"] == {}
    assert privacy.erase(PERSON, actor_label="again") == {
        "core": 0,
        "meldpunt": 0,
        "datasets": 0,
        "opendata": 0,
    }


def test_the_event_says_who_by_pseudonym_only(person):
    from django.db import transaction

    from regiohub.core import events

    seen = []
    events.subscribe(events.PersonErased, "testing.erasures", seen.append)
    try:
        with transaction.atomic():
            privacy.erase(PERSON, actor_label="test")
        from regiohub.core.testing import run_tasks

        run_tasks()
    finally:
        events._subscribers.pop("testing.erasures", None)
    assert len(seen) == 1
    assert seen[0].subject == privacy.subject_of(PERSON) and PERSON not in repr(seen[0])
    assert seen[0].records["meldpunt"] == 2


@pytest.mark.parametrize(
    "email",
    ["", "no-at-sign", "a\x00@example.org", "x" * 300 + "@e.org", "log line\nan@example.org"],
)
def test_a_bad_address_is_refused_with_a_clear_error(db, email):
    with pytest.raises(CommandError, match="e-mail"):
        call_command("privacy", "export", "--email", email)


def test_an_unknown_person_exports_nothing(db, capsys):
    call_command("privacy", "export", "--email", "nobody@example.org")
    assert json.loads(capsys.readouterr().out)["modules"] == {}
    assert User.objects.count() == 0


def test_mails_the_person_sent_are_exported_and_erased(person, capsys):
    from email.message import EmailMessage

    from regiohub.meldpunt.contrib.mail.intake import receive
    from regiohub.meldpunt.models import InboundMail

    message = EmailMessage()
    message["From"] = f"An Peeters <{PERSON}>"
    message["Subject"] = "Lamp kapot"
    message["Message-ID"] = "<privacy-1@example.org>"
    message.set_content("De lamp aan de kerk brandt niet.")
    receive(message.as_bytes())

    mails = _export(capsys)["modules"]["meldpunt"]["mails"]
    assert [m["subject"] for m in mails] == ["Lamp kapot"]
    privacy.erase(PERSON, actor_label="DPO")
    assert not InboundMail.objects.filter(from_address__iexact=PERSON).exists()
