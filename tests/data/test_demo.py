"""The SYNTHETIC demo panel: deterministic, valid, labelled, and shaped like the real conflict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data.demo import MINUSMA, REGIONS, _neighbour_matrix, demo_panel
from data.regions import load_default_registry
from data.schema import validate_panel


@pytest.fixture(scope="module")
def demo() -> pd.DataFrame:
    return demo_panel(0)


def yearly(panel: pd.DataFrame, series: str) -> pd.Series:
    rows = panel[panel["series"] == series]
    return rows.groupby(rows["month"].dt.year)["value"].sum()


def test_same_seed_same_panel_other_seed_other_panel(demo: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(demo_panel(0), demo)
    assert not demo_panel(1)["value"].equals(demo["value"])


def test_valid_complete_and_labelled_synthetic(demo: pd.DataFrame) -> None:
    clean = validate_panel(demo, file="demo")
    assert len(clean) == len(demo) == (11 * 2 + 2) * 150
    assert set(demo["source"]) == {"synthetic-demo"}
    assert set(demo.loc[demo["series"] == "fatalities", "region"]) == set(REGIONS)
    assert set(demo.loc[demo["series"].str.startswith("peacekeeper"), "region"]) == {"MLI"}
    assert str(demo["month"].min()) == "2012-01" and str(demo["month"].max()) == "2024-06"
    assert (demo["value"] >= 0).all() and (demo["value"] == demo["value"].round()).all()
    assert all(r in load_default_registry() for r in demo["region"].unique())


def test_national_fatalities_roughly_match_the_public_figures(demo: pd.DataFrame) -> None:
    totals = yearly(demo, "fatalities")
    assert 400 <= totals[2012] <= 1200 and 500 <= totals[2013] <= 1400
    assert 1100 <= totals[2018] <= 2600
    assert 1900 <= totals[2020] <= 3800
    assert totals[2020] > 2 * totals[2014]  # the escalation after 2017 is there


def test_peacekeeper_casualties_only_during_minusma(demo: pd.DataFrame) -> None:
    pk = demo[demo["series"] == "peacekeeper_casualties"].set_index("month")["value"]
    malicious = demo[demo["series"] == "peacekeeper_casualties_malicious"].set_index("month")[
        "value"
    ]
    outside = (pk.index < MINUSMA[0]) | (pk.index > MINUSMA[1])
    assert pk[outside].sum() == 0 and malicious[outside].sum() == 0
    assert (malicious <= pk).all()
    per_year = yearly(demo, "peacekeeper_casualties").loc[2014:2022]
    assert 15 <= per_year.mean() <= 60


def test_bursts_quiet_spells_and_aid_rising_with_violence(demo: pd.DataFrame) -> None:
    fat = demo[demo["series"] == "fatalities"].pivot(
        index="month", columns="region", values="value"
    )
    aid = demo[demo["series"] == "aid_diversion"].pivot(
        index="month", columns="region", values="value"
    )
    # bursty: the busiest month of a region is far above its median month
    assert (fat.max() > 4 * fat.median().clip(lower=1)).sum() >= 6
    # quiet spells: some region has a run of at least 6 months without deaths
    runs = [
        max((len(list(g)) for k, g in __import__("itertools").groupby(col == 0) if k), default=0)
        for _, col in fat.items()
    ]
    assert max(runs) >= 6
    # aid diversion follows violence across region-months
    assert np.corrcoef(fat.to_numpy().ravel(), aid.to_numpy().ravel())[0, 1] > 0.3


def test_bursts_spread_to_neighbours(demo: pd.DataFrame) -> None:
    """Contagion: a burst is likelier where a neighbour burst the month before."""
    fat = demo[demo["series"] == "fatalities"].pivot(
        index="month", columns="region", values="value"
    )
    fat = fat[list(REGIONS)]
    usual = fat.rolling(24, min_periods=6).median().shift(1).clip(lower=2)
    burst = (fat > 3 * usual).to_numpy()
    adjacency = _neighbour_matrix()
    neighbour_burst = (burst[:-1].astype(float) @ adjacency.T) > 0
    after_neighbour, otherwise = (
        burst[1:][neighbour_burst].mean(),
        burst[1:][~neighbour_burst].mean(),
    )
    assert after_neighbour > 1.4 * otherwise
