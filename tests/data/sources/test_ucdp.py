"""UCDP: GED events (a small GED-shaped file) and the real wide country-month table."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from data.sources import ucdp
from data.sources.frames import read_header
from riskcast.errors import InputError
from tests.conftest import shared_file
from tests.data.sources.helpers import assert_panel_shape, options, resolver, yearly

GED_HEADER = "id,year,type_of_violence,country,adm_1,adm_2,date_start,date_end,best,low,high\n"


def write_ged(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "ged_small.csv"
    path.write_text(GED_HEADER + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def ged_file(tmp_path: Path) -> Path:
    return write_ged(
        tmp_path,
        [
            "1,2020,1,Mali,Mopti region,Bankass cercle,2020-01-05 00:00:00.000,2020-01-05,12,10,15",
            "2,2020,2,Mali,Mopti region,Koro cercle,2020-01-20,2020-02-02,3,3,3",
            "3,2020,3,Mali,Gao region,Ansongo cercle,2020-03-11,2020-03-11,7,5,9",
            "4,2020,1,Mali,Ménaka region,,2020-03-30,2020-03-30,2,2,2",
            "5,2020,1,Mali,,,2020-02-14,2020-02-14,40,40,40",
            "6,2020,1,Burkina Faso,Sahel region,Soum province,2020-02-01,2020-02-01,5,5,5",
        ],
    )


def test_ged_is_detected_by_its_columns(ged_file: Path) -> None:
    columns = read_header(ged_file)
    assert ucdp.GED.matches(ged_file, columns)
    assert not ucdp.COUNTRY_MONTH.matches(ged_file, columns)


def test_ged_sums_best_per_admin1_and_month_with_zeros(
    ged_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        panel = ucdp.parse_ged(ged_file, resolver(), options())
    assert_panel_shape(panel)
    values = panel.set_index(["region", panel["month"].astype(str)])["value"]
    assert values[("ML05", "2020-01")] == 15  # two Mopti events in January (by date_start)
    assert values[("ML07", "2020-03")] == 7
    assert values[("ML10", "2020-03")] == 2
    assert values[("BF56", "2020-02")] == 5
    assert values[("ML05", "2020-02")] == 0  # explicit zero inside the file's span
    assert set(panel["month"].astype(str)) == {"2020-01", "2020-02", "2020-03"}
    assert set(panel["region"]) == {f"ML{i:02d}" for i in range(1, 12)} | {
        f"BF{n}" for n in ("13", *map(str, range(46, 58)))
    }
    assert (panel["source"] == "ucdp_ged:ged_small.csv").all()
    # the event with a blank adm_1 (40 deaths) is dropped and said so, not mis-assigned
    assert panel["value"].sum() == 12 + 3 + 7 + 2 + 5
    assert "dropped 1 row(s) with a blank adm_1" in caplog.text
    assert "fatalities=40" in caplog.text


def test_ged_without_zero_fill_keeps_only_event_months(ged_file: Path) -> None:
    panel = ucdp.parse_ged(ged_file, resolver(), options(zero_fill=False))
    assert len(panel) == 4
    assert (panel["value"] > 0).all()


def test_ged_unknown_admin1_names_row_and_closest(tmp_path: Path) -> None:
    path = write_ged(
        tmp_path,
        [
            "1,2020,1,Mali,Mopti region,,2020-01-05,2020-01-05,1,1,1",
            "2,2020,1,Mali,Moptti region,,2020-01-06,2020-01-06,1,1,1",
        ],
    )
    with pytest.raises(InputError, match=r"ged_small.csv, row 3, field 'adm_1'.*Mopti \(ML05\)"):
        ucdp.parse_ged(path, resolver(), options())


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("1,2020,1,Mali,Mopti region,,2020-13-45,2020-01-05,1,1,1", "date_start"),
        ("1,2020,1,Mali,Mopti region,,2020-01-05,2020-01-05,-3,1,1", "best"),
        ("1,2020,1,Mali,Mopti region,,2020-01-05,2020-01-05,many,1,1", "best"),
        ("1,2020,1,Atlantis,Mopti region,,2020-01-05,2020-01-05,1,1,1", "country"),
    ],
)
def test_ged_bad_values_name_the_row_and_field(tmp_path: Path, row: str, field: str) -> None:
    path = write_ged(tmp_path, ["1,2020,1,Mali,Gao region,,2020-01-01,2020-01-01,1,1,1", row])
    with pytest.raises(InputError, match=rf"row 3, field '{field}'"):
        ucdp.parse_ged(path, resolver(), options())


def test_ged_missing_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "ged.csv"
    path.write_text("country,adm_1,date_start\nMali,Gao,2020-01-01\n", encoding="utf-8")
    with pytest.raises(InputError, match="missing column.*'best'"):
        ucdp.parse_ged(path, resolver(), options())


def test_country_month_unnamed_column_with_counts_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text(",Mali,Niger,Chad,Sudan,Ghana,\n2020-01-31,3,4,0,1,0,7\n", encoding="utf-8")
    with pytest.raises(InputError, match="without a header holds non-zero"):
        ucdp.parse_country_month(path, resolver(), options())


def test_country_month_two_columns_for_one_country_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text(",Ivory Coast,Cote D'Ivoire\n2020-01-31,3,4\n", encoding="utf-8")
    with pytest.raises(InputError, match="both name country CIV"):
        ucdp.parse_country_month(path, resolver(), options())


def test_real_country_month_table_maps_every_column_and_matches_mali_totals() -> None:
    path = shared_file("ucdp_country_month_1989_2021.csv")
    assert ucdp.COUNTRY_MONTH.matches(path, read_header(path))
    assert not ucdp.GED.matches(path, read_header(path))
    panel = ucdp.parse_country_month(path, resolver(), options())
    assert_panel_shape(panel)
    raw = pd.read_csv(path, index_col=0, parse_dates=True)
    named = [c for c in raw.columns if not c.startswith("Unnamed")]
    assert panel["region"].nunique() == len(named) == 132
    assert len(panel) == 132 * 396
    assert panel["value"].sum() == raw[named].to_numpy().sum()
    mali = yearly(panel, "fatalities", ["MLI"])
    assert {year: mali[year] for year in (2012, 2013, 2018, 2020, 2021)} == {
        2012: 317,
        2013: 773,
        2018: 1218,
        2020: 1519,
        2021: 1285,
    }
    assert yearly(panel, "fatalities", ["COD"])[2021] == raw["DR Congo (Zaire)"]["2021"].sum()
