"""The pooled grid: row t reads months ≤ t only; other-source and neighbour inputs line up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data.registry import Region, Registry
from features.pooled import months_since, pooled_inputs, share_at_least
from forecast.risk import EscalationRule, threshold_matrix

RULE = EscalationRule()


def limits(wide: pd.DataFrame) -> pd.DataFrame:
    return threshold_matrix(wide, RULE)


def _registry() -> Registry:
    return Registry(
        [
            Region("AAA", "Country A", "country", iso3="AAA"),
            Region("AA01", "One", "admin1", parent="AAA", iso3="AAA", neighbours=("AA02",)),
            Region("AA02", "Two", "admin1", parent="AAA", iso3="AAA", neighbours=("AA01",)),
        ]
    )


def _panel(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    months = pd.period_range("2015-01", "2019-12", freq="M")
    rows = []
    for region, scale in (("AAA", 40.0), ("AA01", 10.0), ("AA02", 25.0)):
        for month, value in zip(months, rng.poisson(scale, len(months)), strict=True):
            rows.append((region, month, "fatalities", float(value), "t"))
        for month, value in zip(months, rng.poisson(1.0, len(months)), strict=True):
            rows.append((region, month, "aid_diversion", float(value), "t"))
    frame = pd.DataFrame(rows, columns=["region", "month", "series", "value", "source"])
    frame["month"] = frame["month"].astype("period[M]")
    return frame


@settings(max_examples=15, deadline=None)
@given(cut=st.integers(12, 58), seed=st.integers(0, 50))
def test_row_t_is_identical_whatever_comes_after(cut, seed):
    panel = _panel()
    origin = pd.Period("2019-12", "M")
    at = pd.Period("2015-01", "M") + cut
    changed = panel.copy()
    later = changed["month"] > at
    changed.loc[later, "value"] = np.random.default_rng(seed).poisson(500, int(later.sum()))
    a = pooled_inputs(panel, "fatalities", origin, limits, _registry())
    b = pooled_inputs(changed, "fatalities", origin, limits, _registry())
    row = a.months.get_loc(at)
    for name in a.features:
        np.testing.assert_array_equal(a.features[name][: row + 1], b.features[name][: row + 1])


def test_other_source_neighbours_and_other_series_line_up():
    panel = _panel()
    grid = pooled_inputs(panel, "fatalities", pd.Period("2019-12", "M"), limits, _registry())
    wide = panel[panel.series == "fatalities"].pivot(
        index="month", columns="region", values="value"
    )
    at = grid.regions.get_loc("AA01")
    # the admin1 sum and the country's own count sit next to each other on every region
    expected_sub = np.log1p(wide["AA01"] + wide["AA02"]).to_numpy()
    np.testing.assert_allclose(grid.features["nat_sub_lag1"][:, at], expected_sub)
    np.testing.assert_allclose(grid.features["nat_cty_lag1"][:, at], np.log1p(wide["AAA"]))
    np.testing.assert_allclose(
        grid.features["nat_sub_lag1"][:, grid.regions.get_loc("AAA")], expected_sub
    )
    np.testing.assert_allclose(grid.features["nbr_lag1"][:, at], np.log1p(wide["AA02"]))
    assert np.isnan(grid.features["nbr_lag1"][:, grid.regions.get_loc("AAA")]).all()
    assert "s_aid_diversion_lag1" in grid.features
    assert grid.is_country.tolist() == [False, False, True]  # AA01, AA02, AAA sorted


def test_months_since_and_share_at_least():
    flags = np.array([[False], [True], [False], [False], [True]])
    assert months_since(flags)[:, 0].tolist() == [60, 0, 1, 2, 0]
    values = np.array([[30.0], [np.nan], [10.0], [40.0]])
    limit = np.full((4, 1), 25.0)
    assert share_at_least(values, limit, 2)[:, 0].tolist() == pytest.approx([1.0, 1.0, 0.0, 0.5])


def test_a_panel_past_the_origin_or_without_the_series_is_refused():
    panel = _panel()
    with pytest.raises(ValueError, match="past the origin"):
        pooled_inputs(panel, "fatalities", pd.Period("2018-12", "M"), limits)
    with pytest.raises(ValueError, match="no 'peacekeeper_casualties' rows"):
        pooled_inputs(panel, "peacekeeper_casualties", pd.Period("2019-12", "M"), limits)
