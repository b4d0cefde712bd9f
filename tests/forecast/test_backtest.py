"""Rolling-origin backtests: full geometry or an error, no leakage, coherent scores."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from forecast.backtest import SCORE_METRICS, crps_weights, run_backtest
from forecast.executors import NOTHING, SerialExecutor, make_executor
from forecast.output import FORECAST_COLUMNS
from riskcast.errors import InputError
from tests.panels import synthetic_panel

ORIGINS = [pd.Period("2019-12", "M"), pd.Period("2020-12", "M")]
MODELS = ["conflictology", "poisson_mean", "no_change"]


def _backtest(panel, registry, **kwargs):
    settings = {
        "models": MODELS,
        "origins": ORIGINS,
        "horizon": 12,
        "n_draws": 200,
        "progress": False,
    }
    settings.update(kwargs)
    return run_backtest(panel, registry, **settings)


@pytest.fixture
def result(panel, registry):
    return _backtest(panel, registry)


def test_every_model_origin_horizon_and_region_is_scored(result, panel) -> None:
    regions = panel.loc[panel["series"] == "fatalities", "region"].nunique()
    assert len(result.scores) == len(MODELS) * len(ORIGINS) * 12 * regions
    assert result.geometry.n_steps == 24
    assert list(result.forecasts.columns) == list(FORECAST_COLUMNS)
    assert len(result.forecasts) == len(result.scores)
    assert result.scores[list(SCORE_METRICS)].notna().all().all()
    merged = result.scores.merge(result.forecasts, on=["model", "origin", "region", "month"])
    np.testing.assert_allclose(merged["p_escalation_x"], merged["p_escalation_y"])
    # the truth is the panel's value at the target month
    row = result.scores.iloc[-1]
    truth = panel[
        (panel["region"] == row["region"])
        & (panel["month"] == pd.Period(row["month"], "M"))
        & (panel["series"] == "fatalities")
    ]["value"].item()
    assert row["obs"] == truth
    assert set(result.scores["base_rate"].between(0, 1)) == {True}


def test_summary_overall_and_by_horizon_with_skill(result) -> None:
    overall = result.summary()
    assert list(overall["model"]) == MODELS and "horizon" not in overall
    for column in ("crps", "crps_log", "ignorance", "interval_90", "ae_median", "coverage_50",
                   "coverage_90", "brier", "log_loss", "brier_skill", "crps_skill",
                   "crps_log_skill"):  # fmt: skip
        assert column in overall, column
    reference = overall.set_index("model").loc["conflictology"]
    assert reference["crps_skill"] == pytest.approx(0.0)
    model = overall.set_index("model").loc["poisson_mean"]
    assert model["crps_skill"] == pytest.approx(1 - model["crps"] / reference["crps"])
    by_horizon = result.summary(by_horizon=True)
    assert len(by_horizon) == len(MODELS) * 12
    h1 = by_horizon[(by_horizon["model"] == "no_change") & (by_horizon["horizon"] == 1)]
    rows = result.scores[(result.scores["model"] == "no_change") & (result.scores["horizon"] == 1)]
    assert h1["crps"].item() == pytest.approx(rows["crps"].mean())
    assert result.reliability("poisson_mean")["n"].sum() == len(rows) * 12


def test_crps_weights_are_inverse_crps(result) -> None:
    summary = result.summary()
    weights = crps_weights(summary)
    assert sum(weights.values()) == pytest.approx(1.0)
    crps = summary.set_index("model")["crps"]
    ratio = weights["poisson_mean"] / weights["no_change"]
    assert ratio == pytest.approx(crps["no_change"] / crps["poisson_mean"])
    with pytest.raises(InputError):
        crps_weights(summary, metric="crsp")


def test_poison_after_each_origin_changes_no_forecast(panel, registry, result) -> None:
    for origin in ORIGINS:
        poisoned = panel.copy()
        later = poisoned["month"] > origin
        poisoned.loc[later, "value"] = poisoned.loc[later, "value"] * 1000 + 7
        alone = _backtest(panel=poisoned, registry=registry, origins=[origin])
        clean = result.forecasts[result.forecasts["origin"] == origin.strftime("%Y-%m")]
        pd.testing.assert_frame_equal(
            alone.forecasts.reset_index(drop=True), clean.reset_index(drop=True)
        )


def test_backtest_that_would_drop_steps_raises(panel, registry) -> None:
    with pytest.raises(InputError, match="reach past the last month"):
        _backtest(panel, registry, origins=[pd.Period("2021-06", "M")])
    with pytest.raises(InputError, match="twice"):
        _backtest(panel, registry, models=["zero", "zero"])
    gap = panel.drop(
        panel[
            (panel["region"] == "AA02")
            & (panel["month"] == pd.Period("2021-03", "M"))
            & (panel["series"] == "fatalities")
        ].index  # fmt: skip
    )
    with pytest.raises(InputError, match="AA02 2021-03"):
        _backtest(gap, registry)


def test_region_without_history_at_an_origin_raises_when_asked_for(panel, registry) -> None:
    with pytest.raises(InputError, match="AA04"):
        _backtest(panel, registry, origins=[pd.Period("2015-06", "M")], regions=["AA02", "AA04"])
    # Without an explicit list the late region is simply not forecast before it starts.
    early = _backtest(panel, registry, models=["zero"], origins=[pd.Period("2015-06", "M")])
    assert "AA04" not in set(early.scores["region"])


def test_process_pool_gives_the_serial_result(panel, registry) -> None:
    serial = _backtest(panel, registry, executor=SerialExecutor())
    pool = make_executor("local", workers=2)
    try:
        parallel = _backtest(panel, registry, executor=pool)
    finally:
        pool.close()
    pd.testing.assert_frame_equal(serial.scores, parallel.scores)


class RecordingExecutor(SerialExecutor):
    """The serial executor, noting what a pool or Dask would have to pickle: every job, and
    the shared object once per call."""

    def __init__(self) -> None:
        self.job_bytes: list[int] = []
        self.shared_bytes: list[int] = []

    def imap(self, fn, items, *, shared=NOTHING):
        items = list(items)
        self.job_bytes += [len(pickle.dumps(item, protocol=5)) for item in items]
        self.shared_bytes.append(len(pickle.dumps(shared, protocol=5)))
        return super().imap(fn, items, shared=shared)


def test_jobs_do_not_carry_the_panel(registry) -> None:
    """The panel travels once per backtest; a job's size does not grow with the panel."""
    series = ("fatalities", "aid_diversion", "peacekeeper_casualties")
    recorded = []
    for start in ("2015-01", "2003-01"):  # 7 or 19 years of history, same origins
        recorder = RecordingExecutor()
        result = _backtest(
            synthetic_panel(registry, start=start, series=series), registry, executor=recorder
        )
        assert len(result.scores) == len(MODELS) * len(ORIGINS) * 12 * 4
        assert len(recorder.shared_bytes) == 1  # one shipment for all jobs
        assert len(recorder.job_bytes) == len(MODELS) * len(ORIGINS)
        recorded.append(recorder)
    short, long = recorded
    assert long.shared_bytes[0] > 2 * short.shared_bytes[0]
    assert long.job_bytes == short.job_bytes
    assert max(long.job_bytes) * 10 < long.shared_bytes[0]


def test_jobs_on_a_process_pool_cut_the_panel_at_their_origin(panel, registry, result) -> None:
    """The pool receives the whole panel, yet no job's forecast moves when later months do."""
    poisoned = panel.copy()
    later = poisoned["month"] > ORIGINS[0]
    poisoned.loc[later, "value"] = poisoned.loc[later, "value"] * 1000 + 7
    with make_executor("local", workers=2) as pool:
        got = _backtest(poisoned, registry, origins=[ORIGINS[0]], executor=pool)
    clean = result.forecasts[result.forecasts["origin"] == ORIGINS[0].strftime("%Y-%m")]
    pd.testing.assert_frame_equal(got.forecasts, clean.reset_index(drop=True))


# negbin_glm and prophet take tens of seconds per fit here; their own tests (tests/forecast
# models suite) fit and score them. Every other model goes through the full backtest path.
QUICK_MODELS = ("zero", "no_change", "conflictology", "poisson_mean", "sarimax", "ets", "ensemble")


@pytest.mark.slow
@pytest.mark.parametrize("model", QUICK_MODELS)
def test_each_model_runs_through_the_backtest(panel, registry, model) -> None:
    result = _backtest(
        panel, registry, models=[model], origins=[pd.Period("2020-12", "M")], horizon=3,
        n_draws=100,
    )  # fmt: skip
    assert len(result.scores) == 3 * 4 and result.scores["crps"].notna().all()
    assert (result.forecasts["q0.95"] >= result.forecasts["q0.05"]).all()
    # a fallback is recorded in the notes, never silent
    assert set(result.notes["model"]) <= {model}
