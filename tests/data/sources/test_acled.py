"""ACLED: HDX event exports, the monadic export, the API pull, and the admin2 workbooks."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from data.aid_rule import AidRule, aid_diversion_mask
from data.regions import load_default_registry
from data.registry import Registry
from data.sources import acled
from data.sources.frames import read_header
from riskcast.errors import InputError
from tests.conftest import shared_file
from tests.data.sources.helpers import (
    assert_panel_shape,
    options,
    raw_workbook,
    resolver,
    yearly,
)

MALI_ADMIN1 = [f"ML{i:02d}" for i in range(1, 12)]


def admin1_of(country: str) -> list[str]:
    registry: Registry = load_default_registry()
    return registry.children(country)


@pytest.mark.parametrize(
    ("name", "country"),
    [
        ("acled_events_mli.csv", "MLI"),
        ("acled_events_bfa.csv", "BFA"),
        ("acled_events_ner.csv", "NER"),
    ],
)
def test_hdx_event_exports_keep_every_death_and_count_aid_events(name: str, country: str) -> None:
    path = shared_file(name)
    assert acled.EVENTS.matches(path, read_header(path))
    panel = acled.parse_events(path, resolver(), options(drop_partial_edge_months=False))
    assert_panel_shape(panel)
    raw = pd.read_csv(path, skiprows=[1])
    assert raw["admin1"].notna().all()  # so nothing may be dropped
    fatalities = panel[panel["series"] == "fatalities"]
    assert fatalities["value"].sum() == raw["fatalities"].sum()
    assert set(fatalities["region"]) == set(admin1_of(country))
    aid = panel[panel["series"] == "aid_diversion"]
    assert aid["value"].sum() == aid_diversion_mask(raw, AidRule()).sum()
    assert aid["value"].sum() >= (raw["sub_event_type"] == "Looting/property destruction").sum()
    # every admin1 of the country has a row for every month of the file's span
    months = fatalities["month"].nunique()
    assert len(fatalities) == months * len(admin1_of(country))


def test_export_cut_on_the_first_of_a_month_drops_that_month(
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = shared_file("acled_events_bfa.csv")  # last event 2020-08-01
    with caplog.at_level(logging.WARNING):
        panel = acled.parse_events(path, resolver(), options())
    assert "month 2020-08 run only from 2020-08-01 to 2020-08-01" in caplog.text
    assert "partly covered month(s) 2020-08" in caplog.text
    assert str(panel["month"].max()) == "2020-07"
    raw = pd.read_csv(path, skiprows=[1])
    july_and_before = raw[raw["event_date"] < "2020-08-01"]
    total = panel.loc[panel["series"] == "fatalities", "value"].sum()
    assert total == july_and_before["fatalities"].sum()


def test_mali_export_places_menaka_events_in_menaka() -> None:
    panel = acled.parse_events(shared_file("acled_events_mli.csv"), resolver(), options())
    raw = pd.read_csv(shared_file("acled_events_mli.csv"), skiprows=[1])
    menaka = panel[(panel["region"] == "ML10") & (panel["series"] == "fatalities")]
    assert menaka["value"].sum() == raw.loc[raw["admin1"] == "Menaka", "fatalities"].sum()


def test_monadic_export_is_deduplicated_on_event_id(caplog: pytest.LogCaptureFixture) -> None:
    path = shared_file("acled_mali_events_monadic_2017_2020.csv")
    raw = pd.read_csv(path)
    assert len(raw) == 6214
    with caplog.at_level(logging.INFO):
        panel = acled.parse_events(path, resolver(), options())
    assert "6214 rows are 3314 events" in caplog.text
    assert_panel_shape(panel)
    events = raw.drop_duplicates("event_id_cnty")
    assert len(events) == 3314
    total = panel.loc[panel["series"] == "fatalities", "value"].sum()
    assert total == events["fatalities"].sum() < raw["fatalities"].sum()
    aid = panel.loc[panel["series"] == "aid_diversion", "value"].sum()
    assert aid == aid_diversion_mask(events, AidRule()).sum()


def test_api_pull_without_ids_or_notes(caplog: pytest.LogCaptureFixture) -> None:
    path = shared_file("acled_bfa_events_2019_2021.csv")
    columns = read_header(path)
    assert len(columns) == 15 and "notes" not in columns and "event_id_cnty" not in columns
    assert acled.EVENTS.matches(path, columns)
    with caplog.at_level(logging.WARNING):
        panel = acled.parse_events(path, resolver(), options(drop_partial_edge_months=False))
    assert "month 2019-09 run only from 2019-09-24" in caplog.text
    raw = pd.read_csv(path)
    by_year = yearly(panel, "fatalities", admin1_of("BFA"))
    assert by_year == raw.groupby("year")["fatalities"].sum().astype(float).to_dict()
    aid = panel.loc[panel["series"] == "aid_diversion", "value"].sum()
    assert aid == (raw["sub_event_type"] == "Looting/property destruction").sum()
    assert str(panel["month"].min()) == "2019-09" and str(panel["month"].max()) == "2021-12"
    default = acled.parse_events(path, resolver(), options())
    assert str(default["month"].min()) == "2019-10"  # the partial first month is left out


def write_events(tmp_path: Path, rows: list[str], hxl: bool = True) -> Path:
    header = "event_id_cnty,event_date,event_type,sub_event_type,country,admin1,notes,fatalities\n"
    tags = (
        "#event+code,#date+occurred,#event+type,,#country+name,#adm1+name,#description,"
        "#affected+killed\n"
    )
    path = tmp_path / "events.csv"
    path.write_text(header + (tags if hxl else "") + "".join(f"{r}\n" for r in rows), "utf-8")
    return path


def test_blank_admin1_is_dropped_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_events(
        tmp_path,
        [
            "MLI1,2020-01-03,Battles,Armed clash,Mali,Mopti,,4",
            "MLI2,2020-01-09,Battles,Armed clash,Mali,,,9",
            "MLI3,2020-02-09,Violence against civilians,Attack,Mali,Gao,NGO staff attacked,1",
        ],
    )
    with caplog.at_level(logging.WARNING):
        panel = acled.parse_events(path, resolver(), options(drop_partial_edge_months=False))
    assert "dropped 1 row(s) with a blank admin1" in caplog.text and "fatalities=9" in caplog.text
    values = panel.set_index(["region", "series", panel["month"].astype(str)])["value"]
    assert values[("ML05", "fatalities", "2020-01")] == 4
    assert values[("ML07", "aid_diversion", "2020-02")] == 1
    assert values[("ML07", "aid_diversion", "2020-01")] == 0
    assert panel.loc[panel["series"] == "fatalities", "value"].sum() == 5


def test_unknown_admin1_is_an_error_naming_the_file_row(tmp_path: Path) -> None:
    path = write_events(
        tmp_path,
        [
            "MLI1,2020-01-03,Battles,Armed clash,Mali,Mopti,,4",
            "MLI2,2020-01-09,Battles,Armed clash,Mali,Moptti,,9",
        ],
    )
    # header = row 1, HXL row = row 2, so the second event is row 4
    with pytest.raises(InputError, match=r"events.csv, row 4, field 'admin1'.*Mopti \(ML05\)"):
        acled.parse_events(path, resolver(), options())


def test_monadic_rows_that_disagree_are_an_error(tmp_path: Path) -> None:
    path = write_events(
        tmp_path,
        [
            "MLI1,2020-01-03,Battles,Armed clash,Mali,Mopti,,4",
            "MLI1,2020-01-03,Battles,Armed clash,Mali,Mopti,,5",
        ],
        hxl=False,
    )
    with pytest.raises(InputError, match="rows of event MLI1 disagree on fatalities"):
        acled.parse_events(path, resolver(), options())


def test_osac_file_is_not_taken_for_acled_events() -> None:
    path = shared_file("osac_humanitarian_incidents_africa_2016_2022.csv")
    assert not acled.EVENTS.matches(path, read_header(path))


@pytest.mark.slow
def test_mali_admin2_workbook_matches_readme_totals() -> None:
    path = shared_file("acled_mali_admin2_month_1997_2021.xlsx")
    assert acled.ADMIN2.matches(path, read_header(path))
    assert not acled.EVENTS.matches(path, read_header(path))
    panel = acled.parse_admin2(path, resolver(), options())
    assert_panel_shape(panel)
    mali = yearly(panel, "fatalities", MALI_ADMIN1)
    assert {year: mali[year] for year in (2012, 2013, 2018, 2020, 2021)} == {
        2012: 520,
        2013: 905,
        2018: 1734,
        2020: 2838,
        2021: 1907,
    }
    # 10 admin1 regions incl. Bamako and Ménaka (Taoudénit is within Tombouctou here)
    assert sorted(panel["region"].unique()) == [f"ML{i:02d}" for i in range(1, 11)]
    assert panel["month"].nunique() == 300  # 1997-01 … 2021-12
    raw = raw_workbook(str(path))
    assert panel["value"].sum() == raw["Fatalities"].sum()


@pytest.mark.slow
def test_burkina_admin2_workbook_sums_provinces_to_regions() -> None:
    path = shared_file("acled_bfa_admin2_month_1997_2021.xlsx")
    panel = acled.parse_admin2(path, resolver(), options())
    assert_panel_shape(panel)
    raw = raw_workbook(str(path))
    assert set(panel["region"]) == set(admin1_of("BFA"))
    by_year = yearly(panel, "fatalities", admin1_of("BFA"))
    assert by_year == raw.groupby("Year")["Fatalities"].sum().astype(float).to_dict()


def test_admin2_workbook_falls_back_to_names_for_unknown_pcodes(tmp_path: Path) -> None:
    path = tmp_path / "agg.xlsx"
    table = pd.DataFrame(
        {
            "Country": ["Mali", "Mali", "Mali"],
            "Admin1": ["Mopti", "Mopti", "Taoudenit"],
            "Admin2": ["Bankass", "Koro", "Araouane"],
            "ISO3": ["MLI", "MLI", "MLI"],
            "Admin2 Pcode": ["ML0501", "ML0502", "ML1101"],
            "Admin1 Pcode": ["ML05", "ML05", "ML99"],
            "Month": ["January", "January", "February"],
            "Year": [2021, 2021, 2021],
            "Events": [1, 2, 1],
            "Fatalities": [3, 4, 6],
        }
    )
    table.to_excel(path, sheet_name="Data", index=False)
    panel = acled.parse_admin2(path, resolver(), options())
    values = panel.set_index(["region", panel["month"].astype(str)])["value"].to_dict()
    assert values == {("ML05", "2021-01"): 7.0, ("ML11", "2021-02"): 6.0}


def test_admin2_workbook_bad_month_is_named(tmp_path: Path) -> None:
    path = tmp_path / "agg.xlsx"
    pd.DataFrame(
        {
            "Admin1": ["Mopti"],
            "Admin1 Pcode": ["ML05"],
            "Month": ["Smarch"],
            "Year": [2021],
            "Fatalities": [1],
        }
    ).to_excel(path, sheet_name="Data", index=False)
    with pytest.raises(InputError, match=r"row 2, field 'Month': 'Smarch' is not a month"):
        acled.parse_admin2(path, resolver(), options())
