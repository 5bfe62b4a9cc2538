import datetime as dt
from pathlib import Path

import pytest

from regiohub.datasets.ingest import ReadOptions, convert, infer_schema, read_raw
from regiohub.datasets.tests.ingest_files import load, write


def types_of(path: Path) -> dict[str, str]:
    raw = read_raw(path, filename=path.name)
    return {spec.name: spec.type.value for spec in infer_schema(raw)}


UTC = dt.UTC


def test_belgian_numbers_with_decimal_comma(tmp_path):
    path = write(
        tmp_path,
        "bedragen.csv",
        "naam;Bedrag (EUR)\na;1.234,56\nb;1234,56\nc;-3,5\nd;1 234,56\ne;1\u00a0234,5\n",
    )
    result = load(path)
    assert result.ok
    assert result.table.column("bedrag_eur").to_pylist() == [
        1234.56,
        1234.56,
        -3.5,
        1234.56,
        1234.5,
    ]


def test_plain_decimal_point_numbers(tmp_path):
    path = write(tmp_path, "punt.csv", "x,y\n1234.56,0.87\n-1,2.5\n")
    result = load(path)
    assert result.table.column("x").to_pylist() == [1234.56, -1.0]
    assert result.table.column("y").to_pylist() == [0.87, 2.5]


def test_thousands_only_column_follows_the_comma_decimals_of_the_file(tmp_path):
    path = write(tmp_path, "mix.csv", "aantal;gemiddelde\n1.234;2,5\n12.500;3,75\n7;1\n")
    raw = read_raw(path, filename=path.name)
    specs = {spec.key: spec for spec in infer_schema(raw)}
    assert specs["aantal"].type == "integer"
    assert specs["aantal"].decimal == ","
    assert load(path).table.column("aantal").to_pylist() == [1234, 12500, 7]


def test_thousands_only_column_follows_a_point_decimal_file(tmp_path):
    path = write(tmp_path, "mix.txt", "a|b\n1.234|2.5\n3.500|3.75\n")
    assert load(path).table.column("a").to_pylist() == [1.234, 3.5]


def test_decimal_option_decides_an_ambiguous_column(tmp_path):
    path = write(tmp_path, "ambigu.csv", "a;b\n1.234;x\n")
    assert load(path).table.column("a").to_pylist() == [1234]
    assert load(path, options=ReadOptions(decimal=".")).table.column("a").to_pylist() == [1.234]


def test_leading_zero_codes_and_nis_columns_stay_text(tmp_path):
    path = write(tmp_path, "codes.csv", "postcode;NIS;nummer\n01234;11001;7\n8500;34022;8\n")
    assert types_of(path) == {"postcode": "text", "NIS": "text", "nummer": "integer"}
    assert load(path).table.column("postcode").to_pylist() == ["01234", "8500"]


@pytest.mark.parametrize("value", ["31/12/2025", "31-12-2025", "31.12.2025", "2025-12-31"])
def test_dates(tmp_path, value):
    path = write(tmp_path, "datum.csv", f"datum;n\n{value};1\n1/2/2025;2\n")
    result = load(path)
    assert result.table.column("datum").to_pylist() == [dt.date(2025, 12, 31), dt.date(2025, 2, 1)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("31/12/2025 14:00", dt.datetime(2025, 12, 31, 13, 0, tzinfo=UTC)),  # winter: UTC+1
        ("30/06/2025 14:00:59", dt.datetime(2025, 6, 30, 12, 0, 59, tzinfo=UTC)),  # summer
        ("2025-06-30T14:00:00", dt.datetime(2025, 6, 30, 12, 0, tzinfo=UTC)),
        ("2025-06-30T14:00:00Z", dt.datetime(2025, 6, 30, 14, 0, tzinfo=UTC)),
        ("2025-06-30T14:00:00+02:00", dt.datetime(2025, 6, 30, 12, 0, tzinfo=UTC)),
        ("2025-06-30T14:00:00.250-0100", dt.datetime(2025, 6, 30, 15, 0, 0, 250000, tzinfo=UTC)),
    ],
)
def test_timestamps_are_brussels_local_time_stored_in_utc(tmp_path, value, expected):
    path = write(tmp_path, "tijd.csv", f"tijd;n\n{value};1\n")
    result = load(path)
    assert str(result.table.schema.field("tijd").type) == "timestamp[us, tz=UTC]"
    assert result.table.column("tijd").to_pylist() == [expected]


def test_mixed_timestamp_formats_in_one_column(tmp_path):
    path = write(tmp_path, "tijd.csv", "tijd\n31/12/2025 14:00\n2025-12-31T15:00:00Z\n2025-12-31\n")
    assert load(path).table.column("tijd").to_pylist() == [
        dt.datetime(2025, 12, 31, 13, 0, tzinfo=UTC),
        dt.datetime(2025, 12, 31, 15, 0, tzinfo=UTC),
        dt.datetime(2025, 12, 30, 23, 0, tzinfo=UTC),
    ]


def test_autumn_hour_that_occurs_twice_takes_summer_time(tmp_path):
    path = write(tmp_path, "tijd.csv", "tijd\n26/10/2025 02:30\n")
    assert load(path).table.column("tijd").to_pylist() == [
        dt.datetime(2025, 10, 26, 0, 30, tzinfo=UTC)
    ]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("ja,nee,JA", [True, False, True]),
        ("waar,onwaar,waar", [True, False, True]),
        ("oui,non,yes", [True, False, True]),
        ("true,false,no", [True, False, False]),
        ("1,0,ja", [True, False, True]),
    ],
)
def test_booleans(tmp_path, words, expected):
    path = write(tmp_path, "bool.csv", "actief\n" + "\n".join(words.split(",")) + "\n")
    assert load(path).table.column("actief").to_pylist() == expected


def test_only_ones_and_zeros_is_an_integer_column(tmp_path):
    assert types_of(write(tmp_path, "b.csv", "x\n1\n0\n1\n")) == {"x": "integer"}


@pytest.mark.parametrize(
    ("content", "delimiter"),
    [
        ("a;b\n1,5;2\n", ";"),
        ("a\tb\n1\t2\n", "\t"),
        ("a|b\n1|2\n", "|"),
        ('a,b\n"1,5",2\n', ","),
    ],
)
def test_delimiter_is_sniffed(tmp_path, content, delimiter):
    raw = read_raw(write(tmp_path, "d.txt", content), filename="d.txt")
    assert raw.delimiter == delimiter
    assert raw.columns == ["a", "b"]


def test_encodings(tmp_path):
    content = "naam;plaats\nJosé;Liège\n"
    for encoding, expected in [
        ("utf-8-sig", "utf-8-sig"),
        ("utf-8", "utf-8"),
        ("cp1252", "cp1252"),
        ("utf-16", "utf-16"),
    ]:
        path = write(tmp_path, f"{encoding}.csv", content.replace("\n", "\r\n"), encoding)
        raw = read_raw(path, filename=path.name)
        assert raw.encoding == expected
        assert raw.columns == ["naam", "plaats"]
        assert raw.table.to_pylist() == [{"naam": "José", "plaats": "Liège"}]


def test_cp1252_after_a_long_ascii_start(tmp_path):
    content = ("a;b\n" + "x;1\n" * 300_000 + "é;2\n").encode("cp1252")
    raw = read_raw(write(tmp_path, "lang.csv", content), filename="lang.csv")
    assert raw.encoding == "cp1252"
    assert raw.table.column("a")[-1].as_py() == "é"


def test_keys_units_and_roles(tmp_path):
    path = write(
        tmp_path,
        "meting.csv",
        "Tijdstip;Snelheid [km/h];Bedrag (€);Breedtegraad;lng;segment_id;Één\n"
        "31/12/2025 14:00;50,5;3;50,85;4,35;9000001;x\n",
    )
    specs = infer_schema(read_raw(path, filename=path.name))
    assert [spec.key for spec in specs] == [
        "tijdstip",
        "snelheid_km_per_h",
        "bedrag_eur",
        "breedtegraad",
        "lng",
        "segment_id",
        "een",
    ]
    assert [spec.unit for spec in specs][:3] == ["", "km/h", "€"]
    assert [spec.role for spec in specs] == ["time", "", "", "latitude", "longitude", "id", ""]


def test_keys_are_unique_safe_and_short(tmp_path):
    long = "x" * 80
    path = write(tmp_path, "k.csv", f"1e kolom;a b;a-b;{long};{long}2\n1;2;3;4;5\n")
    keys = [spec.key for spec in infer_schema(read_raw(path, filename="k.csv"))]
    assert keys[:3] == ["c_1e_kolom", "a_b", "a_b_2"]
    assert len(keys[3]) == 63
    assert len(set(keys)) == 5
    assert all(len(key) <= 63 for key in keys)


def test_blank_lines_keep_the_row_numbers_of_the_file(tmp_path):
    path = write(tmp_path, "gaten.csv", "a;b\r\n1;2\r\n\r\n3;x\r\n\r\n\r\n5;y\r\n")
    raw = read_raw(path, filename=path.name)
    schema = infer_schema(raw)
    schema[1].type = "integer"

    result = convert(raw, schema)
    assert [(error.row, error.value) for error in result.errors] == [(4, "x"), (7, "y")]


def test_gzipped_csv(tmp_path):
    import gzip

    path = write(tmp_path, "data.csv.gz", gzip.compress(b"a;b\n1;2,5\n"))
    assert load(path).table.to_pylist() == [{"a": 1, "b": 2.5}]


def test_zip_with_one_csv(tmp_path):
    import zipfile

    path = tmp_path / "data.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export/data.csv", "a;b\n1;2,5\n")
        archive.writestr("__MACOSX/._data.csv", "junk")
    assert load(path).table.to_pylist() == [{"a": 1, "b": 2.5}]
