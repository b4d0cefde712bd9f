"""Boundary and adversarial cases: gaps under each policy, late starts, no neighbours,
unknown series, one month of history, bad panels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.build import build_features
from features.config import EventsConfig, EventSpec, FeatureConfig
from riskcast.errors import ConfigError, InputError
from tests.features import abc_registry, long_panel

# A has no row for 2020-03 (a gap); B is complete.
GAPPY = {("A", "fatalities"): [4, 5, None, 30, 0, 2], ("B", "fatalities"): [1, 1, 1, 1, 1, 1]}
SMALL = FeatureConfig(
    windows=[3],
    decay_half_lives=[1],
    events=EventsConfig(builtin=False),
    cross_series=[],
    parent_series=[],
    children_series=[],
)


def row(frame: pd.DataFrame, region: str, month: str) -> pd.Series:
    match = frame[(frame["region"] == region) & (frame["origin"] == pd.Period(month, "M"))]
    return match.iloc[0]


def build(spec, config=SMALL, **kwargs) -> pd.DataFrame:
    return build_features(long_panel(spec), abc_registry(), config, **kwargs)


def test_gap_is_unknown_by_default() -> None:
    built = build(GAPPY)
    assert np.isnan(row(built, "A", "2020-03")["fatalities_lag1"])
    assert np.isnan(row(built, "A", "2020-04")["fatalities_lag2"])
    assert np.isnan(row(built, "A", "2020-05")["fatalities_roll3_sum"])  # window holds March
    assert row(built, "A", "2020-06")["fatalities_roll3_sum"] == 32  # window past the gap
    assert row(built, "A", "2020-03")["fatalities_since_ge1"] == 1  # the gap does not reset
    assert row(built, "A", "2020-03")["fatalities_decay_hl1"] == pytest.approx(5 / 2 + 4 / 4)
    assert np.isnan(row(built, "B", "2020-03")["nbr_fatalities_lag1"])  # only neighbour unknown


def test_gap_as_zero_when_configured() -> None:
    built = build(GAPPY, SMALL.model_copy(update={"gaps": "zero"}))
    assert row(built, "A", "2020-03")["fatalities_lag1"] == 0
    assert row(built, "A", "2020-05")["fatalities_roll3_sum"] == 0 + 30 + 0
    assert row(built, "B", "2020-03")["nbr_fatalities_lag1"] == 0


def test_gap_carried_forward_when_configured() -> None:
    built = build(GAPPY, SMALL.model_copy(update={"gaps": "ffill"}))
    assert row(built, "A", "2020-03")["fatalities_lag1"] == 5
    assert row(built, "A", "2020-05")["fatalities_roll3_sum"] == 5 + 30 + 0


def test_gap_policy_per_series() -> None:
    spec = {**GAPPY, ("A", "aid_diversion"): [1, None, 2, 0, 0, 0]}
    config = SMALL.model_copy(
        update={"cross_series": ["aid_diversion"], "gaps_by_series": {"aid_diversion": "zero"}}
    )
    built = build(spec, config)
    assert row(built, "A", "2020-02")["aid_diversion_lag1"] == 0  # zero for aid …
    assert np.isnan(row(built, "A", "2020-03")["fatalities_lag1"])  # … still unknown here


@pytest.mark.parametrize("policy", ["nan", "zero", "ffill"])
def test_nothing_is_filled_before_a_series_starts(policy: str) -> None:
    spec = {
        ("A", "fatalities"): [1, 2, 3, 4, 5, 6],
        ("B", "fatalities"): [None, None, None, 7, 8, 9],  # starts in April
        ("A", "aid_diversion"): [None, None, 2, 1, 0, 0],  # a series that starts later
    }
    config = SMALL.model_copy(update={"gaps": policy, "cross_series": ["aid_diversion"]})
    built = build(spec, config)
    assert np.isnan(row(built, "B", "2020-03")["fatalities_lag1"])
    assert np.isnan(row(built, "B", "2020-03")["fatalities_since_ge1"])
    assert np.isnan(row(built, "B", "2020-03")["fatalities_decay_hl1"])
    assert row(built, "B", "2020-04")["fatalities_lag1"] == 7
    assert np.isnan(row(built, "A", "2020-02")["aid_diversion_lag1"])
    assert row(built, "A", "2020-03")["aid_diversion_lag1"] == 2
    assert np.isnan(row(built, "A", "2020-03")["nbr_fatalities_lag1"])  # B not started


def test_region_without_neighbours_and_without_registry() -> None:
    spec = {("A", "fatalities"): [1, 2, 3], ("D", "fatalities"): [5, 5, 5]}
    island = build_features(long_panel(spec), abc_registry(island=True), SMALL)
    assert row(island, "D", "2020-03")["fatalities_lag1"] == 5
    assert np.isnan(row(island, "D", "2020-03")["nbr_fatalities_lag1"])
    config = FeatureConfig(events=EventsConfig(builtin=False))
    with_registry = build_features(long_panel(spec), abc_registry(island=True), config)
    without = build_features(long_panel(spec), None, config)
    assert list(without.columns) == list(with_registry.columns)  # same columns either way
    assert without.filter(regex="^(nbr|parent|children)_").isna().all().all()
    assert without["fatalities_lag1"].equals(with_registry["fatalities_lag1"])


def test_unknown_series_in_config_names_it_with_a_hint() -> None:
    config = SMALL.model_copy(update={"cross_series": ["aid_divrsion"]})
    spec = {**GAPPY, ("A", "aid_diversion"): [0] * 6}
    with pytest.raises(
        ConfigError, match="unknown series 'aid_divrsion'.*did you mean 'aid_diversion'"
    ):
        build(spec, config)
    with pytest.raises(InputError, match="target series 'fatalites'.*did you mean 'fatalities'"):
        build(GAPPY, target="fatalites")


def test_known_series_absent_from_the_panel_gives_nan_columns() -> None:
    config = SMALL.model_copy(update={"cross_series": ["peacekeeper_casualties"]})
    built = build(GAPPY, config)
    assert built["peacekeeper_casualties_lag1"].isna().all()


def test_one_month_of_history() -> None:
    built = build({("A", "fatalities"): [7]})
    only = built.iloc[0]
    assert len(built) == 1
    assert only["fatalities_lag1"] == 7
    assert np.isnan(only["fatalities_lag2"])
    assert np.isnan(only["fatalities_roll3_sum"])
    assert only["fatalities_since_ge1"] == 0
    assert only["fatalities_decay_hl1"] == 7
    assert only["month_of_year"] == 1


def test_origin_after_the_data_is_unknown_not_zero() -> None:
    built = build(GAPPY, origins=[pd.Period("2020-09", "M")])
    assert np.isnan(row(built, "A", "2020-09")["fatalities_lag1"])
    assert row(built, "A", "2020-09")["fatalities_lag6"] == 30  # April
    assert row(built, "A", "2020-09")["fatalities_since_ge25"] == 5  # April had 30


def test_bad_panels_are_refused_with_the_field() -> None:
    panel = long_panel(GAPPY)
    with pytest.raises(InputError, match="duplicate row for region A"):
        build_features(pd.concat([panel, panel.iloc[:1]]), abc_registry(), SMALL)
    with pytest.raises(InputError, match="'value'"):
        build_features(panel.drop(columns="value"), abc_registry(), SMALL)
    with pytest.raises(InputError, match="empty"):
        build_features(panel.iloc[:0], abc_registry(), SMALL)
    with pytest.raises(InputError, match="unknown region 'Q'"):
        build_features(panel, abc_registry(), SMALL, regions=["Q"])
    with pytest.raises(InputError, match="origins"):
        build_features(panel, abc_registry(), SMALL, origins=["2020-13"])


def test_event_on_an_unknown_region_is_a_config_error() -> None:
    events = EventsConfig(list=(EventSpec(name="flood", region="Bb", start="2020-01"),))
    with pytest.raises(ConfigError, match="unknown region 'Bb'.*did you mean 'B'"):
        build(GAPPY, SMALL.model_copy(update={"events": events}))


def test_month_strings_are_accepted() -> None:
    panel = long_panel(GAPPY)
    panel["month"] = panel["month"].astype(str)
    assert row(build_features(panel, abc_registry(), SMALL), "A", "2020-06")["fatalities_lag1"] == 2
