"""The output contract of one forecast: exact columns, coherent numbers, no future data."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecast.base import ForecastTask
from forecast.draws import Draws
from forecast.output import FORECAST_COLUMNS, forecast_frame, samples_frame, write_samples_parquet
from forecast.pipeline import ForecastConfig, forecast_from_panel
from forecast.risk import escalation_thresholds
from riskcast.config import validate_section
from riskcast.errors import ConfigError, InputError

ORIGIN = pd.Period("2019-06", "M")
CONTRACT = [
    "region", "series", "origin", "month", "horizon", "model", "mean",
    "q0.05", "q0.10", "q0.25", "q0.50", "q0.75", "q0.90", "q0.95",
    "p_escalation", "threshold",
]  # fmt: skip


class SpyModel:
    """Poisson around each region's recent mean; remembers the last month it was shown."""

    name: ClassVar[str] = "spy"
    seen: ClassVar[list[pd.Period]] = []

    def fit(self, task: ForecastTask) -> SpyModel:
        SpyModel.seen.append(task.panel["month"].max())
        self.task = task
        self.mean = task.target_matrix().tail(6).mean().fillna(0).to_numpy()
        return self

    def predict(self, horizon: int, n_draws: int, rng: np.random.Generator) -> Draws:
        lam = np.broadcast_to(self.mean[:, None, None], (len(self.mean), horizon, n_draws))
        return Draws(
            self.name,
            self.task.series,
            self.task.origin,
            self.task.regions,
            rng.poisson(lam),
            notes={self.task.regions[0]: "spy note"},
        )


def spy_factory(name: str, **options) -> SpyModel:
    return SpyModel()


def test_contract_frame_is_exact_and_coherent(panel, registry) -> None:
    result = forecast_from_panel(
        panel, registry, model="conflictology", origin=ORIGIN, horizon=6, n_draws=300
    )
    frame = result.frame
    assert list(frame.columns) == CONTRACT == list(FORECAST_COLUMNS)
    regions = sorted(
        panel.loc[panel["month"] <= ORIGIN, "region"][panel["series"] == "fatalities"].unique()
    )
    assert len(frame) == len(regions) * 6
    assert set(frame["origin"]) == {"2019-06"}
    assert frame["month"].iloc[:6].tolist() == [f"2019-{m:02d}" for m in range(7, 13)]
    quantiles = frame[CONTRACT[7:14]].to_numpy()
    assert (np.diff(quantiles, axis=1) >= 0).all()
    assert (quantiles >= 0).all() and (result.draws.values >= 0).all()
    assert frame["p_escalation"].between(0, 1).all()
    # p_escalation is the share of draws at or above the threshold, row by row.
    expected = (result.draws.values >= result.thresholds[:, None, None]).mean(axis=2).ravel()
    np.testing.assert_allclose(frame["p_escalation"], expected)
    np.testing.assert_allclose(frame["mean"], result.draws.values.mean(axis=2).ravel(), rtol=1e-6)
    cut = panel[panel["month"] <= ORIGIN]
    np.testing.assert_allclose(result.thresholds, escalation_thresholds(cut, result.draws.regions))


def test_same_seed_same_forecast_and_future_rows_are_ignored(panel, registry) -> None:
    kwargs = {"model": "poisson_mean", "origin": ORIGIN, "horizon": 3, "n_draws": 200, "seed": 7}
    first = forecast_from_panel(panel, registry, **kwargs)
    poisoned = panel.copy()
    poisoned.loc[poisoned["month"] > ORIGIN, "value"] = 1e6
    second = forecast_from_panel(poisoned, registry, **kwargs)
    pd.testing.assert_frame_equal(first.frame, second.frame)


def test_model_never_sees_a_month_after_the_origin(panel, registry) -> None:
    SpyModel.seen.clear()
    result = forecast_from_panel(
        panel, registry, model="spy", origin=ORIGIN, horizon=2, n_draws=50, factory=spy_factory
    )
    assert SpyModel.seen == [ORIGIN]
    assert result.notes == {result.draws.regions[0]: "spy note"}
    assert list(result.notes_frame().columns) == ["region", "model", "origin", "note"]
    assert list(result.frame.columns) == CONTRACT  # notes never leak into the contract


def test_bad_requests_raise_clear_errors(panel, registry) -> None:
    with pytest.raises(InputError, match="horizon"):
        forecast_from_panel(panel, registry, model="zero", origin=ORIGIN, horizon=37)
    with pytest.raises(InputError, match="after the last month"):
        forecast_from_panel(panel, registry, model="zero", origin=pd.Period("2030-01", "M"))
    with pytest.raises(InputError, match="ZZ99"):
        forecast_from_panel(panel, registry, model="zero", origin=ORIGIN, regions=["ZZ99"])
    with pytest.raises(ConfigError, match="did you mean 'conflictology'"):
        forecast_from_panel(panel, registry, model="conflictolgy", origin=ORIGIN)


def test_boundary_one_month_of_history_and_long_horizon(panel, registry) -> None:
    first = panel["month"].min()
    result = forecast_from_panel(
        panel, registry, model="conflictology", origin=first, horizon=36, n_draws=100
    )
    assert result.draws.horizon == 36 and len(result.frame) == 36 * len(result.draws.regions)


def test_samples_round_trip_through_parquet(tmp_path, panel, registry) -> None:
    result = forecast_from_panel(
        panel, registry, model="poisson_mean", origin=ORIGIN, horizon=2, n_draws=20
    )
    path = write_samples_parquet(samples_frame(result.draws), tmp_path / "s" / "draws.parquet")
    back = pd.read_parquet(path)
    assert list(back.columns) == ["region", "series", "origin", "month", "draw", "value"]
    assert back["value"].dtype == np.float32 and len(back) == result.draws.values.size
    region, h, k = result.draws.regions[1], 2, 7
    row = back[(back["region"] == region) & (back["month"] == "2019-08") & (back["draw"] == k)]
    assert row["value"].item() == result.draws.values[1, h - 1, k]


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 4),
    st.integers(1, 5),
    st.integers(1, 40),
    st.floats(0, 200),
    st.integers(0, 2**31),
)
def test_contract_laws_hold_for_any_draws(regions, horizon, n, threshold, seed) -> None:
    rng = np.random.default_rng(seed)
    values = rng.negative_binomial(1, 0.05, size=(regions, horizon, n)).astype(float)
    draws = Draws("m", "fatalities", ORIGIN, tuple(f"R{i}" for i in range(regions)), values)
    frame = forecast_frame(draws, np.full(regions, threshold))
    assert (np.diff(frame[CONTRACT[7:14]].to_numpy(), axis=1) >= -1e-9).all()
    assert frame["p_escalation"].between(0, 1).all()
    assert frame["q0.05"].min() >= 0


def test_forecast_config_defaults_and_overrides() -> None:
    config = validate_section({}, "forecast", ForecastConfig, horizon=6)
    assert config.horizon == 6 and config.n_draws == 1000 and config.seed == 0
    assert config.model == config.default_model
    with pytest.raises(ConfigError):
        validate_section({}, "forecast", ForecastConfig, horizon=40)
