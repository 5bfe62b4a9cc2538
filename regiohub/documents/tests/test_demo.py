"""The demo's letters: ``regiohub demo`` sets Kortrijk up once (its seal opens, its template
compiles), and letters go out end to end through the stand-ins ``regiohub documents
stand-ins`` runs: sealed, to the eBox or on paper, handed over and delivered."""

from __future__ import annotations

import io
import uuid

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError

from regiohub.core.testing import run_tasks
from regiohub.documents import compose, delivery, services
from regiohub.documents import demo as letters_demo
from regiohub.documents.demo import stand_ins
from regiohub.documents.models import LetterTemplate, Sender, Status
from regiohub.documents.tests.conftest import ADDRESS, pdf


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.DOCUMENTS_PAPER_DIR = str(tmp_path / "paper")
    yield settings.DATA_DIR
    delivery.forget_caches()


def files_of(folder) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_the_demo_sets_kortrijk_up_once_with_a_seal_that_opens_and_a_template(region, data_dir):
    first, second = io.StringIO(), io.StringIO()
    letters_demo.load(first)
    where = letters_demo.folder()
    made = files_of(where)
    letters_demo.load(second)

    assert files_of(where) == made  # the keys are kept, not made again
    assert "made" in first.getvalue() and "kept" in second.getvalue()
    assert (where / letters_demo.SEAL_FILE).stat().st_mode & 0o077 == 0
    assert (where / letters_demo.EBOX_KEY_FILE).stat().st_mode & 0o077 == 0
    sender = Sender.objects.get()
    assert sender.organisation == region["KOR"]
    assert sender.enterprise_number == letters_demo.ENTERPRISE_NUMBER
    assert sender.paper_after_days == 14
    assert sender.return_lines == ["Stad Kortrijk", "Grote Markt 54", "8500 Kortrijk"]
    assert sender.key_passphrase.startswith("sealed:")  # stored sealed
    delivery.forget_caches()
    assert delivery.sealer_for(sender).level == "B-T"  # the PKCS#12 opens
    assert delivery.ebox_channel(sender) is not None
    template = LetterTemplate.objects.get()
    assert (template.organisation, template.name) == (region["KOR"], "Besluit")
    compose.check_template(template.source)


def submission(org, number: str, reference: str) -> services.Submission:
    return services.Submission(
        organisation=org,
        reference=reference,
        idempotency_key=str(uuid.uuid4()),
        recipient_kind="citizen",
        recipient_number=number,
        recipient_name="An Peeters",
        address_lines=ADDRESS,
        subjects={"nl": "Besluit"},
        files=[("besluit.pdf", pdf(1))],
    )


def test_letters_go_out_through_the_stand_ins(region, data_dir):
    letters_demo.load(io.StringIO())
    with stand_ins.running(tsa_port=0, ebox_port=0, partner_port=0) as running:
        letters_demo.load(
            io.StringIO(),
            tsa_url=running.tsa_url,
            ebox_url=running.ebox_url,
            partner_url=running.partner_url,
        )
        kortrijk = region["KOR"]
        to_ebox = services.submit(submission(kortrijk, "93051822361", "DEMO-1")).letter
        to_paper = services.submit(submission(kortrijk, "94022722580", "DEMO-2")).letter
        unknown = services.submit(submission(kortrijk, "85073003328", "DEMO-3")).letter
        run_tasks()
        for letter in (to_ebox, to_paper, unknown):
            letter.refresh_from_db()
        assert (to_ebox.status, to_ebox.channel) == (Status.PUBLISHED, "ebox")
        assert (to_paper.status, to_paper.channel) == (Status.ROUTED, "paper")
        assert (unknown.channel, unknown.route_reason) == ("paper", "no_consent")
        assert running.ebox.accepted == 1 and running.tsa.answered == 3

        out = io.StringIO()
        call_command("documents", "batch", "--organisation", "KOR", stdout=out)
        to_paper.refresh_from_db()
        assert to_paper.status == Status.BATCHED
        assert f"KOR: {to_paper.paper_batch.batch_id} handed over" in out.getvalue()
        assert running.partner.letters == {
            str(to_paper.public_id): 1,
            str(unknown.public_id): 1,
        }

        read = f"{running.ebox_url}/_demo/letters/{to_ebox.public_id}/read"
        assert requests.post(read, timeout=5).status_code == 200
        unknown_read = read.replace(str(to_ebox.public_id), str(uuid.uuid4()))
        assert requests.post(unknown_read, timeout=5).json()["message"] == "No such letter."
        out = io.StringIO()
        call_command("documents", "poll", stdout=out)
        assert "KOR: read 1, delivered 2, returned 0, paper_copy 0" in out.getvalue()
        to_ebox.refresh_from_db()
        to_paper.refresh_from_db()
        assert (to_ebox.status, to_paper.status) == (Status.READ, Status.DELIVERED)


def test_the_stand_ins_say_to_run_the_demo_first(data_dir):
    with pytest.raises(CommandError, match="regiohub demo"):
        call_command("documents", "stand-ins")


def test_batch_names_a_municipality_that_sends_no_letters(region, data_dir):
    with pytest.raises(CommandError, match="MEN does not send letters"):
        call_command("documents", "batch", "--organisation", "MEN")
