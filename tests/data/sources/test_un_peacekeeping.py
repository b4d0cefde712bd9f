"""UN peacekeeping fatalities → deaths per host country of the mission."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from data.sources import un_peacekeeping
from data.sources.frames import read_header
from riskcast.errors import InputError
from tests.conftest import shared_file
from tests.data.sources.helpers import assert_panel_shape, options, resolver, yearly

HEADER = "id,incident_date,mission_acronym,type_of_incident,isocode3\n"


def write_deaths(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "deaths.csv"
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def real_panel() -> pd.DataFrame:
    path = shared_file("un_peacekeeping_fatalities.csv")
    return un_peacekeeping.parse(path, resolver(), options())


def test_real_file_matches_minusma_figures(real_panel: pd.DataFrame) -> None:
    assert un_peacekeeping.matches(
        Path("x.csv"), read_header(shared_file("un_peacekeeping_fatalities.csv"))
    )
    assert_panel_shape(real_panel)
    all_causes = yearly(real_panel, "peacekeeper_casualties", ["MLI"])
    assert {y: all_causes[y] for y in (2013, 2014, 2016, 2019, 2021, 2023)} == {
        2013: 6,
        2014: 39,
        2016: 39,
        2019: 31,
        2021: 37,
        2023: 13,
    }
    malicious = yearly(real_panel, "peacekeeper_casualties_malicious", ["MLI"])
    assert malicious[2016] == 27
    assert sum(all_causes.values()) == 311
    assert sum(malicious.values()) == 174


def test_minusma_span_has_real_zeros_and_nothing_outside(real_panel: pd.DataFrame) -> None:
    mali = real_panel[
        (real_panel["region"] == "MLI") & (real_panel["series"] == "peacekeeper_casualties")
    ]
    months = mali["month"].astype(str)
    assert months.min() == "2013-07" and months.max() == "2023-12"
    assert len(mali) == 126  # every month of the span, once
    assert mali.set_index(months)["value"]["2013-07"] == 0  # deployed, no death: a real zero


def test_nationality_is_not_location(real_panel: pd.DataFrame) -> None:
    raw = pd.read_csv(shared_file("un_peacekeeping_fatalities.csv"))
    minusma = raw[raw["mission_acronym"] == "MINUSMA"]
    assert (minusma["isocode3"] != "MLI").any()  # most who died in Mali were not Malian
    lebanon = real_panel[
        (real_panel["region"] == "LBN") & (real_panel["series"] == "peacekeeper_casualties")
    ]
    assert lebanon["value"].sum() == (raw["mission_acronym"] == "UNIFIL").sum()


def test_unknown_missions_are_reported_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_deaths(
        tmp_path,
        [
            "1,2020-01-10,MINUSMA,Malicious Act,TCD",
            "2,2020-03-02,MINUSMA,Illness,BGD",
            "3,2020-02-01,UNTSO,Accident,NOR",
            "4,2020-02-07,UNISFA,Accident,ETH",
        ],
    )
    with caplog.at_level(logging.WARNING):
        panel = un_peacekeeping.parse(path, resolver(), options())
    assert "skipped 1 death(s) of 1 mission(s)" in caplog.text and "UNTSO (1)" in caplog.text
    assert set(panel["region"]) == {"MLI", "SDN"}  # UNISFA (Abyei) is placed in Sudan
    mali = panel[(panel["region"] == "MLI") & (panel["month"].astype(str) == "2020-01")]
    assert mali.set_index("series")["value"].to_dict() == {
        "peacekeeper_casualties": 1.0,
        "peacekeeper_casualties_malicious": 1.0,
    }


def test_ongoing_mission_runs_to_the_files_last_month(tmp_path: Path) -> None:
    path = write_deaths(
        tmp_path,
        ["1,2024-01-10,MONUSCO,Malicious Act,IND", "2,2025-02-02,UNIFIL,Illness,GHA"],
    )
    panel = un_peacekeeping.parse(path, resolver(), options())
    congo = panel[(panel["region"] == "COD") & (panel["series"] == "peacekeeper_casualties")]
    assert congo["month"].astype(str).max() == "2025-02"
    assert congo["month"].astype(str).min() == "2010-07"
    assert congo["value"].sum() == 1


def test_bad_date_names_row(tmp_path: Path) -> None:
    path = write_deaths(tmp_path, ["1,2020-01-10,MINUSMA,Illness,TCD", "2,soon,MINUSMA,Illness,X"])
    with pytest.raises(InputError, match=r"row 3, field 'incident_date'"):
        un_peacekeeping.parse(path, resolver(), options())
