"""After a refusal the file stays: the steward goes back to the column review, changes a
type or leaves rows out, and loads again without uploading again; the header row can be
chosen there too. Total rows are left out unless the steward keeps them."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook

from regiohub.core.testing import run_tasks, staff_client
from regiohub.datasets import services
from regiohub.datasets.models import Load
from regiohub.datasets.tests.factories import make_dataset, upload
from regiohub.datasets.tests.messy_sheets import SUBSIDIES_CSV

pytestmark = pytest.mark.django_db

BUDGET = "Post;Bedrag\nWegen;12,50\nGroen;n.v.t.\nSport;7,25\n"


def refused_budget(dataset, steward):
    """A load refused because the steward made "Bedrag" a number and one cell is not."""
    load = upload(dataset, steward, BUDGET, name="begroting.csv", confirm=False)
    columns = [dict(column) for column in load.schema]
    columns[1]["type"], columns[1]["decimal"] = "decimal", ","
    services.confirm(load, steward, columns=columns, primary_key=[], mode="replace")
    run_tasks()
    load.refresh_from_db()
    return load


def test_back_to_the_column_review_and_load_the_same_file(
    region, steward, django_capture_on_commit_callbacks
):
    dataset = make_dataset(region["KOR"], steward)
    refused = refused_budget(dataset, steward)
    assert refused.state == "failed"
    [error] = refused.errors
    assert (error["row"], error["value"]) == (3, "n.v.t.")
    assert error["reason"].endswith(
        "correct the value, leave the row out, or choose Text for this column"
    )
    assert (services.uploads_dir() / refused.file).is_file(), "a refused load keeps its file"

    again = services.reopen(refused, steward)
    assert again.pk != refused.pk and again.state == "review"
    assert [c["type"] for c in again.schema] == ["text", "decimal"]  # as the steward left it
    refused.refresh_from_db()
    assert (refused.state, refused.file) == ("failed", "")  # the file is the new load's now

    with django_capture_on_commit_callbacks(execute=True):
        services.confirm(
            again, steward, columns=again.schema, primary_key=[], mode="replace", exclude_rows=[3]
        )
        run_tasks()
    again.refresh_from_db()
    assert again.state == "done", again.message
    assert again.version.row_count == 2
    assert not (services.uploads_dir() / again.file).exists(), "removed once loaded"


def test_a_refused_load_whose_file_is_gone_asks_for_the_file(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    refused = refused_budget(dataset, steward)
    (services.uploads_dir() / refused.file).unlink()
    with pytest.raises(ValidationError, match="no longer kept; upload it again"):
        services.reopen(refused, steward)


def workbook_with_a_title(title_cells: int = 2) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["Meldingen", "per deelgemeente"][:title_cells])
    sheet.append(["Deelgemeente", "Meldingen"])
    sheet.append(["Heule", 4])
    sheet.append(["Bissegem", 7])
    content = io.BytesIO()
    book.save(content)
    return content.getvalue()


def test_the_steward_chooses_the_row_the_header_is_on(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    load = upload(dataset, steward, workbook_with_a_title(), name="m.xlsx", confirm=False)
    # Two title cells over a table of two columns: taken for the header.
    assert [c["name"] for c in load.schema] == ["Meldingen", "per deelgemeente"]
    load = services.reopen(load, steward, header_row=2)
    assert load.state == "inspecting"
    run_tasks()
    load.refresh_from_db()
    assert load.state == "review"
    assert [c["key"] for c in load.schema] == ["deelgemeente", "meldingen"]
    assert load.detected["header_row"] == 2
    assert load.preview == [["Heule", "4"], ["Bissegem", "7"]]


def test_a_file_refused_for_its_header_is_read_again_with_the_header_row(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    refused = upload(dataset, steward, "Titel\nGemeente;;Aantal\nMenen;x;3\n", confirm=False)
    assert refused.state == "failed"
    assert refused.message.endswith(
        "Is there a title above the header? Choose the row the header is on."
    )
    again = services.reopen(refused, steward, header_row=1)
    run_tasks()
    again.refresh_from_db()
    assert again.state == "failed"  # "Titel" alone is no header either
    again = services.reopen(again, steward, header_row=2)
    assert again.state == "inspecting"


def test_total_rows_are_left_out_unless_kept(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    content = SUBSIDIES_CSV.encode("cp1252")
    load = upload(dataset, steward, content, name="subsidies.csv", confirm=False)
    assert [(t["row"], t["label"]) for t in load.detected["totals"]] == [
        (6, "Sous-total"),
        (8, "Eindtotaal"),
    ]
    assert load.options["exclude_rows"] == [6, 8]
    assert load.rows_total == 3
    services.confirm(load, steward, columns=load.schema, primary_key=[], mode="replace")
    run_tasks()
    load.refresh_from_db()
    assert load.state == "done", load.message
    assert load.version.row_count == 3

    kept = upload(dataset, steward, content, name="subsidies.csv", confirm=False)
    services.confirm(
        kept, steward, columns=kept.schema, primary_key=[], mode="replace", exclude_rows=[8]
    )
    run_tasks()
    kept.refresh_from_db()
    assert kept.state == "done", kept.message
    assert kept.version.row_count == 4  # the subtotal kept, the grand total left out


def test_the_review_page_shows_the_sheet_and_takes_the_choices(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    load = upload(
        dataset, steward, SUBSIDIES_CSV.encode("cp1252"), name="subsidies.csv", confirm=False
    )
    client = staff_client(steward)
    page = client.get(f"/staff/data/{dataset.slug}/loads/{load.pk}/").content.decode()
    assert "The header is on row 3; the rows above it (1) look like a title" in page
    assert "Sous-total" in page and 'name="keep_total_6"' in page
    assert 'name="keep_total_6" value="1" checked' not in page  # left out by default
    assert 'id="header_row" name="header_row" value="3"' in page
    form = {"mode": "replace", "keep_total_6": "1", "left_out": "4, 7 - 7"}
    answer = client.post(f"/staff/data/{dataset.slug}/loads/{load.pk}/confirm/", form)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    load.refresh_from_db()
    assert load.options["exclude_rows"] == [4, 7, 8]

    other = upload(
        dataset, steward, SUBSIDIES_CSV.encode("cp1252"), name="subsidies.csv", confirm=False
    )
    answer = client.post(
        f"/staff/data/{dataset.slug}/loads/{other.pk}/confirm/",
        {"mode": "replace", "left_out": "vier"},
    )
    assert answer.status_code == 400
    assert "“vier” is not a row number or a range of rows" in answer.content.decode()


def test_the_refused_page_offers_the_way_back(region, steward):
    dataset = make_dataset(region["KOR"], steward)
    refused = refused_budget(dataset, steward)
    client = staff_client(steward)
    url = f"/staff/data/{dataset.slug}/loads/{refused.pk}/"
    page = client.get(url).content.decode()
    assert "Back to the column review" in page
    answer = client.post(url + "again/")
    again = Load.objects.exclude(pk=refused.pk).get()
    assert answer["Location"] == f"/staff/data/{dataset.slug}/loads/{again.pk}/"
    assert again.state == "review"
    page = client.get(answer["Location"]).content.decode()
    assert 'value="decimal" selected' in page
    answer = client.post(f"/staff/data/{dataset.slug}/loads/{again.pk}/again/", {"header_row": "x"})
    assert answer.status_code == 302
    again.refresh_from_db()
    assert again.state == "review"  # nothing read again on a wrong row number


def test_a_unit_in_the_column_name_is_not_repeated(region, steward):
    dataset = make_dataset(region["KOR"], steward, access="open")
    load = upload(dataset, steward, "Post;Bedrag (EUR);Bedrag\na;€ 12,50;€ 3,00\n", mode="replace")
    assert load.state == "done", load.message
    assert [c["unit"] for c in load.version.schema] == ["", "EUR", "EUR"]
    page = staff_client(steward).get(f"/data/{dataset.slug}/").content.decode()
    assert "Bedrag (EUR) <span" not in page
    assert 'Bedrag <span class="meta">(EUR)</span>' in page
