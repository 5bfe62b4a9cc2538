"""A corpus of the spreadsheets municipalities really send, built for the tests: title
rows, merged cells, two-row headers, total rows, real Excel numbers beside Belgian text
numbers, currency and units, "neen" and ticks, several sheets; each with the table it
should load as (column keys and values, the total rows left out).

Every file is made here with openpyxl or as CSV bytes, so the tests need no binaries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook


@dataclass(frozen=True)
class MessySheet:
    name: str
    filename: str
    build: Callable[[Path], Path]
    expected: list[dict[str, Any]]  # the loaded rows, by column key
    total_rows: tuple[int, ...] = ()  # rows found as totals (left out), as in the file
    options: dict[str, Any] = field(default_factory=dict)  # ReadOptions
    units: dict[str, str] = field(default_factory=dict)  # column key -> unit


def population_by_month(folder: Path) -> Path:
    """A title merged over the table, a source line, a blank row; the table starts in
    column B; "2025" merged over the months; "Regio" merged over two header rows and over
    its municipalities; a subtotal per region and a grand total."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Bevolking"
    sheet["B1"] = "Bevolking per gemeente en per maand"
    sheet.merge_cells("B1:F1")
    sheet["B2"] = "Bron: Statbel, bewerking Leiedal"
    sheet["B4"] = "Regio"
    sheet.merge_cells("B4:B5")
    sheet["C4"] = "Gemeente"
    sheet.merge_cells("C4:C5")
    sheet["D4"] = 2025
    sheet.merge_cells("D4:F4")
    for column, month in zip("DEF", ("Jan", "Feb", "Mrt"), strict=True):
        sheet[f"{column}5"] = month
    rows = [
        ("West", "Kortrijk", 77_000, 77_100, 77_250),
        (None, "Menen", 33_500, 33_480, 33_510),
        ("Subtotaal West", None, 110_500, 110_580, 110_760),
        ("Oost", "Zwevegem", 24_800, 24_810, 24_790),
        (None, "Harelbeke", 28_000, 28_020, 28_040),
        ("Subtotaal Oost", None, 52_800, 52_830, 52_830),
        ("Eindtotaal", None, 163_300, 163_410, 163_590),
    ]
    for number, row in enumerate(rows, start=6):
        for offset, value in enumerate(row):
            if value is not None:
                sheet.cell(number, 2 + offset, value)
    sheet.merge_cells("B6:B7")
    sheet.merge_cells("B9:B10")
    path = folder / "bevolking.xlsx"
    book.save(path)
    return path


def budget_with_real_and_text_numbers(folder: Path) -> Path:
    """An explanation sheet first; the budget on the second sheet: real Excel numbers
    (850.5) beside Belgian text numbers ("1.234,5") and amounts with a euro sign, real
    dates beside text dates, a percentage format, "ja" / "neen", and a total."""
    book = Workbook()
    notes = book.active
    notes.title = "Toelichting"
    notes["A1"] = "Deze werkmap bevat de begroting 2025. Zie blad Begroting."
    sheet = book.create_sheet("Begroting")
    sheet.append(["Begroting 2025 — Stad Kortrijk"])
    sheet.append([])
    sheet.append(["Post", "Datum", "Bedrag (EUR)", "Aandeel", "Goedgekeurd"])
    rows = [
        ("Wegen", dt.datetime(2025, 1, 31), 850.5, 0.12, "ja"),
        ("Groen", "28/02/2025", "1.234,5", 0.5, "neen"),
        ("Cultuur", dt.datetime(2025, 3, 31), "€ 2.000,00", 0.25, "Nee"),
        ("Sport", "30/04/2025", 915, 0.13, "Ja"),
        ("Totaal", None, 5000, 1, None),
    ]
    for row in rows:
        sheet.append(list(row))
    for number in range(4, 9):
        sheet.cell(number, 4).number_format = "0%"
    path = folder / "begroting.xlsx"
    book.save(path)
    return path


SUBSIDIES_CSV = (
    "Subsidies 2025 (stand op 31/12/2025)\n"
    "\n"
    "Vereniging;Bedrag;Afstand;Aandeel;Ingediend;Lid\n"
    "Voetbalclub;€ 1.234,56;3,5 km;12 %;x;ja\n"
    "Toneelkring;1.000,00 EUR;12 km;8 %;;neen\n"
    "Sous-total;2.234,56 EUR;15,5 km;20 %;;\n"
    "Harmonie;€ 500;0,5 km;4,5 %;x;nee\n"
    "Eindtotaal;€ 2.734,56;16 km;24,5 %;;\n"
)


def subsidies_csv(folder: Path) -> Path:
    """Windows-1252 (the euro sign is 0x80), a title line and a blank line, amounts with
    their currency before or after, units, ticks, and French and Dutch total rows."""
    path = folder / "subsidies.csv"
    path.write_bytes(SUBSIDIES_CSV.encode("cp1252"))
    return path


def counts_with_an_unlabelled_total(folder: Path) -> Path:
    """A total row without a word: only its numbers say it is the sum of the rows."""
    path = folder / "tellingen.csv"
    path.write_text(
        "Gemeente;Fietsers;Voetgangers;Auto's\n"
        "Kortrijk;120;340;1.250\n"
        "Menen;45;80;610\n"
        "Wevelgem;60;95;700\n"
        ";225;515;2.560\n",
        encoding="utf-8",
    )
    return path


def years_over_months_csv(folder: Path) -> Path:
    """Two header rows without merged cells: each year written once over its months."""
    path = folder / "maanden.csv"
    path.write_text(
        ";;2024;;2025;\n"
        "Gemeente;NIS;Jan;Feb;Jan;Feb\n"
        "Kortrijk;34022;10;11;12;13\n"
        "Menen;34027;20;21;22;23\n",
        encoding="utf-8",
    )
    return path


CORPUS = [
    MessySheet(
        name="population_by_month",
        filename="bevolking.xlsx",
        build=population_by_month,
        expected=[
            {
                "regio": "West",
                "gemeente": "Kortrijk",
                "c_2025_jan": 77_000,
                "c_2025_feb": 77_100,
                "c_2025_mrt": 77_250,
            },
            {
                "regio": "West",
                "gemeente": "Menen",
                "c_2025_jan": 33_500,
                "c_2025_feb": 33_480,
                "c_2025_mrt": 33_510,
            },
            {
                "regio": "Oost",
                "gemeente": "Zwevegem",
                "c_2025_jan": 24_800,
                "c_2025_feb": 24_810,
                "c_2025_mrt": 24_790,
            },
            {
                "regio": "Oost",
                "gemeente": "Harelbeke",
                "c_2025_jan": 28_000,
                "c_2025_feb": 28_020,
                "c_2025_mrt": 28_040,
            },
        ],
        total_rows=(8, 11, 12),
    ),
    MessySheet(
        name="budget_with_real_and_text_numbers",
        filename="begroting.xlsx",
        build=budget_with_real_and_text_numbers,
        options={"sheet": "Begroting"},
        expected=[
            {
                "post": "Wegen",
                "datum": dt.date(2025, 1, 31),
                "bedrag_eur": 850.5,
                "aandeel": 12,
                "goedgekeurd": True,
            },
            {
                "post": "Groen",
                "datum": dt.date(2025, 2, 28),
                "bedrag_eur": 1234.5,
                "aandeel": 50,
                "goedgekeurd": False,
            },
            {
                "post": "Cultuur",
                "datum": dt.date(2025, 3, 31),
                "bedrag_eur": 2000.0,
                "aandeel": 25,
                "goedgekeurd": False,
            },
            {
                "post": "Sport",
                "datum": dt.date(2025, 4, 30),
                "bedrag_eur": 915.0,
                "aandeel": 13,
                "goedgekeurd": True,
            },
        ],
        total_rows=(8,),
        units={"bedrag_eur": "EUR", "aandeel": "%"},
    ),
    MessySheet(
        name="subsidies_csv",
        filename="subsidies.csv",
        build=subsidies_csv,
        expected=[
            {
                "vereniging": "Voetbalclub",
                "bedrag": 1234.56,
                "afstand": 3.5,
                "aandeel": 12.0,
                "ingediend": True,
                "lid": True,
            },
            {
                "vereniging": "Toneelkring",
                "bedrag": 1000.0,
                "afstand": 12.0,
                "aandeel": 8.0,
                "ingediend": False,
                "lid": False,
            },
            {
                "vereniging": "Harmonie",
                "bedrag": 500.0,
                "afstand": 0.5,
                "aandeel": 4.5,
                "ingediend": True,
                "lid": False,
            },
        ],
        total_rows=(6, 8),
        units={"bedrag": "EUR", "afstand": "km", "aandeel": "%"},
    ),
    MessySheet(
        name="counts_with_an_unlabelled_total",
        filename="tellingen.csv",
        build=counts_with_an_unlabelled_total,
        expected=[
            {"gemeente": "Kortrijk", "fietsers": 120, "voetgangers": 340, "auto_s": 1250},
            {"gemeente": "Menen", "fietsers": 45, "voetgangers": 80, "auto_s": 610},
            {"gemeente": "Wevelgem", "fietsers": 60, "voetgangers": 95, "auto_s": 700},
        ],
        total_rows=(5,),
    ),
    MessySheet(
        name="years_over_months_csv",
        filename="maanden.csv",
        build=years_over_months_csv,
        expected=[
            {
                "gemeente": "Kortrijk",
                "nis": "34022",
                "c_2024_jan": 10,
                "c_2024_feb": 11,
                "c_2025_jan": 12,
                "c_2025_feb": 13,
            },
            {
                "gemeente": "Menen",
                "nis": "34027",
                "c_2024_jan": 20,
                "c_2024_feb": 21,
                "c_2025_jan": 22,
                "c_2025_feb": 23,
            },
        ],
    ),
]
