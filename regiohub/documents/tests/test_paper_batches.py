"""Paper batches for the print partner, over real HTTP to a fake partner: a batch holds the
sealed PDFs byte for byte, a cover sheet with the address behind the envelope's window
and a manifest with every file's SHA-256, never a national register number; it is
committed by a rename, so a crash leaves nothing half-built; the partner gets every letter
exactly once, whatever answers are lost; its events come back in order, page by page."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from datetime import date
from pathlib import Path

import pytest
import requests
from django.utils import translation
from pypdf import PdfReader, PdfWriter

from regiohub.documents import paper
from regiohub.documents.paper import (
    AddressProblem,
    Batch,
    BatchConflict,
    DuplicateLetters,
    PaperLetter,
    PaperProblem,
    PaperStatus,
    PartnerClient,
    PermanentError,
    RetryableError,
    ReturnReason,
    build_batch,
    check_address,
    cover_sheet,
    holds_national_number,
)
from regiohub.documents.tests.fake_print_partner import fake_print_partner

DAY = date(2026, 6, 12)
KORTRIJK = "34022"
RETURN = ("Stad Kortrijk", "Grote Markt 54", "8500 Kortrijk")
#: A valid national register number (docs/research/issue-21-ebox.md §4).
NATIONAL_NUMBER = "85071512397"


def document(title: str, pages: int = 1) -> bytes:
    """A PDF standing in for a sealed one (the batch treats both as opaque bytes)."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def letter(number: int, **changes) -> PaperLetter:
    values = {
        "letter_id": f"L-{number:04d}",
        "idempotency_key": f"permit-{number}",
        "reference": f"OMV-2026-{number:05d}",
        "dated": DAY,
        "address_lines": (f"Jan Peeters {number}", "Doorniksestraat 12 bus 3", "8500 Kortrijk"),
        "return_address_lines": RETURN,
        "documents": (document(f"decision {number}", pages=2), document(f"annex {number}")),
        "language": "en",
    }
    values.update(changes)
    return PaperLetter(**values)


def build(root: Path, letters: list[PaperLetter], sequence: int = 1) -> Batch:
    return build_batch(
        root,
        "ipex",
        KORTRIJK,
        DAY,
        letters,
        sequence,
        municipality_name="Kortrijk",
        municipality_kbo="0207.485.077",
    )


def batch_files(batch: Batch) -> list[Path]:
    return sorted(p for p in batch.folder.rglob("*") if p.is_file())


def drawn_lines(reader: PdfReader) -> dict[str, tuple[float, float, float]]:
    """Each text line of the first page (without spaces) with its left and right edges
    and its baseline from the top of the sheet, in points: vl-convert draws glyph by glyph.
    The right edge is where the last glyph starts, plus its font size (a wide glyph)."""
    glyphs: dict[float, list[tuple[float, float, str]]] = {}

    def visitor(text, cm, tm, font, size):
        if text.strip():
            x = cm[0] * tm[4] + cm[2] * tm[5] + cm[4]
            top = 842 - (cm[1] * tm[4] + cm[3] * tm[5] + cm[5])
            glyphs.setdefault(round(top, 1), []).append((x, size * tm[0], text.strip()))

    reader.pages[0].extract_text(visitor_text=visitor)
    lines = {}
    for top, row in glyphs.items():
        row.sort()
        lines["".join(t for _x, _s, t in row)] = (row[0][0], row[-1][0] + row[-1][1], top)
    return lines


def test_a_batch_of_three_letters_is_laid_out_with_a_manifest(tmp_path):
    letters = [letter(1), letter(2), letter(3)]
    batch = build(tmp_path, letters)

    assert batch.batch_id == "34022-ipex-20260612-001"
    assert batch.folder == tmp_path / "ipex" / "2026-06-12" / batch.batch_id
    assert not list(batch.folder.parent.glob("*.tmp"))
    relative = [str(p.relative_to(batch.folder)) for p in batch_files(batch)]
    assert relative == [
        f"letters/L-000{n}/{name}"
        for n in (1, 2, 3)
        for name in ("cover.pdf", "doc-1.pdf", "doc-2.pdf")
    ] + ["manifest.json"]
    manifest = json.loads((batch.folder / "manifest.json").read_bytes())
    assert manifest["batchId"] == batch.batch_id and manifest["letterCount"] == 3
    assert manifest["municipality"] == {"nis": KORTRIJK, "name": "Kortrijk", "kbo": "0207485077"}
    first = manifest["letters"][0]
    assert first["recipient"]["addressLines"] == list(letters[0].address_lines)
    assert first["options"]["priority"] == "non-prior"
    assert [d["pages"] for d in first["documents"]] == [2, 1]
    for name, digest in batch.files():  # every file's SHA-256 is in the manifest
        assert re.fullmatch(r"[0-9a-f]{64}", digest)
        assert hashlib.sha256((batch.folder / name).read_bytes()).hexdigest() == digest


def test_the_sealed_pdfs_are_byte_identical_in_the_batch_and_at_the_partner(tmp_path):
    letters = [letter(1), letter(2), letter(3)]
    batch = build(tmp_path, letters)
    with fake_print_partner() as partner:
        PartnerClient(partner.url).upload(batch)
        received = zipfile.ZipFile(io.BytesIO(partner.archives[batch.batch_id]))
    for one, entry in zip(letters, batch.manifest["letters"], strict=True):
        for data, doc in zip(one.documents, entry["documents"], strict=True):
            sealed = hashlib.sha256(data).hexdigest()
            assert doc["sha256"] == sealed and doc["bytes"] == len(data)
            assert (batch.folder / doc["file"]).read_bytes() == data
            assert hashlib.sha256(received.read(doc["file"])).hexdigest() == sealed


def test_the_cover_sheet_is_one_a4_page_with_the_address_in_the_window(tmp_path):
    one = letter(7, registered=True)
    with translation.override("nl"):  # the sheet speaks the letter's language, not ours
        data = cover_sheet(one)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    text = reader.pages[0].extract_text()
    for line in [*one.address_lines, *RETURN, one.reference, "12 June 2026"]:
        assert line in text
    assert "Pages: 3 in 2 document(s)" in text
    assert "Registered letter" in text
    assert "check its seal at" in text and "ec.europa.eu" in text
    # The recipient's lines lie within the window (20-120 mm from the left, 39-84 mm
    # from the top of the sheet), in order.
    drawn = drawn_lines(reader)
    mm = 72 / 25.4
    tops = []
    for line in one.address_lines:
        left, right, top = drawn[line.replace(" ", "")]
        assert 20 * mm <= left and right <= 120 * mm
        assert 39 * mm <= top <= 84 * mm
        tops.append(top)
    assert tops == sorted(tops)


def test_the_longest_address_line_of_wide_letters_still_fits_the_window():
    wide = "MEVROUW WILLEMIJN VAN DEN WOUWER-MOMMAERTS WWWWWWW"
    assert len(wide) == 50
    one = letter(8, address_lines=(wide, "Doorniksestraat 12 bus 3", "8500 Kortrijk"))
    left, right, _top = drawn_lines(PdfReader(io.BytesIO(cover_sheet(one))))[wide.replace(" ", "")]
    mm = 72 / 25.4
    assert 20 * mm <= left and right <= 120 * mm


def test_the_batch_cover_is_the_cover_sheet(tmp_path):
    batch = build(tmp_path, [letter(1)])
    cover = (batch.folder / batch.manifest["letters"][0]["cover"]["file"]).read_bytes()
    text = PdfReader(io.BytesIO(cover)).pages[0].extract_text()
    assert "Jan Peeters 1" in text and "8500 Kortrijk" in text


@pytest.mark.parametrize(
    ("lines", "line", "words"),
    [
        (["A", "B", "C", "D", "E", "F", "8500 Kortrijk"], None, "has 7 lines"),
        (["Jan Peeters", "X" * 51, "8500 Kortrijk"], 2, "line 2 has 51 characters"),
        (["Jan Peeters", "Doorniksestraat 12", "8500"], 3, "postcode but no municipality"),
        (["Jan Peeters", "Doorniksestraat 12", "Kortrijk"], 3, "postcode and the municipality"),
        (["Jan Peeters", "Doorniksestraat 12", ""], 3, "line 3 is empty"),
        (["Jan Peeters", "", "8500 Kortrijk"], 2, "line 2 is empty"),
        (["Jan\nPeeters", "8500 Kortrijk"], 1, "line 1 holds a line break"),
        (["8500 Kortrijk"], None, "at least a name"),
    ],
)
def test_address_problems_name_the_line(lines, line, words):
    with translation.override("en"), pytest.raises(AddressProblem) as problem:
        check_address(lines)
    assert problem.value.line == line
    assert words in problem.value.message


def test_a_letter_abroad_may_have_seven_lines_ending_with_the_country():
    lines = [
        "Marie Dubois",
        "Service urbanisme",
        "Mairie",
        "Bâtiment B",
        "1 Place X",
        "59000 Lille",
    ]
    assert check_address([*lines, "FRANCE"], country_code="FR")[-1] == "FRANCE"


def test_a_bad_letter_leaves_no_batch_behind(tmp_path):
    good = letter(1)
    bad = letter(2, address_lines=("Jan Peeters", "Doorniksestraat 12 bus 3", "8500"))
    with translation.override("en"), pytest.raises(AddressProblem) as problem:
        build(tmp_path, [good, bad])
    assert problem.value.letter_id == "L-0002" and problem.value.line == 3
    assert str(problem.value).startswith("L-0002: The recipient's address: line 3")
    assert not any(tmp_path.rglob("*"))


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"documents": ()}, "at least one PDF"),
        ({"documents": (b"PK\x03\x04 not a pdf",)}, "Document 1 is not a PDF"),
        ({"documents": (document("x"),) * 7}, "at most 6 PDFs"),
        ({"letter_id": "../escape"}, "A letter id is"),
        ({"language": "es"}, "The language is one of"),
        ({"reference": f"RR {NATIONAL_NUMBER}"}, "The reference holds a national register"),
        ({"idempotency_key": "85.07.15-123.97"}, "The idempotency key holds a national"),
    ],
)
def test_letters_that_cannot_go_on_paper_are_refused(tmp_path, changes, words):
    with translation.override("en"), pytest.raises(PaperProblem) as problem:
        build(tmp_path, [letter(1, **changes)])
    assert words in str(problem.value)


def test_batch_identifiers_are_checked(tmp_path):
    with translation.override("en"):
        for args, words in [
            (("ip/ex", KORTRIJK, 1), "A partner id"),
            (("ipex", "3402", 1), "NIS code has 5 digits"),
            (("ipex", KORTRIJK, 1000), "sequence number is 1 to 999"),
        ]:
            partner, nis, sequence = args
            with pytest.raises(PaperProblem, match=words):
                build_batch(tmp_path, partner, nis, DAY, [letter(1)], sequence)
        with pytest.raises(PaperProblem, match="twice in the batch"):
            build(tmp_path, [letter(1), letter(1)])
    assert not any(tmp_path.rglob("*"))


def test_no_national_register_number_anywhere_in_the_batch(tmp_path):
    # A citizen's letter: the system knows the number (for the eBox), the paper never does.
    assert holds_national_number(NATIONAL_NUMBER)
    batch = build(tmp_path, [letter(1), letter(2), letter(3)])
    eleven = re.compile(r"(?<!\d)\d{11}(?!\d)")
    for path in batch_files(batch):
        data = path.read_bytes()
        assert not holds_national_number(data.decode("latin-1")), path
        assert NATIONAL_NUMBER.encode() not in data
    texts = []  # every value of the manifest but the digests (hex may hold 11 digits)

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key != "sha256":
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        else:
            texts.append(str(value))

    walk(json.loads((batch.folder / "manifest.json").read_bytes()))
    assert "OMV-2026-00001" in texts and not any(eleven.search(t) for t in texts)


def test_building_again_returns_the_committed_batch(tmp_path):
    letters = [letter(1), letter(2), letter(3)]
    first = build(tmp_path, letters)
    again = build(tmp_path, letters)
    assert again.manifest_bytes == first.manifest_bytes  # not rewritten: same createdAt
    with translation.override("en"), pytest.raises(BatchConflict, match="other letters"):
        build(tmp_path, letters[:2])
    changed = [letters[0], letters[1], letter(3, documents=(document("other"),))]
    with pytest.raises(BatchConflict) as conflict:
        build(tmp_path, changed)
    assert conflict.value.letter_id == "L-0003"
    assert build(tmp_path, changed, sequence=2).batch_id.endswith("-002")


def test_a_crash_before_the_commit_is_rebuilt(tmp_path, monkeypatch):
    letters = [letter(1), letter(2), letter(3)]
    real_rename = paper.os.rename

    def crash(source, target):
        raise OSError("power cut")

    monkeypatch.setattr(paper.os, "rename", crash)
    with pytest.raises(OSError, match="power cut"):
        build(tmp_path, letters)
    day = tmp_path / "ipex" / "2026-06-12"
    assert [p.name for p in day.iterdir()] == ["34022-ipex-20260612-001.tmp"]
    # Half a file more, as a crash in the middle of a write leaves it.
    (day / "34022-ipex-20260612-001.tmp" / "letters" / "L-0001" / "doc-1.pdf").write_bytes(b"%P")

    monkeypatch.setattr(paper.os, "rename", real_rename)
    batch = build(tmp_path, letters)
    assert [p.name for p in day.iterdir()] == [batch.batch_id]
    batch.verify()
    assert (batch.folder / "letters/L-0001/doc-1.pdf").read_bytes() == letters[0].documents[0]


def test_a_batch_changed_on_disk_is_not_sent(tmp_path):
    batch = build(tmp_path, [letter(1)])
    (batch.folder / "letters/L-0001/doc-2.pdf").write_bytes(document("forged"))
    with translation.override("en"), pytest.raises(PaperProblem, match="differs from its"):
        batch.archive()
    with translation.override("en"), pytest.raises(PaperProblem, match="differs from its"):
        build(tmp_path, [letter(1)])


def test_a_batch_is_uploaded_once_and_accepted(tmp_path):
    batch = build(tmp_path, [letter(1), letter(2), letter(3)])
    with fake_print_partner() as partner:
        uploaded = PartnerClient(partner.url).upload(batch)
        stats = requests.get(f"{partner.url}/_fake/stats", timeout=5).json()
    assert uploaded.batch_id == batch.batch_id and not uploaded.duplicate
    assert uploaded.letter_count == 3 and uploaded.received_at
    assert partner.received[0].headers["Idempotency-Key"] == f'"{batch.batch_id}"'
    assert stats == {
        "received": 1,
        "accepted": 1,
        "duplicates": 0,
        "by_letter": {"L-0001": 1, "L-0002": 1, "L-0003": 1},
    }


def test_a_lost_answer_is_retried_and_the_partner_has_each_letter_once(tmp_path):
    batch = build(tmp_path, [letter(1), letter(2), letter(3)])
    with fake_print_partner() as partner:
        client = PartnerClient(partner.url, timeout=5)
        partner.fail_next(2, "503")
        for _ in range(2):
            with pytest.raises(RetryableError) as unavailable:
                client.upload(batch)
            assert unavailable.value.status == 503
        assert not partner.letters  # a 503 takes nothing in
        partner.fail_next(1, "drop")
        with pytest.raises(RetryableError) as dropped:
            client.upload(batch)  # the partner committed, the answer got lost
        assert dropped.value.retryable and dropped.value.status is None
        retried = client.upload(batch)
        assert retried.duplicate
        assert client.upload(batch).duplicate  # and again: still done, still once
    assert partner.letters == {"L-0001": 1, "L-0002": 1, "L-0003": 1}
    assert partner.stats()["received"] == 5 and partner.duplicates == 2


def test_a_letter_already_sent_in_another_batch_is_refused(tmp_path):
    first = build(tmp_path, [letter(1), letter(2)])
    second = build(tmp_path, [letter(3), letter(2)], sequence=2)
    with fake_print_partner() as partner:
        client = PartnerClient(partner.url)
        client.upload(first)
        with translation.override("en"), pytest.raises(DuplicateLetters) as duplicate:
            client.upload(second)
    assert duplicate.value.letter_ids == ["L-0002"] and not duplicate.value.retryable
    assert "L-0002" in duplicate.value.message
    assert partner.letters == {"L-0001": 1, "L-0002": 1}


def test_a_digest_mismatch_at_the_partner_is_permanent(tmp_path, monkeypatch):
    batch = build(tmp_path, [letter(1)])
    (batch.folder / "letters/L-0001/doc-1.pdf").write_bytes(document("swapped"))
    monkeypatch.setattr(Batch, "verify", lambda self: None)  # as if our own check missed it
    with (
        fake_print_partner() as partner,
        translation.override("en"),
        pytest.raises(PermanentError) as refused,
    ):
        PartnerClient(partner.url).upload(batch)
    assert refused.value.status == 400 and refused.value.code == "DIGEST_MISMATCH"
    assert "letters/L-0001/doc-1.pdf" in refused.value.message
    assert not refused.value.retryable and not partner.letters


def test_no_partner_listening_is_retryable(tmp_path):
    batch = build(tmp_path, [letter(1)])
    with fake_print_partner() as partner:
        url = partner.url
    with pytest.raises(RetryableError):
        PartnerClient(url, timeout=2).upload(batch)


def test_events_come_back_in_order_page_by_page(tmp_path):
    batch = build(tmp_path, [letter(1), letter(2), letter(3)])
    with fake_print_partner(page_size=2) as partner:
        client = PartnerClient(partner.url)
        client.upload(batch)  # ACCEPTED for each letter: seq 1-3
        bid = batch.batch_id
        partner.add_event(bid, "L-0001", "PRINTED")
        partner.add_event(bid, "L-0001", "POSTED", mail_id="MID-1", tracking_number="TN-1")
        partner.add_event(bid, "L-0001", "DELIVERED")
        partner.add_event(bid, "L-0002", "RETURNED", reason="MOVED", detail="Verhuisd")
        events, after = [], 0
        while page := client.events(bid, after):
            assert len(page) <= 2
            events.extend(page)
            after = page[-1].seq
        assert client.events(bid, after=after) == []
        with pytest.raises(PermanentError) as unknown:
            client.events("34022-ipex-20260612-999")
    assert [e.seq for e in events] == list(range(1, 8))
    assert [(e.letter_id, e.status) for e in events] == [
        ("L-0001", PaperStatus.ACCEPTED),
        ("L-0002", PaperStatus.ACCEPTED),
        ("L-0003", PaperStatus.ACCEPTED),
        ("L-0001", PaperStatus.PRINTED),
        ("L-0001", PaperStatus.POSTED),
        ("L-0001", PaperStatus.DELIVERED),
        ("L-0002", PaperStatus.RETURNED),
    ]
    assert events[4].mail_id == "MID-1" and events[4].tracking_number == "TN-1"
    assert events[6].reason is ReturnReason.MOVED and events[6].detail == "Verhuisd"
    assert all(e.at.tzinfo is not None for e in events)
    assert unknown.value.status == 404
