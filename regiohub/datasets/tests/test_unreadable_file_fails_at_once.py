"""A file that cannot be parsed is refused at the first try, with a message naming the
problem: trying again would fail again (and the page would show 0 % for a quarter of an
hour). Only transient failures (I/O, locks, a concurrent Delta writer) are retried."""

from __future__ import annotations

import io
import zipfile
from unittest import mock

import openpyxl
import pytest
from django_tasks_db.models import DBTaskResult

from regiohub.datasets import services
from regiohub.datasets.tests.factories import make_dataset, upload

pytestmark = pytest.mark.django_db


def xlsx(rows, *, edit=None) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    packed = io.BytesIO()
    workbook.save(packed)
    if edit is None:
        return packed.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(packed) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = edit(data)
            target.writestr(info, data)
    return out.getvalue()


def with_doctype(xml: bytes) -> bytes:
    doctype = b'<!DOCTYPE worksheet [<!ENTITY boom "kaboom">]>'
    if xml.startswith(b"<?xml"):
        declaration, rest = xml.split(b"?>", 1)
        return declaration + b"?>" + doctype + rest
    return doctype + xml


def attempts(name: str) -> list[str]:
    return list(
        DBTaskResult.objects.filter(task_path__endswith=name).values_list("status", flat=True)
    )


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("diep.json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        ("diep.ndjson", b'{"a": 1}\n{"b": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n",
         "line 2 is nested too deeply"),
        ("doctype.xlsx", xlsx([["a", "b"], [1, 2]], edit=with_doctype), "doctype"),
        ("kapot.xlsx", xlsx([["a", "b"], [1, 2]], edit=lambda xml: xml[: len(xml) // 2]),
         "not a valid excel"),
        ("kapot.zip", b"PK\x03\x04" + b"\x00" * 200, "damaged"),
    ],
)  # fmt: skip
def test_an_unparsable_file_fails_after_one_attempt(region, steward, name, content, words):
    dataset = make_dataset(region["KOR"], steward)
    load = upload(dataset, steward, content, name=name)
    assert load.state == "failed"
    assert words in load.message.lower(), load.message
    assert attempts("inspect_load") == ["SUCCESSFUL"]  # one try, no retry scheduled
    assert not dataset.versions.exists()


def test_a_parser_crash_fails_at_once_but_an_io_error_is_retried(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    with mock.patch.object(services, "_read", side_effect=ValueError("odd bytes at 17")):
        load = upload(dataset, steward, "a;b\n1;2\n")
    assert load.state == "failed"
    assert "odd bytes at 17" in load.message
    assert attempts("inspect_load") == ["SUCCESSFUL"]

    with mock.patch.object(services, "_read", side_effect=TimeoutError("disk")):
        load = upload(dataset, steward, "a;b\n1;2\n")
    assert load.state == "inspecting"  # waits for its retry
    statuses = attempts("inspect_load")
    assert statuses.count("FAILED") == 1 and statuses.count("READY") == 1


def test_a_formula_without_a_stored_value_names_its_cells(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    content = xlsx([["a", "som"], [1, "=A2*2"], [2, "=A3*2"]])  # openpyxl does not calculate
    load = upload(dataset, steward, content, name="formules.xlsx")
    assert load.state == "failed"
    assert "2 cells" in load.message and "B2, B3" in load.message
    assert "formula without a calculated value" in load.message
    assert attempts("inspect_load") == ["SUCCESSFUL"]


def test_formulas_with_stored_values_load_their_values(region, steward):
    def calculated(xml: bytes) -> bytes:
        # An empty value is <v />, or <v></v> when openpyxl wrote with lxml (it does when
        # lxml is installed).
        xml = xml.replace(b"<v />", b"<v></v>")
        return xml.replace(b"<v></v>", b"<v>4</v>", 1).replace(b"<v></v>", b"<v>6</v>", 1)

    dataset = make_dataset(region["KOR"], steward)
    content = xlsx([["a", "som"], [2, "=A2*2"], [3, "=A3*2"]], edit=calculated)
    load = upload(dataset, steward, content, name="formules.xlsx")
    assert load.state == "done", load.message
    assert dataset.current_version.row_count == 2
