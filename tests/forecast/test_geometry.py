"""The origins × horizons grid: every step present, or a clear error — never a quiet drop."""

from __future__ import annotations

import pandas as pd
import pytest

from forecast.geometry import make_geometry, panel_geometry, validate_horizon
from riskcast.errors import InputError

M = pd.Period


def _geometry(origins: list[str], horizon: int, scored: bool = True):
    return make_geometry(
        [M(o, "M") for o in origins],
        horizon,
        first_month=M("2015-01", "M"),
        last_month=M("2021-12", "M"),
        scored=scored,
    )


def test_grid_has_every_origin_and_step_in_order() -> None:
    geometry = _geometry(["2020-12", "2019-12"], 12)
    grid = geometry.grid()
    assert geometry.origins == (M("2019-12", "M"), M("2020-12", "M"))
    assert len(grid) == geometry.n_steps == 24
    last = grid.iloc[-1]
    assert (last["origin"], last["horizon"], last["month"]) == (
        M("2020-12", "M"),
        12,
        M("2021-12", "M"),
    )
    assert (grid["month"] == grid["origin"] + grid["horizon"]).all()


def test_scored_step_past_the_data_raises_and_names_last_valid_origin() -> None:
    with pytest.raises(InputError, match=r"2021-01.*2020-12"):
        _geometry(["2020-12", "2021-01"], 12)


def test_origin_without_training_data_raises() -> None:
    with pytest.raises(InputError, match="no training data"):
        _geometry(["2014-12"], 3)


def test_forecast_may_reach_past_data_but_origin_may_not() -> None:
    assert _geometry(["2021-12"], 36, scored=False).n_steps == 36
    with pytest.raises(InputError, match="after the last month"):
        _geometry(["2022-01"], 3, scored=False)


@pytest.mark.parametrize("bad", [0, 37, -1, True, 2.5])
def test_horizon_outside_1_to_36_is_an_input_error(bad) -> None:
    with pytest.raises(InputError, match="horizon"):
        validate_horizon(bad)


def test_duplicate_and_empty_origins_raise() -> None:
    with pytest.raises(InputError, match="twice"):
        _geometry(["2019-12", "2019-12"], 1)
    with pytest.raises(InputError, match="no forecast origin"):
        _geometry([], 1)


def test_panel_geometry_uses_the_series_span(panel) -> None:
    with pytest.raises(InputError, match="no 'riots' series"):
        panel_geometry(panel, [M("2020-01", "M")], 1, series="riots", scored=True)
    geometry = panel_geometry(panel, [M("2020-12", "M")], 12, scored=True)
    assert geometry.last_month == M("2021-12", "M")
