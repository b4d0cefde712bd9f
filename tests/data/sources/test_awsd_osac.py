"""Aid Worker Security Database and OSAC humanitarian incidents → aid diversion."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from data.sources import acled, awsd, osac
from data.sources.frames import read_header
from riskcast.errors import InputError
from tests.conftest import shared_file
from tests.data.sources.helpers import assert_panel_shape, options, resolver, yearly

MALI_ADMIN1 = [f"ML{i:02d}" for i in range(1, 12)]


@pytest.fixture(scope="module")
def awsd_panel() -> pd.DataFrame:
    return awsd.parse(shared_file("awsd_security_incidents.csv"), resolver(), options())


def test_awsd_detection() -> None:
    path = shared_file("awsd_security_incidents.csv")
    columns = read_header(path)
    assert awsd.matches(path, columns)
    assert not osac.matches(path, columns) and not acled.EVENTS.matches(path, columns)


def test_awsd_mali_incidents_match_readme(awsd_panel: pd.DataFrame) -> None:
    assert_panel_shape(awsd_panel)
    mali = yearly(awsd_panel, "aid_diversion", ["MLI"])
    assert {y: mali[y] for y in (2019, 2020, 2021)} == {2019: 12, 2020: 17, 2021: 21}
    assert sum(mali.values()) == 126
    # admin1 counts are a lower bound: 3 Mali incidents have no Region
    assert sum(yearly(awsd_panel, "aid_diversion", MALI_ADMIN1).values()) == 126 - 3


def test_awsd_drops_monthless_and_stateless_rows_with_counts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = shared_file("awsd_security_incidents.csv")
    with caplog.at_level(logging.WARNING):
        panel = awsd.parse(path, resolver(), options())
    raw = pd.read_csv(path)
    assert f"dropped {raw['Month'].isna().sum()} row(s) without a month" in caplog.text
    assert "names=['Kashmir']" in caplog.text
    assert "Soum (6)" in caplog.text  # a province given as region: country total only
    countries = panel[panel["region"].str.len() == 3]
    kept = raw["Month"].notna() & raw["Country"].notna() & (raw["Country"] != "Kashmir")
    assert countries["value"].sum() == kept.sum()


def test_awsd_unverified_rows_can_be_left_out() -> None:
    path = shared_file("awsd_security_incidents.csv")
    every = awsd.parse(path, resolver(), options())
    verified = awsd.parse(path, resolver(), options(awsd_include_unverified=False))
    total = every.loc[every["region"] == "MLI", "value"].sum()
    assert verified.loc[verified["region"] == "MLI", "value"].sum() < total


def test_awsd_bad_month_names_row(tmp_path: Path) -> None:
    path = tmp_path / "awsd.csv"
    path.write_text(
        "Incident ID,Year,Month,Day,Country,Region\n1,2020,3,,Mali,Gao\n2,2020,13,,Mali,Gao\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"row 3, field 'Month'"):
        awsd.parse(path, resolver(), options())


def test_osac_counts_incidents_per_country_and_admin1(caplog: pytest.LogCaptureFixture) -> None:
    path = shared_file("osac_humanitarian_incidents_africa_2016_2022.csv")
    assert osac.matches(path, read_header(path))
    with caplog.at_level(logging.WARNING):
        panel = osac.parse(path, resolver(), options())
    assert_panel_shape(panel)
    raw = pd.read_csv(path, index_col=0)
    assert panel.loc[panel["region"].str.len() == 3, "value"].sum() == len(raw)
    mali_raw = raw[raw["country"] == "Mali"]
    mali = yearly(panel, "aid_diversion", ["MLI"])
    assert mali == mali_raw.groupby("year").size().astype(float).to_dict()
    assert sum(yearly(panel, "aid_diversion", MALI_ADMIN1).values()) == (
        mali_raw["admin1"].notna().sum()
    )
    # "Democratic Republic of Congo" and "Congo" are two countries
    assert panel.loc[panel["region"] == "COD", "value"].sum() == 248
    assert panel.loc[panel["region"] == "COG", "value"].sum() == 2
