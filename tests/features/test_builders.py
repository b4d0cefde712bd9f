"""Each builder on a small panel whose expected values are worked out by hand below."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from features.build import build_features
from features.config import EventsConfig, EventSpec, FeatureConfig
from tests.features import abc_registry, long_panel

# Months 2020-01 … 2020-06. C starts in February; X (the country) carries peacekeeper
# casualties; A has aid diversion.
FAT_A = [0, 5, 10, 30, 0, 2]
FAT_B = [1, 1, 1, 1, 1, 40]
FAT_C = [None, 3, 0, 0, 50, 0]
PK_X = [0, 2, 0, 1, 0, 3]
AID_A = [0, 0, 1, 0, 2, 0]

CONFIG = FeatureConfig(
    lags=[1, 2, 3, 6, 12],
    windows=[3, 6],
    since_thresholds=[1, 25],
    decay_half_lives=[1],
    spatial_quantities=["lag1", "roll3_sum"],
    cross_series=["aid_diversion"],
    cross_quantities=["lag1", "roll3_sum"],
    parent_series=["peacekeeper_casualties"],
    parent_quantities=["lag1", "roll3_sum"],
    children_series=["fatalities"],
    children_quantities=["lag1", "roll3_sum"],
    events=EventsConfig(
        builtin=False,
        list=(
            EventSpec(name="flood", region="A", start="2020-02", end="2020-03"),
            EventSpec(name="ceasefire", region="X", start="2020-02", kind="decay", half_life=2),
        ),
    ),
)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    panel = long_panel(
        {
            ("A", "fatalities"): FAT_A,
            ("B", "fatalities"): FAT_B,
            ("C", "fatalities"): FAT_C,
            ("X", "peacekeeper_casualties"): PK_X,
            ("A", "aid_diversion"): AID_A,
        }
    )
    return build_features(panel, abc_registry(), CONFIG, regions=["A", "B", "C", "X"])


def at(frame: pd.DataFrame, region: str, month: str) -> pd.Series:
    row = frame[(frame["region"] == region) & (frame["origin"] == pd.Period(month, "M"))]
    assert len(row) == 1
    return row.iloc[0]


def test_one_row_per_region_and_origin(frame: pd.DataFrame) -> None:
    assert len(frame) == 4 * 6
    assert list(frame.columns[:2]) == ["region", "origin"]
    assert frame["origin"].dtype == "period[M]"
    assert not frame.duplicated(["region", "origin"]).any()


def test_lags_count_back_from_the_first_forecast_month(frame: pd.DataFrame) -> None:
    row = at(frame, "A", "2020-06")
    assert row["fatalities_lag1"] == 2  # June itself
    assert row["fatalities_lag2"] == 0  # May
    assert row["fatalities_lag3"] == 30  # April
    assert row["fatalities_lag6"] == 0  # January
    assert np.isnan(row["fatalities_lag12"])  # before the data
    assert row["fatalities_log1p_lag3"] == pytest.approx(math.log(31))


def test_rolling_windows_and_growth(frame: pd.DataFrame) -> None:
    row = at(frame, "A", "2020-06")
    last3 = [30, 0, 2]
    assert row["fatalities_roll3_sum"] == 32
    assert row["fatalities_roll3_mean"] == pytest.approx(32 / 3)
    assert row["fatalities_roll3_max"] == 30
    assert row["fatalities_roll3_std"] == pytest.approx(statistics.stdev(last3))
    assert row["fatalities_roll6_sum"] == 47
    assert row["fatalities_growth3_6"] == pytest.approx(math.log1p(32 / 3) - math.log1p(47 / 6))
    assert np.isnan(at(frame, "A", "2020-02")["fatalities_roll3_sum"])  # two months only


def test_months_since_a_threshold(frame: pd.DataFrame) -> None:
    assert at(frame, "A", "2020-06")["fatalities_since_ge25"] == 2  # April had 30
    assert at(frame, "A", "2020-06")["fatalities_since_ge1"] == 0
    assert at(frame, "B", "2020-05")["fatalities_since_ge25"] == 4  # never: months since Jan
    assert at(frame, "B", "2020-06")["fatalities_since_ge25"] == 0
    assert at(frame, "C", "2020-04")["fatalities_since_ge1"] == 2  # February had 3
    assert np.isnan(at(frame, "C", "2020-01")["fatalities_since_ge1"])  # not started


def test_decayed_past_violence(frame: pd.DataFrame) -> None:
    # half-life 1: weights 1, 1/2, 1/4, 1/8, 1/16, 1/32 from June back to January
    expected = 2 + 0 / 2 + 30 / 4 + 10 / 8 + 5 / 16 + 0 / 32
    assert at(frame, "A", "2020-06")["fatalities_decay_hl1"] == pytest.approx(expected)


def test_neighbours_mean_and_partial_windows(frame: pd.DataFrame) -> None:
    assert at(frame, "B", "2020-06")["nbr_fatalities_lag1"] == pytest.approx((2 + 0) / 2)
    assert at(frame, "A", "2020-06")["nbr_fatalities_lag1"] == 40
    # B's neighbours' 3-month sums at June: A 30+0+2, C 0+50+0 → mean 41
    assert at(frame, "B", "2020-06")["nbr_fatalities_roll3_sum"] == pytest.approx(41)
    # In March C has no full window yet: the mean is over the neighbours known (A: 15)
    assert at(frame, "B", "2020-03")["nbr_fatalities_roll3_sum"] == 15
    assert np.isnan(at(frame, "X", "2020-06")["nbr_fatalities_lag1"])  # X has no neighbours


def test_neighbour_sum_needs_every_neighbour() -> None:
    panel = long_panel(
        {("A", "fatalities"): FAT_A, ("B", "fatalities"): FAT_B, ("C", "fatalities"): FAT_C}
    )
    config = CONFIG.model_copy(update={"spatial_aggregate": "sum"})
    built = build_features(panel, abc_registry(), config)
    assert at(built, "B", "2020-06")["nbr_fatalities_roll3_sum"] == 32 + 50
    assert np.isnan(at(built, "B", "2020-03")["nbr_fatalities_roll3_sum"])


def test_cross_series_and_parent_inheritance(frame: pd.DataFrame) -> None:
    assert at(frame, "A", "2020-05")["aid_diversion_lag1"] == 2
    assert at(frame, "A", "2020-06")["aid_diversion_roll3_sum"] == 2
    assert np.isnan(at(frame, "B", "2020-06")["aid_diversion_lag1"])  # B has no aid series
    row = at(frame, "B", "2020-06")
    assert row["parent_peacekeeper_casualties_lag1"] == 3  # X's June
    assert row["parent_peacekeeper_casualties_roll3_sum"] == 1 + 0 + 3
    assert np.isnan(at(frame, "X", "2020-06")["parent_peacekeeper_casualties_lag1"])


def test_children_summed_up_to_the_parent(frame: pd.DataFrame) -> None:
    assert at(frame, "X", "2020-06")["children_fatalities_lag1"] == 2 + 40 + 0
    assert at(frame, "X", "2020-01")["children_fatalities_lag1"] == 0 + 1  # C not started
    assert at(frame, "X", "2020-06")["children_fatalities_roll3_sum"] == 32 + 42 + 50
    assert np.isnan(at(frame, "A", "2020-06")["children_fatalities_lag1"])  # A has no children


def test_events_apply_to_the_region_and_below(frame: pd.DataFrame) -> None:
    assert at(frame, "A", "2020-03")["event_flood_indicator"] == 1
    assert at(frame, "A", "2020-04")["event_flood_indicator"] == 0
    assert at(frame, "A", "2020-01")["event_flood_indicator"] == 0
    assert at(frame, "B", "2020-03")["event_flood_indicator"] == 0
    # ceasefire on X, half-life 2, from February: June is 4 months on → 1/4, for X's children
    assert at(frame, "B", "2020-06")["event_ceasefire_decay"] == pytest.approx(0.25)
    assert at(frame, "X", "2020-02")["event_ceasefire_decay"] == 1
    assert at(frame, "C", "2020-01")["event_ceasefire_decay"] == 0


def test_builtin_mali_events_reach_admin1() -> None:
    from data.regions import load_default_registry

    panel = long_panel({("ML05", "fatalities"): [1] * 24}, start="2020-01")
    built = build_features(
        panel, load_default_registry(), FeatureConfig(), origins=["2020-08", "2021-07", "2021-12"]
    )
    coup = built.set_index(built["origin"].astype(str))["event_coup_decay"]
    assert coup["2020-08"] == 1  # coup of 2020-08
    assert coup["2021-07"] == pytest.approx(2 ** (-2 / 6))  # two months after 2021-05
    assert (built["event_minusma_indicator"] == 1).all()


def test_month_of_year(frame: pd.DataFrame) -> None:
    assert at(frame, "A", "2020-06")["month_of_year"] == 6
    assert frame["month_of_year"].dtype == np.int64
