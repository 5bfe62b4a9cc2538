"""The admin checks a sender setup and a letter template when they are saved, so a wrong
passphrase or a template that does not compile shows there, not at the first letter."""

from __future__ import annotations

import pytest
from django.utils import translation

from regiohub.core.secrets import is_sealed
from regiohub.documents.admin import LetterTemplateForm, SenderForm
from regiohub.documents.compose import default_template
from regiohub.documents.models import Sender
from regiohub.documents.tests.conftest import KORTRIJK_KBO
from regiohub.documents.tests.pki import PASSPHRASE


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def sender_data(region, path, passphrase, **extra):
    data = {
        "organisation": region["KOR"].pk,
        "enterprise_number": KORTRIJK_KBO,
        "return_address": "Stad Kortrijk\nGrote Markt 54\n8500 Kortrijk",
        "key_source": "pkcs12",
        "key_file": str(path),
        "key_passphrase": passphrase,
        "level": "B-T",
        "tsa_url": "http://127.0.0.1:9/tsa",
        "ebox_settings": "{}",
        "paper_partner": "printco",
        "paper_url": "http://127.0.0.1:9",
    }
    data.update(extra)
    return data


def test_a_wrong_passphrase_or_a_missing_key_file_is_refused(region, pki, tmp_path):
    path = tmp_path / "seal.p12"
    path.write_bytes(pki.seal_p12)
    form = SenderForm(sender_data(region, path, "wrong"))
    assert not form.is_valid() and "key_passphrase" in form.errors
    form = SenderForm(sender_data(region, tmp_path / "missing.p12", PASSPHRASE.decode()))
    assert not form.is_valid() and "key_file" in form.errors
    form = SenderForm(
        sender_data(region, path, PASSPHRASE.decode(), enterprise_number="0207451228")
    )
    assert not form.is_valid() and "enterprise_number" in form.errors


def test_a_good_setup_is_stored_with_its_secrets_sealed(region, pki, tmp_path):
    path = tmp_path / "seal.p12"
    path.write_bytes(pki.seal_p12)
    form = SenderForm(sender_data(region, path, PASSPHRASE.decode()))
    assert form.is_valid(), form.errors
    sender = form.save()
    stored = Sender.objects.get(pk=sender.pk)
    assert is_sealed(stored.key_passphrase)
    # Saved again with the passphrase left empty: the stored one is kept and still opens.
    again = SenderForm(sender_data(region, path, ""), instance=stored)
    assert again.is_valid(), again.errors


def test_a_template_that_does_not_compile_is_refused_with_typsts_words(region):
    broken = LetterTemplateForm(
        {
            "organisation": region["KOR"].pk,
            "name": "Besluit",
            "source": "#let x = (",
            "is_active": True,
        }
    )
    assert not broken.is_valid() and "source" in broken.errors
    good = LetterTemplateForm(
        {"organisation": region["KOR"].pk, "name": "Besluit", "source": default_template(),
         "is_active": True}
    )  # fmt: skip
    assert good.is_valid(), good.errors
