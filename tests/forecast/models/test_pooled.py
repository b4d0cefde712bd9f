"""pooled_gbm: contract, one story (tilted draws), refit anchors and honesty of its fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scoringrules as sr

from forecast.models import make_model
from forecast.models.pooled import PooledGBM, apply_platt, platt
from forecast.risk import escalation_thresholds, prob_any
from tests.forecast.models.conftest import cut_task, truth


def test_contract_counts_quantiles_and_score(panel, task):
    model = make_model("pooled_gbm")
    draws = model.fit(task).predict(12, 400, np.random.default_rng(1))
    assert draws.values.shape == (len(task.regions), 12, 400)
    assert draws.values.dtype == np.float32 and (draws.values >= 0).all()
    assert np.array_equal(draws.values, np.round(draws.values)), "draws must be counts"
    assert (np.diff(draws.quantiles(), axis=0) >= 0).all()
    observed = truth(panel, task, 12)
    crps = sr.crps_ensemble(np.log1p(observed), np.log1p(draws.values.astype(float)))
    assert np.isfinite(crps).all() and crps.mean() < 3.0


def test_deterministic_and_horizon_36(task):
    first = make_model("pooled_gbm").fit(task).predict(36, 50, np.random.default_rng(7))
    second = make_model("pooled_gbm").fit(task).predict(36, 50, np.random.default_rng(7))
    assert np.array_equal(first.values, second.values)
    assert first.months()[-1] == task.origin + 36
    with pytest.raises(ValueError, match="horizon"):
        make_model("pooled_gbm").fit(task).predict(37, 5, np.random.default_rng(0))


def test_published_probabilities_are_the_classifiers(task):
    """One story: the draws' exceedance shares are the calibrated classifier probabilities."""
    model = PooledGBM(mix=0.5, trust=1.0)
    draws = model.fit(task).predict(12, 1000, np.random.default_rng(3))
    thresholds = escalation_thresholds(task.panel, task.regions, origin=task.origin)
    inputs, fitted = model.inputs, model.fitted
    from forecast.models.pooled import _Rows, design

    positions = inputs.regions.get_indexer(list(task.regions))
    h = np.tile(np.arange(1, 13), len(positions))
    rows = _Rows(np.full(len(h), len(inputs.months) - 1), np.repeat(positions, 12), h, h * 1.0)
    x = design(inputs, rows)
    p_h, p_any = model._escalation(fitted, x, rows.h == 1)
    shares = draws.prob_at_least(thresholds)
    assert np.abs(shares - p_h.reshape(len(positions), 12)).max() <= 0.5 / 1000 + 1e-9
    any_3 = prob_any(draws, thresholds, 3)
    # p_any_3 is the classifier's, as far as the monthly shares allow (largest … their sum)
    feasible = np.clip(p_any, shares[:, :3].max(axis=1), np.minimum(1, shares[:, :3].sum(axis=1)))
    assert np.abs(any_3 - feasible).max() <= 1.5 / 1000


def test_options_are_checked():
    with pytest.raises(ValueError, match="mix"):
        PooledGBM(mix=1.5)
    with pytest.raises(ValueError, match="calibration"):
        PooledGBM(calibration="isotonic")


def test_fit_reads_nothing_after_the_refit_anchor(panel, registry):
    """Months after the anchor (but ≤ origin) change the inputs, never the fitted model."""
    origin = pd.Period("2020-06", "M")
    model = PooledGBM(refit_months=12)
    assert model.anchor(origin) == pd.Period("2019-12", "M")
    base = model.fit(cut_task(panel, "2020-06", registry)).predict(6, 200, np.random.default_rng(0))
    changed = panel.copy()
    later = (changed["month"] > pd.Period("2019-12", "M")) & (changed["series"] == "fatalities")
    changed.loc[later, "value"] += 40.0
    other = PooledGBM(refit_months=12)
    other.fit(cut_task(changed, "2020-06", registry))
    assert other.fitted is model.fitted  # the same anchor data: the cached fit is reused
    moved = other.predict(6, 200, np.random.default_rng(0))
    assert not np.array_equal(base.values, moved.values)  # the inputs at the origin moved


def test_too_short_a_history_is_a_clear_error(panel, registry):
    short = panel[panel["month"] >= pd.Period("2019-01", "M")]
    with pytest.raises(ValueError, match="too little history"):
        PooledGBM().fit(cut_task(short, "2020-12", registry))


def test_platt_recovers_a_known_miscalibration():
    rng = np.random.default_rng(0)
    true = rng.uniform(0.02, 0.6, 20000)
    label = (rng.random(len(true)) < true).astype(float)
    reported = 1 / (1 + np.exp(-(0.5 * np.log(true / (1 - true)) + 1.0)))  # overconfident
    ab = platt(reported, label, np.ones(len(label)))
    assert np.abs(apply_platt(reported, ab) - true).mean() < 0.01


def test_in_the_output_contract_and_a_backtest(panel, registry):
    from forecast.backtest import run_backtest
    from forecast.output import FORECAST_COLUMNS
    from forecast.pipeline import forecast_from_panel

    result = forecast_from_panel(
        panel, registry, model="pooled_gbm", origin=pd.Period("2020-12", "M"), n_draws=200
    )
    assert list(result.frame.columns) == list(FORECAST_COLUMNS)
    origins = [pd.Period("2020-06", "M"), pd.Period("2020-12", "M")]
    backtest = run_backtest(
        panel, registry, models=["pooled_gbm"], origins=origins, horizon=12, n_draws=200,
        progress=False, options={"pooled_gbm": {"base": "poisson_mean", "trust": 0.5}},
    )  # fmt: skip
    summary = backtest.summary().set_index("model")
    assert summary.loc["pooled_gbm", "n"] == 2 * 12 * len(backtest.scores["region"].unique())
    assert np.isfinite(summary.loc["pooled_gbm", ["crps_log", "brier"]].astype(float)).all()


def test_escalation_spec_options_make_a_model():
    from pathlib import Path

    from experiments.spec import load_spec

    spec = load_spec(Path(__file__).parents[3] / "experiments" / "specs" / "escalation.toml")
    model = make_model("pooled_gbm", **spec.model_options["pooled_gbm"])
    assert isinstance(model, PooledGBM) and "pooled_gbm" in spec.models


def test_another_registry_is_another_fit(panel, registry):
    with_borders = PooledGBM().fit(cut_task(panel, "2020-12", registry))
    without = PooledGBM().fit(cut_task(panel, "2020-12", None))
    assert without.fitted is not with_borders.fitted
    assert np.isnan(without.inputs.features["nbr_lag1"]).all()
    assert not np.isnan(with_borders.inputs.features["nbr_lag1"]).all()
