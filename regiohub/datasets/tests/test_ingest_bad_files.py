import io
import struct
import zipfile

import pytest
from django.utils import translation

from regiohub.datasets.ingest import (
    IngestError,
    archives,
    convert,
    infer_schema,
    read_raw,
)
from regiohub.datasets.tests.ingest_files import load, write


def read_error(path) -> str:
    with pytest.raises(IngestError) as caught:
        read_raw(path, filename=path.name)
    return caught.value.message


def test_zero_byte_upload(tmp_path):
    assert "0 bytes" in read_error(write(tmp_path, "leeg.csv", b""))


def test_file_with_only_whitespace_is_empty(tmp_path):
    assert read_error(write(tmp_path, "leeg.csv", "\r\n \r\n")) == "The file is empty."


def test_header_without_rows(tmp_path):
    assert "no data rows" in read_error(write(tmp_path, "kop.csv", "a;b;c\r\n"))


@pytest.mark.parametrize(
    ("content", "kind"),
    [(b"%PDF-1.7\n...", "PDF"), (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG")],
)
def test_other_files_renamed_to_csv(tmp_path, content, kind):
    assert f"This is a {kind} file, not a data file" in read_error(
        write(tmp_path, "data.csv", content)
    )


def test_nul_bytes_are_binary(tmp_path):
    assert "binary data" in read_error(write(tmp_path, "data.csv", b"a;b\n1;\x00\x01\n"))


def test_bytes_that_are_no_known_encoding(tmp_path):
    # 0x81 and 0x8d are neither UTF-8 nor Windows-1252.
    assert "unknown character encoding" in read_error(write(tmp_path, "x.csv", b"a;b\n\x81;\x8d\n"))


def test_ragged_row_names_row_and_field_counts(tmp_path):
    path = write(tmp_path, "scheef.csv", "a;b;c\n1;2;3\n4;5;6\n7;8;9;10\n")
    assert read_error(path) == (
        "Row 4 has 4 fields, but the header row has 3. Check the delimiters and quotes in that row."
    )


def test_ragged_row_after_a_blank_line(tmp_path):
    path = write(tmp_path, "scheef.csv", "a;b;c\n1;2;3\n\n7;8\n")
    assert read_error(path).startswith("Row 4 has 2 fields, but the header row has 3.")


def test_duplicate_column_names(tmp_path):
    message = read_error(write(tmp_path, "dubbel.csv", "a;b;a;c;b\n1;2;3;4;5\n"))
    assert message == (
        "The header row has the same column name more than once: “a”, “b”. "
        "Is there a title above the header? Choose the row the header is on."
    )


def test_empty_column_name(tmp_path):
    message = read_error(write(tmp_path, "leeg.csv", "a;;c\n1;2;3\n"))
    assert message.startswith("Column 2 has values (from row 2) but no name in the header row.")
    assert message.endswith("Is there a title above the header? Choose the row the header is on.")


def test_too_many_columns(tmp_path):
    header = ";".join(f"k{number}" for number in range(1001))
    assert "1001 columns; we accept at most 1000" in read_error(
        write(tmp_path, "breed.csv", header + "\n" + ";" * 1000 + "\n")
    )


def test_zip_bomb_is_refused_before_extracting(tmp_path, monkeypatch):
    monkeypatch.setattr(archives, "RATIO_CHECK_FROM_BYTES", 1000)
    path = tmp_path / "bom.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.csv", "a;b\n" + "0;0\n" * 500_000)
    assert "zip bomb" in read_error(path)


def test_zip_declaring_more_than_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(archives, "MAX_UNPACKED_BYTES", 1000)
    path = tmp_path / "groot.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("data.csv", "a;b\n" + "0;0\n" * 500)
    assert "more than 0 GB" in read_error(path) or "unpacks into more" in read_error(path)


def test_gzip_bomb_is_stopped_while_unpacking(tmp_path, monkeypatch):
    import gzip

    monkeypatch.setattr(archives, "RATIO_CHECK_FROM_BYTES", 1000)
    path = write(tmp_path, "bom.csv.gz", gzip.compress(b"a;b\n" + b"0;0\n" * 500_000))
    assert "zip bomb" in read_error(path)


def test_xlsx_bomb_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(archives, "RATIO_CHECK_FROM_BYTES", 1000)
    path = tmp_path / "bom.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", "<row/>" * 200_000)
    assert "zip bomb" in read_error(path)


def test_zip_with_two_files(tmp_path):
    path = tmp_path / "twee.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", "a\n1\n")
        archive.writestr("b.csv", "a\n1\n")
    assert read_error(path).startswith("The zip file contains 2 files (“a.csv”, “b.csv”)")


def test_damaged_zip(tmp_path):
    content = io.BytesIO()
    with zipfile.ZipFile(content, "w") as archive:
        archive.writestr("a.csv", "a\n1\n")
    broken = content.getvalue()[:30] + struct.pack("<I", 0) * 4
    assert "damaged" in read_error(write(tmp_path, "kapot.zip", broken))


def test_text_in_a_number_column_names_row_column_and_value(tmp_path):
    path = write(tmp_path, "n.csv", "naam;bedrag\na;1,5\nb;2,5\n")
    raw = read_raw(path, filename=path.name)
    schema = infer_schema(raw)
    bad = write(tmp_path, "n2.csv", "naam;bedrag\na;1,5\nb;twee\nc;3,5\nd;1.5\n")
    result = convert(read_raw(bad, filename=bad.name), schema)
    assert result.table is None
    assert [(error.row, error.column, error.value) for error in result.errors] == [
        (3, "bedrag", "twee"),
        (5, "bedrag", "1.5"),
    ]
    assert [error.reason for error in result.errors] == [
        "“twee” is not a number with a decimal comma (such as 1.234,56): correct the value, "
        "leave the row out, or choose Text for this column",
        "“1.5” is not a number with a decimal comma (such as 1.234,56): this value has a "
        "decimal point and the column a decimal comma; correct the value or choose the "
        "decimal point when you upload",
    ]


def test_other_conversion_errors(tmp_path):
    path = write(tmp_path, "x.csv", "n;d;t;b\n1;31/12/2025;31/12/2025 14:00;ja\n")
    raw = read_raw(path, filename=path.name)
    schema = infer_schema(raw)
    bad = write(
        tmp_path,
        "y.csv",
        "n;d;t;b\n1,5;30/02/2025;30/03/2025 02:30;misschien\n99999999999999999999;;;\n",
    )
    result = convert(read_raw(bad, filename=bad.name), schema)
    assert [(error.row, error.column, error.reason) for error in result.errors] == [
        (2, "n", "“1,5” is not a whole number: choose Number for a column with decimals"),
        (
            2,
            "d",
            "“30/02/2025” is not a date (such as 31/12/2025): correct the value, or choose "
            "Text for this column",
        ),
        (
            2,
            "t",
            "“30/03/2025 02:30” does not exist in Belgian time: the clocks were put forward "
            "an hour then",
        ),
        (
            2,
            "b",
            "“misschien” is not yes or no (ja/nee, true/false, 1/0): write ja or nee (or x "
            "for yes and leave the cell empty for no), or choose Text",
        ),
        (
            3,
            "n",
            "“99999999999999999999” is not a whole number: numbers this long are codes, "
            "choose Text",
        ),
        (3, "d", "this column may not be empty"),
        (3, "t", "this column may not be empty"),
        (3, "b", "this column may not be empty"),
    ]


def test_max_errors_and_total(tmp_path):
    path = write(tmp_path, "veel.csv", "n\n" + "1\n" * 5 + "x\n" * 250)
    raw = read_raw(path, filename=path.name)
    schema = infer_schema(raw)
    schema[0].type = "integer"
    result = convert(raw, schema, max_errors=10)
    assert len(result.errors) == 10
    assert result.total_errors == 250
    assert result.more_errors == 240
    assert result.errors[0].row == 7


def test_reasons_in_dutch(tmp_path):
    path = write(tmp_path, "n.csv", "n\n1\nx\n")
    raw = read_raw(path, filename=path.name)
    schema = infer_schema(raw)
    schema[0].type = "integer"
    with translation.override("nl"):
        result = convert(raw, schema)
    # Without a Dutch catalogue entry the English msgid is shown; the sentence is marked.
    assert "“x”" in result.errors[0].reason


def test_load_helper_reports_no_errors_for_a_good_file(tmp_path):
    assert load(write(tmp_path, "ok.csv", "a\n1\n")).ok
