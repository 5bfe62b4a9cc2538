"""The real Statbel income file: UTF-8 with BOM, CRLF, `|`, NIS codes with leading zeros."""

import pytest

from regiohub.core.testing import shared_path
from regiohub.datasets.ingest import convert, infer_schema, read_raw


def test_statbel_income_file_reads_and_converts():
    statbel = shared_path("data", "statbel", "TF_PSNL_INC_TAX_MUNTY.txt")
    raw = read_raw(statbel, filename=statbel.name)
    assert (raw.encoding, raw.delimiter, raw.num_rows) == ("utf-8-sig", "|", 5301)
    assert raw.columns[0] == "CD_YEAR"  # no BOM in the first name

    specs = {spec.name: spec for spec in infer_schema(raw)}
    for code in ("CD_MUNTY_REFNIS", "CD_DSTR_REFNIS", "CD_PROV_REFNIS", "CD_RGN_REFNIS"):
        assert specs[code].type == "text", code
    assert specs["CD_YEAR"].type == "integer"
    assert specs["MS_TOT_NET_INC"].type == "decimal"
    assert specs["MS_TOT_NET_INC"].decimal == "."
    assert specs["MS_TOT_RESIDENTS"].type == "integer"
    assert specs["TX_MUNTY_DESCR_FR"].type == "text"

    result = convert(raw, list(specs.values()))
    assert result.ok, result.errors[:5]
    first = result.table.slice(0, 1).to_pylist()[0]
    assert first["cd_year"] == 2005
    assert first["cd_munty_refnis"] == "11001"
    assert first["cd_rgn_refnis"] == "02000"
    assert first["ms_tot_net_inc"] == pytest.approx(263021930.86)
    assert first["tx_adm_dstr_descr_fr"] == "Arrondissement d’Anvers"
